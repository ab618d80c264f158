"""Group commit (shim/intake.py) with a real SQLite store: deliveries that arrive together share one
transaction, each is decided as if alone, and a failed commit stores none of its batch."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager

import falcon.testing
import pytest

from shim.app import create_app
from shim.config import Config, RepoConfig
from shim.intake import GroupCommit, IntakeError
from shim.policy import Decision
from shim.store import Delivery, Store
from tests.support.webhooks import pull_request_payload, signed_headers

SECRET = "unit-test-secret-0123456789"
SHA = "0123456789abcdef0123456789abcdef01234567"


def present(pr: int, guid: str, at: str = "2026-12-01T10:00:00Z") -> Delivery:
    decision = Decision(state="present", sha=SHA, approved_sha="", pinned=False, reason="deploy")
    return Delivery(guid, "pull_request", "opened", "o/r", pr, lambda row: decision, at)


class SlowStore(Store):
    """Holds each batch a little, as a commit that waits for the disk does: the next batch gathers."""

    def __init__(self, path):
        super().__init__(path)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.sizes: list[int] = []

    def accept_batch(self, deliveries):
        self.sizes.append(len(deliveries))
        self.entered.set()
        self.release.wait(10)
        return super().accept_batch(deliveries)


class CommitFails(Store):
    """Every transaction fails at its end, as a COMMIT on a full or broken disk does."""

    @contextmanager
    def transaction(self):
        with super().transaction() as conn:
            yield conn
            raise sqlite3.OperationalError("disk I/O error")


def submit_all(intake: GroupCommit, deliveries: list[Delivery]) -> list:
    results: list = [None] * len(deliveries)

    def one(index: int) -> None:
        try:
            results[index] = intake.submit(deliveries[index], timeout=20)
        except IntakeError as exc:
            results[index] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(deliveries))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_deliveries_that_arrive_during_a_commit_share_the_next_one(tmp_path):
    store = SlowStore(str(tmp_path / "state.db"))
    intake = GroupCommit(store)
    first = threading.Thread(target=intake.submit, args=(present(1, "g-1"),))
    first.start()
    assert store.entered.wait(5)
    # 20 more arrive while the first batch commits.
    rest = threading.Thread(target=lambda: submit_all(intake, [present(i, f"g-{i}") for i in range(2, 22)]))
    rest.start()
    while intake.queued() < 20:
        threading.Event().wait(0.01)
    store.release.set()
    first.join(10)
    rest.join(30)

    assert store.sizes == [1, 20]
    assert intake.batches == 2 and intake.committed == 21
    assert store.query("SELECT COUNT(*) AS n FROM deliveries")[0]["n"] == 21
    store.close()


def test_each_delivery_of_a_batch_is_decided_in_order_as_if_alone(tmp_path):
    store = Store(str(tmp_path / "state.db"))
    later = present(1, "g-b", at="2026-12-01T10:05:00Z")
    older = present(1, "g-c", at="2026-12-01T10:01:00Z")

    results = store.accept_batch([present(1, "g-a"), present(1, "g-a"), later, older])

    assert [r.outcome for r in results] == ["accepted", "duplicate", "unchanged", "stale"]
    assert (results[0].state, results[0].reason, results[0].generation) == ("present", "deploy", 1)
    assert store.query("SELECT guid FROM deliveries ORDER BY guid") == [
        {"guid": "g-a"},
        {"guid": "g-b"},
        {"guid": "g-c"},
    ]
    store.close()


def test_a_delivery_that_fails_fails_alone(tmp_path):
    store = Store(str(tmp_path / "state.db"))

    def broken(row):
        raise ValueError("a bug in one decision")

    failing = Delivery("g-2", "pull_request", "opened", "o/r", 2, broken, "2026-12-01T10:00:00Z")
    results = store.accept_batch([present(1, "g-1"), failing, present(3, "g-3")])

    assert results[0].outcome == "accepted" and results[2].outcome == "accepted"
    assert isinstance(results[1], ValueError)
    assert [row["guid"] for row in store.query("SELECT guid FROM deliveries ORDER BY guid")] == ["g-1", "g-3"]
    assert store.desired("o/r", 2) is None
    store.close()


def test_a_failed_commit_answers_every_request_of_the_batch_and_stores_none(tmp_path):
    store = CommitFails(str(tmp_path / "state.db"))
    intake = GroupCommit(store)

    results = submit_all(intake, [present(i, f"g-{i}") for i in range(1, 9)])

    assert all(isinstance(result, IntakeError) for result in results)
    assert "disk I/O error" in str(results[0])
    assert Store.query(store, "SELECT COUNT(*) AS n FROM deliveries")[0]["n"] == 0
    assert Store.query(store, "SELECT COUNT(*) AS n FROM desired")[0]["n"] == 0
    store.close()


def test_the_webhook_answers_500_when_its_delivery_is_not_stored(tmp_path, caplog):
    config = Config(webhook_secret=SECRET, repositories={"octo/hello": RepoConfig("octo/hello", "/srv/h", "hello")})
    store = CommitFails(str(tmp_path / "state.db"))
    client = falcon.testing.TestClient(create_app(config, store))
    body = pull_request_payload("opened", "octo/hello", 5, SHA, "2026-12-01T10:00:00Z")
    raw = json.dumps(body).encode()

    resp = client.simulate_post("/webhook/github", body=raw, headers=signed_headers(SECRET, raw, "pull_request"))

    assert resp.status_code == 500
    assert resp.json["title"] == "Not stored" and "disk I/O error" in resp.json["description"]
    store.close()


@pytest.mark.parametrize("copies", [2, 6])
def test_one_guid_sent_at_once_is_accepted_once(tmp_path, copies):
    store = Store(str(tmp_path / "state.db"))
    intake = GroupCommit(store)

    results = submit_all(intake, [present(1, "same-guid")] * copies)

    assert sorted(result.outcome for result in results) == ["accepted"] + ["duplicate"] * (copies - 1)
    store.close()


def test_a_delivery_that_waits_too_long_is_answered_and_withdrawn(tmp_path):
    store = SlowStore(str(tmp_path / "state.db"))
    intake = GroupCommit(store)
    first = threading.Thread(target=intake.submit, args=(present(1, "g-1"),))
    first.start()
    assert store.entered.wait(5)

    with pytest.raises(IntakeError, match="not stored within 0.2s"):
        intake.submit(present(2, "g-2"), timeout=0.2)

    store.release.set()
    first.join(10)
    assert [row["guid"] for row in store.query("SELECT guid FROM deliveries")] == ["g-1"]
    assert intake.queued() == 0
    store.close()
