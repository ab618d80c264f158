"""The roles that install things claim only the platform molecule tests them on, and refuse any other one
before they change anything. Real ansible-playbook, in check mode, with the host's facts given as Ubuntu's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
UBUNTU = {"distribution": "Ubuntu", "distribution_major_version": "24", "distribution_version": "24.04"}


def play(tmp_path, role: str, facts: dict, **extra) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(f"- hosts: localhost\n  gather_facts: false\n  roles: [preview.envs.{role}]\n")
    variables = {"ansible_facts": {**facts, "service_mgr": "systemd"}, **extra}
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check", "-e", json.dumps(variables)]
        + ["-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
    )


@pytest.mark.parametrize("role", ["docker", "nginx", "shim"])
def test_a_platform_the_role_is_not_tested_on_is_refused_first(tmp_path, role):
    # The shim role's required arguments, so that its argument spec passes and its platform check is reached.
    result = play(tmp_path, role, UBUNTU, shim_webhook_secret="x" * 20, shim_source="/nonexistent.whl")
    assert result.returncode == 2, result.stdout[-2000:]
    assert f"role preview.envs.{role} is tested on Debian 12 only, not Ubuntu 24.04" in result.stdout
    assert f"set {role}_allow_untested_platform=true" in result.stdout
    # Before it: the argument spec (ok) and the fact gathering (skipped: the facts are given).
    assert "ok=1    changed=0" in result.stdout.rsplit("PLAY RECAP", 1)[1], "the check is the role's first task"


@pytest.mark.parametrize("role", ["docker", "nginx", "shim"])
def test_the_claimed_platforms_are_what_the_check_lets_through(role):
    meta = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "main.yml").read_text())
    assert meta["galaxy_info"]["platforms"] == [{"name": "Debian", "versions": ["bookworm"]}]
