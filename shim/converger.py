"""Workers that bring every PR's actual preview to its desired state.

At most one run per PR, at most `concurrency` runs at once, oldest change
first. A PR whose desired state turns `absent` while its deploy runs gets that
run cancelled (ansible-runner's cancel callback); the cleanup follows. A slot
that breaks (the store, the runner) is freed at once and its PR tried again
after a backoff that grows with every failure in a row.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from .approvals import ApprovalVerifier
from .backoff import Backoff
from .commands import CommandVerifier
from .config import Config
from .processes import end_runs_under
from .reconciler import Reconciler
from .runner import RunResult, run_playbook
from .store import Pending, Store
from .sweep import Sweeper
from .vocabulary import RUN_KIND, DesiredState, RunStatus

log = logging.getLogger("preview.shim.converger")

RunFunc = Callable[..., RunResult]

# The shortest time between two looks at the pending PRs.
MIN_TICK_INTERVAL = 0.05

# Seconds before a PR whose slot broke is tried again; doubled on every failure in a row, up to RETRY_MAX.
RETRY_AFTER = 5.0
RETRY_MAX = 300.0
# Run statuses that do not converge the PR: a cancelled deploy is superseded by a newer desired state, and
# that run applies it. A failed or timed-out run is applied: its comment says why, and a new push runs it again.
NOT_APPLIED = frozenset({RunStatus.CANCELED})


class Converger:
    def __init__(
        self,
        config: Config,
        store: Store,
        run: RunFunc = run_playbook,
        metrics=None,
        poll_interval: float = 1.0,
        reconciler=None,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
        verifier: ApprovalVerifier | None = None,
        sweeper: Sweeper | None = None,
        commands: CommandVerifier | None = None,
    ):
        self.config = config
        self.store = store
        self.run = run
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.retry_after = retry_after
        # PRs whose last slot broke (the store, the runner) wait out a retry time kept here, not in a sleep of
        # their thread, so that the slot serves other PRs meanwhile. Guarded by self._lock.
        self._backoff = Backoff(retry_after, RETRY_MAX, clock)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int], Pending] = {}
        self._threads: list[threading.Thread] = []
        self._loop: threading.Thread | None = None
        self._reconciling: threading.Thread | None = None
        self.reconciler = reconciler if reconciler is not None else Reconciler(config, store, self.is_running)
        self.sweeper = sweeper if sweeper is not None else Sweeper(config, store)
        self.verifier = verifier if verifier is not None else ApprovalVerifier.from_config(config, store)
        self.commands = commands if commands is not None else CommandVerifier.from_config(config, store)
        self._verifying: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        # A crashed shim leaves its playbooks running: end them before their PRs are run again.
        end_runs_under(os.path.join(self.config.runs_dir, "run-"))
        interrupted = self.store.interrupt_stale_runs()
        if interrupted:
            log.warning("runs_interrupted=%d outcome=rerun reason=shim restarted mid-run", interrupted)
        self._loop = threading.Thread(target=self._main, name="converger", daemon=True)
        self._loop.start()

    def alive(self) -> bool:
        return self._loop is not None and self._loop.is_alive()

    def notify(self) -> None:
        self._wake.set()

    def drain(self, timeout: float | None = None) -> bool:
        """Stop starting runs and wait for the running ones. True when all finished."""
        self._stopping.set()
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not self.running()

    def is_running(self, repo: str, pr: int) -> bool:
        with self._lock:
            return (repo, pr) in self._running

    def running(self) -> list[Pending]:
        with self._lock:
            return list(self._running.values())

    # --- the loop ---------------------------------------------------------
    def _main(self) -> None:
        next_expiry = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_expiry:
                    next_expiry = time.monotonic() + self.config.reconcile_interval
                    self._expire()
                    self._prune()
                    self._reconcile()
                self._verify_approvals()
                self._tick()
            except Exception:
                log.exception("converger tick failed; retrying")
            ticked = time.monotonic()
            self._wake.wait(self.poll_interval)
            self._wake.clear()
            # Every accepted delivery wakes the loop; under a burst, a look at the database per delivery would
            # contend with the intake's commits. A run starting this much later is no loss.
            self._stopping.wait(max(0.0, MIN_TICK_INTERVAL - (time.monotonic() - ticked)))

    def _background(self, current: threading.Thread | None, name: str, work: Callable[[], object]) -> threading.Thread:
        """Run `work` in a thread of its own unless `current` still runs it; wake the loop when it returns
        something true (PRs with a run to do)."""
        if current is not None and current.is_alive():
            return current

        def body():
            try:
                if work():
                    self._wake.set()
            except Exception:
                log.exception("%s failed; next try later", name)

        thread = threading.Thread(target=body, name=name, daemon=True)
        thread.start()
        return thread

    def _reconcile(self) -> None:
        self._reconciling = self._background(self._reconciling, "reconcile", self._reconcile_pass)

    def _reconcile_pass(self) -> bool:
        # GitHub's view first: what the sweep finds wanted (a lost state file's previews) is kept by the
        # reconciler's pass instead of being removed as orphans, then deployed again.
        if self.sweeper.run_once():
            self._wake.set()
        if self.reconciler is not None:
            self.reconciler.run_once()
        return True  # wake the loop: PRs with a run to redo, or runs held back during the pass

    def _verify_approvals(self) -> None:
        """Ask GitHub about stored approval labels and `/preview` commands, off the loop: a slow GitHub delays
        no run."""
        due = [verifier for verifier in (self.verifier, self.commands) if verifier is not None and verifier.due()]
        if due:
            self._verifying = self._background(
                self._verifying, "approvals", lambda: sum(verifier.run_once() for verifier in due)
            )

    def _expire(self) -> None:
        for repo, pr in self.store.expire(self.config.ttl_hours * 3600):
            log.info("repo=%s pr=%d outcome=expired reason=idle longer than %sh (ttl)", repo, pr, self.config.ttl_hours)

    def _prune(self) -> None:
        pruned = self.store.prune(self.config.history_days * 86400)
        if any(pruned.values()):
            log.info(
                "pruned deliveries=%d runs=%d closed_prs=%d reason=older than %g days (history_days)",
                pruned["deliveries"],
                pruned["runs"],
                pruned["desired"],
                self.config.history_days,
            )

    def _tick(self) -> None:
        self._threads = [t for t in self._threads if t.is_alive()]
        with self._lock:
            running = len(self._running)
            waiting = len(self._backoff)
        if running >= self.config.concurrency:
            return  # a finishing run wakes the loop again
        # The running and the backed-off PRs are pending too: read just enough rows to fill the free slots.
        for item in self.store.pending(limit=self.config.concurrency + running + waiting):
            key = (item.repo, item.pr)
            with self._lock:
                if self._stopping.is_set() or len(self._running) >= self.config.concurrency:
                    return
                if key in self._running or not self._backoff.ready(key):
                    continue
                if self.reconciler is not None and not self.reconciler.may_start(*key):
                    continue  # after the reconcile pass, which wakes the loop again
                self._running[key] = item
            thread = threading.Thread(target=self._converge, args=(item,), name=f"run-{item.repo}#{item.pr}")
            try:
                thread.start()
            except Exception:
                self._release(item, failed=True)
                raise
            self._threads.append(thread)

    def _release(self, item: Pending, failed: bool) -> None:
        """Free the PR's slot; after a failure, hold the PR back for a while (longer after each in a row)."""
        key = (item.repo, item.pr)
        with self._lock:
            self._running.pop(key, None)
            if failed:
                self._backoff.failed(key)
            else:
                self._backoff.succeeded(key)
        self._wake.set()

    def _cancel_check(self, item: Pending) -> Callable[[], bool]:
        last = [0.0]
        verdict = [False]

        def cancelled() -> bool:
            # Called often by ansible-runner; look at the database at most twice a second.
            now = time.monotonic()
            if item.state == DesiredState.PRESENT and not verdict[0] and now - last[0] >= 0.5:
                last[0] = now
                row = self.store.desired(item.repo, item.pr)
                verdict[0] = bool(row and row["state"] == DesiredState.ABSENT and row["generation"] > item.generation)
            return verdict[0]

        return cancelled

    def _converge(self, item: Pending) -> None:
        """One slot's whole life: record the run, run it, record the result, free the slot, whatever fails."""
        kind = RUN_KIND.get(item.state, item.state)
        run_id = None
        failed = True
        try:
            run_id = self.store.start_run(item)
            waited = time.time() - item.changed
            log.info(
                "run=%d delivery=%s repo=%s pr=%d kind=%s sha=%s generation=%d reason=%s status=started"
                " queue_wait=%.2fs",
                run_id,
                item.delivery or "-",
                item.repo,
                item.pr,
                kind,
                item.sha[:12],
                item.generation,
                item.reason or "-",
                waited,
            )
            repo_cfg = self.config.repository(item.repo)
            if repo_cfg is None:
                result = RunResult(RunStatus.ERROR, None, f"repository {item.repo} is no longer configured", 0.0)
            else:
                result = self.run(
                    self.config,
                    kind,
                    repo_cfg,
                    item.pr,
                    item.sha,
                    run_id,
                    self._cancel_check(item),
                    reason=item.reason,
                    fork=item.fork,
                )
            self.store.finish_run(
                run_id,
                item,
                result.status,
                result.rc,
                result.message,
                applied=result.status not in NOT_APPLIED,
                log=result.log,
            )
            failed = False
            log.info(
                "run=%d delivery=%s repo=%s pr=%d kind=%s status=%s rc=%s duration=%.2fs",
                run_id,
                item.delivery or "-",
                item.repo,
                item.pr,
                kind,
                result.status,
                result.rc,
                result.duration,
            )
            if self.metrics:
                self.metrics.observe_run(kind, result.status, result.duration, waited)
        except Exception:
            log.exception(
                "run=%s repo=%s pr=%d kind=%s generation=%d status=error%s",
                run_id if run_id is not None else "-",
                item.repo,
                item.pr,
                kind,
                item.generation,
                " outcome=retry_later" if failed else "",
            )
            if failed and run_id is not None:
                self._close_broken_run(run_id, item)
        finally:
            self._release(item, failed)

    def _close_broken_run(self, run_id: int, item: Pending) -> None:
        """Mark a run that broke as an error, leaving its generation pending; the store may be what broke."""
        try:
            self.store.finish_run(run_id, item, RunStatus.ERROR, None, "internal error", applied=False)
        except Exception:
            log.exception(
                "run=%d repo=%s pr=%d: could not record the error (the run stays 'running' until the shim restarts)",
                run_id,
                item.repo,
                item.pr,
            )
