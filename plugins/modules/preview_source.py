#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: preview_source
short_description: Check out one commit of a pull request and say how it runs as a preview
version_added: 0.1.0
description:
  - Puts the commit O(version) of the repository O(repo) into O(dest), and then looks at it the way
    M(preview.envs.preview_stack) does (the repository's compose file, else NestJS, else Go).
  - O(dest) is a git repository of its own, created on first use. The commit is fetched only when O(dest)
    does not hold it yet, through O(refspec) (for a pull request C(+refs/pull/N/head:refs/remotes/origin/pr/N)),
    and then by its ID alone, which GitHub serves for any commit it can reach.
  - The work tree is then checked out at that commit, detached, with local changes to tracked files
    discarded. Files the build leaves behind that git does not track stay. Submodules are updated when the
    commit has a C(.gitmodules).
  - One task for what M(ansible.builtin.git) and M(preview.envs.preview_stack) did in two. Every task of a
    deploy costs Ansible's module start-up (about 0.3 s on a small host), and this pair sits on the way to a
    live preview.
  - Git runs without a terminal (E(GIT_TERMINAL_PROMPT=0)). Unless E(GIT_SSH_COMMAND) is set, SSH runs in batch
    mode and accepts a host key it has not seen before (C(StrictHostKeyChecking=accept-new)).
  - Reads the repository's files only; never runs anything from it.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode fetches and checks out nothing. It reports a change when O(dest) is not at O(version), and
        looks at O(dest) as it is (the result keys of the detection are missing when there is nothing there).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  repo:
    description: The repository to fetch from, a URL or path git understands.
    type: str
    required: true
  dest:
    description: The directory of the checkout. Created with its parents when missing.
    type: path
    required: true
  version:
    description: The commit to check out, its full 40-hex ID.
    type: str
    required: true
  refspec:
    description:
      - What to fetch before looking for O(version) by its ID, for example
        C(+refs/pull/5/head:refs/remotes/origin/pr/5). Empty fetches the commit by its ID only.
    type: str
    default: ""
  compose_file:
    description: Path of the repository's compose file, relative to O(dest). Empty means look.
    type: str
    default: ""
seealso:
  - module: preview.envs.preview_stack
  - module: ansible.builtin.git
"""

EXAMPLES = r"""
- name: Fetch the PR's head commit and detect how it runs
  preview.envs.preview_source:
    repo: https://github.com/octo/app.git
    dest: /opt/preview-deployments/app-pr-5/src
    version: 0123456789abcdef0123456789abcdef01234567
    refspec: +refs/pull/5/head:refs/remotes/origin/pr/5
  register: source
"""

RETURN = r"""
before:
  description: The commit O(dest) was at before the task, or V(null) for a new checkout.
  type: str
  returned: always
after:
  description: The commit O(dest) is at now (O(version)).
  type: str
  returned: success
fetched:
  description: Whether the commit had to be fetched.
  type: bool
  returned: success
kind:
  description: C(compose) (the repository's own file), C(nestjs) or C(go).
  type: str
  returned: success, except in check mode without a checkout
compose_file:
  description: The repository's compose file relative to O(dest) (empty unless RV(kind=compose)).
  type: str
  returned: success, except in check mode without a checkout
has_dockerfile:
  description: Whether the repository has a C(Dockerfile) at its root.
  type: bool
  returned: success, except in check mode without a checkout
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils._stack import detect

SHA = re.compile(r"^[0-9a-f]{40}$")
# A refspec of branch-like names only: nothing git could read as an option, no ':' tricks beyond one.
REFSPEC = re.compile(r"^\+?[A-Za-z0-9][A-Za-z0-9/_.-]*(:[A-Za-z0-9][A-Za-z0-9/_.-]*)?$")


class Checkout:
    def __init__(self, module: AnsibleModule, dest: str) -> None:
        self.module = module
        self.dest = dest
        self.git = module.get_bin_path("git", required=True)
        self.env = {"GIT_TERMINAL_PROMPT": "0"}
        if not os.environ.get("GIT_SSH_COMMAND"):
            self.env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"

    def run(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        argv = [self.git, "-C", self.dest] + list(args)
        rc, out, err = self.module.run_command(argv, environ_update=self.env)
        if check and rc != 0:
            self.module.fail_json(msg=f"git {args[0]} failed in {self.dest}: {(err or out).strip()[-800:]}",
                                  cmd=argv, rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def exists(self) -> bool:
        return os.path.isdir(os.path.join(self.dest, ".git"))

    def head(self) -> str | None:
        rc, out, dummy = self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return out.strip() if rc == 0 else None

    def has(self, sha: str) -> bool:
        return self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False)[0] == 0

    def dirty(self) -> bool:
        return bool(self.run("status", "--porcelain", "--untracked-files=no")[1].strip())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            version=dict(type="str", required=True),
            refspec=dict(type="str", default=""),
            compose_file=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    params = module.params
    repo, dest, sha, refspec = params["repo"], params["dest"], params["version"], params["refspec"]
    if not SHA.match(sha):
        module.fail_json(msg=f"version must be a full commit ID (40 hex digits), not {sha!r}")
    if refspec and not REFSPEC.match(refspec):
        module.fail_json(msg=f"refspec {refspec!r} is not allowed: use ref names ([+]src[:dst]) only")
    if not repo.strip() or repo.startswith("-"):
        module.fail_json(msg=f"repo must be a URL or path git understands, not {repo!r}")

    checkout = Checkout(module, dest)
    exists = checkout.exists()
    before = checkout.head() if exists else None
    result = dict(changed=False, before=before, after=sha, fetched=False)
    if module.check_mode:
        result["changed"] = before != sha or checkout.dirty()
        if exists:
            try:
                result.update(detect(dest, params["compose_file"]))
            except ValueError:
                pass  # the real run will fetch the commit and look at that
        module.exit_json(**result)

    if not exists:
        os.makedirs(dest, exist_ok=True)
        checkout.run("init", "--quiet")
        checkout.run("remote", "add", "origin", "--", repo)
        result["changed"] = True
    else:
        checkout.run("remote", "set-url", "origin", "--", repo)
    if not checkout.has(sha):
        result["fetched"] = True
        if refspec:
            rc, out, err = checkout.run("fetch", "--quiet", "--force", "--no-tags", "origin", refspec, check=False)
            if rc != 0:
                module.fail_json(msg=f"cannot fetch {refspec} from {repo}: {(err or out).strip()[-800:]}",
                                 rc=rc, stdout=out, stderr=err, **result)
        if not checkout.has(sha):
            rc, out, err = checkout.run("fetch", "--quiet", "--no-tags", "origin", sha, check=False)
            if rc != 0 or not checkout.has(sha):
                where = f" (fetched {refspec})" if refspec else ""
                module.fail_json(
                    msg=f"commit {sha} is not in {repo}{where}; it may have been force-pushed away: "
                    f"{(err or out).strip()[-400:] or 'not found'}",
                    rc=rc, stdout=out, stderr=err, **result,
                )
    if before != sha or checkout.dirty():
        checkout.run("checkout", "--quiet", "--force", "--detach", sha)
        result["changed"] = True
    if os.path.isfile(os.path.join(dest, ".gitmodules")):
        checkout.run("submodule", "update", "--init", "--recursive", "--force")
    try:
        result.update(detect(dest, params["compose_file"]))
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
