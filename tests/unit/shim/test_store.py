from __future__ import annotations

import time

import pytest

from shim.store import Store
from tests.unit.shim.seams import accept

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "state.db"))
    yield s
    s.close()


def test_redelivered_guid_is_a_duplicate(store):
    assert accept(store, "g1", "present", A, "2026-01-01T00:00:00Z") == ("accepted", 1)
    assert accept(store, "g1", "present", A, "2026-01-01T00:00:00Z") == ("duplicate", 0)
    assert len(store.pending()) == 1


def test_burst_coalesces_to_the_newest_sha(store):
    for i in range(20):
        accept(store, f"g{i}", "present", f"{i:040x}", f"2026-01-01T00:00:{i:02d}Z")
    [item] = store.pending()
    assert item.sha == f"{19:040x}"
    assert item.generation == 20


def test_older_event_is_stale(store):
    accept(store, "g1", "present", B, "2026-01-01T00:05:00Z")
    assert accept(store, "g0", "present", A, "2026-01-01T00:01:00Z") == ("stale", 1)
    assert store.pending()[0].sha == B


def test_same_wanted_state_does_not_rerun(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    [item] = store.pending()
    run = store.start_run(item)
    store.finish_run(run, item, "successful", 0)
    assert accept(store, "g2", "present", A, "2026-01-01T00:00:01Z")[0] == "unchanged"
    assert store.pending() == []


def test_close_after_deploy_is_pending_again(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    [item] = store.pending()
    store.finish_run(store.start_run(item), item, "successful", 0)
    assert accept(store, "g2", "absent", A, "2026-01-01T00:01:00Z") == ("accepted", 2)
    [item] = store.pending()
    assert item.state == "absent"


def test_a_run_for_an_old_generation_leaves_the_new_one_pending(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    [old] = store.pending()
    run = store.start_run(old)
    accept(store, "g2", "present", C, "2026-01-01T00:00:05Z")
    store.finish_run(run, old, "successful", 0)
    [item] = store.pending()
    assert (item.sha, item.generation) == (C, 2)


def test_crashed_runs_are_marked_and_stay_pending(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    store.start_run(store.pending()[0])
    assert store.interrupt_stale_runs() == 1
    assert len(store.pending()) == 1
    assert store.query("SELECT status FROM runs") == [{"status": "interrupted"}]


def test_absent_for_a_pr_never_deployed_is_ignored(store):
    assert accept(store, "g1", "absent", A, "2026-01-01T00:00:00Z") == ("ignored", 0)
    assert store.pending() == []


def test_ttl_expires_idle_previews_but_not_pinned_ones(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z", pr=1)
    accept(store, "g2", "present", B, "2026-01-01T00:00:00Z", pr=2, pinned=True)
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)
    assert store.expire(3600) == []  # not idle yet
    assert store.expire(3600, now=time.time() + 7200) == [("o/r", 1)]
    [item] = store.pending()
    assert (item.pr, item.state, item.reason) == (1, "absent", "ttl")


def test_a_push_renews_the_ttl(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    first = store.desired("o/r", 1)["activity"]
    time.sleep(0.01)
    accept(store, "g2", "present", B, "2026-01-01T00:00:05Z")
    assert store.desired("o/r", 1)["activity"] > first


def test_a_state_file_of_an_older_version_gets_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE desired (repo TEXT NOT NULL, pr INTEGER NOT NULL, state TEXT NOT NULL,"
        " sha TEXT NOT NULL, pr_updated_at TEXT NOT NULL, generation INTEGER NOT NULL,"
        " applied_generation INTEGER NOT NULL DEFAULT 0, changed REAL NOT NULL, PRIMARY KEY (repo, pr))"
    )
    conn.execute("INSERT INTO desired VALUES ('o/r', 1, 'present', ?, '2026-01-01T00:00:00Z', 1, 1, 0)", (A,))
    conn.commit()
    conn.close()
    store = Store(str(path))
    row = store.desired("o/r", 1)
    assert (row["approved_sha"], row["pinned"], row["delivery"]) == ("", 0, "")
    assert accept(store, "g1", "present", B, "2026-01-01T00:00:05Z") == ("accepted", 2)
    store.close()


def test_a_file_of_todays_store_migrates_in_place_and_gains_a_new_column(tmp_path, monkeypatch):
    import sqlite3

    from shim import store as store_module

    path = str(tmp_path / "state.db")
    conn = sqlite3.connect(path)  # as the Store wrote it before schema versions
    conn.executescript(store_module.SCHEMA + store_module.LATE_INDEXES)
    conn.execute(
        "INSERT INTO desired (repo, pr, state, sha, pr_updated_at, generation, applied_generation, changed)"
        " VALUES ('o/r', 1, 'present', ?, '2026-01-01T00:00:00Z', 3, 3, 0)",
        (A,),
    )
    conn.execute("INSERT INTO deliveries (guid, received, event, outcome) VALUES ('g1', 0, 'ping', 'ignored')")
    conn.commit()
    conn.close()
    step = "ALTER TABLE desired ADD COLUMN note TEXT NOT NULL DEFAULT ''"
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, step))

    store = Store(path)
    row = store.desired("o/r", 1)
    assert (row["sha"], row["generation"], row["note"]) == (A, 3, "")
    assert store.has_delivery("g1")
    assert store.query("SELECT owner, version FROM schema_versions") == [
        {"owner": "shim.store", "version": len(store_module.MIGRATIONS)}
    ]
    assert accept(store, "g2", "present", B, "2026-01-01T00:00:05Z") == ("accepted", 4)
    store.close()


def test_a_readonly_store_reads_and_creates_nothing(tmp_path):
    import sqlite3

    path = str(tmp_path / "state.db")
    store = Store(path)
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z", pr=1)
    accept(store, "g2", "present", A, "2026-01-01T00:00:00Z", pr=2)
    store.start_run(store.pending()[0])
    store.close()

    reader = Store(path, readonly=True)
    assert reader.has_tables()
    assert [item.pr for item in reader.pending()] == [1, 2]
    assert [(run["pr"], run["kind"], run["status"]) for run in reader.runs()] == [(1, "deploy", "running")]
    assert reader.runs("o/r", 2) == []
    assert [row["guid"] for row in reader.deliveries("o/r")] == ["g1", "g2"]
    assert [row["guid"] for row in reader.deliveries("o/r", 2)] == ["g2"]
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        reader.interrupt_stale_runs()
    reader.close()

    empty = tmp_path / "other.db"
    sqlite3.connect(empty).close()  # a file no shim ever wrote
    reader = Store(str(empty), readonly=True)
    assert not reader.has_tables()
    reader.close()
    with pytest.raises(FileNotFoundError):
        Store(str(tmp_path / "none.db"), readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_a_pr_still_building_is_not_expired(store):
    accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    assert store.expire(3600, now=time.time() + 7200) == []


def test_prune_forgets_old_history_and_keeps_what_still_matters(store):
    day = 86400
    accept(store, "closed-long-ago", "present", A, "2026-01-01T00:00:00Z", pr=1)
    accept(store, "open-long-ago", "present", B, "2026-01-01T00:00:00Z", pr=2)
    accept(store, "closed-pending", "present", C, "2026-01-01T00:00:00Z", pr=3)
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)
    accept(store, "close-1", "absent", A, "2026-01-01T00:01:00Z", pr=1)
    accept(store, "close-3", "absent", C, "2026-01-01T00:01:00Z", pr=3)
    [closing] = [item for item in store.pending() if item.pr == 1]
    store.finish_run(store.start_run(closing), closing, "successful", 0)  # PR 3's cleanup is still due
    [due] = store.pending()
    running = store.start_run(due)  # and running, unfinished

    assert store.prune(30 * day) == {"deliveries": 0, "runs": 0, "desired": 0}  # nothing old yet
    counts = store.prune(30 * day, now=time.time() + 31 * day)

    assert counts == {"deliveries": 5, "runs": 4, "desired": 1}
    assert store.query("SELECT guid FROM deliveries") == []
    assert store.query("SELECT id FROM runs") == [{"id": running}]  # an unfinished run is never pruned
    assert store.desired("o/r", 1) is None  # closed and converged: gone
    assert store.desired("o/r", 2)["state"] == "present"  # open previews stay, however old
    assert store.desired("o/r", 3)["state"] == "absent"  # a cleanup still due stays
    assert [item.pr for item in store.pending()] == [3]
    # A new event of a pruned PR starts it afresh.
    assert accept(store, "reopen-1", "present", B, "2026-03-01T00:00:00Z", pr=1) == ("accepted", 1)


def test_the_intake_commits_to_the_disk_before_it_answers(store):
    assert store.query("PRAGMA synchronous") == [{"synchronous": 2}]  # FULL


def test_the_health_probe_commits_a_real_write(store):
    import sqlite3

    other = sqlite3.connect(store.path)
    version = other.execute("PRAGMA data_version").fetchone()[0]
    assert store.writable()
    # data_version moves for this connection only when another one committed a change to the file.
    assert other.execute("PRAGMA data_version").fetchone()[0] != version
    assert store.query("SELECT COUNT(*) AS n FROM healthcheck") == [{"n": 0}]
    other.close()


def test_disk_free_is_the_state_files_filesystem(store):
    import os

    stats = os.statvfs(os.path.dirname(store.path))
    assert abs(store.disk_free_bytes() - stats.f_bavail * stats.f_frsize) < 64 * 1024 * 1024


def test_a_locked_database_raises_its_own_error_and_the_store_stays_usable(tmp_path):
    import sqlite3

    store = Store(str(tmp_path / "state.db"), busy_timeout=0.05)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        accept(store, "g1", "present", A, "2026-01-01T00:00:00Z")
    assert not store.writable()
    other.execute("ROLLBACK")
    assert accept(store, "g1", "present", A, "2026-01-01T00:00:00Z") == ("accepted", 1)
    assert store.writable()
    other.close()
    store.close()


def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(store):
    import sqlite3

    # A deferred foreign key is checked at COMMIT: the one failure SQLite defers to it on demand.
    store.query("PRAGMA foreign_keys=ON")
    store.query("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    store.query("CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), store.transaction() as conn:
        conn.execute("INSERT INTO child VALUES (1)")
    assert store.query("SELECT COUNT(*) AS n FROM child") == [{"n": 0}]
    assert accept(store, "g1", "present", A, "2026-01-01T00:00:00Z") == ("accepted", 1)


def test_events_that_share_updated_at_are_all_taken(store):
    assert accept(store, "labeled", "present", A, "2026-01-01T00:00:00Z") == ("accepted", 1)
    assert accept(store, "synchronize", "present", B, "2026-01-01T00:00:00Z") == ("accepted", 2)


def converge(store):
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)


def test_a_pruned_pr_keeps_its_mark_and_old_events_stay_stale(store):
    day = 86400
    accept(store, "open", "present", A, "2026-01-01T00:00:00Z")
    converge(store)
    accept(store, "close", "absent", A, "2026-01-02T00:00:00Z")
    converge(store)
    assert store.prune(30 * day, now=time.time() + 31 * day)["desired"] == 1
    assert store.desired("o/r", 1) is None
    assert accept(store, "replayed-open", "present", A, "2026-01-01T00:00:00Z") == ("stale", 0)
    assert store.pending() == [] and store.desired("o/r", 1) is None
    # A newer event (the PR reopened) starts it afresh, as before.
    assert accept(store, "reopen", "present", B, "2026-03-01T00:00:00Z") == ("accepted", 1)


def test_a_denied_fork_pr_is_told_once_not_on_every_push(store):
    from shim.events import PrEvent
    from shim.policy import Policy, decide

    policy = Policy(forks="deny")

    def push(guid, sha, at):
        event = PrEvent(action="synchronize", repo="o/r", pr=1, sha=sha, updated_at=at, is_fork=True, author="stranger")
        return store.accept(
            guid,
            "pull_request",
            "synchronize",
            "o/r",
            1,
            lambda row: decide(event, policy, row["approved_sha"] if row else ""),
            at,
        )

    assert push("g1", A, "2026-01-01T00:00:00Z") == ("accepted", 1)
    [hold] = store.pending()
    assert (hold.state, hold.reason) == ("held", "fork-denied")
    converge(store)
    assert push("g2", B, "2026-01-01T00:01:00Z") == ("unchanged", 1)
    assert push("g3", C, "2026-01-01T00:02:00Z") == ("unchanged", 1)
    assert store.pending() == []
    assert store.query("SELECT kind FROM runs") == [{"kind": "hold"}]
