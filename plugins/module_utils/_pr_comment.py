# Copyright (c) 2025, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sticky pull-request comment of ``preview.envs.github_pr_comment`` (private to the collection).

Shared by the module (``plugins/modules/github_pr_comment.py``, documentation and a direct entry point) and
its action plugin (``plugins/action/github_pr_comment.py``), which runs it on the controller: the comment
only talks to GitHub, so nothing of it needs the managed host, and the token never reaches that host.
"""

from __future__ import annotations

import re

from ansible_collections.preview.envs.plugins.module_utils import _naming
from ansible_collections.preview.envs.plugins.module_utils._args_common import github
from ansible_collections.preview.envs.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    client_from_options,
)
from ansible_collections.preview.envs.plugins.module_utils._redact import redact_secrets, redact_urls

MARKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
MAX_BODY_LENGTH = 65536
# An @ that GitHub would read as a mention of a user or a team (@octocat, @org/team).
MENTION = re.compile(r"@(?=[A-Za-z0-9])")
# A zero-width space after the @: the text reads the same, and GitHub notifies nobody.
MENTION_BREAK = "@\u200b"


def marker_line(marker: str) -> str:
    """The hidden first line that identifies the sticky comment named ``marker``."""
    return f"<!-- preview-envs:{marker} -->"


def carries_marker(comment_body: str | None, marker: str) -> bool:
    first_line = (comment_body or "").split("\n", 1)[0]
    return first_line.strip() == marker_line(marker)


def with_marker(body: str, marker: str) -> str:
    """``body`` with the marker line on top, added only if it is not there already."""
    if carries_marker(body, marker):
        return body
    return f"{marker_line(marker)}\n{body}"


def sanitize_body(body: str, secrets: tuple[str, ...] = ()) -> str:
    """``body`` safe to post as our bot: no credentials in URLs, none of ``secrets``, and no mentions.

    Failure comments quote build output and app logs, which the pull request controls: through our bot it
    could otherwise ping any user or team, or publish a credential a log echoed. ``#123`` references stay.
    """
    return MENTION.sub(MENTION_BREAK, redact_urls(redact_secrets(body, secrets)))


def fenced(text: str) -> str:
    """``text`` as a Markdown code block whose fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _same_text(left: str | None, right: str | None) -> bool:
    # GitHub keeps what the browser sent, often with CRLF line ends; those are no change of content.
    def normalize(text):
        return (text or "").replace("\r\n", "\n")

    return normalize(left) == normalize(right)


class StickyComment:
    """One pull request's sticky comment, named by its marker."""

    def __init__(self, client: GitHubClient, repo: str, pr: int, marker: str, check_mode: bool) -> None:
        self.client = client
        self.repo = repo
        self.pr = pr
        self.marker = marker
        self.check_mode = check_mode
        self.step = "read"

    def ensure(self, state: str, body: str | None) -> dict:
        self.step = "list the comments of"
        found = [
            comment
            for comment in self.client.paginate(f"/repos/{self.repo}/issues/{self.pr}/comments", {"per_page": 100})
            if carries_marker(comment.get("body"), self.marker)
        ]
        if state == "present":
            return self._present(found, with_marker(body or "", self.marker))
        return self._absent(found)

    def _present(self, found: list[dict], wanted: str) -> dict:
        kept, duplicates = (found[0], found[1:]) if found else (None, [])
        before = kept["body"] if kept else ""
        result = {
            "changed": bool(duplicates),
            "comment_id": kept["id"] if kept else None,
            "html_url": kept.get("html_url") if kept else None,
            "body": wanted,
            "deleted_comment_ids": [comment["id"] for comment in duplicates],
            "diff": {"before": before, "after": wanted},
        }
        if kept is None:
            result["changed"] = True
            if not self.check_mode:
                self.step = "create the comment on"
                created = self.client.request(
                    "POST", f"/repos/{self.repo}/issues/{self.pr}/comments", body={"body": wanted}
                )[2]
                result.update(comment_id=created["id"], html_url=created.get("html_url"), body=created["body"])
        elif not _same_text(kept["body"], wanted):
            result["changed"] = True
            if not self.check_mode:
                self.step = f"update comment {kept['id']} on"
                updated = self.client.request(
                    "PATCH", f"/repos/{self.repo}/issues/comments/{kept['id']}", body={"body": wanted}
                )[2]
                result.update(html_url=updated.get("html_url"), body=updated["body"])
        else:
            result["body"] = kept["body"]
        self._delete(duplicates)
        return result

    def _absent(self, found: list[dict]) -> dict:
        self._delete(found)
        return {
            "changed": bool(found),
            "comment_id": None,
            "html_url": None,
            "body": None,
            "deleted_comment_ids": [comment["id"] for comment in found],
            "diff": {"before": found[0]["body"] if found else "", "after": ""},
        }

    def _delete(self, comments: list[dict]) -> None:
        if self.check_mode:
            return
        for comment in comments:
            self.step = f"delete comment {comment['id']} on"
            self.client.request("DELETE", f"/repos/{self.repo}/issues/comments/{comment['id']}")


