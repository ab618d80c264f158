"""An ordinary repository's own compose file (examples/ordinary: fixed host ports 3000 and 5432, a container
name, a named volume), unchanged, end to end: two PRs live side by side, each with its own volume, and closing
them leaves nothing. Real shim, Docker, nginx and git throughout."""

from __future__ import annotations

import re

import requests

from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, docker_lines, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO, PLAIN = "octo/ordinary", "octo/unrouted"
PRS = (1, 2)


def _event(shim, action: str, repo: str, pr: int, sha: str, at: str) -> None:
    resp = send(shim.webhook_url, SECRET, pull_request_payload(action, repo, pr, sha, at))
    assert resp.status_code == 202, resp.text


def _published(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    return docker_lines("ps", "--filter", label, "--format", "{{.Names}} {{.Ports}}")


def test_two_prs_of_an_ordinary_compose_file_live_side_by_side(tmp_path, nginx):
    app = AppRepo(tmp_path / "ordinary", example="ordinary")
    sha = app.commit("the ordinary app")
    for pr in PRS:
        app.push_pr(pr, sha)  # the same commit: whatever differs between the two comes from their own volumes
    app.push_pr(3, sha)
    repos = {
        # Both services publish a port: the server configuration names the one to route to.
        REPO: {"clone_url": app.clone_url, "service": "web"},
        PLAIN: {"clone_url": app.clone_url},
    }
    with GitHubStandIn(repos={REPO, PLAIN}) as github:
        config = shim_config(tmp_path, repos, nginx.role_settings(), github_api_url=github.base_url, token="test-token")
        shim = ShimProcess(tmp_path, config).start()
        db = tmp_path / "state" / "state.db"
        try:
            for pr in PRS:
                _event(shim, "opened", REPO, pr, sha, "2026-12-01T10:00:00Z")
            _event(shim, "opened", PLAIN, 3, sha, "2026-12-01T10:00:00Z")
            shim.wait_idle()

            rows = {}
            for pr in PRS:
                label, project = f"ordinary-pr-{pr}", f"preview-ordinary-pr-{pr}"
                [comment] = github.comments(REPO, pr)
                assert "Preview live" in comment["body"], comment["body"] + shim.log_text()[-3000:]
                page = requests.get(f"{nginx.base_url}/{label}/", timeout=5)
                assert page.status_code == 200, page.text
                row = re.search(r"db row: ([0-9a-f-]{36})", page.text)
                assert row, page.text
                rows[pr] = row.group(1)
                assert project_resources(project)["volumes"] == [f"{project}_db-data"]
                [record] = db_rows(db, "deployments", REPO, pr)
                containers = _published(project)
                # compose names the containers after the project (no app-db), and only web is published, on
                # the leased app port of 127.0.0.1.
                assert sorted(line.split(" ", 1)[0] for line in containers) == [f"{project}-db-1", f"{project}-web-1"]
                assert f"{project}-web-1 127.0.0.1:{record['app_port']}->3000/tcp" in containers, containers
                assert not any("->" in line for line in containers if line.startswith(f"{project}-db-1")), containers
            assert rows[1] != rows[2], "the two previews share the db's volume"
            volumes = docker_lines("volume", "ls", "--format", "{{.Name}}")
            assert {f"preview-ordinary-pr-{pr}_db-data" for pr in PRS} <= set(volumes)

            # Without the setting, the PR is told what to set, and nothing of it runs.
            [comment] = github.comments(PLAIN, 3)
            assert "Preview failed" in comment["body"]
            assert "db and web publish ports" in comment["body"] and ".service" in comment["body"], comment["body"]
            assert project_resources("preview-unrouted-pr-3")["containers"] == []

            for pr in PRS:
                _event(shim, "closed", REPO, pr, sha, "2026-12-01T11:00:00Z")
            _event(shim, "closed", PLAIN, 3, sha, "2026-12-01T11:00:00Z")
            shim.wait_idle()
            for pr in PRS:
                assert_nothing_left(
                    f"preview-ordinary-pr-{pr}",
                    f"ordinary-pr-{pr}",
                    db,
                    tmp_path / "deployments",
                    nginx.configs_dir,
                    REPO,
                    pr,
                )
            assert_nothing_left(
                "preview-unrouted-pr-3", "unrouted-pr-3", db, tmp_path / "deployments", nginx.configs_dir, PLAIN, 3
            )
            assert github.violations == []
        finally:
            shim.stop()
            for project in ("preview-ordinary-pr-1", "preview-ordinary-pr-2"):
                if project_resources(project)["containers"]:
                    docker_lines("compose", "-p", project, "down", "-v", "--rmi", "local")
