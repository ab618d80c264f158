"""The webhook resource through Falcon's TestClient, with a real SQLite store."""

from __future__ import annotations

import json
import logging
import time

import falcon.testing
import pytest

from shim.app import create_app
from shim.config import Config, RepoConfig
from shim.store import Store
from tests.support.webhooks import pull_request_payload, signed_headers

SECRET = "unit-test-secret-0123456789"
SHA = "0123456789abcdef0123456789abcdef01234567"


class Notified:
    def __init__(self):
        self.count = 0

    def notify(self):
        self.count += 1

    def alive(self):
        return True

    def running(self):
        return []


@pytest.fixture
def env(tmp_path):
    config = Config(
        webhook_secret=SECRET,
        max_body_bytes=64 * 1024,
        repositories={"octo/hello": RepoConfig("octo/hello", "/srv/hello", "hello")},
    )
    store = Store(str(tmp_path / "state.db"))
    worker = Notified()
    client = falcon.testing.TestClient(create_app(config, store, worker))
    yield client, store, worker
    store.close()


def post(client, payload=None, body=None, event="pull_request", delivery=None, headers=None, secret=SECRET):
    body = body if body is not None else json.dumps(payload).encode()
    all_headers = signed_headers(secret, body, event, delivery)
    all_headers.update(headers or {})
    all_headers = {k: v for k, v in all_headers.items() if v is not None}
    return client.simulate_post("/webhook/github", body=body, headers=all_headers)


def opened(sha=SHA, at="2026-12-01T10:00:00Z", repo="octo/hello", **kw):
    return pull_request_payload("opened", repo, 5, sha, at, **kw)


def deliveries(store):
    return store.query("SELECT guid, outcome FROM deliveries")


def test_accepted_delivery_is_stored_before_the_answer(env):
    client, store, worker = env
    resp = post(client, opened(), delivery="d-1")
    assert resp.status_code == 202
    assert resp.json["outcome"] == "accepted"
    assert deliveries(store) == [{"guid": "d-1", "outcome": "accepted"}]
    [item] = store.pending()
    assert (item.repo, item.pr, item.state, item.sha) == ("octo/hello", 5, "present", SHA)
    assert worker.count == 1


def test_redelivery_is_acknowledged_and_not_run_again(env):
    client, store, worker = env
    post(client, opened(), delivery="d-1")
    resp = post(client, opened(), delivery="d-1")
    assert resp.status_code == 200 and resp.json["outcome"] == "duplicate"
    assert worker.count == 1
    assert len(deliveries(store)) == 1


def test_closed_means_absent(env):
    client, store = env[0], env[1]
    post(client, opened())
    resp = post(client, pull_request_payload("closed", "octo/hello", 5, SHA, "2026-12-01T10:01:00Z"))
    assert resp.status_code == 202
    assert store.pending()[0].state == "absent"


def test_closed_for_a_pr_never_deployed_changes_nothing(env):
    client, store = env[0], env[1]
    resp = post(client, pull_request_payload("closed", "octo/hello", 5, SHA, "2026-12-01T10:00:00Z"))
    assert resp.status_code == 200 and resp.json["outcome"] == "ignored"
    assert store.pending() == []


def test_fork_pr_is_held_until_approved(env):
    client, store = env[0], env[1]
    payload = opened()
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/hello"
    assert post(client, payload).status_code == 202
    assert store.desired("octo/hello", 5)["state"] == "held"
    [hold] = store.pending()
    store.finish_run(store.start_run(hold), hold, "successful", 0)  # the hold comment names SHA
    payload["action"] = "labeled"
    payload["label"] = {"name": "preview-approved"}
    payload["pull_request"]["updated_at"] = "2026-12-01T10:02:00Z"
    assert post(client, payload).status_code == 202  # a claim: held until GitHub vouches for the sender
    row = store.desired("octo/hello", 5)
    assert (row["state"], row["claim_sha"], row["claim_by"]) == ("held", SHA, payload["sender"]["login"])
    assert store.settle_approval("octo/hello", 5, SHA, payload["sender"]["login"], allowed=True) == "accepted"
    row = store.desired("octo/hello", 5)
    assert (row["state"], row["approved_sha"]) == ("present", SHA)
    [deploy] = store.pending()
    assert deploy.state == "present" and deploy.fork  # its run gets no compose_allow of the server's


def test_ping_is_answered(env):
    client, store, worker = env
    resp = post(client, {"zen": "Keep it logically awesome.", "hook_id": 1}, event="ping")
    assert resp.status_code == 200 and resp.json["outcome"] == "pong"
    assert worker.count == 0 and store.pending() == []


