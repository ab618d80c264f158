#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_site
short_description: The nginx file of one preview, tested before every reload
version_added: 0.1.0
description:
  - Writes (or removes) the nginx configuration of one preview in O(nginx_configs_dir), generated here
    from a validated label, an integer port and a validated domain only; no free text reaches it.
  - Without O(domain) the file is C(<label>.location.conf), a C(location /<label>/) block that
    the base site includes in its default server (path routing).
  - With O(domain) the file is C(<label>.server.conf), a C(server) block for C(<label>.<domain>)
    that the base site includes at http level (subdomain routing).
  - Every change runs O(test_command) (C(nginx -t)) before O(reload_command). When the test fails,
    the previous file is put back (or the new one removed) and the module fails with nginx's output.
  - After each successful reload, C(<label>.loaded) beside the file records a hash of what nginx loaded. A
    file on disk that nginx has not loaded (the reload failed, or the run was killed before it) differs
    from that record, so the next run reloads even though the file itself is unchanged.
  - Every answer through the route, the app's errors and nginx's own included, carries the header
    C(X-Preview-Route) set to the label, which the app cannot set. M(preview.envs.preview_traces) asks
    nginx for it to tell a route that nginx serves from one that is only on disk.
  - Every answer also carries C(X-Robots-Tag) set to C(noindex, nofollow), in place of any the app sends, so a preview
    stays out of search indexes.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.host_layout.nginx_configs_dir
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    details: An unchanged file that nginx has loaded is neither rewritten nor reloaded.
options:
  label:
    description: The preview's label, C(<slug>-pr-<N>).
    type: str
    required: true
  port:
    description: Port of the preview's app on 127.0.0.1. Required with O(state=present).
    type: int
  domain:
    description: Preview domain for subdomain routing; empty for path routing.
    type: str
    default: ""
  listen_port:
    description: Port the subdomain server block listens on.
    type: int
    default: 80
  listen_address:
    description:
      - IPv4 address the subdomain server block listens on; empty for all addresses.
      - Must match the base site's C(listen), or nginx picks the base site's default server.
    type: str
    default: ""
  nginx_configs_dir:
    aliases: [configs_dir]
  state:
    description: Whether the preview's file should exist.
    type: str
    choices: [present, absent]
    default: present
  test_command:
    description: Command (argv) that checks the whole nginx configuration.
    type: list
    elements: str
    default: [nginx, -t]
  reload_command:
    description: Command (argv) that reloads nginx.
    type: list
    elements: str
    default: [nginx, -s, reload]
"""

EXAMPLES = r"""
- name: Route /app-pr-5/ to the preview
  preview.envs.nginx_site:
    label: app-pr-5
    port: 8005

- name: Remove the route
  preview.envs.nginx_site:
    label: app-pr-5
    state: absent
"""

RETURN = r"""
path:
  description: The file written or removed.
  type: str
  returned: always
reloaded:
  description: Whether nginx was reloaded (after a change, or for a file it had not loaded yet).
  type: bool
  returned: always
"""

import hashlib
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils import _naming
from ansible_collections.preview.envs.plugins.module_utils._args_common import host_layout

LOADED_SUFFIX = ".loaded"
ADDRESS_RE = re.compile(r"^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$")

PROXY = """\
        proxy_pass http://127.0.0.1:{port}{target};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Prefix {prefix};
        proxy_read_timeout 60s;
        proxy_hide_header {header};
        add_header {header} {label} always;
        # A preview is a PR's work in progress: search engines that find its URL must not index it.
        proxy_hide_header X-Robots-Tag;
        add_header X-Robots-Tag "noindex, nofollow" always;
"""


def render(label: str, port: int, domain: str, listen_port: int, listen_address: str = "") -> tuple[str, str]:
    """Return (file name, content) for a preview."""
    listen = f"{listen_address}:{listen_port}" if listen_address else str(listen_port)
    head = f"# Managed by preview.envs: preview {label}. Do not edit.\n"
    if domain:
        body = (
            "server {\n"
            f"    listen {listen};\n"
            f"    server_name {label}.{domain};\n"
            "    location / {\n"
            + PROXY.format(port=port, target="", prefix="/", header=_naming.ROUTE_HEADER, label=label)
            + "    }\n}\n"
        )
        return _naming.nginx_file(label, domain), head + body
    body = (
        f"location = /{label} {{\n    return 301 /{label}/;\n}}\n"
        f"location /{label}/ {{\n"
        + PROXY.format(port=port, target="/", prefix=f"/{label}", header=_naming.ROUTE_HEADER, label=label).replace(
            "        ", "    "
        )
        + "}\n"
    )
    return _naming.nginx_file(label, domain), head + body


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def loaded_digest(files: dict[str, str | None]) -> str | None:
    """What identifies a preview's files as nginx loads them; None when there are none."""
    present = sorted((suffix, content) for suffix, content in files.items() if content is not None)
    if not present:
        return None
    digest = hashlib.sha256()
    for suffix, content in present:
        digest.update(f"{suffix}\0{content}\0".encode())
    return digest.hexdigest()


