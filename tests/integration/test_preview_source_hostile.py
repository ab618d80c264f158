"""preview.envs.preview_source against a pull request that is hostile, with real git (tests.support.AppRepo).

What git may see of the caller, what a killed git leaves behind, who may read the checkout, where a PR's
submodules may come from, and that a clone URL's credentials never come back in a result.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import AppRepo, GitDaemon, git
from tests.support.modules import run_module

PR = 5
REFSPEC = f"+refs/pull/{PR}/head:refs/remotes/origin/pr/{PR}"


@pytest.fixture
def app(tmp_path):
    return AppRepo(tmp_path / "origin")


def source_args(clone_url: str, dest: Path, sha: str, **extra) -> dict:
    return {"clone_url": clone_url, "dest": str(dest), "commit": sha, "refspec": REFSPEC, **extra}


def test_git_sees_none_of_the_callers_secrets_and_gives_up_on_a_stalled_fetch(tmp_path, app, monkeypatch):
    sha = app.commit("first")
    app.push_pr(PR, sha)
    log = tmp_path / "git-calls.log"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    # Every git the module starts writes its argv and environment down, then is the real git.
    wrapper.write_text(
        "#!/bin/sh\n"
        f"{{ printf 'ARGV'; printf ' %s' \"$@\"; printf '\\n'; env; printf 'END\\n'; }} >> {log}\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_callers_token_value")
    monkeypatch.setenv("PREVIEW_WEBHOOK_SECRET", "callers-webhook-secret")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i /root/.ssh/deploy_key")

    result = run_module(tmp_path, "preview_source", source_args(app.clone_url, tmp_path / "work" / "src", sha))

    assert result["_status"] == "CHANGED", result
    calls = [call for call in log.read_text().split("END\n") if call.strip()]
    assert calls
    for call in calls:
        argv, *environment = call.splitlines()
        env = dict(line.split("=", 1) for line in environment if "=" in line)
        assert "http.lowSpeedLimit=1000" in argv and "http.lowSpeedTime=60" in argv, argv
        assert "GITHUB_TOKEN" not in env and "PREVIEW_WEBHOOK_SECRET" not in env, sorted(env)
        assert "callers" not in call
        assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_CONFIG_NOSYSTEM"] == "1"
        assert "ServerAliveInterval=" in env["GIT_SSH_COMMAND"] and "BatchMode=yes" in env["GIT_SSH_COMMAND"]
        assert "deploy_key" not in env["GIT_SSH_COMMAND"]


def test_stale_locks_of_a_killed_git_are_removed(tmp_path, app):
    first = app.commit("first")
    app.push_pr(PR, first)
    dest = tmp_path / "work" / "src"
    assert run_module(tmp_path, "preview_source", source_args(app.clone_url, dest, first))["changed"]
    # What a git killed in the middle of a fetch and a checkout leaves.
    locks = [
        dest / ".git" / "index.lock",
        dest / ".git" / "HEAD.lock",
        dest / ".git" / "refs" / "remotes" / "origin" / "pr" / f"{PR}.lock",
    ]
    for lock in locks:
        lock.write_text("")
    second = app.commit("second")
    app.push_pr(PR, second)

    result = run_module(tmp_path, "preview_source", source_args(app.clone_url, dest, second))

    assert result["_status"] == "CHANGED", result
    assert git(dest, "rev-parse", "HEAD") == second
    assert sorted(result["removed_locks"]) == sorted(str(lock) for lock in locks)
    assert not any(lock.exists() for lock in locks)


def test_a_lock_stays_while_a_process_works_in_the_checkout(tmp_path, app):
    first = app.commit("first")
    app.push_pr(PR, first)
    dest = tmp_path / "work" / "src"
    run_module(tmp_path, "preview_source", source_args(app.clone_url, dest, first))
    lock = dest / ".git" / "index.lock"
    lock.write_text("")
    second = app.commit("second")
    app.push_pr(PR, second)
    worker = subprocess.Popen(["sleep", "120"], cwd=dest)
    try:
        result = run_module(tmp_path, "preview_source", source_args(app.clone_url, dest, second))
    finally:
        worker.kill()
        worker.wait()

    assert result["_status"] == "FAILED!", result
    assert "index.lock" in result["msg"]
    assert lock.exists()


def test_the_checkout_is_readable_by_its_owner_only(tmp_path, app):
    sha = app.commit("first")
    app.push_pr(PR, sha)
    work_dir = tmp_path / "deployments" / "hello-pr-5"
    work_dir.mkdir(parents=True, mode=0o755)
    work_dir.chmod(0o755)
    args = source_args(app.clone_url, work_dir / "src", sha)

    assert run_module(tmp_path, "preview_source", args, check=True)["changed"] is True
    assert stat.S_IMODE(work_dir.stat().st_mode) == 0o755, "check mode changes nothing"
    assert run_module(tmp_path, "preview_source", args)["changed"] is True
    assert stat.S_IMODE(work_dir.stat().st_mode) == 0o700
    assert run_module(tmp_path, "preview_source", args)["changed"] is False

    work_dir.chmod(0o755)
    result = run_module(tmp_path, "preview_source", args)
    assert (result["changed"], result["fetched"]) == (True, False)
    assert stat.S_IMODE(work_dir.stat().st_mode) == 0o700


def test_a_dest_in_a_shared_directory_is_refused(tmp_path, app):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    sha = git(app.path, "rev-parse", "HEAD")

    result = run_module(tmp_path, "preview_source", source_args(app.clone_url, shared / "src", sha))

    assert result["_status"] == "FAILED!", result
    assert "must sit in a directory of its own" in result["msg"]
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_credentials_in_the_clone_url_never_come_back(tmp_path, app):
    token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
    repo = f"https://x-access-token:{token}@127.0.0.1:9/octo/app.git"

    result = run_module(
        tmp_path, "preview_source", source_args(repo, tmp_path / "work" / "src", git(app.path, "rev-parse", "HEAD"))
    )

    assert result["_status"] == "FAILED!", result
    assert result["msg"].startswith(f"cannot fetch {REFSPEC} from https://***@127.0.0.1:9/octo/app.git"), result
    assert token not in json.dumps(result)
    assert "x-access-token" not in json.dumps(result)


# -- submodules ----------------------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """An app whose commit has a submodule `lib`, and a git daemon serving both repositories."""
    base = tmp_path / "served"
    lib = AppRepo(base / "lib")
    lib.write("LIB_MARKER", "from the submodule\n")
    lib.commit("lib")
    app = AppRepo(base / "origin")
    git(app.path, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "lib")
    app.commit("with a submodule")
    daemon = GitDaemon(base).start()
    try:
        yield app, lib, daemon
    finally:
        daemon.stop()


def with_submodule_url(app: AppRepo, url: str) -> str:
    git(app.path, "config", "--file", ".gitmodules", "submodule.lib.url", url)
    sha = app.commit(f"submodule at {url}")
    app.push_pr(PR, sha)
    return sha


def test_submodules_are_not_fetched_by_default(tmp_path, served):
    app, lib, _daemon = served
    sha = with_submodule_url(app, str(lib.path))
    dest = tmp_path / "work" / "src"

    result = run_module(tmp_path, "preview_source", source_args(app.clone_url, dest, sha))

    assert result["_status"] == "CHANGED", result
    assert (dest / ".gitmodules").exists() and not (dest / "lib" / "LIB_MARKER").exists()
    assert not (dest / ".git" / "modules").exists()


def test_a_submodule_on_another_host_is_refused(tmp_path, served):
    app, lib, daemon = served
    sha = with_submodule_url(app, str(lib.path))  # this host's files, for a clone from git://127.0.0.1
    dest = tmp_path / "work" / "src"

    result = run_module(tmp_path, "preview_source", source_args(daemon.url("origin"), dest, sha, submodules=True))

    assert result["_status"] == "FAILED!", result
    assert "submodule.lib.url" in result["msg"] and "a local path" in result["msg"], result["msg"]
    assert "must come from the host of" in result["msg"]
    assert not (dest / "lib" / "LIB_MARKER").exists()
    assert not (dest / ".git" / "modules").exists()


def test_a_submodule_on_the_same_host_is_checked_out_when_asked(tmp_path, served):
    app, _lib, daemon = served
    sha = with_submodule_url(app, "../lib")
    dest = tmp_path / "work" / "src"

    result = run_module(tmp_path, "preview_source", source_args(daemon.url("origin"), dest, sha, submodules=True))

    assert result["_status"] == "CHANGED", result
    assert (dest / "lib" / "LIB_MARKER").read_text() == "from the submodule\n"
