# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The preview host's state: deployment records and port leases, in SQLite.

This module owns the `deployments` and `ports` tables: every statement about them is here. When the
previews run on the shim's machine, the shim keeps its own tables in the same file (see _sqlite.py); it
never reads these: what it needs of them reaches it in the reconcile play's report. Transactions are short
and taken with BEGIN IMMEDIATE so two runs never lease the same port.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time

from ansible_collections.preview.envs.plugins.module_utils import _sqlite

OWNER = "preview.envs._state"

# The tables as they were when schema versions began (step 1 of MIGRATIONS); never edited since.
SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    sha TEXT NOT NULL,
    label TEXT NOT NULL,
    project TEXT NOT NULL,
    work_dir TEXT NOT NULL,
    url TEXT NOT NULL,
    app_port INTEGER NOT NULL,
    db_port INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    last_push REAL NOT NULL,
    PRIMARY KEY (repo, pr)
);
CREATE TABLE IF NOT EXISTS ports (
    port INTEGER PRIMARY KEY,
    repo TEXT NOT NULL,
    pr INTEGER NOT NULL,
    role TEXT NOT NULL,
    UNIQUE (repo, pr, role)
);
"""

# The migration steps of this owner's tables, in order (see _sqlite.py); append, never edit.
MIGRATIONS = (SCHEMA,)

ROLES = ("app", "db")
STATUSES = ("building", "live", "failed")


class PortsExhausted(RuntimeError):
    pass


def connect(path: str) -> sqlite3.Connection:
    """Open the state file at `path` for writing, its records and leases tables brought up to date."""
    conn = _sqlite.connect(path)
    _sqlite.migrate(conn, OWNER, MIGRATIONS)
    return conn


def _read(path: str, table: str, read) -> list[dict]:
    if not os.path.isfile(path):
        return []
    conn = _sqlite.connect_readonly(path)
    try:
        return read(conn) if _sqlite.has_table(conn, table) else []
    finally:
        conn.close()


def read_records(path: str) -> list[dict]:
    """Every deployment record in the file at `path`, opened read-only ([] when there is no file, or when no
    preview was ever recorded in it: the shim's own file, when the previews run on another host)."""
    return _read(path, "deployments", list_records)


def read_leases(path: str) -> list[dict]:
    """Every port lease in the file at `path`, opened read-only ([] as for `read_records`)."""
    return _read(path, "ports", list_leases)


def list_records(conn: sqlite3.Connection) -> list[dict]:
    """Every deployment record, by repository and PR."""
    return [dict(row) for row in conn.execute("SELECT * FROM deployments ORDER BY repo, pr")]


def list_leases(conn: sqlite3.Connection) -> list[dict]:
    """Every port lease (port, repo, pr, role), by port."""
    return [dict(row) for row in conn.execute("SELECT port, repo, pr, role FROM ports ORDER BY port")]


def port_is_bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def get_record(conn: sqlite3.Connection, repo: str, pr: int) -> dict | None:
    row = conn.execute("SELECT * FROM deployments WHERE repo=? AND pr=?", (repo, pr)).fetchone()
    return dict(row) if row else None


def get_ports(conn: sqlite3.Connection, repo: str, pr: int) -> dict:
    rows = conn.execute("SELECT role, port FROM ports WHERE repo=? AND pr=?", (repo, pr)).fetchall()
    return {row["role"]: row["port"] for row in rows}


def lease_ports(conn, repo: str, pr: int, port_range: tuple[int, int], bindable=port_is_bindable) -> dict:
    """Lease an app and a db port for the PR; keeps leases it already holds.

    Preferred ports are 8000+N and 9000+N (the seed's scheme) when they are in
    the range, not leased and bindable; otherwise the lowest free port of the
    range. Runs inside the caller's transaction.
    """
    held = get_ports(conn, repo, pr)
    low, high = port_range
    preferred = {"app": 8000 + pr, "db": 9000 + pr}
    taken = {row["port"] for row in conn.execute("SELECT port FROM ports")}
    for role in ROLES:
        if role in held:
            continue
        candidates = []
        if low <= preferred[role] <= high:
            candidates.append(preferred[role])
        candidates.extend(range(low, high + 1))
        for port in candidates:
            if port in taken or not bindable(port):
                continue
            conn.execute("INSERT INTO ports (port, repo, pr, role) VALUES (?, ?, ?, ?)", (port, repo, pr, role))
            taken.add(port)
            held[role] = port
            break
        else:
            raise PortsExhausted(f"no free port left in {low}-{high} for {repo}#{pr} ({role})")
    return held


def release(conn, repo: str, pr: int) -> bool:
    """Delete the record and the port leases of a PR; True when anything was there."""
    removed = conn.execute("DELETE FROM ports WHERE repo=? AND pr=?", (repo, pr)).rowcount
    removed += conn.execute("DELETE FROM deployments WHERE repo=? AND pr=?", (repo, pr)).rowcount
    return removed > 0


def over_cap(conn, repo: str, max_previews: int, max_per_repo: int) -> str:
    """Why one more preview does not fit (a cap of 0 is none), or ''."""
    total = conn.execute("SELECT COUNT(*) FROM deployments").fetchone()[0]
    if max_previews and total >= max_previews:
        return f"this host already runs {total} previews, the most it takes (max_previews={max_previews})"
    mine = conn.execute("SELECT COUNT(*) FROM deployments WHERE repo=?", (repo,)).fetchone()[0]
    if max_per_repo and mine >= max_per_repo:
        return (
            f"{repo} already has {mine} previews on this host, the most one repository may have"
            f" (max_previews_per_repo={max_per_repo})"
        )
    return ""


def free_mib(path: str) -> float:
    """Free space for unprivileged use at `path`, or at its nearest existing parent, in MiB."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize / 1048576


def low_disk(paths, min_free_mib: int) -> str:
    """Which of `paths` has less than `min_free_mib` MiB free, in words, or '' (0 checks nothing)."""
    if not min_free_mib:
        return ""
    for path in paths:
        free = free_mib(path)
        if free < min_free_mib:
            return f"only {free:.0f} MiB free on the filesystem of {path}, below the watermark of {min_free_mib} MiB"
    return ""


def upsert_record(conn, values: dict, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    old = get_record(conn, values["repo"], values["pr"])
    if old is None:
        row = dict(values, created=now, updated=now, last_push=now)
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        conn.execute(f"INSERT INTO deployments ({columns}) VALUES ({marks})", tuple(row.values()))
        return row
    row = dict(old)
    row.update(values)
    if values.get("sha") != old["sha"]:
        row["last_push"] = now
    if any(row[key] != old[key] for key in values):
        row["updated"] = now
    sets = ", ".join(f"{key}=?" for key in row if key not in ("repo", "pr"))
    params = [row[key] for key in row if key not in ("repo", "pr")] + [row["repo"], row["pr"]]
    conn.execute(f"UPDATE deployments SET {sets} WHERE repo=? AND pr=?", params)
    return row
