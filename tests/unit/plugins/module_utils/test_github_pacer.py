"""WritePacer: one token's writes paced through a shared file (GitHub's secondary rate limits)."""

from __future__ import annotations

import os
import stat

from ansible_collections.preview.envs.plugins.module_utils._github import GitHubClient, WritePacer, client_from_options
from tests.support.github_standin import GitHubStandIn


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(path, time_, **kwargs) -> WritePacer:
    return WritePacer(str(path), clock=time_.clock, sleep=time_.sleep, **kwargs)


def test_a_burst_goes_at_once_then_one_write_a_second(tmp_path):
    fake = FakeTime()
    pace = pacer(tmp_path / "pace", fake)
    assert [pace.acquire() for _attempt in range(6)] == [0.0] * 6
    assert round(pace.acquire(), 6) == 1.0
    assert round(pace.acquire(), 6) == 1.0
    assert stat.S_IMODE(os.stat(tmp_path / "pace").st_mode) == 0o600


def test_the_bucket_refills_while_idle_up_to_the_burst(tmp_path):
    fake = FakeTime()
    pace = pacer(tmp_path / "pace", fake)
    for _attempt in range(6):
        pace.acquire()
    fake.now += 2.5
    assert pace.acquire() == 0.0 and pace.acquire() == 0.0
    assert round(pace.acquire(), 6) == 0.5
    fake.now += 3600
    assert [pace.acquire() for _attempt in range(6)] == [0.0] * 6
    assert pace.acquire() > 0


def test_every_writer_of_the_file_shares_one_bucket(tmp_path):
    # The state is in the file, not the object: two pacers stand for two processes.
    fake = FakeTime()
    first, second = pacer(tmp_path / "pace", fake), pacer(tmp_path / "pace", fake)
    for index in range(6):
        (first if index % 2 else second).acquire()
    assert round(second.acquire(), 6) == 1.0


def test_an_unreadable_file_is_a_full_bucket(tmp_path):
    (tmp_path / "pace").write_text("not numbers\n")
    fake = FakeTime()
    assert pacer(tmp_path / "pace", fake).acquire() == 0.0


def test_the_client_paces_writes_and_never_reads(tmp_path):
    fake = FakeTime()
    pace = pacer(tmp_path / "pace", fake, burst=1)
    with GitHubStandIn(repos={"octo/app"}) as github:
        client = GitHubClient(github.base_url, "test-token", timeout=5, retries=0, pacer=pace)
        for _attempt in range(3):
            client.request("GET", "/repos/octo/app/issues/1/comments")
        assert fake.slept == []
        created = client.request("POST", "/repos/octo/app/issues/1/comments", body={"body": "one"})[2]
        client.request("PATCH", f"/repos/octo/app/issues/comments/{created['id']}", body={"body": "two"})
        assert [round(seconds, 6) for seconds in fake.slept] == [1.0]


def test_the_modules_pace_only_with_a_pace_file(tmp_path):
    options = {"api_url": "https://api.github.com", "token": "t", "timeout": 5, "retries": 0}
    assert client_from_options(options).pacer is None
    assert client_from_options(dict(options, pace_file="")).pacer is None
    assert client_from_options(dict(options, pace_file=str(tmp_path / "p"))).pacer.path == str(tmp_path / "p")
