#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: preview_traces
short_description: The traces of every preview on the host, the orphans among them and the missing previews
version_added: 0.1.0
description:
  - Lists, by preview label, the deployment records and port leases in the state file, the compose
    projects Docker knows (containers, networks or volumes labelled C(preview-<label>)), the nginx files
    in O(nginx_configs_dir) and the work dirs in O(deployments_dir).
  - Only names that follow the collection's naming (C(<slug>-pr-<N>), as M(preview.envs.preview_record) makes
    them) count; anything else is not ours and is never reported.
  - Compares that with O(keep), the previews that should exist, and returns the orphans (traces of
    previews not in O(keep)) and the missing (previews in O(keep) without a running stack or route).
  - With O(route_url), a route counts only when nginx serves it. Each preview in O(keep) is asked for at
    that address (C(/<label>/), or C(/) with the C(Host) C(<label>.<domain>) when O(domain) is set), and the
    answer must carry the header C(X-Preview-Route), set to the label, that M(preview.envs.nginx_site) adds to every
    answer of the route, an error of the app included. A file on disk that nginx never loaded, or an
    nginx that is down, leaves the preview missing. Without O(route_url) the file alone counts.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.host_layout.db
  - preview.envs.host_layout.deployments_dir
  - preview.envs.host_layout.nginx_configs_dir
  - preview.envs.host_layout.docker_cli
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Reads only.
options:
  keep:
    description:
      - The previews that should exist, each as C(repo), C(pr) and C(slug) (the slug defaults to the one
        derived from the repository name).
    type: list
    elements: dict
    default: []
  route_url:
    description:
      - Where nginx listens for previews, for example C(http://127.0.0.1:80); empty to trust the nginx files.
    type: str
    default: ""
  domain:
    description: The preview domain of subdomain routing (as given to M(preview.envs.nginx_site)); empty for
      path routing.
    type: str
    default: ""
  route_timeout:
    description: Seconds to wait for nginx's answer for one preview.
    type: int
    default: 5
"""

EXAMPLES = r"""
- name: Find orphans
  preview.envs.preview_traces:
    keep:
      - {repo: octo/app, pr: 5, slug: app}
  register: found
"""

RETURN = r"""
records:
  description: Deployment records by label (repo, pr, label, project, status, sha).
  type: list
  elements: dict
  returned: always
labels:
  description:
    - Every label seen anywhere, with where it was seen (record, project, running, nginx, work_dir).
    - With O(route_url), C(routed) for the previews in O(keep) that nginx serves.
  type: dict
  returned: always
orphans:
  description: Labels with traces that are not in O(keep); records among them carry their repo and PR.
  type: list
  elements: dict
  returned: always
missing:
  description:
    - The entries of O(keep) (repo, pr, label) whose stack is not running, or whose route nginx does not serve
      (with O(route_url)) or whose nginx file is gone (without).
    - Each with C(status), its record's status on this host (V(building), V(live), V(failed)), or an empty
      string when it has no record.
  type: list
  elements: dict
  returned: always
"""

import os
import re
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.preview.envs.plugins.module_utils import _naming, _state
from ansible_collections.preview.envs.plugins.module_utils._args_common import host_layout
from ansible_collections.preview.envs.plugins.module_utils._compose import PROJECT_LABEL


def _records(db: str) -> list[dict]:
    fields = ("repo", "pr", "label", "project", "status", "sha")
    return [{key: record[key] for key in fields} for record in _state.read_records(db)]


def _docker_labels(module: AnsibleModule, docker: str, kind: list[str], fmt: str) -> list[str]:
    rc, out, err = module.run_command([docker, *kind, "--filter", f"label={PROJECT_LABEL}", "--format", fmt])
    if rc != 0:
        module.fail_json(msg=f"listing docker {' '.join(kind)} failed", rc=rc, stdout=out, stderr=err)
    return [line.strip() for line in out.splitlines() if line.strip()]


def served(route_url: str, label: str, domain: str, timeout: int) -> bool:
    """Whether nginx at ``route_url`` answers for ``label`` through the preview's own route."""
    if domain:
        url, headers = route_url.rstrip("/") + "/", {"Host": f"{label}.{domain}"}
    else:
        url, headers = f"{route_url.rstrip('/')}/{label}/", {}
    try:
        response = open_url(
            url,
            method="HEAD",
            headers=headers,
            timeout=timeout,
            use_proxy=False,
            follow_redirects="none",
            use_netrc=False,
            validate_certs=False,
        )
        answer_headers = response.headers
    except HTTPError as error:
        answer_headers = error.headers
    except (URLError, UrlsConnectionError, OSError):
        return False
    return (answer_headers or {}).get(_naming.ROUTE_HEADER) == label


def local_traces(records: list[dict], nginx_configs_dir: str, deployments_dir: str) -> dict[str, set[str]]:
    """{label: where it was seen} from the records, the nginx files and the work dirs: only preview labels."""
    labels: dict[str, set[str]] = {}

    def seen(label, where: str) -> None:
        if _naming.is_label(label):
            labels.setdefault(label, set()).add(where)

    for record in records:
        seen(record["label"], "record")
    if os.path.isdir(nginx_configs_dir):
        for name in os.listdir(nginx_configs_dir):
            seen(_naming.nginx_file_label(name), "nginx")
    if os.path.isdir(deployments_dir):
        for name in os.listdir(deployments_dir):
            if os.path.isdir(os.path.join(deployments_dir, name)):
                seen(name, "work_dir")
    return labels


def find_traces(module: AnsibleModule) -> dict:
    params = module.params
    records = _records(params["db"])
    labels = local_traces(records, params["nginx_configs_dir"], params["deployments_dir"])

    # Docker is shared: a compose project is ours when one of its containers was started from a work dir
    # under our deployments_dir, or when this host's own state (records, nginx, work dirs) names it.
    # Another shim's previews (another deployments_dir) are never touched.
    project_format = '{{.Label "' + PROJECT_LABEL + '"}}'
    docker = params["docker_cli"]
    ours = os.path.realpath(params["deployments_dir"]) + os.sep
    containers = _docker_labels(
        module, docker, ["ps", "-a"], project_format + ' {{.State}} {{.Label "' + PROJECT_LABEL + '.working_dir"}}'
    )
    for line in containers:
        project, state, working_dir = (line.split(" ", 2) + ["", ""])[:3]
        label = _naming.project_label(project)
        if label is None:
            continue
        if (os.path.realpath(working_dir) + os.sep).startswith(ours) or label in labels:
            labels.setdefault(label, set()).add("project")
            if state == "running":
                labels[label].add("running")
    for kind in (["network", "ls"], ["volume", "ls"]):
        for project in _docker_labels(module, docker, kind, project_format):
            label = _naming.project_label(project)
            if label in labels:
                labels[label].add("project")

    keep = {}
    for item in params["keep"]:
        try:
            repo = _naming.check_repo(item.get("repo"))
            slug = _naming.check_slug(item.get("slug") or _naming.default_slug(repo))
            keep[_naming.label(slug, item.get("pr"))] = {"repo": repo, "pr": _naming.check_pr(item.get("pr"))}
        except (_naming.NamingError, AttributeError) as exc:
            module.fail_json(msg=f"keep holds an entry that is not a preview (repo, pr, slug): {item!r}: {exc}")
    by_label = {record["label"]: record for record in records}
    orphans = []
    for label in sorted(set(labels) - set(keep)):
        record = by_label.get(label, {})
        orphans.append(
            {"label": label, "repo": record.get("repo", ""), "pr": record.get("pr", 0), "where": sorted(labels[label])}
        )
    route_url = params["route_url"]
    if route_url and not re.match(r"^https?://[^/?#@\s]+/?$", route_url):
        module.fail_json(msg=f"route_url must be an http(s) address without a path: {route_url!r}")
    if params["domain"]:
        try:
            _naming.check_domain(params["domain"])
        except _naming.NamingError as exc:
            module.fail_json(msg=str(exc))
    if route_url:
        for label in keep:
            if served(route_url, label, params["domain"], params["route_timeout"]):
                labels.setdefault(label, set()).add("routed")
    routed = "routed" if route_url else "nginx"
    # The record's status goes with each: the caller does not run a preview again whose last deploy failed,
    # and it has no other way to know (the records are on this host, the caller may be elsewhere).
    missing = [
        dict(keep[label], label=label, status=by_label.get(label, {}).get("status", ""))
        for label in sorted(keep)
        if not {"running", routed} <= labels.get(label, set())
    ]
    return dict(
        changed=False,
        records=records,
        labels={label: sorted(where) for label, where in sorted(labels.items())},
        orphans=orphans,
        missing=missing,
    )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            keep=dict(type="list", elements="dict", default=[]),
            route_url=dict(type="str", default=""),
            domain=dict(type="str", default=""),
            route_timeout=dict(type="int", default=5),
            **host_layout("db", "deployments_dir", "nginx_configs_dir", "docker_cli"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**find_traces(module))


if __name__ == "__main__":
    main()
