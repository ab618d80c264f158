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
    with the pull request number.
  - The task runs on the controller, through the collection's action plugin of the same name. Nothing is
    sent to or started on the managed host, so the token stays on the controller; E(GITHUB_TOKEN) and
    E(GITHUB_API_URL) are read from the controller's environment.
  - The token (O(token) or O(token_file)) must be able to write pull request comments. A classic personal
    access token needs the C(repo) scope (C(public_repo) for public repositories); a fine-grained token or
    GitHub App needs the C(Pull requests) or C(Issues) repository permission, write.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.github
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

- name: Update it with the token in a file of the controller's
  preview.envs.github_pr_comment:
    repo: octo-org/shop
    pr: 42
    body: Preview is building
    token_file: /etc/preview/github-token

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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils._pr_comment import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    ensure_comment,
)


def main() -> None:
    """Run on the managed host. Tasks normally reach the action plugin instead, which runs the same code on
    the controller (plugins/action/github_pr_comment.py)."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    result = ensure_comment(module.params, module.check_mode, module._diff)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
