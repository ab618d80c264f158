"""The GitHub stand-in's reactions to issue comments, and the `issue_comment` payloads it builds."""

from __future__ import annotations

import pytest
import requests

from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
TOKEN = "test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}
SHA = "a" * 40


@pytest.fixture
def standin():
    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as server:
        yield server


def call(standin, method, path, **kwargs):
    return requests.request(method, standin.base_url + path, headers=HEADERS, timeout=10, **kwargs)


def test_a_reaction_is_created_once_per_user_and_content_and_listed(standin):
    comment = standin.add_comment(REPO, 3, "/preview redeploy", login="writer")
    path = f"/repos/{REPO}/issues/comments/{comment['id']}/reactions"

    first = call(standin, "POST", path, json={"content": "+1"})
    again = call(standin, "POST", path, json={"content": "+1"})
    other = call(standin, "POST", path, json={"content": "confused"})

    assert [first.status_code, again.status_code, other.status_code] == [201, 200, 201]
    assert again.json() == first.json() and first.json()["user"]["login"] == standin.login
    assert standin.schemas.problems(first.json(), standin.schemas.component("reaction")) == []
    assert [r["content"] for r in call(standin, "GET", path).json()] == ["+1", "confused"]
    assert [r["content"] for r in call(standin, "GET", path, params={"content": "confused"}).json()] == ["confused"]
    assert [r["content"] for r in standin.reactions(REPO, comment["id"])] == ["+1", "confused"]
    assert standin.violations == []


def test_a_reaction_to_no_comment_or_of_no_known_content_is_refused(standin):
    comment = standin.add_comment(REPO, 3, "hello")
    missing = call(standin, "POST", f"/repos/{REPO}/issues/comments/999999/reactions", json={"content": "+1"})
    bad = call(standin, "POST", f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", json={"content": "ok"})
    assert (missing.status_code, bad.status_code) == (404, 422)
    assert standin.reactions(REPO, comment["id"]) == []


def test_a_deleted_comment_takes_its_reactions_along(standin):
    comment = standin.add_comment(REPO, 3, "hello")
    call(standin, "POST", f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", json={"content": "eyes"})
    assert call(standin, "DELETE", f"/repos/{REPO}/issues/comments/{comment['id']}").status_code == 204
    assert standin.reactions(REPO, comment["id"]) == []


def test_a_new_comment_as_an_event_says_whether_it_is_on_a_pull_request(standin):
    standin.open_pr(REPO, 4, sha=SHA)
    on_pr = standin.add_comment(REPO, 4, "/preview pin", login="writer", event=True)
    on_issue = standin.add_comment(REPO, 5, "/preview pin", login="writer", event=True)

    assert on_pr["action"] == "created" and on_pr["issue"]["number"] == 4
    assert on_pr["issue"]["pull_request"]["url"].endswith(f"/repos/{REPO}/pulls/4")
    assert "pull_request" not in on_issue["issue"]
    assert on_pr["comment"]["body"] == "/preview pin" and on_pr["sender"]["login"] == "writer"
    assert on_pr["comment"]["id"] == standin.comments(REPO, 4)[0]["id"]
    assert on_pr["repository"]["full_name"] == REPO
