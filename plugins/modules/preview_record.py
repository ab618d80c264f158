#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: preview_record
short_description: Deployment record and port leases of one pull-request preview
version_added: 0.1.0
description:
  - Keeps the record of a PR's preview (repository, PR, commit, ports, URL, status, timestamps)
    and its two port leases (app and database) in the preview host's SQLite state file.
  - With O(state=present) the ports are leased on first use and kept on later runs,
    8000+N and 9000+N when free, otherwise the lowest free port of O(port_range).
  - With O(state=absent) the record is deleted and the ports are released.
  - Every name (label, compose project, work dir, URL) is derived from O(slug) and O(pr) only.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.host_layout.db
  - preview.envs.host_layout.deployments_dir
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Returns the record before and after.
  idempotent:
    support: full
    details: The C(updated) timestamp changes only when a stored value changes.
options:
  repo:
    description: Repository full name, C(owner/name).
    type: str
    required: true
  pr:
    description: Pull request number.
    type: int
    required: true
  slug:
    description:
      - Short name of the repository used in the preview's label C(<slug>-pr-<N>).
      - Defaults to the repository name, lowercased, other characters turned into dashes.
    type: str
  sha:
    description: The 40-hex commit the preview runs. Required with O(state=present).
    type: str
  status:
    description: Status to record.
    type: str
    choices: [building, live, failed]
    default: building
  reason:
    description: Why the preview failed (kept with O(status=failed), cleared otherwise).
    type: str
    default: ""
  state:
    description: Whether the record and its leases should exist.
    type: str
    choices: [present, absent]
    default: present
  port_range:
    description: Lowest and highest port the previews may lease, as two integers.
    type: list
    elements: int
    default: [8000, 9999]
  domain:
    description: Preview domain; when set, previews are served at C(<label>.<domain>).
    type: str
    default: ""
  public_url:
    description: Base URL for path routing (C(<public_url>/<label>/)) when O(domain) is empty.
    type: str
    default: http://localhost
  url_scheme:
    description: Scheme of subdomain URLs.
    type: str
    choices: [http, https]
    default: http
  max_previews:
    description:
      - Admission, for O(state=present) with O(status=building) of a PR that has no record yet, at most this
        many previews on the host (all repositories). V(0) means no cap.
      - A refused preview fails the task with a message naming the cap; nothing is leased or recorded.
    type: int
    default: 0
  max_previews_per_repo:
    description: Admission, as O(max_previews), counting only the previews of O(repo). V(0) means no cap.
    type: int
    default: 0
  min_free_disk_mb:
    description:
      - Admission, for O(state=present) with O(status=building) (before every build, new preview or
        update), the free space in MiB that each of O(disk_paths) must have. V(0) turns the check off.
      - A path that does not exist yet is measured at its nearest existing parent.
    type: int
    default: 0
  disk_paths:
    description: The filesystems O(min_free_disk_mb) is checked on (the work dirs, Docker's data root).
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Lease ports and record the build of PR 5
  preview.envs.preview_record:
    repo: octo/app
    pr: 5
    sha: 0123456789abcdef0123456789abcdef01234567
    status: building
  register: preview

- name: Release everything of PR 5
  preview.envs.preview_record:
    repo: octo/app
    pr: 5
    state: absent
"""

RETURN = r"""
record:
  description: The record after the change (empty dict when absent).
  type: dict
  returned: always
app_port:
  description: Leased port of the app (0 when absent).
  type: int
  returned: always
db_port:
  description: Leased port of the database (0 when absent).
  type: int
  returned: always
label:
  description: The preview's label, e.g. C(app-pr-5).
  type: str
  returned: always
project:
  description: The compose project name, e.g. C(preview-app-pr-5).
  type: str
  returned: always
work_dir:
  description: The preview's work dir.
  type: str
  returned: always
url:
  description: Where the preview answers.
  type: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils import _naming, _state
from ansible_collections.preview.envs.plugins.module_utils._args_common import host_layout


def run(module: AnsibleModule) -> dict:
    params = module.params
    try:
        repo = _naming.check_repo(params["repo"])
        pr = _naming.check_pr(params["pr"])
        slug = _naming.check_slug(params["slug"] or _naming.default_slug(repo))
        sha = _naming.check_sha(params["sha"]) if params["state"] == "present" else None
        url = _naming.url(slug, pr, params["domain"], params["public_url"], params["url_scheme"])
    except _naming.NamingError as exc:
        module.fail_json(msg=str(exc))
    port_range = params["port_range"]
    if len(port_range) != 2 or not 1024 <= port_range[0] <= port_range[1] <= 65535:
        module.fail_json(msg=f"port_range must be two ports, low <= high, within 1024-65535: {port_range}")
    label = _naming.label(slug, pr)
    names = {
        "label": label,
        "project": _naming.project_name(slug, pr),
        "work_dir": os.path.join(params["deployments_dir"], label),
        "url": url,
    }

    building = params["state"] == "present" and params["status"] == "building"
    if building:
        low_disk = _state.low_disk(params["disk_paths"], params["min_free_disk_mb"])
        if low_disk:
            module.fail_json(msg=f"not deployed: {low_disk} (min_free_disk_mb)")
    conn = _state.connect(params["db"])
    try:
        conn.execute("BEGIN IMMEDIATE")
        before = _state.get_record(conn, repo, pr) or {}
        if building and not before:
            full = _state.over_cap(conn, repo, params["max_previews"], params["max_previews_per_repo"])
            if full:
                conn.execute("ROLLBACK")
                module.fail_json(msg=f"not deployed: {full}")
        if params["state"] == "absent":
            changed = _state.release(conn, repo, pr)
            after, ports = {}, {}
        else:
            ports = _state.lease_ports(conn, repo, pr, tuple(port_range))
            values = dict(
                names,
                repo=repo,
                pr=pr,
                sha=sha,
                app_port=ports["app"],
                db_port=ports["db"],
                status=params["status"],
                reason=params["reason"] if params["status"] == "failed" else "",
            )
            after = _state.upsert_record(conn, values)
            changed = not before or any(before.get(key) != value for key, value in values.items())
        if module.check_mode:
            conn.execute("ROLLBACK")
        else:
            conn.execute("COMMIT")
    except _state.PortsExhausted as exc:
        conn.execute("ROLLBACK")
        module.fail_json(msg=str(exc))
    finally:
        conn.close()

    result = dict(
        changed=changed,
        record=after,
        app_port=ports.get("app", 0),
        db_port=ports.get("db", 0),
        **names,
    )
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo=dict(type="str", required=True),
            pr=dict(type="int", required=True),
            slug=dict(type="str"),
            sha=dict(type="str"),
            status=dict(type="str", choices=list(_state.STATUSES), default="building"),
            reason=dict(type="str", default=""),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            port_range=dict(type="list", elements="int", default=[8000, 9999]),
            domain=dict(type="str", default=""),
            public_url=dict(type="str", default="http://localhost"),
            url_scheme=dict(type="str", choices=["http", "https"], default="http"),
            max_previews=dict(type="int", default=0),
            max_previews_per_repo=dict(type="int", default=0),
            min_free_disk_mb=dict(type="int", default=0),
            disk_paths=dict(type="list", elements="path", default=[]),
            **host_layout("db", "deployments_dir"),
        ),
        required_if=[("state", "present", ("sha",))],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
