# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state file: how its owners open it, and how each keeps its tables' schema current.

Two owners share one SQLite file: the shim's store (shim/store.py: deliveries, desired state, runs,
redeliveries) and the playbooks' modules (_state.py: deployment records, port leases). Each table has one
owner, and only the owner's code holds SQL about it. Both open the file here, with the same settings.

Schema versions. ``PRAGMA user_version`` is one integer per file, and this file has two owners, each with a
history of its own, and either may be alone in it: with a remote inventory, the shim's file holds no records
and the preview host's file no desired state. One counter would have to number the steps of both owners in
one list known to both, and opening the file as either would create the other's tables. So each owner's
version is a row of ``schema_versions (owner, version)``: how many of its migration steps the file has had.

A file written before that table existed has no row, so it is at version 0, and an owner's first step is its
baseline: its tables as they were then, written to bring any earlier file up to them without losing a row
(``CREATE TABLE IF NOT EXISTS``, missing columns added). A change to a table is a new step appended to its
owner's list; a released step is never edited. The steps run in one BEGIN IMMEDIATE transaction with the
version they reach, so two processes opening a file at once apply each step once; a failed step leaves the
file as it was.
"""

from __future__ import annotations

import os
import sqlite3
from urllib.parse import quote

VERSIONS_SCHEMA = "CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"


class SchemaError(RuntimeError):
    pass


def _settle(conn: sqlite3.Connection, timeout: float) -> sqlite3.Connection:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def connect(path: str, timeout: float = 30.0) -> sqlite3.Connection:
    """Open (and create) the state file for reading and writing; the caller then runs its owner's `migrate`.

    Autocommit (``isolation_level=None``): writers take short BEGIN IMMEDIATE transactions of their own. The
    shim shares one connection between threads under a lock of its own, hence ``check_same_thread=False``.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o750, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    _settle(conn, timeout)
    # Readers never block the writer, nor the writer the readers: the shim and the modules write at once.
    conn.execute("PRAGMA journal_mode=WAL")
    # A delivery answered 2xx is never sent again, and a leased port must stay leased: a commit must reach
    # the disk before it counts (NORMAL in WAL mode can lose the last commits on a power loss).
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def connect_readonly(path: str, timeout: float = 30.0) -> sqlite3.Connection:
    """Open an existing state file for reading only: nothing is created, neither the file nor a table."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no state file at {path}")
    uri = "file:" + quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    return _settle(conn, timeout)


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the file holds the table `name` (a reader may open a file its owner never wrote)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def statements(script: str):
    """The statements of an SQL script, one by one.

    ``executescript`` would COMMIT the migration's transaction before it runs; these go through ``execute``.
    """
    statement = ""
    for line in script.splitlines(True):
        statement += line
        if sqlite3.complete_statement(statement):
            if statement.strip().rstrip(";").strip():
                yield statement.strip()
            statement = ""
    if statement.strip():  # the last statement may go without its semicolon
        if not sqlite3.complete_statement(statement + ";"):
            raise SchemaError(f"an SQL statement is not complete: {statement.strip()[:200]!r}")
        yield statement.strip()


def execute_script(conn: sqlite3.Connection, script: str) -> None:
    """Run an SQL script inside the caller's transaction."""
    for statement in statements(script):
        conn.execute(statement)


def version(conn: sqlite3.Connection, owner: str) -> int:
    """How many of `owner`'s migration steps the file has had (0 when none was ever recorded)."""
    if not has_table(conn, "schema_versions"):
        return 0
    row = conn.execute("SELECT version FROM schema_versions WHERE owner=?", (owner,)).fetchone()
    return row[0] if row else 0


def migrate(conn: sqlite3.Connection, owner: str, steps) -> int:
    """Apply the steps of `owner` the file has not had yet, in order; returns its version (``len(steps)``).

    A step is an SQL script, or a function that takes the connection. Steps run inside the transaction:
    they must not commit.
    """
    if version(conn, owner) == len(steps):
        return len(steps)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(VERSIONS_SCHEMA)
        have = version(conn, owner)  # again, under the write lock: another process may have migrated meanwhile
        if have > len(steps):
            raise SchemaError(
                f"the state file's {owner} tables are at schema version {have}, newer than this code knows"
                f" ({len(steps)}): it was written by a newer release; upgrade this one"
            )
        for step in steps[have:]:
            if callable(step):
                step(conn)
            else:
                execute_script(conn, step)
        conn.execute(
            "INSERT INTO schema_versions (owner, version) VALUES (?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET version=excluded.version",
            (owner, len(steps)),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(steps)
