"""A repository's variables and secrets from the server config reach its previews' services, a fork's only
without the secrets, and the secret is in no comment, log, state row or file the run leaves. Real shim,
Docker, nginx and git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"
SIBLING = "octo/api-server"
API_KEY = "sk-live-preview-secret-0123456789abcdef"


def container_env(project: str) -> dict[str, str]:
    [container] = project_resources(project)["containers"]
    out = subprocess.run(
        ["docker", "inspect", "--format", "{{json .Config.Env}}", container], check=True, capture_output=True, text=True
    ).stdout
    return dict(item.split("=", 1) for item in json.loads(out))


def files_holding(root: Path, text: str) -> list[str]:
    needle = text.encode()
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_repository_variables_and_secrets_reach_the_stack_and_stay_out_of_everything_else(tmp_path, nginx, github):
    secret_file = tmp_path / "secrets" / "api-key"
    secret_file.parent.mkdir()
    secret_file.write_text(API_KEY + "\n")
    secret_file.chmod(0o600)
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("a change")
    app.push_pr(61, sha)
    app.push_pr(62, sha)
    repos = {
        REPO: {
            "clone_url": app.clone_url,
            "env": {"GREETING": "hi there", "DEBUG": True},
            "secrets": {"API_KEY": str(secret_file)},
        },
        SIBLING: {"clone_url": app.clone_url},
    }
    config = shim_config(
        tmp_path,
        repos,
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        policy={"forks": "allow"},
    )
    shim = ShimProcess(tmp_path, config).start()
    fork = pull_request_payload("opened", REPO, 62, sha, "2026-12-01T10:00:01Z")
    fork["pull_request"]["head"]["repo"]["full_name"] = "stranger/hello"
    fork["pull_request"]["head"]["repo"]["fork"] = True
    try:
        for payload in (pull_request_payload("opened", REPO, 61, sha, "2026-12-01T10:00:00Z"), fork):
            assert send(shim.webhook_url, SECRET, payload).status_code == 202
        shim.wait_idle()
        assert requests.get(f"{nginx.base_url}/hello-pr-61/", timeout=5).status_code == 200, shim.log_text()[-3000:]

        env = container_env("preview-hello-pr-61")
        assert env["GREETING"] == "hi there" and env["DEBUG"] == "true"
        assert env["API_KEY"] == API_KEY
        assert env["PREVIEW_URL"] == f"{nginx.base_url}/hello-pr-61/"
        assert (env["PREVIEW_PR"], env["PREVIEW_SHA"], env["PREVIEW_LABEL"]) == ("61", sha, "hello-pr-61")
        assert env["PREVIEW_URL_API_SERVER"] == f"{nginx.base_url}/api-server-pr-61/"
        assert "PREVIEW_URL_HELLO" not in env

        forked = container_env("preview-hello-pr-62")
        assert forked["GREETING"] == "hi there" and "API_KEY" not in forked
        assert API_KEY not in json.dumps(forked)

        # Nowhere else: comments, the shim's log (run output included), the state file, what the runs leave.
        assert all(API_KEY not in comment["body"] for pr in (61, 62) for comment in github.comments(REPO, pr))
        assert API_KEY not in shim.log_text()
        for root in (tmp_path / "state", tmp_path / "runs", tmp_path / "deployments"):
            if root.exists():
                assert files_holding(root, API_KEY) == [], root
        assert github.violations == []
    finally:
        for number in (61, 62):
            send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, number, sha, "2026-12-01T10:05:00Z"))
        shim.wait_idle()
        shim.stop()
    assert project_resources("preview-hello-pr-61")["containers"] == []
