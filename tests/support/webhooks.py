"""Real GitHub payloads (tests/fixtures/github), rewritten to a local repository, and signed."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import requests

from shim.signature import sign

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"


def load_payload(name: str) -> dict:
    return json.loads((FIXTURES / "payloads" / f"{name}.json").read_text())


def pull_request_payload(
    action: str, repo: str, number: int, sha: str, updated_at: str, head_ref: str = "feature", title: str = "A change"
) -> dict:
    """The octokit example for `action`, with repository, number, SHA and time replaced."""
    source = {
        "opened": "opened",
        "reopened": "reopened",
        "synchronize": "synchronize",
        "closed": "closed",
        "labeled": "labeled",
    }.get(action, "opened")
    payload = copy.deepcopy(load_payload(f"pull_request.{source}.octokit"))
    payload["action"] = action
    owner, name = repo.split("/")
    payload["number"] = number
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = name
    payload["repository"]["owner"]["login"] = owner
    pr = payload["pull_request"]
    pr["number"] = number
    pr["title"] = title
    pr["updated_at"] = updated_at
    pr["head"]["sha"] = sha
    pr["head"]["ref"] = head_ref
    pr["head"]["repo"]["full_name"] = repo
    pr["base"]["repo"]["full_name"] = repo
    if action == "synchronize":
        payload["after"] = sha
    return payload


# The actions whose octokit example carries the changed label; an `unlabeled` payload has the same shape.
_LABEL_ACTIONS = ("labeled", "unlabeled")


def pull_request_event(
    action: str, pull: dict, sender: dict, *, label: dict | None = None, before: str | None = None
) -> dict:
    """A `pull_request` payload around `pull`, a PR in the shape GitHub's `pulls/get` answers, after the change.

    The keys are those of the octokit example for `action` (what `pull_request_payload` starts from):
    `label` for labeled/unlabeled, `before`/`after` for synchronize, `repository` the base repository and
    `sender` who acted. The example's `installation` is left out: a repository webhook, which is what the
    stand-in sends, carries none (GitHub adds it only for a GitHub App's deliveries).
    """
    if (label is not None) != (action in _LABEL_ACTIONS):
        raise ValueError(f"a label goes with the labeled and unlabeled actions only, not with {action!r}")
    if (before is not None) != (action == "synchronize"):
        raise ValueError(f"`before` goes with the synchronize action only, not with {action!r}")
    payload = {"action": action, "number": pull["number"], "pull_request": pull}
    if label is not None:
        payload["label"] = label
    if before is not None:
        payload["before"] = before
        payload["after"] = pull["head"]["sha"]
    payload["repository"] = pull["base"]["repo"]
    payload["sender"] = sender
    return payload


def issue_comment_payload(
    repo: str,
    number: int,
    comment_id: int,
    body: str,
    sender: str,
    *,
    on_pull_request: bool = True,
    action: str = "created",
) -> dict:
    """The octokit `issue_comment.created` example (a comment on an issue), with repository, issue number, comment
    and sender replaced; `on_pull_request` adds `issue.pull_request` as GitHub sends it for a comment on a pull
    request (octokit's `common/issue.schema.json`: url, html_url, diff_url, patch_url, merged_at)."""
    payload = copy.deepcopy(load_payload("issue_comment.created.octokit"))
    payload["action"] = action
    owner, name = repo.split("/")
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = name
    payload["repository"]["owner"]["login"] = owner
    api = f"https://api.github.com/repos/{repo}"
    issue = payload["issue"]
    issue["number"] = number
    issue["url"] = f"{api}/issues/{number}"
    issue["html_url"] = f"https://github.com/{repo}/{'pull' if on_pull_request else 'issues'}/{number}"
    if on_pull_request:
        issue["pull_request"] = {
            "url": f"{api}/pulls/{number}",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo}/pull/{number}.patch",
            "merged_at": None,
        }
    comment = payload["comment"]
    comment["id"] = comment_id
    comment["url"] = f"{api}/issues/comments/{comment_id}"
    comment["issue_url"] = issue["url"]
    comment["html_url"] = f"{issue['html_url']}#issuecomment-{comment_id}"
    comment["body"] = body
    comment["user"]["login"] = sender
    payload["sender"]["login"] = sender
    return payload


def signed_headers(secret: str, body: bytes, event: str = "pull_request", delivery: str | None = None) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": sign(secret, body),
    }


def send(
    url: str, secret: str, payload: dict, event: str = "pull_request", delivery: str | None = None, timeout: float = 10
) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(url, data=body, headers=signed_headers(secret, body, event, delivery), timeout=timeout)
