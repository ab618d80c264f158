"""The playbooks enter the preview_pr role where its argument specs are: ansible-playbook refuses bad variables
before the first task runs, with the spec's message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SHA = "0123456789abcdef0123456789abcdef01234567"


def play(name: str, **extravars) -> subprocess.CompletedProcess:
    args = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", f"preview.envs.{name}"]
    for key, value in extravars.items():
        args += ["-e", f"{key}={value}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("playbook", "extravars", "message"),
    [
        (
            "hold",
            {"preview_pr_reason": "bogus"},
            "value of preview_pr_reason must be one of: fork-needs-approval, fork-denied, got: bogus",
        ),
        ("report", {}, "value of preview_pr_reason must be one of: deadline, got: deploy"),
        ("deploy", {"preview_pr_reason": "because"}, "value of preview_pr_reason must be one of: deploy, missing,"),
        ("cleanup", {"preview_pr_number": "five"}, "argument 'preview_pr_number' is of type str"),
    ],
    ids=["hold-bad-reason", "report-no-reason", "deploy-bad-reason", "cleanup-number-not-int"],
)
def test_a_play_given_bad_variables_fails_with_the_specs_message_before_any_task(playbook, extravars, message):
    values = {"preview_pr_repo": "octo/app", "preview_pr_number": 5, "preview_pr_sha": SHA, **extravars}

    result = play(playbook, **values)

    assert result.returncode != 0
    assert f"Validating arguments against arg spec '{playbook}'" in result.stdout, result.stdout[-3000:]
    assert message in result.stdout, result.stdout[-3000:]
    assert "ok=0" in result.stdout  # nothing ran before the check


def test_a_missing_number_is_refused_by_the_first_task():
    # The role's defaults give every variable a value (preview_pr_number: 0), so no spec sees it missing; the
    # task file's own check does (an argument spec has no minimum).
    result = play("cleanup", preview_pr_repo="octo/app")

    assert result.returncode != 0
    assert "preview_pr_repo and preview_pr_number must be set" in result.stdout, result.stdout[-3000:]
