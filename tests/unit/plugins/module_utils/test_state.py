from __future__ import annotations

import pytest

from ansible_collections.preview.envs.plugins.module_utils import _state


@pytest.fixture
def conn(tmp_path):
    connection = _state.connect(str(tmp_path / "state.db"))
    yield connection
    connection.close()


def always(_port):
    return True


def test_preferred_ports_are_8000_and_9000_plus_n(conn):
    assert _state.lease_ports(conn, "o/a", 5, (8000, 9999), always) == {"app": 8005, "db": 9005}


def test_same_pr_number_in_two_repos_never_collides(conn):
    first = _state.lease_ports(conn, "o/a", 5, (8000, 9999), always)
    second = _state.lease_ports(conn, "o/b", 5, (8000, 9999), always)
    assert set(first.values()).isdisjoint(second.values())
    assert second == {"app": 8000, "db": 8001}


def test_leases_are_kept_across_runs(conn):
    first = _state.lease_ports(conn, "o/a", 5, (8000, 9999), always)
    assert _state.lease_ports(conn, "o/a", 5, (8000, 9999), always) == first


def test_a_port_in_use_on_the_host_is_skipped(conn):
    busy = {8005}
    ports = _state.lease_ports(conn, "o/a", 5, (8000, 9999), lambda p: p not in busy)
    assert ports["app"] == 8000


def test_release_frees_the_ports(conn):
    _state.lease_ports(conn, "o/a", 5, (8000, 9999), always)
    assert _state.release(conn, "o/a", 5) is True
    assert _state.get_ports(conn, "o/a", 5) == {}
    assert _state.release(conn, "o/a", 5) is False


def test_exhausted_range_is_a_clear_error(conn):
    _state.lease_ports(conn, "o/a", 1, (20000, 20001), always)
    with pytest.raises(_state.PortsExhausted, match="20000-20001"):
        _state.lease_ports(conn, "o/b", 2, (20000, 20001), always)


def test_record_timestamps(conn):
    values = dict(
        repo="o/a",
        pr=1,
        sha="a" * 40,
        label="a-pr-1",
        project="preview-a-pr-1",
        work_dir="/w",
        url="http://x/a-pr-1/",
        app_port=8001,
        db_port=9001,
        status="building",
    )
    first = _state.upsert_record(conn, values, now=100.0)
    assert (first["created"], first["updated"], first["last_push"]) == (100.0, 100.0, 100.0)
    same = _state.upsert_record(conn, values, now=200.0)
    assert same["updated"] == 100.0
    pushed = _state.upsert_record(conn, dict(values, sha="b" * 40), now=300.0)
    assert (pushed["created"], pushed["updated"], pushed["last_push"]) == (100.0, 300.0, 300.0)


def _record(conn, repo: str, pr: int) -> None:
    _state.upsert_record(
        conn,
        {
            "repo": repo,
            "pr": pr,
            "sha": "a" * 40,
            "label": f"x-pr-{pr}",
            "project": f"preview-x-pr-{pr}",
            "work_dir": "/w",
            "url": "http://x",
            "app_port": 8000 + pr,
            "db_port": 9000 + pr,
            "status": "live",
        },
    )


@pytest.mark.parametrize(
    ("total", "per_repo", "expected"),
    [
        (0, 0, ""),
        (3, 0, "this host already runs 3 previews"),
        (4, 0, ""),
        (0, 2, "o/a already has 2 previews"),
        (4, 3, ""),
    ],
)
def test_admission_caps_count_all_previews_and_the_repositorys(conn, total, per_repo, expected):
    _record(conn, "o/a", 1)
    _record(conn, "o/a", 2)
    _record(conn, "o/b", 1)
    refusal = _state.over_cap(conn, "o/a", total, per_repo)
    if expected:
        assert refusal.startswith(expected)
        assert ("max_previews=" if total else "max_previews_per_repo=") in refusal
    else:
        assert refusal == ""


def test_the_disk_watermark_names_the_filesystem_below_it(tmp_path):
    free = _state.free_mib(str(tmp_path))
    assert _state.low_disk([str(tmp_path)], 0) == ""
    assert _state.low_disk([str(tmp_path)], 1) == ""
    refusal = _state.low_disk([str(tmp_path / "not" / "yet")], int(free) + 10**6)
    assert str(tmp_path / "not" / "yet") in refusal and "watermark" in refusal
