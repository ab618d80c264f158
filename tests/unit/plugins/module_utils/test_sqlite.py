"""The state file's two owners: one way to open it, one schema version per owner, migrations in place."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from ansible_collections.preview.envs.plugins.module_utils import _sqlite, _state
from shim.store import MIGRATIONS, Store

RECORD = {
    "repo": "o/r",
    "pr": 5,
    "sha": "a" * 40,
    "label": "r-pr-5",
    "project": "preview-r-pr-5",
    "work_dir": "/srv/r-pr-5",
    "url": "http://x/r-pr-5/",
    "app_port": 8005,
    "db_port": 9005,
    "status": "live",
}
NEW_COLUMN = "ALTER TABLE deployments ADD COLUMN note TEXT NOT NULL DEFAULT ''"


def _file_of_todays_state_code(path) -> None:
    """A state file as `_state.connect` wrote it before schema versions: its SCHEMA, a record, two leases."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_state.SCHEMA)
    conn.execute(
        f"INSERT INTO deployments ({', '.join(RECORD)}, created, updated, last_push)"
        f" VALUES ({', '.join('?' * len(RECORD))}, 1, 1, 1)",
        tuple(RECORD.values()),
    )
    conn.executemany("INSERT INTO ports VALUES (?, 'o/r', 5, ?)", [(8005, "app"), (9005, "db")])
    conn.close()


def _versions(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT owner, version FROM schema_versions").fetchall())
    finally:
        conn.close()


def _tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_file_of_todays_code_migrates_in_place_and_keeps_its_rows(tmp_path):
    path = str(tmp_path / "state.db")
    _file_of_todays_state_code(path)

    conn = _state.connect(path)  # the baseline step only: nothing to change but the version
    assert _state.get_record(conn, "o/r", 5)["status"] == "live"
    conn.close()
    assert _versions(path) == {_state.OWNER: 1}

    conn = _sqlite.connect(path)
    assert _sqlite.migrate(conn, _state.OWNER, (*_state.MIGRATIONS, NEW_COLUMN)) == 2
    record = _state.get_record(conn, "o/r", 5)
    assert {key: record[key] for key in RECORD} == RECORD
    assert record["note"] == ""
    assert _state.get_ports(conn, "o/r", 5) == {"app": 8005, "db": 9005}
    conn.close()
    assert _versions(path) == {_state.OWNER: 2}


def test_both_owners_open_the_file_with_the_same_settings(tmp_path):
    path = str(tmp_path / "state.db")
    store = Store(path)
    conn = _state.connect(path)
    try:
        for pragma, value in (("journal_mode", "wal"), ("synchronous", 2), ("busy_timeout", 30000)):
            assert conn.execute(f"PRAGMA {pragma}").fetchone()[0] == value
            assert list(store.query(f"PRAGMA {pragma}")[0].values()) == [value]
    finally:
        conn.close()
        store.close()


def test_each_owner_versions_and_creates_its_own_tables_only(tmp_path):
    shim_file, host_file = str(tmp_path / "shim.db"), str(tmp_path / "host.db")
    Store(shim_file).close()
    _state.connect(host_file).close()

    # With the previews on another host, the shim's file has no records, and the host's no desired state.
    assert "deployments" not in _tables(shim_file) and "ports" not in _tables(shim_file)
    assert "desired" not in _tables(host_file)
    assert _versions(shim_file) == {"shim.store": len(MIGRATIONS)}
    assert _versions(host_file) == {_state.OWNER: 1}

    _state.connect(shim_file).close()  # the previews run on the shim's machine: one file, two owners
    assert _versions(shim_file) == {"shim.store": len(MIGRATIONS), _state.OWNER: 1}


def test_a_failed_step_leaves_the_file_as_it_was(tmp_path):
    path = str(tmp_path / "state.db")
    _state.connect(path).close()
    conn = _sqlite.connect(path)
    broken = NEW_COLUMN + ";\nINSERT INTO nowhere VALUES (1);"
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        _sqlite.migrate(conn, _state.OWNER, (*_state.MIGRATIONS, broken))
    assert not conn.in_transaction
    assert "note" not in {row[1] for row in conn.execute("PRAGMA table_info(deployments)")}
    assert _sqlite.version(conn, _state.OWNER) == 1
    conn.close()


def test_a_file_from_a_newer_release_is_refused_with_a_clear_error(tmp_path):
    path = str(tmp_path / "state.db")
    conn = _sqlite.connect(path)
    _sqlite.migrate(conn, _state.OWNER, (*_state.MIGRATIONS, NEW_COLUMN))
    with pytest.raises(_sqlite.SchemaError, match="schema version 2, newer than this code knows"):
        _sqlite.migrate(conn, _state.OWNER, _state.MIGRATIONS)
    conn.close()


def test_two_processes_opening_a_file_at_once_apply_each_step_once(tmp_path):
    path = str(tmp_path / "state.db")
    _state.connect(path).close()
    applied = []
    inside = threading.Event()

    def step(conn):
        applied.append(threading.get_ident())
        inside.set()
        threading.Event().wait(0.2)  # the other opener arrives meanwhile, and waits for the write lock
        conn.execute(NEW_COLUMN)

    def open_file():
        conn = _sqlite.connect(path)
        _sqlite.migrate(conn, _state.OWNER, (*_state.MIGRATIONS, step))
        conn.close()

    first = threading.Thread(target=open_file)
    first.start()
    inside.wait(5)
    open_file()
    first.join()
    assert len(applied) == 1
    assert _versions(path) == {_state.OWNER: 2}


def test_readers_create_nothing(tmp_path):
    shim_file = str(tmp_path / "shim.db")
    Store(shim_file).close()
    before = _tables(shim_file)

    assert _state.read_records(shim_file) == [] and _state.read_leases(shim_file) == []
    assert _state.read_records(str(tmp_path / "none.db")) == []
    assert _tables(shim_file) == before
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(FileNotFoundError, match="no state file at"):
        _sqlite.connect_readonly(str(tmp_path / "none.db"))


def test_read_records_and_leases(tmp_path):
    path = str(tmp_path / "state.db")
    _file_of_todays_state_code(path)
    [record] = _state.read_records(path)
    assert {key: record[key] for key in RECORD} == RECORD
    assert _state.read_leases(path) == [
        {"port": 8005, "repo": "o/r", "pr": 5, "role": "app"},
        {"port": 9005, "repo": "o/r", "pr": 5, "role": "db"},
    ]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "CREATE TABLE a (x);\nCREATE TABLE b (y TEXT DEFAULT ';');\n",
            ["CREATE TABLE a (x);", "CREATE TABLE b (y TEXT DEFAULT ';');"],
        ),
        ("CREATE INDEX i ON a (x) WHERE x != '';", ["CREATE INDEX i ON a (x) WHERE x != '';"]),
        ("\n  \n", []),
    ],
)
def test_a_script_is_cut_into_its_statements(script, expected):
    assert list(_sqlite.statements(script)) == expected


def test_an_incomplete_script_is_an_error():
    with pytest.raises(_sqlite.SchemaError, match="not complete"):
        list(_sqlite.statements("INSERT INTO a VALUES ('x);"))  # the quote is never closed
