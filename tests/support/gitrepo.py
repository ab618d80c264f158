"""Real local git repositories holding an example app, with GitHub's refs/pull/N/head, and a git daemon
that serves them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .nginx import free_port
from .waiting import wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class AppRepo:
    """A git repository seeded from examples/<name>; `commit()` returns the new SHA."""

    def __init__(self, path: Path, example: str = "hello"):
        self.path = Path(path)
        shutil.copytree(REPO_ROOT / "examples" / example, self.path)
        git(self.path, "init", "-q", "-b", "main")
        git(self.path, "config", "user.email", "dev@example.invalid")
        git(self.path, "config", "user.name", "dev")
        self.commit("initial")

    @property
    def clone_url(self) -> str:
        return str(self.path)

    def write(self, relative: str, content: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)

    def commit(self, message: str) -> str:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def push_pr(self, number: int, sha: str) -> None:
        """What GitHub does on a push to the PR: move refs/pull/N/head."""
        git(self.path, "update-ref", f"refs/pull/{number}/head", sha)


class GitDaemon:
    """`git daemon` on 127.0.0.1 serving the repositories under `base`, read only: a remote that another
    user (the shim's service user) clones over the network, as it would clone from GitHub."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.port = 0
        self._proc: subprocess.Popen | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> GitDaemon:
        self.port = free_port()
        self._proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self.base}",
                str(self.base),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.port):
            self.stop()
            raise RuntimeError("git daemon did not start listening")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
