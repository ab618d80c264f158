"""A repository with only a Dockerfile (examples/dockerfile-only), end to end: it comes up as one service on the
port its Dockerfile EXPOSEs, or the configured one for a configured Dockerfile; without either the PR is told to
set `port`; closing leaves nothing. Real shim, Docker, nginx and git throughout."""

from __future__ import annotations

import requests

from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, docker_lines, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

EXPOSED, CONFIGURED, PORTLESS = "octo/dockerfile-only", "octo/configured", "octo/portless"
# The example's Dockerfile moved to a path of its own, without its EXPOSE line.
MOVED = "docker/app.Dockerfile"


def _all(shim, action: str, shas: dict[str, str], at: str) -> None:
    """``action`` on PR 1 of every repository, and wait until the shim has run them all."""
    for repo, sha in shas.items():
        resp = send(shim.webhook_url, SECRET, pull_request_payload(action, repo, 1, sha, at))
        assert resp.status_code == 202, resp.text
    shim.wait_idle()


def test_a_dockerfile_only_repository_goes_live_as_one_service(tmp_path, nginx):
    app = AppRepo(tmp_path / "dockerfile-only", example="dockerfile-only")
    sha = app.commit("the Dockerfile-only app")
    app.push_pr(1, sha)
    moved = AppRepo(tmp_path / "moved", example="dockerfile-only")
    dockerfile = (moved.path / "Dockerfile").read_text()
    (moved.path / "Dockerfile").unlink()
    moved.write(MOVED, "".join(line for line in dockerfile.splitlines(True) if not line.startswith("EXPOSE")))
    moved_sha = moved.commit("the Dockerfile moved, without EXPOSE")
    moved.push_pr(1, moved_sha)
    repos = {
        EXPOSED: {"clone_url": app.clone_url},
        CONFIGURED: {"clone_url": moved.clone_url, "dockerfile": MOVED, "port": 5000},
        PORTLESS: {"clone_url": moved.clone_url, "dockerfile": MOVED},
    }
    shas = {EXPOSED: sha, CONFIGURED: moved_sha, PORTLESS: moved_sha}
    with GitHubStandIn(repos=set(repos)) as github:
        config = shim_config(tmp_path, repos, nginx.role_settings(), github_api_url=github.base_url, token="test-token")
        shim = ShimProcess(tmp_path, config).start()
        db = tmp_path / "state" / "state.db"
        try:
            _all(shim, "opened", shas, "2026-12-01T10:00:00Z")

            for repo in (EXPOSED, CONFIGURED):
                slug = repo.split("/")[1]
                label, project = f"{slug}-pr-1", f"preview-{slug}-pr-1"
                [comment] = github.comments(repo, 1)
                assert "Preview live" in comment["body"], comment["body"] + shim.log_text()[-3000:]
                page = requests.get(f"{nginx.base_url}/{label}/", timeout=5)
                assert page.status_code == 200 and "dockerfile-only app" in page.text, page.text
                [record] = db_rows(db, "deployments", repo, 1)
                # One service, built from the checkout, published on the leased app port of 127.0.0.1 only.
                assert project_resources(project)["containers"] == [f"{project}-app-1"]
                assert docker_lines("port", f"{project}-app-1") == [f"5000/tcp -> 127.0.0.1:{record['app_port']}"]

            [comment] = github.comments(PORTLESS, 1)
            assert "Preview failed" in comment["body"], comment["body"]
            assert f"{MOVED} does not tell it" in comment["body"], comment["body"]
            assert "set repositories.<owner/name>.port" in comment["body"], comment["body"]
            assert project_resources("preview-portless-pr-1")["containers"] == []

            _all(shim, "closed", shas, "2026-12-01T11:00:00Z")
            for repo in repos:
                slug = repo.split("/")[1]
                assert_nothing_left(
                    f"preview-{slug}-pr-1", f"{slug}-pr-1", db, tmp_path / "deployments", nginx.configs_dir, repo, 1
                )
            assert github.violations == []
        finally:
            shim.stop()
            for repo in (EXPOSED, CONFIGURED):
                project = f"preview-{repo.split('/')[1]}-pr-1"
                if project_resources(project)["containers"]:
                    docker_lines("compose", "-p", project, "down", "-v", "--rmi", "local")
