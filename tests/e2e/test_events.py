"""Webhook events as GitHub really delivers them: bursts, redeliveries, a close in the middle of a
build, a shim killed mid-deploy, a shim asked to stop. Real shim, Docker, nginx, git throughout."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.waiting import wait_for
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def start(tmp_path, nginx, github, app, **extra):
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        **extra,
    )
    return ShimProcess(tmp_path, config).start()


def slow_build(app: AppRepo, seconds: int) -> None:
    # The unique token keeps the build cache from skipping the slow step.
    app.write(
        "Dockerfile",
        "FROM preview-base/busybox:1\nCOPY www /www\n"
        f"RUN echo {uuid.uuid4().hex} >/www/build-id && sleep {seconds}\n"
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
    )


def compose_processes(project: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", f"compose.*{project}"], capture_output=True, text=True, check=False)
    return [line for line in out.stdout.splitlines() if "pgrep" not in line]


def test_burst_of_20_synchronize_ends_with_the_newest_sha(tmp_path, nginx, github):
    pr, label = 60, "hello-pr-60"
    app = AppRepo(tmp_path / "hello")
    first = app.commit("first")
    app.push_pr(pr, first)
    shim = start(tmp_path, nginx, github, app)
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, first, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        shim.wait_idle()
        shas = []
        for i in range(20):
            app.write("www/index.html", f"<h1>push {i}</h1>\n")
            shas.append(app.commit(f"push {i}"))
        app.push_pr(pr, shas[-1])
        runs_before = len(db_rows(db, "runs", REPO, pr))
        payloads = [
            pull_request_payload("synchronize", REPO, pr, sha, f"2026-12-01T10:01:{i:02d}Z")
            for i, sha in enumerate(shas)
        ]
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda p: send(shim.webhook_url, SECRET, p), payloads))
        assert all(a.status_code in (200, 202) for a in answers), [a.text for a in answers]
        assert {a.json()["outcome"] for a in answers} <= {"accepted", "stale", "unchanged"}
        shim.wait_idle()

        runs = db_rows(db, "runs", REPO, pr)[runs_before:]
        assert 1 <= len(runs) <= 2, runs  # at most the one already started, then one for the newest
        assert runs[-1]["sha"] == shas[-1] and runs[-1]["status"] == "successful"
        assert "push 19" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["sha"] == shas[-1]
        assert len(db_rows(db, "deliveries", REPO, pr)) == 21  # every delivery stored, none lost
        assert shas[-1][:7] in github.comments(REPO, pr)[0]["body"]
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, first, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()


def test_redelivered_guid_is_acknowledged_and_not_run_again(tmp_path, nginx, github):
    pr = 61
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(pr, sha)
    shim = start(tmp_path, nginx, github, app)
    db = tmp_path / "state" / "state.db"
    try:
        payload = pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
        assert send(shim.webhook_url, SECRET, payload, delivery="guid-61").status_code == 202
        shim.wait_idle()
        again = send(shim.webhook_url, SECRET, payload, delivery="guid-61")
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
        shim.wait_idle()
        assert len(db_rows(db, "runs", REPO, pr)) == 1
        assert len(db_rows(db, "deliveries", REPO, pr)) == 1
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()


def test_closed_during_the_build_cancels_it_and_cleans_up(tmp_path, nginx, github):
    pr, label, project = 62, "hello-pr-62", "preview-hello-pr-62"
    app = AppRepo(tmp_path / "hello")
    slow_build(app, 20)
    sha = app.commit("slow")
    app.push_pr(pr, sha)
    shim = start(tmp_path, nginx, github, app)
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        wait_for(lambda: compose_processes(project), 60, "the build to start")
        time.sleep(1)
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T10:01:00Z")
            ).status_code
            == 202
        )
        shim.wait_idle(120)
        runs = db_rows(db, "runs", REPO, pr)
        assert [(r["kind"], r["status"]) for r in runs] == [("deploy", "canceled"), ("cleanup", "successful")]
        assert runs[0]["finished"] - runs[0]["started"] < 20, "the deploy ran to its end instead of stopping"
        time.sleep(2)  # anything the cancelled build left behind would show up now
        assert compose_processes(project) == []
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        assert "Preview removed" in github.comments(REPO, pr)[0]["body"]
    finally:
        shim.stop()


def test_sigkill_mid_deploy_then_restart_ends_live(tmp_path, nginx, github):
    pr, label, project = 63, "hello-pr-63", "preview-hello-pr-63"
    app = AppRepo(tmp_path / "hello")
    slow_build(app, 6)
    sha = app.commit("slow")
    app.push_pr(pr, sha)
    shim = start(tmp_path, nginx, github, app)
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        wait_for(lambda: compose_processes(project), 60, "the build to start")
        shim.proc.send_signal(signal.SIGKILL)  # the shim alone; its playbook is orphaned
        shim.proc.wait(10)
        shim.log.close()
        assert db_rows(db, "runs", REPO, pr)[0]["status"] == "running"

        shim = ShimProcess(tmp_path, shim.config).start()
        shim.wait_idle(180)
        runs = db_rows(db, "runs", REPO, pr)
        assert [(r["kind"], r["status"]) for r in runs] == [("deploy", "interrupted"), ("deploy", "successful")]
        [record] = db_rows(db, "deployments", REPO, pr)
        assert record["status"] == "live" and record["sha"] == sha
        assert requests.get(f"{nginx.base_url}/{label}/health", timeout=5).status_code == 200
        assert "Preview live" in github.comments(REPO, pr)[0]["body"]
        assert len(github.comments(REPO, pr)) == 1
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)


def test_sigterm_drains_and_keeps_accepting(tmp_path, nginx, github):
    pr, label = 64, "hello-pr-64"
    app = AppRepo(tmp_path / "hello")
    slow_build(app, 5)
    first = app.commit("first")
    app.push_pr(pr, first)
    shim = start(tmp_path, nginx, github, app)
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, pr, first, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        wait_for(lambda: compose_processes(f"preview-{label}"), 60, "the build to start")
        shim.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        app.write("www/index.html", "<h1>pushed while draining</h1>\n")
        second = app.commit("second")
        app.push_pr(pr, second)
        during = send(
            shim.webhook_url, SECRET, pull_request_payload("synchronize", REPO, pr, second, "2026-12-01T10:01:00Z")
        )
        assert during.status_code == 202, "deliveries must still be accepted and stored while draining"
        assert shim.proc.wait(120) == 0
        shim.log.close()
        runs = db_rows(db, "runs", REPO, pr)
        assert [(r["sha"], r["status"]) for r in runs] == [(first, "successful")], "the running deploy finished"

        shim = ShimProcess(tmp_path, shim.config).start()
        shim.wait_idle(120)
        assert "pushed while draining" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, first, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()
