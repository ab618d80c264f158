"""preview.envs.github_pr_comment run for real by ansible-playbook against the GitHub stand-in.

Each step is one playbook run: check mode, real, idempotent check, idempotent real (the house pattern), then
an update, removal and a bad token. The task's registered result is written to a file for the assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.github_standin import GitHubStandIn

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
REPO = "preview-envs/demo"
PR = 42
TOKEN = "test-token"
MARK = "<!-- preview-envs:preview-envs -->"


@pytest.fixture
def standin():
    with GitHubStandIn(repos={REPO}) as server:
        yield server


class Playbooks:
    """Runs one github_pr_comment task per playbook, with the token and API URL from the environment."""

    def __init__(self, tmp_path: Path, standin: GitHubStandIn) -> None:
        self.tmp_path = tmp_path
        self.standin = standin
        self.runs = 0

    def run(
        self,
        module_args: dict,
        *,
        check: bool = False,
        diff: bool = False,
        token: str = TOKEN,
        host_vars: dict | None = None,
    ) -> dict:
        self.runs += 1
        step = self.tmp_path / f"step-{self.runs}"
        step.mkdir()
        result_file = step / "result.json"
        playbook = [
            {
                "name": "github_pr_comment",
                "hosts": "all",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "Sticky comment",
                        "preview.envs.github_pr_comment": module_args,
                        "check_mode": check,
                        "diff": diff,
                        "register": "result",
                        "ignore_errors": True,
                    },
                    {
                        "name": "Keep the result for the test",
                        "delegate_to": "localhost",
                        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                        "ansible.builtin.copy": {
                            "content": "{{ result | to_json }}",
                            "dest": str(result_file),
                        },
                        "check_mode": False,
                        "diff": False,
                    },
                ],
            }
        ]
        # JSON is YAML, and keeps test data from being read as YAML syntax.
        (step / "playbook.yml").write_text(json.dumps(playbook, indent=2), encoding="utf-8")
        # Inventory variables, so that a task's own vars can override them (extra vars would win).
        host_vars = host_vars or {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        inventory = step / "inventory.ini"
        inventory.write_text("localhost " + " ".join(f"{k}={v}" for k, v in host_vars.items()) + "\n")
        env = {name: value for name, value in os.environ.items() if not name.startswith("GITHUB_")}
        env.update(
            GITHUB_TOKEN=token,
            GITHUB_API_URL=self.standin.base_url,
            ANSIBLE_HOME=str(step / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(step / "tmp"),
            ANSIBLE_REMOTE_TEMP=str(step / "remote-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            NO_PROXY="127.0.0.1,localhost",
        )
        completed = subprocess.run(
            [
                str(ANSIBLE_PLAYBOOK),
                "-i",
                str(inventory),
                str(step / "playbook.yml"),
            ],
            cwd=step,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, output
        assert token not in output and token not in result_file.read_text(encoding="utf-8")
        return json.loads(result_file.read_text(encoding="utf-8"))


@pytest.fixture
def playbooks(tmp_path, standin):
    return Playbooks(tmp_path, standin)


def comment_args(**overrides):
    return {"repo": REPO, "pr": PR, **overrides}


def test_sticky_comment_lifecycle(playbooks, standin):
    theirs = standin.add_comment(REPO, PR, "Looks good to me", login="octocat")
    present = comment_args(body="Preview: http://pr-42.preview.test")
    wanted = f"{MARK}\nPreview: http://pr-42.preview.test"

    # 1. check mode: would create, writes nothing
    result = playbooks.run(present, check=True, diff=True)
    assert result["changed"] is True, result
    assert result["comment_id"] is None
    assert result["diff"] == {"before": "", "after": wanted}
    assert standin.writes() == []

    # 2. real: creates the comment
    result = playbooks.run(present)
    assert result["changed"] is True, result
    comments = standin.comments(REPO, PR)
    assert [c["body"] for c in comments] == [theirs["body"], wanted]
    comment_id = comments[1]["id"]
    assert result["comment_id"] == comment_id
    assert result["html_url"] == comments[1]["html_url"]
    assert result["body"] == wanted

    # 3. idempotent check, 4. idempotent real: no change, no write
    writes = len(standin.writes())
    for check in (True, False):
        result = playbooks.run(present, check=check)
        assert result["changed"] is False, result
        assert result["comment_id"] == comment_id
    assert len(standin.writes()) == writes

    # 5. a new body edits the same comment
    updated = comment_args(body="Preview: http://pr-42.preview.test (rebuilt)")
    result = playbooks.run(updated, diff=True)
    assert result["changed"] is True, result
    assert result["comment_id"] == comment_id
    assert result["diff"]["before"] == wanted
    assert result["diff"]["after"] == f"{MARK}\nPreview: http://pr-42.preview.test (rebuilt)"
    assert [(c["id"], c["body"]) for c in standin.comments(REPO, PR)] == [
        (theirs["id"], theirs["body"]),
        (comment_id, f"{MARK}\nPreview: http://pr-42.preview.test (rebuilt)"),
    ]

    # 6. absent deletes it, 7. absent again changes nothing
    result = playbooks.run(comment_args(state="absent"))
    assert result["changed"] is True, result
    assert result["deleted_comment_ids"] == [comment_id]
    assert [c["id"] for c in standin.comments(REPO, PR)] == [theirs["id"]]

    result = playbooks.run(comment_args(state="absent"))
    assert result["changed"] is False, result
    assert result["deleted_comment_ids"] == []

    assert standin.violations == []


def test_a_bad_token_fails_with_a_clear_message(playbooks, standin):
    result = playbooks.run(comment_args(body="x"), token="revoked-token")

    assert result["failed"] is True
    assert result["status"] == 401
    assert result["msg"].startswith(f"Could not list the comments of {REPO} pull request #{PR}: ")
    assert "401 Bad credentials" in result["msg"]
    assert "check the token (or GITHUB_TOKEN)" in result["msg"]
    assert standin.comments(REPO, PR) == []
    assert standin.violations == []


def test_the_comment_runs_on_the_controller(playbooks, standin):
    """The action plugin talks to GitHub itself: a managed host that cannot run anything is no obstacle."""
    unusable = {
        "ansible_connection": "ssh",
        "ansible_host": "192.0.2.1",
        "ansible_port": 9,
        "ansible_python_interpreter": "/nonexistent/python",
    }

    result = playbooks.run(comment_args(body="from the controller"), host_vars=unusable)

    assert result["changed"] is True, result
    assert [c["body"] for c in standin.comments(REPO, PR)] == [f"{MARK}\nfrom the controller"]


def test_bad_arguments_fail_before_calling_github(playbooks, standin):
    result = playbooks.run(comment_args(body="x", marker="two words"))

    assert result["failed"] is True
    assert "marker" in result["msg"] and "is not allowed" in result["msg"]
    assert standin.requests == []
