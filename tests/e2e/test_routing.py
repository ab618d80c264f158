"""Routing and ports: two repositories' PR #5 side by side, and subdomain routing with a domain."""

from __future__ import annotations

import requests

from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import db_rows
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send


def test_two_repositories_pr_5_never_collide(tmp_path, nginx):
    with GitHubStandIn(repos={"octo/alpha", "octo/beta"}) as github:
        two_repositories(tmp_path, nginx, github)


def two_repositories(tmp_path, nginx, github):
    apps = {}
    for name in ("alpha", "beta"):
        app = AppRepo(tmp_path / name)
        app.write("www/index.html", f"<h1>{name}</h1>\n")
        apps[name] = (app, app.commit(name))
        app.push_pr(5, apps[name][1])
    repos = {f"octo/{name}": {"clone_url": app.clone_url} for name, (app, _sha) in apps.items()}
    shim = ShimProcess(
        tmp_path,
        shim_config(tmp_path, repos, nginx.role_settings(), github_api_url=github.base_url, token="test-token"),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        for name, (_app, sha) in apps.items():
            payload = pull_request_payload("opened", f"octo/{name}", 5, sha, "2026-12-01T10:00:00Z")
            assert send(shim.webhook_url, SECRET, payload).status_code == 202
        shim.wait_idle()
        ports = set()
        for name in apps:
            page = requests.get(f"{nginx.base_url}/{name}-pr-5/", timeout=5)
            assert page.status_code == 200 and name in page.text
            leased = {row["port"] for row in db_rows(db, "ports", f"octo/{name}", 5)}
            assert len(leased) == 2
            ports |= leased
        assert len(ports) == 4, "two repositories' PR #5 share a port"
        assert all("Preview live" in github.comments(f"octo/{name}", 5)[0]["body"] for name in apps)
    finally:
        for name, (_app, sha) in apps.items():
            send(
                shim.webhook_url, SECRET, pull_request_payload("closed", f"octo/{name}", 5, sha, "2026-12-01T11:00:00Z")
            )
        shim.wait_idle()
        shim.stop()


def test_subdomain_routing_with_a_preview_domain(tmp_path, nginx, github):
    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>on its own host name</h1>\n")
    sha = app.commit("x")
    app.push_pr(9, sha)
    settings = dict(nginx.role_settings(), domain="preview.example.test")
    shim = ShimProcess(
        tmp_path,
        shim_config(
            tmp_path,
            {"octo/hello": {"clone_url": app.clone_url}},
            settings,
            github_api_url=github.base_url,
            token="test-token",
        ),
    ).start()
    db = tmp_path / "state" / "state.db"
    try:
        send(shim.webhook_url, SECRET, pull_request_payload("opened", "octo/hello", 9, sha, "2026-12-01T10:00:00Z"))
        shim.wait_idle()
        [record] = db_rows(db, "deployments", "octo/hello", 9)
        assert record["status"] == "live"
        assert record["url"] == "http://hello-pr-9.preview.example.test/"
        assert nginx.files() == ["hello-pr-9.server.conf"]
        page = requests.get(nginx.base_url + "/", headers={"Host": "hello-pr-9.preview.example.test"}, timeout=5)
        assert page.status_code == 200 and "on its own host name" in page.text
        assert requests.get(nginx.base_url + "/", headers={"Host": "other.example.test"}, timeout=5).status_code == 404
        assert "http://hello-pr-9.preview.example.test/" in github.comments("octo/hello", 9)[0]["body"]
    finally:
        send(shim.webhook_url, SECRET, pull_request_payload("closed", "octo/hello", 9, sha, "2026-12-01T11:00:00Z"))
        shim.wait_idle()
        shim.stop()
    assert nginx.files() == []
