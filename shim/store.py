"""The shim's durable state in SQLite: deliveries, the desired state per PR, runs, `/preview` commands.

Level-triggered: an accepted event does not queue a job, it moves the PR's
desired state and bumps its generation. The converger runs whatever PR has a
generation ahead of the one it applied, so bursts coalesce and a crash loses
nothing: an interrupted run simply stays pending.

This module owns the shim's tables: every statement about them is here. The
file is opened, and its schema versioned, as the collection's _sqlite.py says;
the playbooks' tables (deployment records, port leases) are never read here.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from .events import CommentCommand
from .policy import Decision, approval_settled, command_decision, same_wanted_state, sweep_may_move
from .vocabulary import RUN_KIND, Command, CommandOutcome, DesiredState, Reason, RunKind, RunStatus

OWNER = "shim.store"

# The tables as they were when schema versions began (see `_baseline`); never edited since.
SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    guid TEXT PRIMARY KEY,
    received REAL NOT NULL,
    event TEXT NOT NULL,
    action TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    pr INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desired (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    state TEXT NOT NULL,
    sha TEXT NOT NULL,
    pr_updated_at TEXT NOT NULL,
    generation INTEGER NOT NULL,
    applied_generation INTEGER NOT NULL DEFAULT 0,
    changed REAL NOT NULL,
    approved_sha TEXT NOT NULL DEFAULT '',
    pinned INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    activity REAL NOT NULL DEFAULT 0,
    delivery TEXT NOT NULL DEFAULT '',
    held_sha TEXT NOT NULL DEFAULT '',
    claim_sha TEXT NOT NULL DEFAULT '',
    claim_by TEXT NOT NULL DEFAULT '',
    fork INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, pr)
);
CREATE INDEX IF NOT EXISTS desired_pending ON desired (changed) WHERE generation > applied_generation;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sha TEXT NOT NULL,
    status TEXT NOT NULL,
    rc INTEGER,
    queued REAL NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pr_high_water (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repo, pr)
);
CREATE TABLE IF NOT EXISTS healthcheck (x INTEGER);
CREATE TABLE IF NOT EXISTS redelivery (
    repo TEXT NOT NULL,
    guid TEXT NOT NULL DEFAULT '',
    delivery_id INTEGER NOT NULL DEFAULT 0,
    at REAL NOT NULL,
    PRIMARY KEY (repo, guid)
);
"""

# Indexes on columns that _add_missing_columns may have to add to an older file first.
# The converger looks for approval claims on every wake: without this, a scan of every PR each time.
LATE_INDEXES = "CREATE INDEX IF NOT EXISTS desired_claims ON desired (changed) WHERE claim_sha != '';"

# /healthz answers 503 when the state file's filesystem has less free space than this.
MIN_FREE_DISK_BYTES = 100 * 1024 * 1024

# How long a redelivery request is remembered: longer than GitHub keeps deliveries (3 days, 7 on GHES).
REDELIVERY_MEMORY = 8 * 24 * 3600


@functools.cache
def _sqlite() -> ModuleType:
    """The collection's _sqlite.py: the one way both owners of the file open it and version their tables.

    Imported when a Store opens rather than with this module: the installed shim's collection is importable
    once its configuration is read (shim.config puts `collections_path` on sys.path, and imports this module
    first); in a checkout's venv it always is (bootstrap's .pth file), and the CLI makes it so (cli/_collection.py).
    """
    from .config import collection_module  # shim.config imports this module

    try:
        return collection_module("", "_sqlite")
    except ImportError as exc:
        raise ImportError(
            f"the state file is opened through the preview.envs collection, which is not importable ({exc}):"
            " load the configuration first (its collections_path), or put the collection on sys.path"
        ) from exc


def _declared_columns(schema: str) -> dict[str, dict[str, str]]:
    """{table: {column: declaration}} of the columns with a DEFAULT (those can be added later)."""
    tables: dict[str, dict[str, str]] = {}
    for block in schema.split("CREATE TABLE IF NOT EXISTS ")[1:]:
        name, body = block.split("(", 1)
        columns = tables.setdefault(name.strip(), {})
        for line in body.splitlines():
            parts = line.strip().rstrip(",").split(None, 1)
            if len(parts) == 2 and "DEFAULT" in parts[1]:
                columns[parts[0]] = parts[1]
    return tables


