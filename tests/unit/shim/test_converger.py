"""The converger on its `run=` seam, with a real SQLite store: slots, caps, cancels, failures, backoff."""

from __future__ import annotations

import sqlite3
import time

import pytest

from shim.config import Config, RepoConfig
from shim.converger import Converger
from shim.runner import RunResult
from shim.store import Store
from tests.unit.shim.seams import Clock, Runs, accept, settle

A, B = "a" * 40, "b" * 40
REPO = "o/r"


class FlakyStore(Store):
    """A real store whose `fail` method raises on the calls numbered in `calls` (1 is the first), as a locked
    or broken disk does."""

    def __init__(self, path, fail: str, calls=(1,)):
        super().__init__(path)
        self.fail, self.calls, self.count = fail, set(calls), 0

    def _maybe_fail(self):
        self.count += 1
        if self.count in self.calls:
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
    # The backoff runs on the fake clock; a real wait this long would outlast settle() and fail the test.
    return Converger(config(concurrency), store, run=runs, clock=clock or Clock(), retry_after=60.0)


def no_other_run_starts(runs) -> bool:
    """No run starts within half a second (a run started by a tick may reach the seam a little later)."""
    return not runs.started.acquire(timeout=0.5)


def test_one_run_per_pr_at_a_time(store):
    runs = Runs(hold=True)
    converger = make(store, runs)
    want(store, 1)
    converger._tick()
    assert runs.started.acquire(timeout=5)
    want(store, 1, sha=B, at="2026-01-01T00:00:05Z")
    converger._tick()
    assert no_other_run_starts(runs), "a second run of PR 1 started while its first ran"
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
    want(store, 1)
    converger._tick()
    assert runs.started.acquire(timeout=5)
    for pr in (2, 3, 4):
        want(store, pr)
    converger._tick()  # one slot free, and more PRs pending than that
    assert runs.started.acquire(timeout=5)
    assert no_other_run_starts(runs), "a third run started with concurrency 2"
    assert sorted(call[1] for call in runs.calls) == [1, 2] and len(converger.running()) == 2
    converger._tick()  # no slot free
    assert no_other_run_starts(runs), "a run started with every slot taken"
    runs.release.set()
    settle(converger)
    converger._tick()
    settle(converger)
    assert sorted(call[1] for call in runs.calls) == [1, 2, 3, 4]
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


def test_a_deploy_is_told_to_stop_once_its_pr_turns_absent_and_a_cleanup_never_is(store):
    told = []

    def run(config, kind, repo, pr, sha, run_id, cancelled, reason="", fork=False):
        told.append((kind, cancelled()))
        if kind == "deploy":
            want(store, pr, state="absent", at="2026-01-01T00:00:09Z")
            deadline = time.monotonic() + 5
            while not cancelled() and time.monotonic() < deadline:
                time.sleep(0.05)
            told.append((kind, cancelled()))
        return RunResult("canceled" if cancelled() else "successful", 0, "", 0.01)

    converger = make(store, run)
    want(store, 1)
    converger._tick()
    settle(converger)
    converger._tick()
    settle(converger)
    assert told == [("deploy", False), ("deploy", True), ("cleanup", False)]
    assert store.pending() == []


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
    # A run that broke after it was recorded is closed as an error, not left running.
    broken_run = [{"pr": 1, "status": "error"}] if broken == "finish_run" else []
    assert store.query("SELECT pr, status FROM runs ORDER BY id") == [
        *broken_run,
        {"pr": 2, "status": "successful"},
        {"pr": 1, "status": "successful"},
    ]
    store.close()


def test_the_backoff_grows_with_failures_in_a_row(tmp_path):
    store = FlakyStore(str(tmp_path / "state.db"), fail="start_run", calls=(1, 2))
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


def test_a_success_ends_the_failures_in_a_row(tmp_path):
    store = FlakyStore(str(tmp_path / "state.db"), fail="start_run", calls=(1, 3))
    clock = Clock()
    runs = Runs()
    converger = make(store, runs, clock=clock)
    want(store, 1)
    converger._tick()
    settle(converger)
    clock.now += converger.retry_after
    converger._tick()
    settle(converger)
    assert runs.calls == [("deploy", 1, A)]
    want(store, 1, sha=B, at="2026-01-01T00:00:05Z")
    converger._tick()
    settle(converger)
    clock.now += converger.retry_after  # one failure in a row again: the first wait, not twice it
    converger._tick()
    settle(converger)
    assert runs.calls == [("deploy", 1, A), ("deploy", 1, B)] and store.pending() == []
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
