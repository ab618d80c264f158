"""`preview status`: the previews and the queue, read from the state file through its tables' owners."""

from __future__ import annotations

from shim.policy import Decision
from shim.store import Store
from tests.cli.helpers import REPO, record_previews

SHA = "c0ffee" + "0" * 34  # the SHA record_previews records


def test_status_lists_the_previews_and_the_queue(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    decision = Decision(state="present", sha=SHA, approved_sha="", pinned=False, reason="deploy")
    store.accept("g1", "pull_request", "opened", REPO, 9, lambda row: decision, "2026-01-01T00:00:00Z")
    store.close()
    record_previews(db, (REPO, 3, "live", ""), (REPO, 4, "failed", "the build failed"))
    before = db.read_bytes()

    result = run("status", "--db", str(db))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("octo/app#3      live      c0ffee0") and lines[0].endswith(
        "http://previews.test/app-pr-3/"
    )
    assert lines[1].startswith("octo/app#4      failed    c0ffee0")
    assert lines[2] == "    reason: the build failed"
    assert lines[3] == "Queue: 1 pending"
    assert lines[4].startswith("  octo/app#9 -> present c0ffee0 (waiting ")
    assert db.read_bytes() == before  # opened read-only: nothing written, no table created


def test_status_of_a_file_with_only_one_owners_tables(run, tmp_path):
    shim_file, host_file = tmp_path / "shim.db", tmp_path / "host.db"
    Store(str(shim_file)).close()  # the previews run on another host: no records here
    record_previews(host_file, (REPO, 3, "live", ""))  # the preview host's file: no queue there

    assert run("status", "--db", str(shim_file)).output == "No previews.\nQueue: 0 pending\n"
    shown = run("status", "--db", str(host_file)).output.splitlines()
    assert shown[0].startswith("octo/app#3") and shown[1:] == ["Queue: 0 pending"]


def test_status_without_a_state_file_says_what_to_do(run, tmp_path):
    result = run("status", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert "no state database at" in result.output and "pass --db" in result.output
    assert not (tmp_path / "none.db").exists()