def _baseline(conn: sqlite3.Connection) -> None:
    """Step 1: SCHEMA. A file from before schema versions, of any earlier release, gains the columns it lacks
    (columns were only ever added, each with a DEFAULT), then the indexes on them."""
    _sqlite().execute_script(conn, SCHEMA)
    for table, columns in _declared_columns(SCHEMA).items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, declaration in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
    _sqlite().execute_script(conn, LATE_INDEXES)


# Step 2: `/preview <command>` comments. A command waits in `commands` until GitHub said whether its sender may
# write to the repository (`outcome` then says what became of it) and until the comment got its reaction; then
# the row goes. `sha` is the PR's head as the shim knew it when the comment came ('' for a PR it never saw).
# A pin by command lives beside the pin label's (`desired.pinned`), which every event recomputes from the labels.
COMMANDS = """
ALTER TABLE desired ADD COLUMN pinned_by_command INTEGER NOT NULL DEFAULT 0;
CREATE TABLE commands (
    repo TEXT NOT NULL,
    comment_id INTEGER NOT NULL,
    pr INTEGER NOT NULL,
    command TEXT NOT NULL,
    sender TEXT NOT NULL,
    sha TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL DEFAULT '',
    received REAL NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (repo, comment_id)
);
"""

# Step 3: what the status page shows (shim/status_page.py). A run keeps the tail of its output (bounded and
# redacted by shim/run_log.py) in `run_logs`, apart from `runs`, which every listing reads; only the newest
# LOGS_KEPT runs of a PR keep theirs. `desired.created` is when the shim first wanted something of the PR (its
# age); a row from before has it from its oldest run still kept, or from its last change.
STATUS_PAGE = """
CREATE TABLE run_logs (
    run INTEGER PRIMARY KEY,
    log TEXT NOT NULL
);
ALTER TABLE desired ADD COLUMN created REAL NOT NULL DEFAULT 0;
UPDATE desired SET created = COALESCE(
    (SELECT MIN(queued) FROM runs WHERE runs.repo = desired.repo AND runs.pr = desired.pr), changed
);
"""
LOGS_KEPT = 5

# The migration steps of the shim's tables, in order (see the collection's _sqlite.py); append, never edit.
MIGRATIONS = (_baseline, COMMANDS, STATUS_PAGE)


@dataclass(frozen=True)
class Delivery:
    """A verified delivery to store: for a PR event, with the PR and how to decide its wanted state."""

    guid: str
    event: str
    action: str
    repo: str = ""
    pr: int = 0
    decide: Callable[[dict | None], Decision] | None = None
    pr_updated_at: str = ""
    command: CommentCommand | None = None  # an `issue_comment` that asks for a command


@dataclass(frozen=True)
class Stored:
    """What became of a stored delivery, and the PR's wanted state after it ('' when it has none)."""

    outcome: str
    generation: int
    state: str = ""
    reason: str = ""


def _of(repo: str | None, pr: int | None) -> tuple[str, tuple]:
    """A WHERE clause (with its parameters) for the rows of one repository, or of one PR of it."""
    if repo is None:
        return "", ()
    return (" WHERE repo=?", (repo,)) if pr is None else (" WHERE repo=? AND pr=?", (repo, pr))


def _wanted(row: dict | None) -> tuple[str, str]:
    return (row["state"], row["reason"]) if row else ("", "")


@dataclass(frozen=True)
class Pending:
    repo: str
    pr: int
    state: str
    sha: str
    generation: int
    changed: float
    reason: str = ""
    delivery: str = ""  # the GUID of the delivery that set this desired state ('' for TTL, reconcile)
    fork: bool = False  # the PR's head is a fork's


