"""The shim's log format: `text` (one line per record, as ever) or `json` (one object per line, for a log shipper).

A JSON line holds time (UTC, ISO 8601), level, logger and message, plus `delivery` (GitHub's delivery GUID) and
`run` (the run's id in the state file) when the record carries them: as `extra={"delivery": ..., "run": ...}`, or
as the leading `delivery=<guid>` / `run=<id>` fields of the shim's own key=value messages (shim/app.py,
shim/converger.py). Only the leading fields count: a message may go on to quote a PR's build output, which
says what it likes.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# The shim's key=value fields at the start of a message, up to the first word that is not one.
_LEADING_FIELDS = re.compile(r"\A(?:[a-z_]+=\S*(?: |\Z))+")
_FIELD = re.compile(r"([a-z_]+)=(\S*)")
# What a field's value must look like to be reported (app.py writes `-` for a delivery header it refused).
_IDS = {
    "delivery": re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}\Z", re.ASCII),
    "run": re.compile(r"[0-9]{1,18}\Z", re.ASCII),
}


def ids(record: logging.LogRecord) -> dict[str, str | int]:
    """The delivery GUID and the run id a record carries, as `extra=` or as the message's leading fields."""
    found: dict[str, str | int] = {}
    message = record.getMessage()
    leading = _LEADING_FIELDS.match(message)
    if leading:
        for key, value in _FIELD.findall(leading.group(0)):
            if key in _IDS and key not in found and _IDS[key].match(value):
                found[key] = value
    for key in _IDS:
        value = getattr(record, key, None)
        if value is not None and _IDS[key].match(str(value)):
            found[key] = value
    if "run" in found:
        found["run"] = int(found["run"])
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **ids(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: a line stays one line and plain ASCII whatever a message quotes.
        return json.dumps(entry, ensure_ascii=True, default=str)


def configure(log_format: str = "text", stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Send every logger's records (the shim's, waitress's, ansible-runner's) to `stream` in `log_format`."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
