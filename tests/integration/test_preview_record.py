"""preview_record's admission through real ansible-playbook: a preview over a cap, or a build on a disk
below the watermark, is refused with a message that names the setting, and nothing is leased."""

from __future__ import annotations

import sqlite3

from tests.support.modules import run_module

SHA = "b" * 40


def _args(tmp_path, pr: int, **extra) -> dict:
    return {
        "db": str(tmp_path / "state.db"),
        "repo": "octo/app",
        "pr": pr,
        "sha": SHA,
        "status": "building",
        "deployments_dir": str(tmp_path / "deployments"),
        **extra,
    }


def _rows(tmp_path, table: str) -> list[tuple]:
    if not (tmp_path / "state.db").exists():
        return []
    with sqlite3.connect(tmp_path / "state.db") as conn:
        return conn.execute(f"SELECT repo, pr FROM {table} ORDER BY pr").fetchall()


def test_a_preview_over_the_cap_is_refused_and_leases_nothing(tmp_path):
    assert run_module(tmp_path, "preview_record", _args(tmp_path, 1, max_previews=1))["changed"]

    refused = run_module(tmp_path, "preview_record", _args(tmp_path, 2, max_previews=1))

    assert refused["failed"]
    assert refused["msg"].startswith("not deployed: this host already runs 1 previews")
    assert "max_previews=1" in refused["msg"]
    assert _rows(tmp_path, "deployments") == [("octo/app", 1)]
    assert {pr for _repo, pr in _rows(tmp_path, "ports")} == {1}
    # The preview already admitted still updates: the cap counts new previews only.
    assert not run_module(tmp_path, "preview_record", _args(tmp_path, 1, max_previews=1))["failed"]


def test_a_build_below_the_disk_watermark_is_refused(tmp_path):
    refused = run_module(
        tmp_path,
        "preview_record",
        _args(tmp_path, 3, min_free_disk_mb=10**9, disk_paths=[str(tmp_path / "deployments")]),
    )

    assert refused["failed"]
    assert "below the watermark of 1000000000 MiB" in refused["msg"] and "(min_free_disk_mb)" in refused["msg"]
    assert _rows(tmp_path, "deployments") == []
