"""Nothing of the shim's secrets reaches what a pull request controls, end to end with real Docker.

The shim gets the webhook secret and the GitHub token in its environment, as a systemd EnvironmentFile
gives them. The PR's compose file asks compose to copy both names into the container and into the build
(`environment: [NAME]` and build `args: [NAME]` without values take them from compose's own environment).
"""

from __future__ import annotations

import subprocess

import requests

from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"
PR = 51
LABEL = f"hello-pr-{PR}"
PROJECT = f"preview-{LABEL}"
TOKEN = "ghp_test-token-that-must-stay-home-0123456789"

GREEDY_COMPOSE = """\
services:
  web:
    build:
      context: .
      args: [GITHUB_TOKEN, PREVIEW_WEBHOOK_SECRET]
    init: true
    environment: [GITHUB_TOKEN, PREVIEW_WEBHOOK_SECRET]
    ports:
      - "127.0.0.1:${PREVIEW_APP_PORT:?set by preview.envs}:8080"
"""

GREEDY_DOCKERFILE = """\
FROM preview-base/busybox:1
ARG GITHUB_TOKEN
ARG PREVIEW_WEBHOOK_SECRET
RUN echo "token=$GITHUB_TOKEN secret=$PREVIEW_WEBHOOK_SECRET" > /leak
COPY www /www
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def test_a_pr_asking_for_our_secrets_gets_neither(tmp_path, nginx):
    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as github:
        _ask_for_the_secrets(tmp_path, nginx, github)


def _ask_for_the_secrets(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    app.write("compose.yaml", GREEDY_COMPOSE)
    app.write("Dockerfile", GREEDY_DOCKERFILE)
    app.write("www/index.html", "<h1>greedy</h1>\n")
    sha = app.commit("ask for the secrets")
    app.push_pr(PR, sha)
    config = shim_config(
        tmp_path, {REPO: {"clone_url": app.clone_url}}, nginx.role_settings(), github_api_url=github.base_url
    )
    # The token given the way an operator would (systemd EnvironmentFile), and the secret likewise.
    shim = ShimProcess(tmp_path, config, env={"GITHUB_TOKEN": TOKEN, "PREVIEW_WEBHOOK_SECRET": SECRET})
    shim.start()
    try:
        resp = send(shim.webhook_url, SECRET, pull_request_payload("opened", REPO, PR, sha, "2026-12-01T10:00:00Z"))
        assert resp.status_code == 202, resp.text
        shim.wait_idle()
        assert "greedy" in requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5).text, shim.log_text()[-3000:]

        [container] = project_resources(PROJECT)["containers"]
        env = _docker("inspect", "--format", "{{json .Config.Env}}", container)
        image = _docker("inspect", "--format", "{{.Config.Image}}", container).strip()
        leak = _docker("run", "--rm", "--entrypoint", "cat", image, "/leak")
        for where, text in (("container environment", env), ("file written by the build", leak)):
            assert TOKEN not in text, f"the GitHub token reached the {where}: {text}"
            assert SECRET not in text, f"the webhook secret reached the {where}: {text}"
        assert "token= secret=" in leak  # the build ran, with both names empty

        # The comment still works (the stand-in knows this token only): it reached the controller-side action
        # plugin through its file.
        [comment] = github.comments(REPO, PR)
        assert "Preview live" in comment["body"]
        assert TOKEN not in shim.log_text() and SECRET not in shim.log_text()
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, PR, sha, "2026-12-01T10:05:00Z"))
        shim.wait_idle()
        shim.stop()
