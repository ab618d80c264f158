"""Who may deploy, and for how long: fork approval per SHA and the idle TTL, end to end."""

from __future__ import annotations

import time

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def fork_payload(action, pr, sha, at, labels=(), label=""):
    payload = pull_request_payload(action, REPO, pr, sha, at)
    payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/hello"
    payload["pull_request"]["head"]["repo"]["fork"] = True
    payload["pull_request"]["user"]["login"] = "stranger"
    payload["pull_request"]["labels"] = [{"name": name} for name in labels]
    if label:
        payload["label"] = {"name": label}
    return payload


def test_fork_pr_waits_for_approval_of_each_sha(tmp_path, nginx, github):
    pr, label, project = 70, "hello-pr-70", "preview-hello-pr-70"
    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>fork commit one</h1>\n")
    first = app.commit("first")
    app.push_pr(pr, first)
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
    )
    shim = ShimProcess(tmp_path, config).start()
    db = tmp_path / "state" / "state.db"
    try:
        opened = fork_payload("opened", pr, first, "2026-12-01T10:00:00Z")
        assert send(shim.webhook_url, SECRET, opened).status_code == 202
        shim.wait_idle()
        [comment] = github.comments(REPO, pr)
        assert "waiting for approval" in comment["body"] and "`preview-approved`" in comment["body"]
        assert first[:7] in comment["body"]
        assert project_resources(project)["containers"] == [] and db_rows(db, "deployments", REPO, pr) == []

        # A label from someone who may only triage approves nothing; from a writer, it approves that SHA.
        github.set_role(REPO, "triager", "triage")
        github.set_role(REPO, "maintainer", "write")
        approve = fork_payload("labeled", pr, first, "2026-12-01T10:01:00Z", ["preview-approved"], "preview-approved")
        approve["sender"]["login"] = "triager"
        assert send(shim.webhook_url, SECRET, approve).status_code == 202
        shim.wait_idle()
        assert project_resources(project)["containers"] == []
        assert "waiting for approval" in github.comments(REPO, pr)[0]["body"]
        approve = fork_payload("labeled", pr, first, "2026-12-01T10:01:30Z", ["preview-approved"], "preview-approved")
        approve["sender"]["login"] = "maintainer"
        assert send(shim.webhook_url, SECRET, approve).status_code == 202
        shim.wait_idle()
        assert "fork commit one" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        assert "Preview live" in github.comments(REPO, pr)[0]["body"]

        app.write("www/index.html", "<h1>fork commit two</h1>\n")
        second = app.commit("second")
        app.push_pr(pr, second)
        push = fork_payload("synchronize", pr, second, "2026-12-01T10:02:00Z", ["preview-approved"])
        assert send(shim.webhook_url, SECRET, push).status_code == 202
        shim.wait_idle()
        [comment] = github.comments(REPO, pr)
        assert "waiting for approval" in comment["body"] and second[:7] in comment["body"]
        page = requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        assert "fork commit one" in page, "an unapproved push must not be deployed"

        closed = fork_payload("closed", pr, second, "2026-12-01T10:03:00Z")
        assert send(shim.webhook_url, SECRET, closed).status_code == 202
        shim.wait_idle()
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        assert github.violations == []
    finally:
        shim.stop()


def test_idle_previews_expire_unless_pinned(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(71, sha)
    app.push_pr(72, sha)
    # A TTL of ~4 s and a reconciler every second make "72 h idle" observable in a test.
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        ttl_hours=4 / 3600,
        reconcile_interval=1,
    )
    shim = ShimProcess(tmp_path, config).start()
    db = tmp_path / "state" / "state.db"
    try:
        send(shim.webhook_url, SECRET, pull_request_payload("opened", REPO, 71, sha, "2026-12-01T10:00:00Z"))
        pinned = pull_request_payload("opened", REPO, 72, sha, "2026-12-01T10:00:00Z")
        pinned["pull_request"]["labels"] = [{"name": "preview-pinned"}]
        send(shim.webhook_url, SECRET, pinned)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (
            github.comments(REPO, 71) and "Preview removed" in github.comments(REPO, 71)[0]["body"]
        ):
            time.sleep(0.5)
        shim.wait_idle()
        assert_nothing_left(
            "preview-hello-pr-71", "hello-pr-71", db, tmp_path / "deployments", nginx.configs_dir, REPO, 71
        )
        assert "idle longer than the time-to-live" in github.comments(REPO, 71)[0]["body"]
        [record] = db_rows(db, "deployments", REPO, 72)
        assert record["status"] == "live"
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, 72, sha, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()
