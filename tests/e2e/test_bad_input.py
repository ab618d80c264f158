"""Bad input against the real shim under waitress: a clear status and reason, a log line with the
delivery id, and nothing stored or run."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from shim.signature import sign
from tests.support.leftovers import db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, signed_headers

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-input")
    config = shim_config(tmp, {"octo/hello": {"clone_url": str(tmp / "nowhere")}}, {}, max_body_bytes=65536)
    process = ShimProcess(tmp, config).start()
    yield process
    process.stop()


def valid_body() -> bytes:
    return json.dumps(pull_request_payload("opened", "octo/hello", 3, SHA, "2026-12-01T10:00:00Z")).encode()


def case(name):
    delivery = f"bad-{name}-{uuid.uuid4()}"
    body = valid_body()
    headers = signed_headers(SECRET, body, delivery=delivery)
    if name == "wrong-signature":
        headers["X-Hub-Signature-256"] = sign("another-secret-entirely", body)
    elif name == "missing-signature":
        del headers["X-Hub-Signature-256"]
    elif name == "oversized":
        body = b'{"pad": "' + b"x" * 70000 + b'"}'
        headers = signed_headers(SECRET, body, delivery=delivery)
    elif name == "form-encoded":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif name == "missing-event":
        del headers["X-GitHub-Event"]
    elif name == "truncated-json":
        body = body[: len(body) // 2]
        headers = signed_headers(SECRET, body, delivery=delivery)
    elif name == "wrong-shape":
        body = json.dumps({"action": "opened", "number": 3, "pull_request": {"head": {"sha": "nope"}}}).encode()
        headers = signed_headers(SECRET, body, delivery=delivery)
    elif name == "not-allowed-repo":
        body = json.dumps(pull_request_payload("opened", "evil/repo", 3, SHA, "2026-12-01T10:00:00Z")).encode()
        headers = signed_headers(SECRET, body, delivery=delivery)
    return delivery, body, headers


@pytest.mark.parametrize(
    ("name", "status", "title"),
    [
        ("wrong-signature", 401, "Invalid signature"),
        ("missing-signature", 401, "Invalid signature"),
        ("oversized", 413, "Payload too large"),
        ("form-encoded", 415, "Unsupported content type"),
        ("missing-event", 400, "Missing headers"),
        ("truncated-json", 400, "Malformed JSON"),
        ("wrong-shape", 422, "Unexpected payload"),
        ("not-allowed-repo", 403, "Repository not allowed"),
    ],
)
def test_rejected_with_a_reason_logged_and_nothing_changed(shim, name, status, title):
    delivery, body, headers = case(name)
    resp = requests.post(shim.webhook_url, data=body, headers=headers, timeout=10)
    assert resp.status_code == status, resp.text
    assert resp.json()["title"] == title and resp.json()["description"]
    assert f"delivery={delivery}" in shim.log_text()
    db = shim.tmp / "state" / "state.db"
    assert db_rows(db, "deliveries", "octo/hello", 3) == []
    assert db_rows(db, "runs", "octo/hello", 3) == []
    assert requests.get(shim.base_url + "/healthz", timeout=5).json()["queue_depth"] == 0


@pytest.mark.parametrize(("event", "outcome"), [("ping", "pong"), ("push", "ignored"), ("issues", "ignored")])
def test_other_events_are_acknowledged_and_do_nothing(shim, event, outcome):
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    resp = requests.post(shim.webhook_url, data=body, headers=signed_headers(SECRET, body, event=event), timeout=10)
    assert resp.status_code == 200 and resp.json()["outcome"] == outcome
    assert requests.get(shim.base_url + "/healthz", timeout=5).json()["queue_depth"] == 0