ARGUMENT_SPEC = dict(
    repo=dict(type="str", required=True),
    pr=dict(type="int", required=True),
    body=dict(type="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    marker=dict(type="str", default="preview-envs"),
    **github(),
)
REQUIRED_IF = [("state", "present", ["body"])]


def check_params(params: dict) -> str | None:
    """What is wrong with validated ``params`` beyond their types, or None; checked before calling GitHub."""
    repo, pr = params["repo"], params["pr"]
    if not _naming.REPO_RE.match(repo):
        return f"repo must look like owner/name, not {repo!r}"
    if pr < 1:
        return f"pr must be a pull request number (1 or more), not {pr}"
    if not MARKER_PATTERN.match(params["marker"]):
        return (
            f"marker {params['marker']!r} is not allowed: use letters, digits and . _ : / -, "
            "starting with a letter or digit, at most 100 characters"
        )
    if params["timeout"] < 1 or params["retries"] < 0:
        return "timeout must be at least 1 second and retries at least 0"
    if params["state"] == "present":
        length = len(with_marker(params["body"], params["marker"]))
        if length > MAX_BODY_LENGTH:
            return (
                f"the comment for {repo}#{pr} would have {length} characters, marker line included; "
                f"GitHub accepts at most {MAX_BODY_LENGTH}"
            )
    return None


def ensure_comment(params: dict, check_mode: bool, diff_mode: bool) -> dict:
    """Bring the comment to ``params['state']``: the task's result, with ``failed``/``msg`` or ``warnings``."""
    if params.get("body") is not None:
        params = dict(params, body=sanitize_body(params["body"], (params["token"],)))
    error = check_params(params)
    if error:
        return {"failed": True, "changed": False, "msg": error}
    repo, pr = params["repo"], params["pr"]
    client = client_from_options(params)
    sticky = StickyComment(client, repo, pr, params["marker"], check_mode)
    try:
        result = sticky.ensure(params["state"], params["body"])
    except GitHubError as error:
        return {
            "failed": True,
            "changed": False,
            "msg": f"Could not {sticky.step} {repo} pull request #{pr}: {error}",
            "status": error.status,
            "url": error.url,
            "documentation_url": error.documentation_url,
        }
    diff = result.pop("diff")
    if diff_mode:
        result["diff"] = diff
    if result["deleted_comment_ids"] and params["state"] == "present":
        result["warnings"] = [
            f"{repo}#{pr} had {len(result['deleted_comment_ids']) + 1} comments with the marker "
            f"{marker_line(params['marker'])}; kept {result['comment_id']} and "
            f"{'would delete' if check_mode else 'deleted'} {result['deleted_comment_ids']}"
        ]
    return result
