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
    values = dict(repo="o/a", pr=1, sha="a" * 40, label="a-pr-1", project="preview-a-pr-1", work_dir="/w",
                  url="http://x/a-pr-1/", app_port=8001, db_port=9001, status="building")
    first = _state.upsert_record(conn, values, now=100.0)
    assert (first["created"], first["updated"], first["last_push"]) == (100.0, 100.0, 100.0)
    same = _state.upsert_record(conn, values, now=200.0)
    assert same["updated"] == 100.0
    pushed = _state.upsert_record(conn, dict(values, sha="b" * 40), now=300.0)
    assert (pushed["created"], pushed["updated"], pushed["last_push"]) == (100.0, 300.0, 300.0)
