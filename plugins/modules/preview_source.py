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
  - Puts the commit O(commit) of the repository O(clone_url) into O(dest), and then looks at it the way
    M(preview.envs.preview_stack) does (the repository's compose file, else its Dockerfile, else NestJS, else
    Go).
  - O(dest) is a git repository of its own, created on first use. The commit is fetched only when O(dest)
    does not hold it yet, through O(refspec) (for a pull request C(+refs/pull/N/head:refs/remotes/origin/pr/N)),
    and then by its ID alone, which GitHub serves for any commit it can reach.
  - The work tree is then checked out at that commit, detached, with local changes to tracked files
    discarded. Files the build leaves behind that git does not track stay.
  - Submodules are left alone unless O(submodules=true); see there for the URLs they may come from.
  - One task where M(ansible.builtin.git) and M(preview.envs.preview_stack) would take two. Every task of a
    deploy costs Ansible's module start-up, and this pair sits on the way to a live preview.
  - The code of a pull request is hostile, and git is its first reader. Git runs with an allow-listed
    environment only (E(PATH), E(HOME), E(LANG), E(LC_ALL), E(TZ), E(TMPDIR), E(SSH_AUTH_SOCK)), so no
    secret of the caller (E(GITHUB_TOKEN), the webhook secret) reaches git or anything git starts; without
    a terminal (E(GIT_TERMINAL_PROMPT=0)), without the system git config (E(GIT_CONFIG_NOSYSTEM=1)), and
    without Git LFS downloads (a repository's C(.lfsconfig) names the server those come from).
  - SSH runs in batch mode, accepts a host key it has not seen before (C(StrictHostKeyChecking=accept-new))
    and gives up on a silent server after a minute (C(ServerAliveInterval)); HTTP transfers slower than
    1000 bytes/s for 60 s are aborted (C(http.lowSpeedLimit), C(http.lowSpeedTime)), so a stalled fetch
    cannot hold a run until its deadline.
  - Lock files in C(.git) left by a git that was killed (C(index.lock), C(HEAD.lock), C(refs/**/*.lock), ...)
    would make every later git command fail. They are removed before git runs, but only when no process
    has its working directory inside O(dest). Git runs there (C(git -C)), so a lock is stale when nobody
    is.
  - The directory that holds O(dest) (a preview's work dir) is created when missing and made mode 0700, so
    that other users of the host cannot read the checkout. O(dest) therefore belongs in a directory of its
    own; a shared directory with the sticky bit (like C(/tmp)) is refused.
  - Credentials in O(clone_url) (C(https://user:token@host/...)) never appear in the result; URLs in messages
    and git's output are returned as C(scheme://***@host/...).
  - Reads the repository's files only; never runs anything from it.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode fetches and checks out nothing. It reports a change when O(dest) is not at O(commit), and
        looks at O(dest) as it is (the result keys of the detection are missing when there is nothing there).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  clone_url:
    description: The repository to fetch from, a URL or path git understands.
    type: str
    required: true
    aliases: [repo]
  dest:
    description: The directory of the checkout. Created with its parents when missing.
    type: path
    required: true
  commit:
    description: The commit to check out, its full 40-hex ID.
    type: str
    required: true
    aliases: [version]
  refspec:
    description:
      - What to fetch before looking for O(commit) by its ID, for example
        C(+refs/pull/5/head:refs/remotes/origin/pr/5). Empty fetches the commit by its ID only.
    type: str
    default: ""
  compose_file:
    description: Path of the repository's compose file, relative to O(dest). Empty means look.
    type: str
    default: ""
  dockerfile:
    description:
      - Path of the repository's Dockerfile, relative to O(dest), used when it has no compose file. Empty means
        C(Dockerfile) at its root, when there is one.
      - Letters, digits, C(.), C(_), C(-) and C(/) only, no C(..); it must resolve (symlinks included) inside
        O(dest).
    type: str
    default: ""
  port:
    description:
      - The port the app of the repository's Dockerfile listens on inside its container (RV(kind=dockerfile)).
        0 takes the first TCP port the Dockerfile's final stage C(EXPOSE)s, and fails the task when there is
        none.
    type: int
    default: 0
  submodules:
    description:
      - Whether to check out the commit's submodules (recursively) when it has a C(.gitmodules).
      - A pull request chooses the URLs in C(.gitmodules), so each one, nested ones included, must be on the
        host of O(clone_url) with the same scheme (relative URLs such as C(../lib.git) are); any other URL
        fails the task before anything is fetched. C(file://) URLs and local paths are accepted only when
        O(clone_url) is itself a local path, and git's C(file) transport is off otherwise
        (C(protocol.file.allow=never)).
    type: bool
    default: false
  token_file:
    description:
      - A file on the host that holds a token for a private repository over HTTPS (the GitHub token, or an
        installation token), read only when the server asks for credentials, and only for the host of
        O(clone_url).
      - Git gets it from a credential helper given on its command line for this run alone (C(git -c
        credential.helper=...)); the helper names the file, never the token, so the token is in no argument,
        no URL, no C(.git/config), no result and no log. It answers with the user C(x-access-token), which
        GitHub accepts with any token.
      - Empty, no credentials are offered.
    type: path
    default: ""
seealso:
  - module: preview.envs.preview_stack
  - module: ansible.builtin.git
"""

EXAMPLES = r"""
- name: Fetch the PR's head commit and detect how it runs
  preview.envs.preview_source:
    clone_url: https://github.com/octo/app.git
    dest: /opt/preview-deployments/app-pr-5/src
    commit: 0123456789abcdef0123456789abcdef01234567
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
  description: C(compose) (the repository's own file), C(dockerfile) (its Dockerfile), C(nestjs) or C(go).
  type: str
  returned: success, except in check mode without a checkout
compose_file:
  description: The repository's compose file relative to O(dest) (empty unless RV(kind=compose)).
  type: str
  returned: success, except in check mode without a checkout
dockerfile:
  description: The Dockerfile the preview builds, relative to O(dest) (empty unless RV(kind=dockerfile)).
  type: str
  returned: success, except in check mode without a checkout
port:
  description:
    - The port its app listens on inside its container, O(port) or its C(EXPOSE) (0 unless
      RV(kind=dockerfile)).
  type: int
  returned: success, except in check mode without a checkout
has_dockerfile:
  description: Whether the repository has a C(Dockerfile) at its root.
  type: bool
  returned: success, except in check mode without a checkout
removed_locks:
  description: The stale lock files removed from C(.git) before git ran.
  type: list
  elements: str
  returned: when O(dest) held a checkout, except in check mode
"""

import glob
import os
import re
import shlex
import stat
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils import _naming
from ansible_collections.preview.envs.plugins.module_utils._redact import redact_urls, url_credentials
from ansible_collections.preview.envs.plugins.module_utils._stack import detect

# A refspec of branch-like names only: nothing git could read as an option, no ':' tricks beyond one.
REFSPEC = re.compile(r"^\+?[A-Za-z0-9][A-Za-z0-9/_.-]*(:[A-Za-z0-9][A-Za-z0-9/_.-]*)?$")
# git's scp-like syntax, [user@]host:path, which it reads as ssh when no '/' comes before the ':'.
SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?!//)")

# The caller's environment that git may see; everything else (tokens, the webhook secret) is dropped.
ENV_ALLOWED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSH_AUTH_SOCK")
# A fetch that moves less than LOW_SPEED_LIMIT bytes/s for LOW_SPEED_TIME s is stalled, not slow.
LOW_SPEED_LIMIT = 1000
LOW_SPEED_TIME = 60
SSH_ALIVE_INTERVAL = 15
SSH_ALIVE_COUNT_MAX = 4
SSH_COMMAND = (
    "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
    f"-o ServerAliveInterval={SSH_ALIVE_INTERVAL} -o ServerAliveCountMax={SSH_ALIVE_COUNT_MAX}"
)
# Submodules inside submodules are checked level by level; deeper nesting than this is refused.
MAX_SUBMODULE_DEPTH = 8


def scrub_environment() -> None:
    """Reduce this (throwaway) module process's environment to what git needs, plus our own settings."""
    for name in list(os.environ):
        if name not in ENV_ALLOWED:
            del os.environ[name]
    os.environ.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_SSH_COMMAND=SSH_COMMAND,
        GIT_LFS_SKIP_SMUDGE="1",
    )


def url_origin(url: str) -> tuple[str, str] | None:
    """(scheme, host) of a git URL, or None for a local path or a file:// URL."""
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return None
        if scheme in ("git+ssh", "ssh+git"):
            scheme = "ssh"
        return scheme, (parts.hostname or "").lower()
    match = SCP_LIKE.match(url)
    return ("ssh", match.group("host").lower()) if match else None


def credential_helper(repo: str, token_file: str) -> str:
    """A git credential helper (C(!) shell form) that answers C(get) for the host of ``repo`` with the token
    read from ``token_file`` at that moment, and nothing for any other host or operation."""
    parts = urlsplit(repo)
    host = (parts.hostname or "").lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    script = (
        'f() { test "$1" = get || return 0; h=; '
        'while IFS= read -r l && test -n "$l"; do case "$l" in host=*) h="${l#host=}";; esac; done; '
        f'test "$h" = {shlex.quote(host)} || return 0; '
        f"printf 'username=x-access-token\\npassword=%s\\n' \"$(cat {shlex.quote(token_file)})\"; }}; f"
    )
    return "!" + script


def checkout_busy(dest: str) -> bool:
    """Whether a process (ours to see) works inside ``dest``; True when that cannot be told."""
    root = os.path.realpath(dest)
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True
    for pid in pids:
        if int(pid) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # gone, or another user's: git in our checkout runs as us
        if cwd == root or cwd.startswith(root + os.sep):
            return True
    return False


def stale_locks(dest: str) -> list[str]:
    git_dir = os.path.join(dest, ".git")
    return sorted(
        glob.glob(os.path.join(glob.escape(git_dir), "*.lock"))
        + glob.glob(os.path.join(glob.escape(git_dir), "refs", "**", "*.lock"), recursive=True)
    )


class Checkout:
    def __init__(self, module: AnsibleModule, dest: str, repo: str, token_file: str = "") -> None:
        self.module = module
        self.dest = dest
        self.repo = repo
        self.git = module.get_bin_path("git", required=True)
        # Local clones (tests, the demo) need git's file transport; for any other clone URL a path in a
        # PR's .gitmodules must not read this host's repositories.
        file_transport = "always" if url_origin(repo) is None else "never"
        self.options = [
            "-c",
            f"http.lowSpeedLimit={LOW_SPEED_LIMIT}",
            "-c",
            f"http.lowSpeedTime={LOW_SPEED_TIME}",
            "-c",
            f"protocol.file.allow={file_transport}",
            "-c",
            "submodule.recurse=false",
            # No helper of the user's or the system's: a token file of ours, or nothing.
            "-c",
            "credential.helper=",
        ]
        if token_file:
            self.options += ["-c", f"credential.helper={credential_helper(repo, token_file)}"]

    def run(self, *args: str, check: bool = True, cwd: str | None = None) -> tuple[int, str, str]:
        where = cwd or self.dest
        argv = [self.git, *self.options, "-C", where, *args]
        rc, out, err = self.module.run_command(argv, environ_update={})
        if check and rc != 0:
            self.fail(
                f"git {args[0]} failed in {where}: {(err or out).strip()[-800:]}",
                cmd=argv,
                rc=rc,
                stdout=out,
                stderr=err,
            )
        return rc, out, err

    def fail(self, msg: str, **result) -> None:
        """fail_json with every URL's credentials taken out: git prints its remote's URL in errors."""
        for key in ("stdout", "stderr"):
            if key in result:
                result[key] = redact_urls(result[key])
        if "cmd" in result:
            result["cmd"] = [redact_urls(part) for part in result["cmd"]]
        self.module.fail_json(msg=redact_urls(msg), **result)

    def exists(self) -> bool:
        return os.path.isdir(os.path.join(self.dest, ".git"))

    def head(self) -> str | None:
        rc, out, dummy = self.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return out.strip() if rc == 0 else None

    def has(self, sha: str) -> bool:
        return self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False)[0] == 0

    def dirty(self) -> bool:
        return bool(self.run("status", "--porcelain", "--untracked-files=no")[1].strip())

    def clear_stale_locks(self) -> list[str]:
        locks = stale_locks(self.dest)
        if not locks or checkout_busy(self.dest):
            return []
        for lock in locks:
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
        return locks

    def update_submodules(self, where: str, depth: int = 0) -> None:
        """Check out the submodules of the work tree at ``where`` (and theirs), each URL checked first."""
        if not os.path.isfile(os.path.join(where, ".gitmodules")):
            return
        if depth >= MAX_SUBMODULE_DEPTH:
            self.fail(f"submodules nested deeper than {MAX_SUBMODULE_DEPTH} levels in {where}")
        # init and sync write the URLs of .gitmodules into the repository's config, relative ones resolved
        # against its remote, which are the URLs update would fetch: those are the ones to check.
        self.run("submodule", "init", cwd=where)
        self.run("submodule", "sync", "--quiet", cwd=where)
        rc, out, dummy = self.run("config", "--local", "--get-regexp", r"^submodule\..*\.url$", check=False, cwd=where)
        wanted = url_origin(self.repo)
        for line in out.splitlines():
            key, dummy, url = line.partition(" ")
            found = url_origin(url)
            if url.startswith("-") or found != wanted:
                source = f"the host {found[1]}" if found else "a local path"
                self.fail(f"{key} of {where} is {url}, {source}: submodules must come from the host of {self.repo}")
        self.run("submodule", "update", "--init", "--force", cwd=where)
        rc, out, dummy = self.run(
            "config", "--file", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$", check=False, cwd=where
        )
        root = os.path.realpath(where)
        for line in out.splitlines():
            path = os.path.realpath(os.path.join(root, line.partition(" ")[2]))
            if path.startswith(root + os.sep):
                self.update_submodules(path, depth + 1)


def private_parent(module: AnsibleModule, dest: str) -> bool:
    """Make the directory holding ``dest`` mode 0700; whether it was (or would be) changed.

    A container's bind mount of a path inside the checkout is unaffected: the daemon resolves the source
    as root, and inside the container the mount starts at that path, below this directory.
    """
    parent = os.path.dirname(os.path.abspath(dest.rstrip(os.sep)))
    try:
        mode = os.stat(parent).st_mode
    except FileNotFoundError:
        if not module.check_mode:
            os.makedirs(parent, mode=0o700)
            os.chmod(parent, 0o700)  # makedirs' mode is filtered by the umask
        return True
    if mode & stat.S_ISVTX or parent == os.sep:
        module.fail_json(msg=f"dest {dest} must sit in a directory of its own, not in the shared {parent}")
    if stat.S_IMODE(mode) == 0o700:
        return False
    if not module.check_mode:
        os.chmod(parent, 0o700)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            clone_url=dict(type="str", required=True, aliases=["repo"]),
            dest=dict(type="path", required=True),
            commit=dict(type="str", required=True, aliases=["version"]),
            refspec=dict(type="str", default=""),
            compose_file=dict(type="str", default=""),
            dockerfile=dict(type="str", default=""),
            port=dict(type="int", default=0),
            submodules=dict(type="bool", default=False),
            token_file=dict(type="path", default=""),
        ),
        supports_check_mode=True,
    )
    scrub_environment()
    params = module.params
    repo, dest, sha, refspec = params["clone_url"], params["dest"], params["commit"], params["refspec"]
    # Ansible masks these wherever they appear in the result (invocation included), whatever the form.
    module.no_log_values.update(url_credentials(repo))
    if not _naming.SHA_RE.match(sha):
        module.fail_json(msg=f"commit must be a full commit ID (40 hex digits), not {sha!r}")
    if refspec and not REFSPEC.match(refspec):
        module.fail_json(msg=f"refspec {refspec!r} is not allowed: use ref names ([+]src[:dst]) only")
    if not repo.strip() or repo.startswith("-"):
        module.fail_json(msg=f"clone_url must be a URL or path git understands, not {redact_urls(repo)!r}")

    token_file = params["token_file"]
    if token_file:
        if url_origin(repo) is None or url_origin(repo)[0] not in ("https", "http"):
            module.fail_json(msg=f"token_file is for a clone_url over HTTPS, not {redact_urls(repo)!r}")
        if not os.access(token_file, os.R_OK):
            module.fail_json(msg=f"token_file {token_file} cannot be read")
    checkout = Checkout(module, dest, repo, token_file)
    exists = checkout.exists()
    result = dict(changed=private_parent(module, dest), before=None, after=sha, fetched=False)
    if exists and not module.check_mode:
        result["removed_locks"] = checkout.clear_stale_locks()
    result["before"] = before = checkout.head() if exists else None
    if module.check_mode:
        result["changed"] = result["changed"] or before != sha or checkout.dirty()
        if exists:
            try:
                result.update(detect(dest, params["compose_file"], params["dockerfile"], params["port"]))
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
        fetch = ("fetch", "--quiet", "--no-tags", "--no-recurse-submodules")
        if refspec:
            rc, out, err = checkout.run(*fetch, "--force", "origin", refspec, check=False)
            if rc != 0:
                checkout.fail(
                    f"cannot fetch {refspec} from {repo}: {(err or out).strip()[-800:]}",
                    rc=rc,
                    stdout=out,
                    stderr=err,
                    **result,
                )
        if not checkout.has(sha):
            rc, out, err = checkout.run(*fetch, "origin", sha, check=False)
            if rc != 0 or not checkout.has(sha):
                where = f" (fetched {refspec})" if refspec else ""
                checkout.fail(
                    f"commit {sha} is not in {repo}{where}; it may have been force-pushed away: "
                    f"{(err or out).strip()[-400:] or 'not found'}",
                    rc=rc,
                    stdout=out,
                    stderr=err,
                    **result,
                )
    if before != sha or checkout.dirty():
        checkout.run("checkout", "--quiet", "--force", "--detach", sha)
        result["changed"] = True
    if params["submodules"]:
        checkout.update_submodules(dest)
    try:
        result.update(detect(dest, params["compose_file"], params["dockerfile"], params["port"]))
    except ValueError as exc:
        module.fail_json(msg=str(exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