@pytest.mark.parametrize(
    ("kwargs", "status", "title"),
    [
        ({"headers": {"X-Hub-Signature-256": None}}, 401, "Invalid signature"),
        ({"secret": "not-the-secret-at-all"}, 401, "Invalid signature"),
        ({"body": b'{"action": "opened", "number": '}, 400, "Malformed JSON"),
        ({"headers": {"X-GitHub-Event": None}}, 400, "Missing headers"),
        ({"headers": {"X-GitHub-Delivery": None}}, 400, "Missing headers"),
        ({"headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415, "Unsupported content type"),
        ({"body": json.dumps({"action": "opened", "number": "5"}).encode()}, 422, "Unexpected payload"),
        ({"body": b"x" * (64 * 1024 + 1)}, 413, "Payload too large"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(env, kwargs, status, title):
    client, store, worker = env
    resp = post(client, opened(), **kwargs)
    assert resp.status_code == status
    assert resp.json["title"] == title
    assert resp.json["description"]
    assert deliveries(store) == [] and store.pending() == [] and worker.count == 0


def test_repository_not_in_the_allow_list(env):
    client, store, worker = env
    resp = post(client, opened(repo="evil/hello"))
    assert resp.status_code == 403 and resp.json["title"] == "Repository not allowed"
    assert store.pending() == [] and worker.count == 0


def test_unknown_event_and_action_are_ignored(env):
    client, store, worker = env
    assert post(client, {"ref": "x"}, event="push").json["outcome"] == "ignored"
    edited = pull_request_payload("opened", "octo/hello", 5, SHA, "2026-12-01T10:00:00Z")
    edited["action"] = "edited"
    resp = post(client, edited)
    assert resp.status_code == 200 and resp.json["outcome"] == "ignored"
    assert store.pending() == [] and worker.count == 0


def test_payload_strings_never_reach_the_desired_state(env):
    client, store = env[0], env[1]
    payload = opened(head_ref="{{ lookup('pipe','touch /tmp/pwned') }}", title="$(touch /tmp/pwned)")
    assert post(client, payload).status_code == 202
    row = store.query("SELECT * FROM desired")[0]
    assert set(row.values()) & {"{{ lookup('pipe','touch /tmp/pwned') }}", "$(touch /tmp/pwned)"} == set()


def test_healthz_and_metrics(env):
    client = env[0]
    post(client, opened())
    health = client.simulate_get("/healthz")
    assert health.status_code == 200
    body = dict(health.json)
    assert body.pop("disk_free_bytes") > 0
    assert body == {"database_writable": True, "worker_alive": True, "queue_depth": 1, "running": 0}
    metrics = client.simulate_get("/metrics").text
    assert 'preview_deliveries_total{outcome="accepted"} 1.0' in metrics
    assert "preview_pending_prs 1.0" in metrics


def test_healthz_answers_503_when_the_disk_is_nearly_full(tmp_path):
    config = Config(webhook_secret=SECRET, repositories={})
    store = Store(str(tmp_path / "state.db"))
    free = store.disk_free_bytes()
    client = falcon.testing.TestClient(create_app(config, store, Notified(), min_free_disk_bytes=free * 2))
    health = client.simulate_get("/healthz")
    assert health.status_code == 503
    assert health.json["database_writable"] is True and health.json["disk_free_bytes"] > 0
    store.close()


def test_a_signature_header_that_is_not_ascii_is_refused(env):
    client, store, worker = env
    resp = post(client, opened(), headers={"X-Hub-Signature-256": "sha256=\u00e9" + "0" * 63})
    assert resp.status_code == 401 and resp.json["title"] == "Invalid signature"
    assert deliveries(store) == [] and worker.count == 0


@pytest.mark.parametrize("bad_id", ["d-1\nINJECTED outcome=accepted", "INJECTED" * 1250, "d\u00e9-1"])
@pytest.mark.parametrize("kwargs", [{"secret": "not-the-secret-at-all"}, {"body": b"x" * (64 * 1024 + 1)}, {}])
def test_a_bad_delivery_id_never_reaches_the_log(env, caplog, bad_id, kwargs):
    client, store = env[0], env[1]
    with caplog.at_level(logging.INFO, logger="preview.shim.webhook"):
        resp = post(client, opened(), delivery=bad_id, **kwargs)
    assert resp.status_code in (400, 401, 413)
    assert caplog.records and "INJECTED" not in caplog.text and "\u00e9" not in caplog.text
    assert all("delivery=- " in record.getMessage() for record in caplog.records)
    assert deliveries(store) == []


def test_deeply_nested_json_is_a_clear_400(env):
    client, store = env[0], env[1]
    resp = post(client, body=b"[" * 50000)
    assert resp.status_code == 400 and resp.json["title"] == "Malformed JSON"
    assert "nested" in resp.json["description"]
    assert deliveries(store) == []


def test_a_pr_number_beyond_the_bound_is_422(env):
    from shim.events import PR_NUMBER_MAX

    client, store = env[0], env[1]
    payload = opened()
    payload["number"] = PR_NUMBER_MAX + 1
    resp = post(client, payload)
    assert resp.status_code == 422 and "number" in resp.json["description"]
    assert store.pending() == []


def test_an_old_body_replayed_after_pruning_is_stale(env):
    client, store = env[0], env[1]
    body = json.dumps(opened()).encode()
    assert post(client, body=body, delivery="d-open").status_code == 202
    closed = pull_request_payload("closed", "octo/hello", 5, SHA, "2026-12-01T10:05:00Z")
    assert post(client, closed, delivery="d-close").status_code == 202
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)
    store.prune(30 * 86400, now=time.time() + 31 * 86400)
    assert store.desired("octo/hello", 5) is None and deliveries(store) == []

    resp = post(client, body=body, delivery="d-replayed-with-a-new-guid")
    assert resp.status_code == 200 and resp.json["outcome"] == "stale"
    assert store.pending() == [] and store.desired("octo/hello", 5) is None
