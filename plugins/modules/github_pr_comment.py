#!/usr/bin/python
# Copyright (c) 2025, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: github_pr_comment
short_description: Keep one sticky comment on a GitHub pull request
version_added: 0.1.0
description:
  - Creates, updates or deletes one comment on a GitHub pull request, and finds the same comment again on
    later runs by a hidden marker line, so that a pull request carries a single comment edited in place.
  - The first line of the comment is the marker C(<!-- preview-envs:MARKER -->), where C(MARKER) is the
    value of O(marker); with the default marker the line is C(<!-- preview-envs:preview-envs -->). GitHub
    does not render HTML comments, so readers see only O(body). A comment is ours when its first line,
    stripped of surrounding whitespace, is exactly that marker line.
  - If O(body) already starts with the marker line it is kept as is; otherwise the marker line and a
    newline are put in front of it.
  - When several comments carry the marker (left over from an earlier failure), the oldest one is kept and
    updated, and the others are deleted; their IDs are returned in RV(deleted_comment_ids).
  - Every pull request is an issue, so the module uses the issue comments endpoints of the GitHub REST API
    with the pull request number. It needs nothing on the target beyond ansible-core.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the pull request's comments but never creates, edits or deletes one.
  diff_mode:
    support: full
    details:
      - The diff compares the full comment body, marker line included; an absent comment shows as an empty
        string.
  idempotent:
    support: full
