from __future__ import annotations

import subprocess

import pytest

from tests.support.github_standin import GitHubStandIn


def _docker_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session", autouse=True)
def _require_docker():
    if not _docker_ok():
        pytest.fail("these tests need a running Docker engine: run scripts/bootstrap first")


@pytest.fixture
def github():
    with GitHubStandIn(repos={"octo/hello"}) as standin:
        yield standin
