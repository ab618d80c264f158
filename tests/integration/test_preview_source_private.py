"""A private repository over HTTP with basic auth (git's own http-backend, tests.support.git_http): preview_source
fetches it with the token from a file, and the token ends up nowhere but in the server's Authorization header.
Real git, real ansible-playbook."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from ansible_collections.preview.envs.plugins.modules.preview_source import credential_helper
from tests.support.git_http import PrivateGitServer
from tests.support.gitrepo import AppRepo, git
from tests.support.modules import run_module

TOKEN = "ghs_privatepreviewtoken0123456789abcdef"
PR = 3
REFSPEC = f"+refs/pull/{PR}/head:refs/remotes/origin/pr/{PR}"


@pytest.fixture
def server(tmp_path):
    server = PrivateGitServer(tmp_path / "served", TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def private_repo(tmp_path, server):
    """The example app, pushed as a bare repository the server serves as /app.git; returns (url, sha)."""
    app = AppRepo(tmp_path / "origin")
    sha = app.commit("first")
    app.push_pr(PR, sha)
    bare = server.root / "app.git"
    server.root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(app.path), str(bare)], check=True)
    return server.url("app"), sha


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "github-token"
    path.parent.mkdir(mode=0o700)
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def everything_under(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def test_a_private_repository_is_fetched_with_the_token_and_keeps_none_of_it(tmp_path, server, private_repo):
    url, sha = private_repo
    dest = tmp_path / "work" / "src"
    args = {"clone_url": url, "dest": str(dest), "commit": sha, "refspec": REFSPEC}

    refused = run_module(tmp_path, "preview_source", args)
    assert refused["_status"] == "FAILED!", refused
    assert "cannot fetch" in refused["msg"] or "not in" in refused["msg"], refused["msg"]

    result = run_module(tmp_path, "preview_source", {**args, "token_file": str(token_file(tmp_path))})
    assert result["_status"] == "CHANGED", result
    assert git(dest, "rev-parse", "HEAD") == sha and result["kind"] == "compose"
    basic = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert basic in server.authorizations
    # Nowhere else: not in the checkout (its .git/config included), not in the result.
    assert TOKEN.encode() not in everything_under(dest)
    assert "credential" not in (dest / ".git" / "config").read_text()
    assert TOKEN not in repr(result)


def test_the_helper_answers_for_the_clone_urls_host_only(tmp_path, private_repo):
    """What git asks the helper, as git asks it (`<helper> get`, the request on stdin)."""
    url, dummy = private_repo
    script = credential_helper(url, str(token_file(tmp_path)))
    assert script.startswith("!") and TOKEN not in script

    def ask(request: str, operation: str = "get") -> str:
        argv = ["sh", "-c", f"{script[1:]} {operation}"]
        return subprocess.run(argv, input=request, capture_output=True, text=True, check=True).stdout

    own = url.split("/")[2]
    assert ask(f"protocol=http\nhost={own}\n\n") == f"username=x-access-token\npassword={TOKEN}\n"
    assert ask("protocol=https\nhost=evil.example\n\n") == ""
    assert ask(f"protocol=http\nhost={own.split(':')[0]}\n\n") == "", "another port is another host"
    assert ask(f"protocol=http\nhost={own}\n\n", "store") == ""


@pytest.mark.parametrize("clone_url", ["/srv/git/app.git", "git@github.com:octo/app.git"])
def test_a_token_file_is_for_https_clone_urls_only(tmp_path, clone_url):
    args = {"clone_url": clone_url, "dest": str(tmp_path / "src"), "commit": "0" * 40, "token_file": "/dev/null"}
    result = run_module(tmp_path, "preview_source", args)
    assert result["_status"] == "FAILED!" and "token_file is for a clone_url over HTTPS" in result["msg"], result