class Store:
    """One connection, guarded by a lock: writes are short and SQLite serialises them anyway."""

    def __init__(self, path: str, busy_timeout: float = 30.0, readonly: bool = False):
        """Open the state file at `path`, its tables brought up to date; with `readonly`, an existing file for
        reading only (nothing is created or migrated: see `has_tables`)."""
        self.path = path
        self._lock = threading.Lock()
        if readonly:
            self._conn = _sqlite().connect_readonly(path, busy_timeout)
        else:
            self._conn = _sqlite().connect(path, busy_timeout)
            _sqlite().migrate(self._conn, OWNER, MIGRATIONS)

    def has_tables(self) -> bool:
        """Whether the file holds the shim's tables (a read-only Store may open a file no shim ever wrote)."""
        return _sqlite().has_table(self._conn, "desired")

    @contextmanager
    def transaction(self):
        with self._lock:
            # A BEGIN that fails (database locked, disk error) opened nothing: its error is the one to raise.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT may leave the transaction open; every later BEGIN would fail on it.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params=()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    # --- intake -----------------------------------------------------------
    def has_delivery(self, guid: str) -> bool:
        return bool(self.query("SELECT 1 FROM deliveries WHERE guid=?", (guid,)))

    def accept(
        self,
        guid: str,
        event: str,
        action: str,
        repo: str = "",
        pr: int = 0,
        decide: Callable[[dict | None], Decision] | None = None,
        pr_updated_at: str = "",
    ) -> tuple[str, int]:
        """Store one delivery in a transaction of its own; returns (outcome, generation). See `accept_batch`."""
        [stored] = self.accept_batch([Delivery(guid, event, action, repo, pr, decide, pr_updated_at)])
        if isinstance(stored, Exception):
            raise stored
        return stored.outcome, stored.generation

    def accept_batch(self, deliveries: list[Delivery]) -> list[Stored | Exception]:
        """Store deliveries and, for PR events, move the PRs' desired states, in ONE transaction.

        Each is decided in order, as if alone: a GUID twice in one batch is a duplicate the second time, and
        two events of one PR see each other. `decide` gets the PR's current row (or None) and returns the new
        Decision; it runs inside the transaction, so two events of one PR never race. A delivery whose
        handling raises is rolled back alone (a savepoint) and gets its exception in place of a result; a
        failed COMMIT raises, and then none of the batch is stored. Outcomes: `duplicate` (GUID seen
        before), `ignored` (nothing to do), `stale` (older than what we have), `unchanged` (same wanted
        state) or `accepted`.
        """
        now = time.time()
        results: list[Stored | Exception] = []
        with self.transaction() as conn:
            for delivery in deliveries:
                conn.execute("SAVEPOINT delivery")
                try:
                    results.append(self._accept_one(conn, delivery, now))
                except Exception as exc:  # this delivery only: the others of the batch stand
                    conn.execute("ROLLBACK TO delivery")
                    results.append(exc)
                conn.execute("RELEASE delivery")
        return results

    def _accept_one(self, conn, d: Delivery, now: float) -> Stored:
        if conn.execute("SELECT 1 FROM deliveries WHERE guid=?", (d.guid,)).fetchone():
            return Stored("duplicate", 0)
        stored = Stored("ignored", 0)
        if d.decide is not None:
            stored = self._decide(conn, d.repo, d.pr, d.decide, d.pr_updated_at, now, d.guid)
        elif d.command is not None:
            stored = self._store_command(conn, d.command, now, d.guid)
        conn.execute(
            "INSERT INTO deliveries (guid, received, event, action, repo, pr, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (d.guid, now, d.event, d.action, d.repo, d.pr, stored.outcome),
        )
        return stored

    def _decide(self, conn, repo, pr, decide, pr_updated_at: str, now: float, guid: str, sweep=None) -> Stored:
        row = conn.execute("SELECT * FROM desired WHERE repo=? AND pr=?", (repo, pr)).fetchone()
        row = dict(row) if row else None
        # Several events of one PR can share its updated_at (labeled, then synchronize): only strictly
        # older is stale. A pruned PR keeps its mark, so a replayed old body cannot bring it back.
        newest = row["pr_updated_at"] if row else self._high_water(conn, repo, pr)
        if pr_updated_at < newest or (sweep is not None and row is None and newest):
            return Stored("stale", row["generation"] if row else 0, *_wanted(row))
        decision = decide(row)
        if sweep is not None and not sweep(row, decision):
            return Stored("unchanged", row["generation"] if row else 0, *_wanted(row))
        outcome, generation = self._move(conn, repo, pr, row, decision, pr_updated_at, now, guid)
        wanted = (decision.state, decision.reason) if outcome == "accepted" else _wanted(row)
        return Stored(outcome, generation, *wanted)

    def sweep(self, repo: str, pr: int, decide: Callable[[dict | None], Decision], pr_updated_at: str) -> Stored:
        """Move a PR's desired state to what GitHub's own view of the PR decides (shim/sweep.py).

        The same transaction, stale rule and outcomes as a delivery, without a delivery row: the sweep only
        repairs what the events missed, so a PR pruned long ago stays gone (only a webhook brings it back) and
        `policy.sweep_may_move` keeps a TTL in force.
        """
        with self.transaction() as conn:
            return self._decide(conn, repo, pr, decide, pr_updated_at, time.time(), "", sweep=sweep_may_move)

    def previews_of(self, repo: str) -> list[int]:
        """The PRs of `repo` whose preview should exist (present or held), by number."""
        rows = self.query(
            "SELECT pr FROM desired WHERE repo=? AND state IN (?, ?) ORDER BY pr",
            (repo, DesiredState.PRESENT, DesiredState.HELD),
        )
        return [row["pr"] for row in rows]

    @staticmethod
    def _high_water(conn, repo: str, pr: int) -> str:
        """The newest updated_at seen of a PR whose desired row was pruned ('' if none)."""
        mark = conn.execute("SELECT updated_at FROM pr_high_water WHERE repo=? AND pr=?", (repo, pr)).fetchone()
        return mark["updated_at"] if mark else ""

    @staticmethod
    def _move(conn, repo, pr, row, decision: Decision, pr_updated_at: str, now: float, guid: str) -> tuple[str, int]:
        if row is None:
            if decision.state == DesiredState.ABSENT:
                return "ignored", 0  # nothing was ever deployed for it
            conn.execute(
                "INSERT INTO desired (repo, pr, state, sha, pr_updated_at, generation, changed, approved_sha,"
                " pinned, reason, activity, delivery, claim_sha, claim_by, fork, pinned_by_command, created)"
                " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    repo,
                    pr,
                    decision.state,
                    decision.sha,
                    pr_updated_at,
                    now,
                    decision.approved_sha,
                    int(decision.pinned),
                    decision.reason,
                    now,
                    guid,
                    decision.claim_sha,
                    decision.claim_by,
                    int(decision.fork),
                    int(decision.pinned_by_command),
                    now,
                ),
            )
            return "accepted", 1
        same = same_wanted_state(row, decision)
        conn.execute(
            "UPDATE desired SET pr_updated_at=?, approved_sha=?, pinned=?, claim_sha=?, claim_by=?, fork=?,"
            " pinned_by_command=? WHERE repo=? AND pr=?",
            (
                pr_updated_at,
                decision.approved_sha,
                int(decision.pinned),
                decision.claim_sha,
                decision.claim_by,
                int(decision.fork),
                int(decision.pinned_by_command),
                repo,
                pr,
            ),
        )
        if same:
            # A new approval claim is work for the converger (asking GitHub), though no run is due yet.
            claimed = decision.claim_sha and (decision.claim_sha, decision.claim_by) != (
                row["claim_sha"],
                row["claim_by"],
            )
            return ("accepted" if claimed else "unchanged"), row["generation"]
        generation = row["generation"] + 1
        conn.execute(
            "UPDATE desired SET state=?, sha=?, generation=?, changed=?, reason=?, activity=?, delivery=?"
            " WHERE repo=? AND pr=?",
            (decision.state, decision.sha, generation, now, decision.reason, now, guid, repo, pr),
        )
        return "accepted", generation

    def expire(self, ttl_seconds: float, now: float | None = None) -> list[tuple[str, int]]:
        """Turn previews idle longer than the TTL (and not pinned) to absent; returns them."""
        now = time.time() if now is None else now
        with self.transaction() as conn:
            rows = conn.execute(
                # Only converged previews idle: a PR still building is not expired under its run.
                "SELECT repo, pr FROM desired WHERE state != ? AND pinned = 0 AND pinned_by_command = 0"
                " AND activity < ? AND generation = applied_generation",
                (DesiredState.ABSENT, now - ttl_seconds),
            ).fetchall()
            for row in rows:
                conn.execute(
                    "UPDATE desired SET state=?, generation=generation+1, changed=?, reason=?, delivery=''"
                    " WHERE repo=? AND pr=?",
                    (DesiredState.ABSENT, now, Reason.TTL, row["repo"], row["pr"]),
                )
        return [(row["repo"], row["pr"]) for row in rows]

    def prune(self, keep_seconds: float, now: float | None = None) -> dict[str, int]:
        """Forget history older than `keep_seconds`: deliveries, finished runs, and PRs closed and converged.

        The state file would otherwise grow by every delivery and run, forever. What is pruned can no longer
        matter: a delivery GUID is only needed while GitHub may redeliver it (the caller keeps at least
        REDELIVERY_MEMORY), and a PR that is absent, converged and unchanged that long has nothing left to do.
        """
        now = time.time() if now is None else now
        cutoff = now - keep_seconds
        gone = "state = ? AND generation = applied_generation AND changed < ?"
        with self.transaction() as conn:
            # The only trace a pruned PR keeps: its newest updated_at, which keeps replayed old events stale.
            conn.execute(
                f"INSERT INTO pr_high_water (repo, pr, updated_at) SELECT repo, pr, pr_updated_at FROM desired"
                f" WHERE {gone} ON CONFLICT (repo, pr) DO UPDATE SET updated_at=MAX(updated_at, excluded.updated_at)",
                (DesiredState.ABSENT, cutoff),
            )
            counts = {
                "deliveries": conn.execute("DELETE FROM deliveries WHERE received < ?", (cutoff,)).rowcount,
                "runs": conn.execute(
                    "DELETE FROM runs WHERE finished IS NOT NULL AND finished < ?", (cutoff,)
                ).rowcount,
                "desired": conn.execute(f"DELETE FROM desired WHERE {gone}", (DesiredState.ABSENT, cutoff)).rowcount,
            }
            conn.execute("DELETE FROM run_logs WHERE run NOT IN (SELECT id FROM runs)")
        return counts

    # --- converging -------------------------------------------------------
    def pending(self, limit: int | None = None) -> list[Pending]:
        """PRs whose desired generation is ahead of the applied one, oldest change first."""
        rows = self.query(
            "SELECT repo, pr, state, sha, generation, changed, reason, delivery, fork FROM desired"
            " WHERE generation > applied_generation ORDER BY changed LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [Pending(**dict(row, fork=bool(row["fork"]))) for row in rows]

    def pending_count(self) -> int:
        """PRs with work left (a run due, or an approval label GitHub has not vouched for yet), and commands."""
        return self.query(
            "SELECT (SELECT COUNT(*) FROM desired WHERE generation > applied_generation OR claim_sha != '')"
            " + (SELECT COUNT(*) FROM commands) AS n"
        )[0]["n"]

    def desired_counts(self) -> dict[str, int]:
        """How many PRs the shim knows in each desired state (the states no PR is in are left out)."""
        return {row["state"]: row["n"] for row in self.query("SELECT state, COUNT(*) AS n FROM desired GROUP BY state")}

    def desired(self, repo: str, pr: int) -> dict | None:
        rows = self.query("SELECT * FROM desired WHERE repo=? AND pr=?", (repo, pr))
        return rows[0] if rows else None

    def runs(self, repo: str | None = None, pr: int | None = None) -> list[dict]:
        """Every run, oldest first; only `repo`'s, or only the PR's, when given."""
        where, params = _of(repo, pr)
        return self.query(f"SELECT * FROM runs{where} ORDER BY id", params)

    def deliveries(self, repo: str | None = None, pr: int | None = None) -> list[dict]:
        """Every stored delivery, in the order stored; only `repo`'s, or only the PR's, when given."""
        where, params = _of(repo, pr)
        return self.query(f"SELECT * FROM deliveries{where} ORDER BY rowid", params)

    def previews(self, repo: str | None = None, pr: int | None = None) -> list[dict]:
        """What the status page shows of every PR the shim knows (only `repo`'s, or only the PR, when given), by
        repository and number: its desired row, plus `deployed_sha` (the commit of its newest successful deploy,
        '' when none or when a cleanup succeeded after it) and `last_run` (its newest run with `has_log`, or
        None)."""
        where, params = _of(repo, pr)
        rows = self.query(
            "SELECT d.*, r.id AS run_id, r.kind AS run_kind, r.sha AS run_sha, r.status AS run_status,"
            " r.rc AS run_rc, r.queued AS run_queued, r.started AS run_started, r.finished AS run_finished,"
            " r.message AS run_message, EXISTS (SELECT 1 FROM run_logs WHERE run = r.id) AS run_has_log,"
            " COALESCE((SELECT CASE s.kind WHEN ? THEN s.sha ELSE '' END FROM runs s WHERE s.repo = d.repo"
            "   AND s.pr = d.pr AND s.status = ? AND s.kind IN (?, ?) ORDER BY s.id DESC LIMIT 1), '') AS deployed_sha"
            f" FROM (SELECT * FROM desired{where}) d"
            " LEFT JOIN runs r ON r.id = (SELECT MAX(id) FROM runs WHERE repo = d.repo AND pr = d.pr)"
            " ORDER BY d.repo, d.pr",
            (RunKind.DEPLOY, RunStatus.SUCCESSFUL, RunKind.DEPLOY, RunKind.CLEANUP, *params),
        )
        previews = []
        for row in rows:
            run = {key[4:]: row.pop(key) for key in list(row) if key.startswith("run_")}
            run["has_log"] = bool(run["has_log"])
            previews.append({**row, "last_run": run if run["id"] is not None else None})
        return previews

    def run_log(self, repo: str, pr: int, run_id: int) -> str | None:
        """The kept tail of the output of the PR's run `run_id`, or None when the run has none (any more)."""
        rows = self.query(
            "SELECT l.log FROM run_logs l JOIN runs r ON r.id = l.run WHERE r.id=? AND r.repo=? AND r.pr=?",
            (run_id, repo, pr),
        )
        return rows[0]["log"] if rows else None

    def start_run(self, item: Pending) -> int:
        kind = RUN_KIND[DesiredState(item.state)]
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (repo, pr, generation, kind, sha, status, queued, started)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (item.repo, item.pr, item.generation, kind, item.sha, RunStatus.RUNNING, item.changed, time.time()),
            )
            return cur.lastrowid

    def finish_run(
        self,
        run_id: int,
        item: Pending,
        status: str,
        rc: int | None,
        message: str = "",
        applied: bool = True,
        log: str = "",
    ) -> None:
        """Close the run, keeping `log` (the tail of its output, shim/run_log.py); when `applied`, the PR's
        generation counts as converged."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status=?, rc=?, finished=?, message=? WHERE id=?",
                (status, rc, time.time(), message[-2000:], run_id),
            )
            if log:
                conn.execute("INSERT OR REPLACE INTO run_logs (run, log) VALUES (?, ?)", (run_id, log))
                conn.execute(
                    "DELETE FROM run_logs WHERE run IN"
                    " (SELECT id FROM runs WHERE repo=? AND pr=? ORDER BY id DESC LIMIT -1 OFFSET ?)",
                    (item.repo, item.pr, LOGS_KEPT),
                )
            if applied:
                conn.execute(
                    "UPDATE desired SET applied_generation=MAX(applied_generation, ?) WHERE repo=? AND pr=?",
                    (item.generation, item.repo, item.pr),
                )
            if applied and item.state == DesiredState.HELD and status == RunStatus.SUCCESSFUL:
                # The commit the hold comment now names: the only one an approval label can be for.
                conn.execute("UPDATE desired SET held_sha=? WHERE repo=? AND pr=?", (item.sha, item.repo, item.pr))

    # --- approvals ----------------------------------------------------------
    def approval_claims(self) -> list[dict]:
        """Approval labels whose sender GitHub has not vouched for yet: repo, pr, claim_sha, claim_by."""
        return self.query("SELECT repo, pr, claim_sha, claim_by FROM desired WHERE claim_sha != '' ORDER BY changed")

    def settle_approval(self, repo: str, pr: int, sha: str, login: str, allowed: bool) -> str:
        """Turn the claim (`sha`, `login`) into an approval, or drop it; returns what became of the PR.

        `superseded` when the PR's claim is no longer this one (a newer event changed it meanwhile),
        `accepted` when the PR's wanted state moved (it deploys now), else `unchanged`.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM desired WHERE repo=? AND pr=?", (repo, pr)).fetchone()
            if row is None or (row["claim_sha"], row["claim_by"]) != (sha, login):
                return "superseded"
            row = dict(row)
            outcome, _generation = self._move(
                conn, repo, pr, row, approval_settled(row, allowed), row["pr_updated_at"], time.time(), ""
            )
            return outcome

    # --- commands -----------------------------------------------------------
    @staticmethod
    def _store_command(conn, command: CommentCommand, now: float, guid: str) -> Stored:
        """Keep a `/preview <command>` for the verifier (`accepted`), with the PR's head as the shim knows it now;
        a comment already kept (the same payload under another delivery id) is `unchanged`."""
        row = conn.execute("SELECT sha FROM desired WHERE repo=? AND pr=?", (command.repo, command.pr)).fetchone()
        stored = conn.execute(
            "INSERT OR IGNORE INTO commands (repo, comment_id, pr, command, sender, sha, delivery, received)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                command.repo,
                command.comment_id,
                command.pr,
                command.command,
                command.sender,
                row["sha"] if row else "",
                guid,
                now,
            ),
        ).rowcount
        return Stored("accepted" if stored else "unchanged", 0)

    def commands(self) -> list[dict]:
        """Every command not done with yet (unsettled, or settled and not acknowledged on GitHub), oldest first."""
        return self.query("SELECT * FROM commands ORDER BY received, comment_id")

    def settle_command(self, repo: str, comment_id: int, allowed: bool) -> tuple[str, bool]:
        """Apply the command if `allowed` (GitHub said its sender may write to the repository); returns its outcome
        and whether the PR got a run to do. A command already settled keeps its outcome and moves nothing."""
        with self.transaction() as conn:
            command = conn.execute(
                "SELECT * FROM commands WHERE repo=? AND comment_id=?", (repo, comment_id)
            ).fetchone()
            if command is None:
                raise KeyError(f"no command of comment {comment_id} of {repo} is stored")
            if command["outcome"]:
                return command["outcome"], False
            if not allowed:
                outcome, moved = CommandOutcome.REFUSED, False
            else:
                outcome, moved = self._apply_command(
                    conn, repo, command["pr"], Command(command["command"]), command["sha"], command["delivery"]
                )
            conn.execute("UPDATE commands SET outcome=? WHERE repo=? AND comment_id=?", (outcome, repo, comment_id))
            return outcome, moved

    def run_command(self, repo: str, pr: int, command: Command) -> tuple[CommandOutcome, bool]:
        """Apply a command asked for through the status page's API (shim/status_page.py), whose credential stands
        where GitHub's word on a comment's sender does: the comment's effect, at the PR's head as the shim knows
        it now. Returns the outcome and whether the PR got a run to do."""
        with self.transaction() as conn:
            row = conn.execute("SELECT sha FROM desired WHERE repo=? AND pr=?", (repo, pr)).fetchone()
            return self._apply_command(conn, repo, pr, command, row["sha"] if row else "", "")

    def _apply_command(
        self, conn, repo: str, pr: int, command: Command, sha: str, guid: str
    ) -> tuple[CommandOutcome, bool]:
        """A permitted command's effect on the PR's desired state (`policy.command_decision`), inside the caller's
        transaction: its outcome, and whether the PR got a run to do."""
        row = conn.execute("SELECT * FROM desired WHERE repo=? AND pr=?", (repo, pr)).fetchone()
        row = dict(row) if row else None
        decision = command_decision(row, command, sha)
        if decision is None:
            return CommandOutcome.NOT_APPLICABLE, False
        outcome, _generation = self._move(conn, repo, pr, row, decision, row["pr_updated_at"], time.time(), guid)
        return CommandOutcome.APPLIED, outcome == "accepted"

    def forget_command(self, repo: str, comment_id: int) -> None:
        """The command is settled and its comment acknowledged: nothing is left to do for it."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM commands WHERE repo=? AND comment_id=?", (repo, comment_id))

    def wanted_or_due(self) -> list[dict]:
        """(repo, pr) of every PR whose preview should exist (present or held) or that has a run still due."""
        return self.query(
            "SELECT repo, pr FROM desired WHERE state IN (?, ?) OR generation > applied_generation",
            (DesiredState.PRESENT, DesiredState.HELD),
        )

    def redeploy(self, repo: str, pr: int) -> bool:
        """Bump a converged, present PR's generation so that it runs again (reason `missing`)."""
        with self.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE desired SET generation=generation+1, changed=?, reason=?, delivery=''"
                    " WHERE repo=? AND pr=? AND state=? AND generation=applied_generation",
                    (time.time(), Reason.MISSING, repo, pr, DesiredState.PRESENT),
                ).rowcount
                > 0
            )

    def interrupt_stale_runs(self) -> int:
        """At start: runs still marked running were cut short by a crash; they stay pending."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE runs SET status=?, finished=? WHERE status=?",
                (RunStatus.INTERRUPTED, time.time(), RunStatus.RUNNING),
            ).rowcount

    # --- redelivery -------------------------------------------------------
    # One row per repository with guid '' holds the time of its last completed check; every other row is a
    # GUID whose redelivery we asked GitHub for (the delivery id asked for, and when).
    def redelivery_checked(self, repo: str) -> float | None:
        """When the deliveries of `repo`'s hook were last checked, or None if never."""
        rows = self.query("SELECT at FROM redelivery WHERE repo=? AND guid=''", (repo,))
        return rows[0]["at"] if rows else None

    def set_redelivery_checked(self, repo: str, when: float) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO redelivery (repo, guid, delivery_id, at) VALUES (?, '', 0, ?)"
                " ON CONFLICT (repo, guid) DO UPDATE SET at=excluded.at",
                (repo, when),
            )

    def redelivery_asked(self, repo: str, guid: str) -> bool:
        """True when we already asked GitHub to redeliver this GUID of `repo`'s hook."""
        return bool(guid) and bool(self.query("SELECT 1 FROM redelivery WHERE repo=? AND guid=?", (repo, guid)))

    def record_redelivery(self, repo: str, guid: str, delivery_id: int, now: float | None = None) -> None:
        """Remember that we asked for `guid` (through delivery `delivery_id`); forget what GitHub no longer keeps."""
        if not guid:
            raise ValueError("a redelivery needs the delivery's GUID")
        now = time.time() if now is None else now
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO redelivery (repo, guid, delivery_id, at) VALUES (?, ?, ?, ?)",
                (repo, guid, delivery_id, now),
            )
            conn.execute("DELETE FROM redelivery WHERE guid != '' AND at < ?", (now - REDELIVERY_MEMORY,))

    def redeliveries(self) -> list[dict]:
        """Every GUID we asked GitHub to redeliver, oldest first."""
        return self.query("SELECT repo, guid, delivery_id, at FROM redelivery WHERE guid != '' ORDER BY at, rowid")

    def writable(self) -> bool:
        """True when a row can really be written and committed (and is removed again in the same commit)."""
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO healthcheck (x) VALUES (1)")
                conn.execute("DELETE FROM healthcheck")
            return True
        except sqlite3.Error:
            return False

    def disk_free_bytes(self) -> int:
        """Free space, for an unprivileged writer, on the filesystem that holds the state file (0 when that
        cannot be read: the health check then fails, as it should)."""
        try:
            stats = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return 0
        return stats.f_bavail * stats.f_frsize

    def close(self) -> None:
        with self._lock:
            self._conn.close()