def write_atomic(path: str, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".preview-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Site:
    def __init__(self, module: AnsibleModule):
        self.module = module
        self.params = module.params

    def apply(self) -> dict:
        params = self.params
        label = params["label"]
        domain = params["domain"]
        try:
            _naming.check_label(label)
            if domain:
                _naming.check_domain(domain)
        except _naming.NamingError as exc:
            self.module.fail_json(msg=str(exc))
        configs_dir = params["nginx_configs_dir"]
        present = {suffix: read(os.path.join(configs_dir, label + suffix)) for suffix in _naming.NGINX_SUFFIXES}

        wanted: dict[str, str | None] = {suffix: None for suffix in _naming.NGINX_SUFFIXES}
        path = os.path.join(configs_dir, label + _naming.NGINX_LOCATION_SUFFIX)
        if params["state"] == "present":
            port = params["port"]
            if port is None or not 1 <= port <= 65535:
                self.module.fail_json(msg=f"port must be 1-65535 for preview {label}: {port!r}")
            address = params["listen_address"]
            if address and not ADDRESS_RE.match(address):
                self.module.fail_json(msg=f"listen_address must be an IPv4 address: {address!r}")
            name, content = render(label, port, domain, params["listen_port"], address)
            wanted[name[len(label) :]] = content
            path = os.path.join(configs_dir, name)

        changes = {
            suffix: (present[suffix], wanted[suffix])
            for suffix in _naming.NGINX_SUFFIXES
            if present[suffix] != wanted[suffix]
        }
        marker = os.path.join(configs_dir, label + LOADED_SUFFIX)
        loaded = (read(marker) or "").strip() or None
        wanted_digest = loaded_digest(wanted)
        result = dict(changed=bool(changes) or loaded != wanted_digest, path=path, reloaded=False)
        if self.module._diff:
            result["diff"] = {
                "before": "".join(present[s] or "" for s in _naming.NGINX_SUFFIXES),
                "after": "".join(wanted[s] or "" for s in _naming.NGINX_SUFFIXES),
            }
        if not result["changed"] or self.module.check_mode:
            return result

        os.makedirs(configs_dir, exist_ok=True)
        for suffix, (_old, new) in changes.items():
            target = os.path.join(configs_dir, label + suffix)
            if new is None:
                os.unlink(target)
            else:
                write_atomic(target, new)

        rc, out, err = self.module.run_command(params["test_command"])
        if rc != 0:
            for suffix, (old, _new) in changes.items():
                target = os.path.join(configs_dir, label + suffix)
                if old is None:
                    if os.path.exists(target):
                        os.unlink(target)
                else:
                    write_atomic(target, old)
            self.module.fail_json(
                msg=f"nginx -t failed for preview {label}; the previous file was restored",
                cmd=params["test_command"],
                rc=rc,
                stdout=out,
                stderr=err,
                path=path,
            )
        rc, out, err = self.module.run_command(params["reload_command"])
        if rc != 0:
            self.module.fail_json(
                msg=f"nginx reload failed after writing the file of preview {label}",
                cmd=params["reload_command"],
                rc=rc,
                stdout=out,
                stderr=err,
                path=path,
            )
        # Written only now: until nginx has loaded the files, every run must try again.
        if wanted_digest is None:
            if os.path.exists(marker):
                os.unlink(marker)
        else:
            write_atomic(marker, wanted_digest + "\n")
        result["reloaded"] = True
        return result


def main():
    argument_spec = dict(
        label=dict(type="str", required=True),
        port=dict(type="int"),
        domain=dict(type="str", default=""),
        listen_port=dict(type="int", default=80),
        listen_address=dict(type="str", default=""),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        test_command=dict(type="list", elements="str", default=["nginx", "-t"]),
        reload_command=dict(type="list", elements="str", default=["nginx", "-s", "reload"]),
        **host_layout("nginx_configs_dir"),
    )
    # Tasks written for this module alone call the directory configs_dir; both names stay valid.
    argument_spec["nginx_configs_dir"]["aliases"] = ["configs_dir"]
    module = AnsibleModule(
        argument_spec=argument_spec, required_if=[("state", "present", ("port",))], supports_check_mode=True
    )
    module.exit_json(**Site(module).apply())


if __name__ == "__main__":
    main()
