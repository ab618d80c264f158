"""What the shim's passes against GitHub share: the redelivery check (shim/redelivery.py) and the sweep
(shim/sweep.py) each run every few minutes, talk to GitHub through the collection's client, are off without
a token, and must say a lasting problem once rather than at every pass."""

from __future__ import annotations

import logging
from types import ModuleType

from .config import Config, collection_module


def github_module(collections_path: str) -> ModuleType:
    """The collection's `_github` module utils, from the configured collections path."""
    return collection_module(collections_path, "_github")


class GitHubPass:
    """A pass's GitHub client (`client`, built from the configuration unless given) and `_github` module, or
    the reason the pass is off (`off_reason`, logged once as `<name>=off`)."""

    name = ""  # the pass's word in the log lines, and its logger: preview.shim.<name>

    def __init__(self, config: Config, client=None, off_reason: str = ""):
        self.config = config
        self.client = client
        self.off_reason = off_reason
        self.log = logging.getLogger(f"preview.shim.{self.name}")
        self._github: ModuleType | None = None
        self._said: dict[str, str] = {}  # the last thing logged per key (a repository), so a lasting problem logs once
        if not self.off_reason and client is None and not config.github_token:
            self.off_reason = "no GitHub token (github.token or GITHUB_TOKEN)"
        if not self.off_reason:
            try:
                self._github = github_module(config.collections_path)
            except ImportError as exc:
                self.off_reason = f"the collection's GitHub client is not importable from collections_path: {exc}"
            else:
                if self.client is None:
                    self.client = self._github.GitHubClient(
                        config.github_api_url, config.github_token, timeout=20, retries=2, max_wait=30
                    )
        if self.off_reason:
            self.log.info("%s=off reason=%s", self.name, self.off_reason)

    @property
    def enabled(self) -> bool:
        return not self.off_reason

    def _once(self, key: str, level: int, message: str, *args) -> None:
        """Log at `level` when the text differs from the last one for `key`, else at debug level."""
        text = message % args
        self.log.log(level if self._said.get(key) != text else logging.DEBUG, "%s", text)
        self._said[key] = text
