"""`/preview <command>` comments, end to end: the real shim, Docker and nginx; GitHub's part by the stand-in."""

from __future__ import annotations

import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left, db_rows, project_resources
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import send

REPO = "octo/hello"


def test_a_writer_redeploys_and_destroys_a_reader_is_refused(tmp_path, nginx, github):
    pr, label, project = 80, "hello-pr-80", "preview-hello-pr-80"
    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>commands</h1>\n")
    sha = app.commit("first")
    app.push_pr(pr, sha)
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
    )
    shim = ShimProcess(tmp_path, config).start()
    db = tmp_path / "state" / "state.db"
    github.set_role(REPO, "writer", "write")
    github.set_role(REPO, "reader", "read")

    def command(body: str, sender: str) -> int:
        payload = github.add_comment(REPO, pr, body, login=sender, event=True)
        assert send(shim.webhook_url, SECRET, payload, event="issue_comment").status_code == 202
        shim.wait_idle()
        return payload["comment"]["id"]

    def reactions(comment_id: int) -> list[str]:
        return [reaction["content"] for reaction in github.reactions(REPO, comment_id)]

    def ours() -> list[str]:
        return [c["body"] for c in github.comments(REPO, pr) if c["user"]["login"] == github.login]

    def deploys() -> list[tuple[str, str]]:
        return [(run["sha"], run["status"]) for run in db_rows(db, "runs", REPO, pr) if run["kind"] == "deploy"]

    try:
        assert send(shim.webhook_url, SECRET, github.open_pr(REPO, pr, sha=sha, event=True)).status_code == 202
        shim.wait_idle()
        assert "commands" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        assert deploys() == [(sha, "successful")]

        # A writer's redeploy runs the deploy again at the same commit.
        redeploy = command("/preview redeploy", "writer")
        assert deploys() == [(sha, "successful"), (sha, "successful")]
        assert reactions(redeploy) == ["+1"]
        assert "commands" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        [sticky] = ours()
        assert "Preview live" in sticky
        [container] = project_resources(project)["containers"]

        # A reader's destroy is refused with one short reply; the preview stays.
        refused = command("/preview destroy", "reader")
        assert reactions(refused) == ["confused"]
        [sticky, reply] = ours()
        assert reply.startswith("@reader ") and "write, maintain or admin permission" in reply
        assert project_resources(project)["containers"] == [container]
        assert "commands" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        assert [run["kind"] for run in db_rows(db, "runs", REPO, pr)] == ["deploy", "deploy"]

        # A writer's destroy removes it; the PR stays open, and its comment says why.
        destroy = command("/preview destroy", "writer")
        assert reactions(destroy) == ["+1"]
        assert_nothing_left(project, label, db, tmp_path / "deployments", nginx.configs_dir, REPO, pr)
        assert "as asked with `/preview destroy`" in ours()[0] and len(ours()) == 2
        assert github.violations == []
    finally:
        shim.stop()
