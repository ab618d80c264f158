"""Repair both ways, on start and on a timer: what should exist against what does.

What should exist is every PR whose desired state is present or held (a held
PR may still run the commit that was approved); a PR with a run still due is
left to that run, whatever it wants. The reconcile play lists every
trace on the host (records, compose projects, nginx files, work dirs), removes
what belongs to no such PR, and reports the kept previews that have no running
stack or no route; those are run again by bumping their generation.
"""

from __future__ import annotations

import logging
import threading
import time

from .config import Config
from .runner import run_reconcile
from .store import Store

log = logging.getLogger("preview.shim.reconciler")


class Reconciler:
    def __init__(self, config: Config, store: Store, is_running=lambda repo, pr: False, run=run_reconcile):
        self.config = config
        self.store = store
        self.is_running = is_running
        self.run = run
        self._lock = threading.Lock()
        self._passing: frozenset[tuple[str, int]] | None = None  # the keep list of the pass in flight

    def keep(self) -> list[dict]:
        """The PRs whose traces stay: wanted ones, and any PR with a run still due (a pending cleanup is its
        own run's to do: removing its stack here too would race that run, and fail one of them)."""
        rows = self.store.query(
            "SELECT repo, pr FROM desired WHERE state IN ('present', 'held') OR generation > applied_generation"
        )
        keep = []
        for row in rows:
            repo = self.config.repository(row["repo"])
            if repo is not None:
                keep.append({"repo": repo.full_name, "pr": row["pr"], "slug": repo.slug})
        return keep

    def may_start(self, repo: str, pr: int) -> bool:
        """Whether a run of the PR may start now. While a pass is in flight, only PRs on its keep list may:
        the traces a new run leaves meanwhile would look like orphans to it, and be removed under the run."""
        passing = self._passing
        return passing is None or (repo, pr) in passing

    def run_once(self) -> dict:
        """One pass; returns {"orphans": [...labels], "redeploy": [(repo, pr), ...]} (empty when busy)."""
        if not self._lock.acquire(blocking=False):
            return {}
        try:
            started = time.monotonic()
            keep = self.keep()
            self._passing = frozenset((entry["repo"], entry["pr"]) for entry in keep)
            try:
                result, stats = self.run(self.config, keep)
            finally:
                self._passing = None
            if result.status != "successful":
                log.warning("reconcile status=%s rc=%s message=%r", result.status, result.rc, result.message[-500:])
                return {}
            redeploy = [(item["repo"], int(item["pr"])) for item in stats.get("preview_missing", [])]
            redeploy = [key for key in redeploy if self._redeploy(*key)]
            orphans = list(stats.get("preview_orphans", []))
            log.info("reconcile status=successful orphans_removed=%s redeploy=%s duration=%.2fs",
                     ",".join(orphans) or "-", ",".join(f"{r}#{p}" for r, p in redeploy) or "-",
                     time.monotonic() - started)
            return {"orphans": orphans, "redeploy": redeploy}
        finally:
            self._lock.release()

    def _redeploy(self, repo: str, pr: int) -> bool:
        """Run a converged, present PR again; a PR still pending or running is left to its own run."""
        if self.is_running(repo, pr):
            return False
        with self.store.transaction() as conn:
            record = conn.execute("SELECT status FROM deployments WHERE repo=? AND pr=?", (repo, pr)).fetchone()
            if record is not None and record["status"] == "failed":
                return False  # its failure is on the PR; a new push or event runs it again
            return conn.execute(
                "UPDATE desired SET generation=generation+1, changed=?, reason='missing', delivery=''"
                " WHERE repo=? AND pr=? AND state='present' AND generation=applied_generation",
                (time.time(), repo, pr),
            ).rowcount > 0
