"""Test seams of the shim: a desired state put straight into the store, and the converger's seams (a clock
to move by hand, a recording `run`, a wait for its threads)."""

from __future__ import annotations

import threading

from shim.converger import Converger
from shim.policy import Decision
from shim.runner import RunResult


def accept(store, guid, state, sha, at, pr=1, pinned=False):
    """Move PR `pr` of o/r to `state` at `sha`, as a delivery of that PR at `at` would."""
    decision = Decision(state=state, sha=sha, approved_sha="", pinned=pinned, reason="deploy")
    return store.accept(guid, "pull_request", "x", "o/r", pr, lambda row: decision, at)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Runs:
    """The run seam: records each call; a run waits for its release when `hold` is set."""

    def __init__(self, status: str = "successful", hold: bool = False):
        self.status = status
        self.calls: list[tuple[str, int, str]] = []
        self.forks: list[bool] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.during = None  # called inside the run, e.g. to move the desired state under it

    def __call__(self, config, kind, repo, pr, sha, run_id, cancelled, reason="", fork=False):
        self.calls.append((kind, pr, sha))
        self.forks.append(fork)
        self.started.release()
        if self.during:
            self.during(pr)
        assert self.release.wait(10)
        return RunResult(self.status, 0 if self.status == "successful" else 2, self.status, 0.01)


def settle(converger: Converger) -> None:
    """Wait for every thread the converger started: its runs and its approval check."""
    for thread in [*converger._threads, converger._verifying]:
        if thread is not None:
            thread.join(10)
            assert not thread.is_alive()