options:
  repo:
    description:
      - The repository, as C(owner/name).
    type: str
    required: true
  pr:
    description:
      - The number of the pull request.
    type: int
    required: true
  body:
    description:
      - The Markdown text of the comment, without the marker line (the module adds it).
      - GitHub accepts at most 65536 characters, marker line included.
      - Required when O(state=present).
    type: str
  state:
    description:
      - V(present) creates the comment, or updates it when its body differs from O(body).
      - V(absent) deletes the comment (and any duplicates) if there is one.
    type: str
    choices: [present, absent]
    default: present
  marker:
    description:
      - Names the sticky comment, so that several modules or roles can each keep their own comment on one pull
        request. It goes into the hidden first line C(<!-- preview-envs:MARKER -->).
      - Letters, digits and C(.), C(_), C(:), C(/), C(-), starting with a letter or digit; at most 100
        characters.
    type: str
    default: preview-envs
  token:
    description:
      - A GitHub token that can write pull request comments, sent in an C(Authorization) header as a
        bearer token.
      - A classic personal access token needs the C(repo) scope (C(public_repo) for public repositories). A
        fine-grained token or GitHub App needs the C(Pull requests) or C(Issues) repository permission, write.
      - If not set, the environment variable E(GITHUB_TOKEN) is used.
    type: str
    required: true
  api_url:
    description:
      - The root of the GitHub REST API. For GitHub Enterprise Server this is C(https://HOSTNAME/api/v3).
      - If not set, the environment variable E(GITHUB_API_URL) is used (GitHub Actions sets it).
    type: str
    default: https://api.github.com
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is repeated after a server error (5xx), a network error or a rate limit.
      - Waits follow GitHub's C(retry-after) and C(x-ratelimit-reset) headers, else back off exponentially.
        A rate limit that would need a wait of more than 60 seconds fails at once, saying when it resets.
    type: int
    default: 4
notes:
  - Anyone who can comment on the pull request can post a comment that starts with the marker line; the
    module would then try to edit that comment, which GitHub refuses (403) unless the token may edit
    others' comments.
seealso:
  - name: GitHub REST API, issue comments
    description: The endpoints this module uses.
    link: https://docs.github.com/rest/issues/comments
  - name: GitHub REST API, rate limits
    description: How GitHub asks clients to wait when rate limited.
    link: https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
"""

EXAMPLES = r"""
- name: Tell the pull request where its preview runs
  preview.envs.github_pr_comment:
    repo: octo-org/shop
    pr: 42
    body: |
      Preview: https://pr-42.preview.example.com
      Built from `{{ head_sha[:7] }}`.
    token: "{{ github_token }}"

- name: Keep a second, separate sticky comment with the test results
  preview.envs.github_pr_comment:
    repo: octo-org/shop
    pr: 42
    marker: test-report
    body: "{{ lookup('ansible.builtin.file', 'report.md') }}"

- name: Remove the preview comment when the pull request closes (token from GITHUB_TOKEN)
  preview.envs.github_pr_comment:
    repo: octo-org/shop
    pr: 42
    state: absent
"""

RETURN = r"""
comment_id:
  description:
    - The ID of the sticky comment after the run.
    - V(null) when there is none, after O(state=absent), or in check mode when the comment would be created.
  returned: success
  type: int
  sample: 1357924680
html_url:
  description:
    - The address of the comment on GitHub, or V(null) when RV(comment_id) is V(null).
  returned: success
  type: str
  sample: https://github.com/octo-org/shop/pull/42#issuecomment-1357924680
body:
  description:
    - The full body of the comment after the run (or that it would have in check mode), marker line included.
    - V(null) when O(state=absent).
  returned: success
  type: str
  sample: "<!-- preview-envs:preview-envs -->\nPreview: https://pr-42.preview.example.com"
deleted_comment_ids:
  description:
    - IDs of the comments deleted (or that would be deleted in check mode). With O(state=present) these are
      duplicates of the sticky comment; with O(state=absent), every comment that carried the marker.
  returned: success
  type: list
  elements: int
  sample: []
"""

import re

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.preview.envs.plugins.module_utils._github import GitHubClient, GitHubError

MARKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
REPO_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
MAX_BODY_LENGTH = 65536


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
            for comment in self.client.paginate(
                f"/repos/{self.repo}/issues/{self.pr}/comments", {"per_page": 100}
            )
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
                result.update(
                    comment_id=created["id"], html_url=created.get("html_url"), body=created["body"]
                )
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


def main() -> None:
    argument_spec = dict(
        repo=dict(type="str", required=True),
        pr=dict(type="int", required=True),
        body=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        marker=dict(type="str", default="preview-envs"),
        token=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["GITHUB_TOKEN"])),
        api_url=dict(
            type="str", default="https://api.github.com", fallback=(env_fallback, ["GITHUB_API_URL"])
        ),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=4),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["body"])],
        supports_check_mode=True,
    )
    params = module.params
    repo, pr = params["repo"], params["pr"]
    if not REPO_PATTERN.match(repo):
        module.fail_json(msg=f"repo must look like owner/name, not {repo!r}")
    if pr < 1:
        module.fail_json(msg=f"pr must be a pull request number (1 or more), not {pr}")
    if not MARKER_PATTERN.match(params["marker"]):
        module.fail_json(
            msg=f"marker {params['marker']!r} is not allowed: use letters, digits and . _ : / -, "
            "starting with a letter or digit, at most 100 characters"
        )
    if params["timeout"] < 1 or params["retries"] < 0:
        module.fail_json(msg="timeout must be at least 1 second and retries at least 0")
    if params["state"] == "present":
        length = len(with_marker(params["body"], params["marker"]))
        if length > MAX_BODY_LENGTH:
            module.fail_json(
                msg=f"the comment for {repo}#{pr} would have {length} characters, marker line included; "
                f"GitHub accepts at most {MAX_BODY_LENGTH}"
            )

    client = GitHubClient(
        params["api_url"], params["token"], timeout=params["timeout"], retries=params["retries"]
    )
    sticky = StickyComment(client, repo, pr, params["marker"], module.check_mode)
    try:
        result = sticky.ensure(params["state"], params["body"])
    except GitHubError as error:
        module.fail_json(
            msg=f"Could not {sticky.step} {repo} pull request #{pr}: {error}",
            status=error.status,
            url=error.url,
            documentation_url=error.documentation_url,
        )
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    if result["deleted_comment_ids"] and params["state"] == "present":
        module.warn(
            f"{repo}#{pr} had {len(result['deleted_comment_ids']) + 1} comments with the marker "
            f"{marker_line(params['marker'])}; kept {result['comment_id']} and "
            f"{'would delete' if module.check_mode else 'deleted'} {result['deleted_comment_ids']}"
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
