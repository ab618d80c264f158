"""The shim's log formats: text as ever, or JSON lines carrying the delivery and run ids as fields."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from shim import config as config_mod
from shim import logs
from tests.unit.shim.test_config import write_config

GUID = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


@pytest.fixture
def emit():
    """Log through a real logger into a JSON (or text) stream; returns the lines written."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def emit(log_format: str, *records: tuple) -> list[str]:
        stream = io.StringIO()
        logs.configure(log_format, stream=stream)
        log = logging.getLogger("preview.shim.test")
        for level, msg, args, kwargs in records:
            log.log(level, msg, *args, **kwargs)
        return stream.getvalue().splitlines()

    yield emit
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_ids_from_the_shims_own_fields(emit):
    # shim/converger.py's and shim/app.py's lines, as they are written.
    lines = emit(
        "json",
        (logging.INFO, "run=%d delivery=%s repo=%s pr=%d status=started", (12, GUID, "octo/app", 3), {}),
        (logging.WARNING, "delivery=%s outcome=%s status=%s reason=%r ", ("-", "bad_signature", 401, "no"), {}),
        (logging.INFO, "listening on http://%s:%d", ("127.0.0.1", 3000), {}),
    )
    started, refused, listening = (json.loads(line) for line in lines)
    assert set(started) == {"time", "level", "logger", "message", "delivery", "run"}
    assert (started["run"], started["delivery"], started["level"]) == (12, GUID, "INFO")
    assert started["logger"] == "preview.shim.test"
    assert started["message"] == f"run=12 delivery={GUID} repo=octo/app pr=3 status=started"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started["time"])
    assert "delivery" not in refused and refused["level"] == "WARNING"  # `-`: a header the shim refused
    assert "delivery" not in listening and "run" not in listening


def test_json_ids_from_extra_and_never_from_quoted_output(emit):
    hostile = 'build says run=999 delivery=evil\n{"level": "CRITICAL"}'
    lines = emit(
        "json",
        (logging.INFO, "deploy step failed: %s", (hostile,), {"extra": {"run": 5, "delivery": GUID}}),
        (logging.WARNING, "deploy for %s: step %r did not work: %s", ("octo/app#3", "build", hostile), {}),
    )
    assert len(lines) == 2  # a newline in a message stays inside its line
    from_extra, quoted = (json.loads(line) for line in lines)
    assert (from_extra["run"], from_extra["delivery"]) == (5, GUID)
    assert from_extra["message"].endswith(hostile)
    assert "run" not in quoted and "delivery" not in quoted


def test_json_keeps_the_traceback(emit):
    emit("json")  # the fixture restores the root logger afterwards
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    try:
        raise RuntimeError("the store broke")
    except RuntimeError:
        logging.getLogger("preview.shim.converger").exception("run=%s repo=%s status=error", 4, "octo/app")
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "ERROR" and entry["run"] == 4
    assert "RuntimeError: the store broke" in entry["exception"]


def test_text_is_the_old_format(emit):
    [line] = emit("text", (logging.INFO, "run=%d status=started", (3,), {}))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO preview\.shim\.test run=3 status=started", line)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="log format must be one of text, json, not 'xml'"):
        logs.configure("xml")


def test_config_log_format_and_its_environment_override(tmp_path):
    assert config_mod.load(write_config(tmp_path), environ={}).log_format == "text"
    path = write_config(tmp_path, "log_format: json\n")
    assert config_mod.load(path, environ={}).log_format == "json"
    assert config_mod.load(path, environ={"PREVIEW_LOG_FORMAT": "text"}).log_format == "text"
    with pytest.raises(config_mod.ConfigError, match=r"log_format \(or PREVIEW_LOG_FORMAT\) must be one of text, json"):
        config_mod.load(write_config(tmp_path, "log_format: logfmt\n"), environ={})
    with pytest.raises(config_mod.ConfigError, match="not 'JSON'"):
        config_mod.load(path, environ={"PREVIEW_LOG_FORMAT": "JSON"})
