"""A `closed` GitHub sent while the shim was down: at its next start the shim asks GitHub to redeliver it, the
redelivery arrives with the same GUID, and the preview is removed. Real shim, ansible-runner, Docker, nginx, git;
GitHub is the stand-in, which here also sends the deliveries and keeps their record."""

from __future__ import annotations

import time

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.waiting import wait_for
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def test_a_closed_missed_while_the_shim_was_down_is_redelivered_and_cleans_up(tmp_path, nginx, github):
    pr, label, project = 90, "hello-pr-90", "preview-hello-pr-90"
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(pr, sha)
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        redeliver_interval=1,
    )
    webhook_url = f"http://127.0.0.1:{config['listen']['port']}/webhook/github"
    config["github"]["webhook_url"] = webhook_url
    hook = github.add_hook(REPO, webhook_url, events=["pull_request"], secret=SECRET)
    db = tmp_path / "state" / "state.db"
    shim = ShimProcess(tmp_path, config).start()
    try:
        [opened] = github.deliver(
            REPO, "pull_request", pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
        )
        assert (opened["status"], opened["status_code"]) == ("OK", 202), shim.log_text()[-3000:]
        shim.wait_idle()
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["status"] == "live"
        assert requests.get(f"{nginx.base_url}/{label}/health", timeout=5).status_code == 200

        assert shim.stop() == 0
        [closed] = github.deliver(
            REPO, "pull_request", pull_request_payload("closed", REPO, pr, sha, "2026-12-01T11:00:00Z")
        )
        assert (closed["status"], closed["status_code"], closed["redelivery"]) == (
            "failed to connect to host",
            0,
            False,
        )
        assert db_rows(db, "deployments", REPO, pr)[0]["status"] == "live", "nothing saw the close"

        shim = ShimProcess(tmp_path, shim.config).start()
        wait_for(
            lambda: [
                d
                for d in github.deliveries(REPO)
                if d["guid"] == closed["guid"] and d["redelivery"] and d["status"] == "OK"
            ],
            60,
            "GitHub to redeliver the closed",
        )
        shim.wait_idle()
        time.sleep(2.5)  # two more checks (redeliver_interval 1 s): they must not ask again

        runs = db_rows(db, "runs", REPO, pr)
        assert [(r["kind"], r["status"]) for r in runs] == [("deploy", "successful"), ("cleanup", "successful")]
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        stored = {row["guid"]: row["outcome"] for row in db_rows(db, "deliveries", REPO, pr)}
        assert stored == {opened["guid"]: "accepted", closed["guid"]: "accepted"}

        attempts = [r.path for r in github.requests if r.method == "POST" and r.path.endswith("/attempts")]
        assert attempts == [f"/repos/{REPO}/hooks/{hook['id']}/deliveries/{closed['id']}/attempts"]
        redelivered = [(d["guid"], d["status"]) for d in github.deliveries(REPO) if d["redelivery"]]
        assert redelivered == [(closed["guid"], "OK")]
        log = shim.log_text()
        assert f"guid={closed['guid']} delivery={closed['id']}" in log and "outcome=redelivery_requested" in log
        assert "Preview removed" in github.comments(REPO, pr)[0]["body"]
        assert github.violations == []
    finally:
        if shim.proc is None or shim.proc.poll() is not None:
            shim = ShimProcess(tmp_path, shim.config).start()
        if db_rows(db, "deployments", REPO, pr):
            send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T12:00:00Z"))
            shim.wait_idle()
        shim.stop()
