"""What a failed preview looks like: the comment says why, the record says failed, and the
cleanup that follows leaves nothing behind. Real shim, Docker, nginx and git throughout."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def break_build(app: AppRepo) -> None:
    app.write("Dockerfile", "FROM preview-base/busybox:1\nRUN echo compiling the app && exit 3\n")


def break_health(app: AppRepo) -> None:
    os.remove(app.path / "www" / "health")


def nothing_to_run(app: AppRepo) -> None:
    for child in app.path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    app.write("README.md", "just docs\n")


@pytest.mark.parametrize(
    ("pr", "breakage", "step", "reason"),
    [
        (41, break_build, "Build and start the stack", "compose up failed"),
        (42, break_health, "Build and start the stack", "health"),
        (43, nothing_to_run, "Fetch the PR's head commit and detect how it runs", "nothing we can run"),
    ],
    ids=["build-fails", "never-healthy", "nothing-runnable"],
)
def test_failed_preview_is_reported_and_cleaned(tmp_path, nginx, github, pr, breakage, step, reason):
    label, project = f"hello-pr-{pr}", f"preview-hello-pr-{pr}"
    app = AppRepo(tmp_path / "hello")
    breakage(app)
    sha = app.commit("broken")
    app.push_pr(pr, sha)
    settings = dict(nginx.role_settings(), health_timeout=6)
    shim = ShimProcess(
        tmp_path,
        shim_config(
            tmp_path, {REPO: {"clone_url": app.clone_url}}, settings, github_api_url=github.base_url, token="test-token"
        ),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        shim.wait_idle()
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["status"] == "failed"
        assert step in record["reason"], record["reason"]
        assert reason in record["reason"].lower(), record["reason"]
        [comment] = github.comments(REPO, pr)
        assert "Preview failed" in comment["body"]
        assert sha[:7] in comment["body"] and step in comment["body"]
        if breakage is break_build:
            assert "compiling the app" in comment["body"], comment["body"]  # the log tail
        assert list(nginx.configs_dir.glob(f"{label}.*")) == [], "a failed preview must not be routed"
        [run] = db_rows(db, "runs", REPO, pr)
        assert run["status"] == "failed" and run["rc"] != 0
        [deployment] = github.deployments(REPO, f"preview/{label}")
        assert [status["state"] for status in deployment["statuses"]] == ["in_progress", "failure"]
        assert step in deployment["statuses"][-1]["description"]
        assert [status["state"] for status in github.commit_statuses(REPO, sha)] == ["pending", "failure"]

        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T10:01:00Z")
            ).status_code
            == 202
        )
        shim.wait_idle()
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        assert "Preview removed" in github.comments(REPO, pr)[0]["body"]
        [deployment] = github.deployments(REPO, f"preview/{label}")
        assert deployment["statuses"][-1]["state"] == "inactive"
        assert github.violations == []
    finally:
        shim.stop()


def test_payload_strings_are_never_templated_or_run(tmp_path, nginx, github):
    """A branch named like a Jinja lookup and a title with a command substitution: nothing runs."""
    marker = tmp_path / "pwned"
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("ok")
    app.push_pr(50, sha)
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
    try:
        payload = pull_request_payload(
            "opened",
            REPO,
            50,
            sha,
            "2026-12-01T10:00:00Z",
            head_ref=f"{{{{ lookup('pipe','touch {marker}') }}}}",
            title=f"$(touch {marker}) `touch {marker}`",
        )
        payload["pull_request"]["body"] = f"{{{{ lookup('pipe', 'touch {marker}') }}}}"
        payload["sender"]["login"] = f"{{{{ lookup('pipe','touch {marker}') }}}}"
        assert send(shim.webhook_url, SECRET, payload).status_code == 202
        shim.wait_idle()
        assert not marker.exists()
        [record] = db_rows(tmp_path / "state" / "state.db", "deployments", REPO, 50)
        assert record["status"] == "live"
        assert "touch" not in github.comments(REPO, 50)[0]["body"]
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, 50, sha, "2026-12-01T10:01:00Z"))
        shim.wait_idle()
        assert not marker.exists()
    finally:
        shim.stop()
