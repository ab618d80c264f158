"""preview.envs.preview_source run by ansible-playbook against real git repositories (tests.support.AppRepo).

The house pattern: check mode, real, idempotent check, idempotent real; then a push, a local edit, a commit
the remote no longer has, and arguments that must never reach git.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import AppRepo, git
from tests.support.modules import run_module

PR = 5
REFSPEC = f"+refs/pull/{PR}/head:refs/remotes/origin/pr/{PR}"


def run_source(tmp_path: Path, args: dict, check: bool = False) -> dict:
    """One ansible-playbook run of one preview_source task; its result as the module returned it."""
    return run_module(tmp_path, "preview_source", args, check)


@pytest.fixture
def app(tmp_path):
    return AppRepo(tmp_path / "origin")


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def test_checkout_lifecycle(tmp_path, app):
    sha = app.commit("first")
    app.push_pr(PR, sha)
    dest = tmp_path / "work" / "src"
    args = {"clone_url": app.clone_url, "dest": str(dest), "commit": sha, "refspec": REFSPEC}

    # 1. check mode: would check out, creates nothing
    result = run_source(tmp_path, args, check=True)
    assert result["changed"] is True and result["before"] is None, result
    assert "kind" not in result
    assert not dest.exists()

    # 2. real: fetched, checked out, detected
    result = run_source(tmp_path, args)
    assert result["_status"] == "CHANGED", result
    assert (result["before"], result["after"], result["fetched"]) == (None, sha, True)
    assert (result["kind"], result["compose_file"], result["has_dockerfile"]) == ("compose", "compose.yaml", True)
    assert head(dest) == sha
    assert (dest / "www" / "index.html").read_text() == (app.path / "www" / "index.html").read_text()

    # 3. idempotent check, 4. idempotent real: no change, no fetch
    for check in (True, False):
        result = run_source(tmp_path, args, check=check)
        assert result["changed"] is False, result
        assert result["fetched"] is False and result["kind"] == "compose"

    # 5. a push to the PR: the new commit is fetched through the refspec
    app.write("www/index.html", "<h1>second</h1>\n")
    second = app.commit("second")
    app.push_pr(PR, second)
    result = run_source(tmp_path, {**args, "commit": second})
    assert (result["changed"], result["fetched"], result["before"], result["after"]) == (True, True, sha, second)
    assert (dest / "www" / "index.html").read_text() == "<h1>second</h1>\n"

    # 6. a tracked file edited in the checkout is put back; what git does not track stays
    (dest / "www" / "index.html").write_text("tampered\n")
    (dest / "build-output.txt").write_text("left by a build\n")
    result = run_source(tmp_path, {**args, "commit": second})
    assert result["changed"] is True and result["fetched"] is False, result
    assert (dest / "www" / "index.html").read_text() == "<h1>second</h1>\n"
    assert (dest / "build-output.txt").exists()

    # 7. back to an older commit the checkout already holds: no fetch
    result = run_source(tmp_path, args)
    assert (result["changed"], result["fetched"], result["after"]) == (True, False, sha)
    assert head(dest) == sha


def test_a_commit_the_remote_no_longer_has_fails_clearly(tmp_path, app):
    sha = app.commit("first")
    app.push_pr(PR, sha)
    gone = "0123456789abcdef0123456789abcdef01234567"
    dest = tmp_path / "src"

    result = run_source(tmp_path, {"clone_url": app.clone_url, "dest": str(dest), "commit": gone, "refspec": REFSPEC})

    assert result["_status"] == "FAILED!", result
    assert f"commit {gone} is not in {app.clone_url} (fetched {REFSPEC})" in result["msg"]
    assert "force-pushed away" in result["msg"]


def test_a_repository_with_nothing_to_run_fails_after_the_checkout(tmp_path, app):
    for child in ("compose.yaml", "Dockerfile"):
        (app.path / child).unlink()
    sha = app.commit("docs only")
    app.push_pr(PR, sha)
    dest = tmp_path / "src"

    result = run_source(tmp_path, {"clone_url": app.clone_url, "dest": str(dest), "commit": sha, "refspec": REFSPEC})

    assert result["_status"] == "FAILED!", result
    assert result["msg"].startswith("nothing we can run"), result["msg"]
    assert result["after"] == sha and head(dest) == sha


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"commit": "main"}, "commit must be a full commit ID"),
        ({"commit": "--upload-pack=touch /tmp/x" + "0" * 20}, "commit must be a full commit ID"),
        ({"refspec": "--upload-pack=touch /tmp/pwned"}, "is not allowed"),
        ({"refspec": "+refs/pull/5/head:refs/a:refs/b"}, "is not allowed"),
        ({"clone_url": "--upload-pack=touch /tmp/pwned"}, "clone_url must be a URL or path"),
    ],
    ids=["branch-name", "option-as-commit", "option-as-refspec", "two-colons", "option-as-clone-url"],
)
def test_arguments_that_git_could_misread_are_refused(tmp_path, app, override, message):
    dest = tmp_path / "src"
    args = {"clone_url": app.clone_url, "dest": str(dest), "commit": head(app.path), "refspec": REFSPEC, **override}

    result = run_source(tmp_path, args)

    assert result["_status"] == "FAILED!", result
    assert message in result["msg"], result["msg"]
    assert not dest.exists()


def test_ssh_runs_in_batch_mode_and_git_never_prompts(tmp_path, app):
    """An unreachable SSH remote fails at once (no prompt for a password or a host key)."""
    dest = tmp_path / "src"
    args = {
        "clone_url": "ssh://git@127.0.0.1:9/octo/app.git",
        "dest": str(dest),
        "commit": head(app.path),
        "refspec": REFSPEC,
    }

    result = run_source(tmp_path, args)

    assert result["_status"] == "FAILED!", result
    assert result["msg"].startswith(f"cannot fetch {REFSPEC} from ssh://git@127.0.0.1:9/octo/app.git"), result["msg"]
    assert (
        subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, check=False).returncode != 0
    )


def test_the_former_option_names_still_work(tmp_path, app):
    """repo and version are aliases of clone_url and commit, for tasks written before the rename."""
    sha = app.commit("first")
    app.push_pr(PR, sha)
    dest = tmp_path / "src"

    result = run_source(tmp_path, {"repo": app.clone_url, "dest": str(dest), "version": sha, "refspec": REFSPEC})

    assert result["_status"] == "CHANGED", result
    assert result["after"] == sha and head(dest) == sha
