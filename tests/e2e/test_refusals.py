"""What the host refuses a pull request, end to end: the PR gets a failed comment that says why, nothing of
it runs, and closing it leaves nothing behind. Real shim, Docker, nginx and git throughout."""

from __future__ import annotations

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"

GREEDY_COMPOSE = """\
services:
  web:
    build: .
    privileged: true
    volumes: ["/:/host"]
    ports:
      - "127.0.0.1:${PREVIEW_APP_PORT:?set by preview.envs}:8080"
"""

SLOW_DOCKERFILE = """\
FROM preview-base/busybox:1
RUN sleep 120
COPY www /www
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def _open(shim, pr: int, sha: str) -> None:
    resp = send(shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z"))
    assert resp.status_code == 202, resp.text


def _close(shim, pr: int, sha: str) -> None:
    send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T11:00:00Z"))


def _failed_comment(github, pr: int) -> str:
    [comment] = github.comments(REPO, pr)
    assert "Preview failed" in comment["body"], comment["body"]
    return comment["body"]


def test_a_compose_file_that_asks_for_the_host_is_refused_before_anything_is_built(tmp_path, nginx, github):
    pr, label, project = 81, "hello-pr-81", "preview-hello-pr-81"
    app = AppRepo(tmp_path / "hello")
    app.write("compose.yaml", GREEDY_COMPOSE)
    sha = app.commit("ask for the host")
    app.push_pr(pr, sha)
    shim = ShimProcess(
        tmp_path,
        shim_config(
            tmp_path,
            {REPO: {"clone_url": app.clone_url}},
            nginx.role_settings(),
            github_api_url=github.base_url,
            token="test-token",
        ),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        _open(shim, pr, sha)
        shim.wait_idle()
        body = _failed_comment(github, pr)
        assert "refused by the preview policy" in body
        assert "service web: privileged" in body and "bind mount of /" in body
        assert project_resources(project) == {"containers": [], "volumes": [], "networks": [], "images": []}
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["status"] == "failed"

        _close(shim, pr, sha)
        shim.wait_idle()
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
    finally:
        shim.stop()


def test_a_new_preview_over_the_hosts_cap_is_refused_with_a_comment(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(82, sha)
    app.push_pr(83, sha)
    settings = dict(nginx.role_settings(), max_previews=1)
    shim = ShimProcess(
        tmp_path,
        shim_config(
            tmp_path, {REPO: {"clone_url": app.clone_url}}, settings, github_api_url=github.base_url, token="test-token"
        ),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        _open(shim, 82, sha)
        shim.wait_idle()
        assert "Preview live" in github.comments(REPO, 82)[0]["body"]
        _open(shim, 83, sha)
        shim.wait_idle()
        body = _failed_comment(github, 83)
        assert "this host already runs 1 previews" in body and "max_previews=1" in body
        assert db_rows(db, "deployments", REPO, 83) == [] and db_rows(db, "ports", REPO, 83) == []
        assert project_resources("preview-hello-pr-83")["containers"] == []

        _close(shim, 82, sha)
        _close(shim, 83, sha)
        shim.wait_idle()
        for pr in (82, 83):
            assert_nothing_left(
                f"preview-hello-pr-{pr}", f"hello-pr-{pr}", db, tmp_path / "deployments", nginx.configs_dir, REPO, pr
            )
    finally:
        shim.stop()


def test_a_deploy_past_its_deadline_is_ended_recorded_and_commented(tmp_path, nginx, github):
    pr, label, project = 84, "hello-pr-84", "preview-hello-pr-84"
    app = AppRepo(tmp_path / "hello")
    app.write("Dockerfile", SLOW_DOCKERFILE)
    sha = app.commit("a build that takes two minutes")
    app.push_pr(pr, sha)
    shim = ShimProcess(
        tmp_path,
        shim_config(
            tmp_path,
            {REPO: {"clone_url": app.clone_url}},
            nginx.role_settings(),
            github_api_url=github.base_url,
            token="test-token",
            run_timeout=12,
        ),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        _open(shim, pr, sha)
        shim.wait_idle(timeout=120)
        body = _failed_comment(github, pr)
        assert "*deadline*" in body and "longer than 12 s" in body
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["status"] == "failed" and record["reason"].startswith("deadline:")
        assert "status=timeout" in shim.log_text()

        _close(shim, pr, sha)
        shim.wait_idle()
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
    finally:
        shim.stop()
