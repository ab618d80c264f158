"""GitHub as the source of truth: what the webhooks missed, the sweep repairs at the shim's next start.

Real shim, ansible-runner, Docker, nginx, git; GitHub is the stand-in, whose pull requests change without a
webhook reaching the shim (no hook is registered, so redelivery cannot help: only the sweep can).
"""

from __future__ import annotations

import os

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.waiting import wait_for
from tests.support.webhooks import send

REPO = "octo/hello"


def _live(nginx, label: str) -> bool:
    return requests.get(f"{nginx.base_url}/{label}/health", timeout=5).status_code == 200


def test_a_close_missed_while_the_shim_was_down_is_swept_at_start(tmp_path, nginx, github):
    pr, label, project = 95, "hello-pr-95", "preview-hello-pr-95"
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(pr, sha)
    config = shim_config(
        tmp_path, {REPO: {"clone_url": app.clone_url}}, nginx.role_settings(), github.base_url, "test-token"
    )
    db = tmp_path / "state" / "state.db"
    shim = ShimProcess(tmp_path, config).start()
    try:
        assert send(shim.webhook_url, SECRET, github.open_pr(REPO, pr, sha=sha, event=True)).status_code == 202
        shim.wait_idle()
        assert _live(nginx, label)

        assert shim.stop() == 0
        github.close_pr(REPO, pr)  # GitHub's closed event reaches nobody
        shim = ShimProcess(tmp_path, shim.config).start()
        # The start-up sweep runs in the background: idle before it has applied the close means nothing.
        wait_for(lambda: "sweep=accepted state=absent reason=closed" in shim.log_text(), 60, "the start-up sweep")
        shim.wait_idle()

        runs = db_rows(db, "runs", REPO, pr)
        assert [(r["kind"], r["status"]) for r in runs] == [("deploy", "successful"), ("cleanup", "successful")]
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        assert len(db_rows(db, "deliveries", REPO, pr)) == 1  # the opened one: the sweep stores no delivery
        [comment] = github.comments(REPO, pr)
        assert "Preview removed" in comment["body"]
        assert github.violations == []
    finally:
        shim.stop()


def test_a_lost_state_file_brings_every_open_pr_back_with_its_comment(tmp_path, nginx, github):
    prs = {96: "hello-pr-96", 97: "hello-pr-97"}
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    config = shim_config(
        tmp_path, {REPO: {"clone_url": app.clone_url}}, nginx.role_settings(), github.base_url, "test-token"
    )
    db = tmp_path / "state" / "state.db"
    shim = ShimProcess(tmp_path, config).start()
    try:
        for pr in prs:
            app.push_pr(pr, sha)
            assert send(shim.webhook_url, SECRET, github.open_pr(REPO, pr, sha=sha, event=True)).status_code == 202
        shim.wait_idle()
        assert all(_live(nginx, label) for label in prs.values())

        assert shim.stop() == 0
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{db}{suffix}"):
                os.remove(f"{db}{suffix}")
        shim = ShimProcess(tmp_path, shim.config).start()
        wait_for(lambda: shim.log_text().count("sweep=accepted") == len(prs), 60, "the start-up sweep")
        shim.wait_idle()

        for pr, label in prs.items():
            assert [r["status"] for r in db_rows(db, "deployments", REPO, pr)] == ["live"], shim.log_text()[-3000:]
            assert _live(nginx, label)
            [comment] = github.comments(REPO, pr)  # found again and edited, not posted twice
            assert label in comment["body"]
        assert github.violations == []
    finally:
        for pr in prs:
            if github.pull(REPO, pr)["state"] == "open":
                send(shim.webhook_url, SECRET, github.close_pr(REPO, pr, event=True))
        shim.wait_idle()
        shim.stop()
