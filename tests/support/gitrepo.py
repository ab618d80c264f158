"""Real local git repositories holding an example app, with GitHub's refs/pull/N/head."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
