"""The whole loop with real parts: signed webhook -> waitress shim -> ansible-runner ->
playbook -> docker compose -> nginx -> sticky comment on the GitHub stand-in."""

from __future__ import annotations

import requests

from ansible_collections.preview.envs.plugins.module_utils._state import port_is_bindable
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"
PR = 7
LABEL = f"hello-pr-{PR}"
PROJECT = f"preview-{LABEL}"
ENVIRONMENT = f"preview/{LABEL}"
CONTEXT = "preview/hello"


def states(deployment):
    return [status["state"] for status in deployment["statuses"]]


def test_open_push_close(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>first commit</h1>\n")
    first = app.commit("first")
    app.push_pr(PR, first)

    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
    )
    # The lease takes 8000+N and 9000+N when nothing holds them, else other ports of the range (8000-9999).
    preferred = {"app": 8000 + PR, "db": 9000 + PR}
    free_before = {role: port_is_bindable(port) for role, port in preferred.items()}
    shim = ShimProcess(tmp_path, config).start()
    db = tmp_path / "state" / "state.db"
    try:
        # opened -> building -> live
        resp = send(shim.webhook_url, SECRET, pull_request_payload("opened", REPO, PR, first, "2026-12-01T10:00:00Z"))
        assert resp.status_code == 202, resp.text
        assert resp.json()["outcome"] == "accepted"
        shim.wait_idle()

        page = requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5)
        assert page.status_code == 200, shim.log_text()[-3000:]
        assert "first commit" in page.text
        [record] = db_rows(db, "deployments", REPO, PR)
        assert record["sha"] == first and record["status"] == "live"
        assert record["url"] == f"{nginx.base_url}/{LABEL}/"
        ports = {row["role"]: row["port"] for row in db_rows(db, "ports", REPO, PR)}
        assert set(ports) == {"app", "db"} and ports["app"] != ports["db"]
        for role, port in ports.items():
            assert (port == preferred[role]) is free_before[role], (role, port, free_before)
            assert 8000 <= port <= 9999, (role, port)
        assert (record["app_port"], record["db_port"]) == (ports["app"], ports["db"])
        assert "first commit" in requests.get(f"http://127.0.0.1:{ports['app']}/", timeout=5).text
        [comment] = github.comments(REPO, PR)
        assert "Preview live" in comment["body"] and first[:7] in comment["body"]
        assert f"{nginx.base_url}/{LABEL}/" in comment["body"]
        comment_id = comment["id"]
        # The same story where GitHub shows it: a transient environment of the PR, and the head's status.
        [deployment] = github.deployments(REPO, ENVIRONMENT)
        assert deployment["sha"] == first and deployment["transient_environment"] is True
        assert states(deployment) == ["in_progress", "success"]
        assert deployment["statuses"][-1]["environment_url"] == f"{nginx.base_url}/{LABEL}/"
        assert [(item["context"], item["state"]) for item in github.commit_statuses(REPO, first)] == [
            (CONTEXT, "pending"),
            (CONTEXT, "success"),
        ]

        # synchronize -> the new commit, the same comment updated in place
        app.write("www/index.html", "<h1>second commit</h1>\n")
        second = app.commit("second")
        app.push_pr(PR, second)
        resp = send(
            shim.webhook_url, SECRET, pull_request_payload("synchronize", REPO, PR, second, "2026-12-01T10:05:00Z")
        )
        assert resp.status_code == 202, resp.text
        shim.wait_idle()
        page = requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5)
        assert "second commit" in page.text
        [comment] = github.comments(REPO, PR)
        assert comment["id"] == comment_id
        assert "Preview live" in comment["body"] and second[:7] in comment["body"]
        [record] = db_rows(db, "deployments", REPO, PR)
        assert record["sha"] == second
        # The update keeps the PR's leases: its URL and ports stay what they were.
        assert {row["role"]: row["port"] for row in db_rows(db, "ports", REPO, PR)} == ports
        assert (record["app_port"], record["db_port"]) == (ports["app"], ports["db"])
        assert "second commit" in requests.get(f"http://127.0.0.1:{ports['app']}/", timeout=5).text
        # The push's deployment replaced the first, which is retired.
        older, newer = github.deployments(REPO, ENVIRONMENT)
        assert states(older) == ["in_progress", "success", "inactive"]
        assert newer["sha"] == second and states(newer) == ["in_progress", "success"]

        # closed -> every trace removed
        resp = send(shim.webhook_url, SECRET, pull_request_payload("closed", REPO, PR, second, "2026-12-01T10:10:00Z"))
        assert resp.status_code == 202, resp.text
        shim.wait_idle()
        assert requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5).status_code == 404
        assert_nothing_left(PROJECT, LABEL, db, tmp_path / "deployments", nginx.configs_dir, REPO, PR)
        [comment] = github.comments(REPO, PR)
        assert comment["id"] == comment_id and "Preview removed" in comment["body"]
        assert [states(item)[-1] for item in github.deployments(REPO, ENVIRONMENT)] == ["inactive", "inactive"]
        assert github.violations == []
    finally:
        shim.stop()
        if project_resources(PROJECT)["containers"]:
            import subprocess

            subprocess.run(
                ["docker", "compose", "-p", PROJECT, "down", "-v", "--rmi", "local"], capture_output=True, check=False
            )
