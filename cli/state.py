"""What the CLI reads of the state file: through its tables' owners, read-only.

The collection's `_state` owns the deployment records (written by the playbooks on the preview host), the
shim's `Store` the desired state. The CLI only reads the file: it never creates it, nor a table in it.
"""

from __future__ import annotations

import os

from shim.store import Pending, Store

from ._collection import module_util

_state = module_util("_state")


def exists(db: str) -> bool:
    return os.path.isfile(db)


def previews(db: str) -> list[dict]:
    """Every deployment record, by repository and PR ([] when none was ever recorded in `db`)."""
    return _state.read_records(db)


def preview(db: str, repo: str, pr: int) -> dict | None:
    """The deployment record of one PR, or None."""
    return next((row for row in previews(db) if (row["repo"], row["pr"]) == (repo, pr)), None)


def queue(db: str) -> list[Pending] | None:
    """The PRs with a run due, oldest change first; None when no shim ever wrote `db` (or there is no `db`)."""
    if not exists(db):
        return None
    store = Store(db, readonly=True)
    try:
        return store.pending() if store.has_tables() else None
    finally:
        store.close()


def runs(db: str, repo: str, pr: int) -> list[dict] | None:
    """The PR's runs, newest first, each with `log`: the tail of its output the shim keeps (None when it keeps
    none: a running run, or one of more than the newest five). `repo` matches as GitHub does, in any case.
    [] for a PR the shim does not know; None when no shim ever wrote `db` (or there is no `db`)."""
    if not exists(db):
        return None
    store = Store(db, readonly=True)
    try:
        if not store.has_tables():
            return None
        spelled = {row["repo"] for row in store.previews() if row["repo"].lower() == repo.lower()}
        found = [run for name in sorted(spelled) for run in store.runs(name, pr)]
        return [{**run, "log": store.run_log(run["repo"], pr, run["id"])} for run in reversed(found)]
    finally:
        store.close()
