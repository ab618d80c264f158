"""The converger on its `run=` seam, with a real SQLite store: slots, caps, cancels, failures, backoff."""

from __future__ import annotations

import sqlite3
import time

import pytest

from shim.config import Config, RepoConfig
from shim.converger import Converger
from shim.store import Store
from tests.unit.shim.seams import Clock, Runs, accept, settle

A, B = "a" * 40, "b" * 40
REPO = "o/r"


class FlakyStore(Store):
    """A real store whose `fail` methods raise the first `times` calls, as a locked or broken disk does."""

    def __init__(self, path, fail: str, times: int = 1):
        super().__init__(path)
        self.fail, self.times = fail, times

    def _maybe_fail(self):
        if self.times:
            self.times -= 1
            raise sqlite3.OperationalError("database is locked")

    def start_run(self, item):
        if self.fail == "start_run":
            self._maybe_fail()
        return super().start_run(item)

    def finish_run(self, *args, **kwargs):
        if self.fail == "finish_run":
            self._maybe_fail()
        return super().finish_run(*args, **kwargs)


def config(concurrency=2) -> Config:
    return Config(
        webhook_secret="s" * 20, concurrency=concurrency, repositories={REPO: RepoConfig(REPO, "/srv/r", "r")}
    )


def want(store, pr, state="present", sha=A, at="2026-01-01T00:00:00Z"):
    return accept(store, f"{pr}-{state}-{sha[:4]}-{at}", state, sha, at, pr=pr)


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    yield s
    s.close()


def make(store, runs, concurrency=2, clock=None):
    return Converger(config(concurrency), store, run=runs, clock=clock or Clock())


def test_one_run_per_pr_at_a_time(store):
    runs = Runs(hold=True)
    converger = make(store, runs)
    want(store, 1)
    converger._tick()
    assert runs.started.acquire(timeout=5)
    want(store, 1, sha=B, at="2026-01-01T00:00:05Z")
    converger._tick()
    assert runs.calls == [("deploy", 1, A)] and converger.is_running(REPO, 1)
    runs.release.set()
    settle(converger)
    converger._tick()
    settle(converger)
    assert runs.calls == [("deploy", 1, A), ("deploy", 1, B)]
    assert store.pending() == []


def test_at_most_concurrency_runs_at_once(store):
    runs = Runs(hold=True)
    converger = make(store, runs, concurrency=2)
    for pr in (1, 2, 3):
        want(store, pr)
    converger._tick()
    assert runs.started.acquire(timeout=5) and runs.started.acquire(timeout=5)
    converger._tick()
    assert sorted(call[1] for call in runs.calls) == [1, 2] and len(converger.running()) == 2
    runs.release.set()
    settle(converger)
    converger._tick()
    settle(converger)
    assert sorted(call[1] for call in runs.calls) == [1, 2, 3]
    assert store.pending() == []


def test_a_cancelled_run_leaves_its_generation_pending(store):
    runs = Runs(status="canceled")
    runs.during = lambda pr: want(store, pr, state="absent", at="2026-01-01T00:00:09Z")
    converger = make(store, runs)
    want(store, 1)
    converger._tick()
    settle(converger)
    assert store.desired(REPO, 1)["applied_generation"] == 0
    [item] = store.pending()
    assert (item.state, item.generation) == ("absent", 2)
    assert store.query("SELECT status FROM runs") == [{"status": "canceled"}]


@pytest.mark.parametrize("status", ["failed", "timeout"])
def test_a_failed_or_timed_out_run_is_applied_and_not_retried(store, status):
    runs = Runs(status=status)
    converger = make(store, runs)
    want(store, 1)
    converger._tick()
    settle(converger)
    converger._tick()
    settle(converger)
    assert len(runs.calls) == 1 and store.pending() == []
    assert store.query("SELECT status FROM runs") == [{"status": status}]


@pytest.mark.parametrize("broken", ["start_run", "finish_run"])
def test_a_store_error_frees_the_slot_and_backs_off_then_succeeds(tmp_path, broken):
    store = FlakyStore(str(tmp_path / "state.db"), fail=broken)
    clock = Clock()
    runs = Runs()
    converger = make(store, runs, concurrency=1, clock=clock)
    want(store, 1)
    want(store, 2, at="2026-01-01T00:00:01Z")
    converger._tick()
    settle(converger)
    assert converger.running() == []  # the slot is free at once, not after a sleep in its thread
    assert [item.pr for item in store.pending()] == [1, 2]

    converger._tick()  # PR 1 waits out its backoff; the free slot serves PR 2 meanwhile
    settle(converger)
    assert [item.pr for item in store.pending()] == [1]

    clock.now += converger.retry_after
    converger._tick()
    settle(converger)
    assert store.pending() == []
    assert store.query("SELECT pr, status FROM runs WHERE status='successful' ORDER BY pr") == [
        {"pr": 1, "status": "successful"},
        {"pr": 2, "status": "successful"},
    ]
    store.close()


def test_the_backoff_grows_with_failures_in_a_row(tmp_path):
    store = FlakyStore(str(tmp_path / "state.db"), fail="start_run", times=2)
    clock = Clock()
    runs = Runs()
    converger = make(store, runs, clock=clock)
    want(store, 1)
    converger._tick()
    settle(converger)
    clock.now += converger.retry_after
    converger._tick()
    settle(converger)
    clock.now += converger.retry_after  # the second failure in a row waits twice as long
    converger._tick()
    settle(converger)
    assert runs.calls == []
    clock.now += converger.retry_after
    converger._tick()
    settle(converger)
    assert runs.calls == [("deploy", 1, A)] and store.pending() == []
    store.close()


@pytest.mark.parametrize("status", ["failed", "timeout"])
def test_a_pr_whose_runs_fail_still_expires(store, status):
    runs = Runs(status=status)
    converger = make(store, runs)
    want(store, 1)
    converger._tick()
    settle(converger)
    assert store.expire(3600, now=time.time() + 7200) == [(REPO, 1)]
    [item] = store.pending()
    assert (item.state, item.reason) == ("absent", "ttl")
