"""The reconciler repairs both ways: traces of previews nobody wants are removed, and a wanted
preview whose containers vanished behind our back is deployed again."""

from __future__ import annotations

import subprocess
import time

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def test_orphans_removed_and_missing_previews_redeployed(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    sha = app.commit("x")
    app.push_pr(80, sha)
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        reconcile_interval=2,
    )
    shim = ShimProcess(tmp_path, config).start()
    db = tmp_path / "state" / "state.db"
    try:
        assert (
            send(
                shim.webhook_url, SECRET, pull_request_payload("opened", REPO, 80, sha, "2026-12-01T10:00:00Z")
            ).status_code
            == 202
        )
        shim.wait_idle()
        assert requests.get(f"{nginx.base_url}/hello-pr-80/health", timeout=5).status_code == 200

        # Behind our back: the app's containers are removed, and traces of a preview that no PR wants
        # appear (a compose project, an nginx file, a work dir), as a crash between steps would leave them.
        subprocess.run(["docker", "compose", "-p", "preview-hello-pr-80", "down"], check=True, capture_output=True)
        (tmp_path / "deployments" / "hello-pr-99").mkdir(parents=True)
        (nginx.configs_dir / "hello-pr-99.location.conf").write_text("location /hello-pr-99/ { return 200; }\n")
        subprocess.run(
            [
                "docker",
                "network",
                "create",
                "--label",
                "com.docker.compose.project=preview-hello-pr-99",
                "preview-hello-pr-99_default",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(nginx.reload_command, check=True)

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            healthy = requests.get(f"{nginx.base_url}/hello-pr-80/health", timeout=5).status_code == 200
            orphan_gone = not (tmp_path / "deployments" / "hello-pr-99").exists()
            if healthy and orphan_gone and not project_resources("preview-hello-pr-99")["networks"]:
                break
            time.sleep(1)
        shim.wait_idle()
        assert requests.get(f"{nginx.base_url}/hello-pr-80/health", timeout=5).status_code == 200
        assert_nothing_left(
            "preview-hello-pr-99", "hello-pr-99", db, tmp_path / "deployments", nginx.configs_dir, REPO, 99
        )
        runs = db_rows(db, "runs", REPO, 80)
        assert [r["kind"] for r in runs] == ["deploy", "deploy"], runs
        assert "reconcile status=successful" in shim.log_text()
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, 80, sha, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()
