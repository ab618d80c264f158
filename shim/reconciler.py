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
from .vocabulary import RunStatus

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
        keep = []
        for row in self.store.wanted_or_due():
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
            if result.status != RunStatus.SUCCESSFUL:
                log.warning("reconcile status=%s rc=%s message=%r", result.status, result.rc, result.message[-500:])
                return {}
            missing = stats.get("preview_missing", [])
            redeploy = [
                (item["repo"], int(item["pr"]))
                for item in missing
                if self._redeploy(item["repo"], int(item["pr"]), item.get("status", ""))
            ]
            orphans = list(stats.get("preview_orphans", []))
            log.info(
                "reconcile status=successful orphans_removed=%s redeploy=%s duration=%.2fs",
                ",".join(orphans) or "-",
                ",".join(f"{r}#{p}" for r, p in redeploy) or "-",
                time.monotonic() - started,
            )
            return {"orphans": orphans, "redeploy": redeploy}
        finally:
            self._lock.release()

    def _redeploy(self, repo: str, pr: int, status: str) -> bool:
        """Run a converged, present PR again; a PR still pending or running is left to its own run.

        `status` is the preview's record on its host, as the reconcile play reported it: the shim never
        reads the playbooks' tables, which live on the preview host.
        """
        if self.is_running(repo, pr) or status == "failed":
            return False  # a failure is on the PR already; a new push or event runs it again
        return self.store.redeploy(repo, pr)
