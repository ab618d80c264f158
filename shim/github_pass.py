"""What the shim's passes against GitHub share: the redelivery check (shim/redelivery.py) and the sweep
(shim/sweep.py) each run every few minutes, talk to GitHub through the collection's client, are off without
a token, and must say a lasting problem once rather than at every pass."""

from __future__ import annotations

import logging
from types import ModuleType

from . import github_auth
from .config import Config, collection_module


def github_module(collections_path: str) -> ModuleType:
    """The collection's `_github` module utils, from the configured collections path."""
    return collection_module(collections_path, "_github")


class GitHubPass:
    """A pass's GitHub client for each repository (`client_for(repo)`: the `client` given, else one with the
    repository's token from shim/github_auth.py) and `_github` module, or the reason the pass is off
    (`off_reason`, logged once as `<name>=off`)."""

    name = ""  # the pass's word in the log lines, and its logger: preview.shim.<name>

    def __init__(self, config: Config, client=None, off_reason: str = ""):
        self.config = config
        self.client = client
        self.off_reason = off_reason
        self.log = logging.getLogger(f"preview.shim.{self.name}")
        self._github: ModuleType | None = None
        self._said: dict[str, str] = {}  # the last thing logged per key (a repository), so a lasting problem logs once
        self._tokens: github_auth.TokenSource | None = None
        if not self.off_reason and client is None and not config.github_token and not config.github_app_id:
            self.off_reason = "no GitHub token (github.token or GITHUB_TOKEN) and no GitHub App (github.app_id)"
        if not self.off_reason:
            try:
                self._github = github_module(config.collections_path)
                if self.client is None:
                    self._tokens = github_auth.source(config)
                    if self._tokens.kind == "token":
                        # One token for every repository: one client.
                        self.client = self._client(self._tokens.token_for(""))
            except ImportError as exc:
                self.off_reason = f"the collection's GitHub client is not importable from collections_path: {exc}"
            except github_auth.TokenUnavailable as exc:
                self.off_reason = str(exc)
        if self.off_reason:
            self.log.info("%s=off reason=%s", self.name, self.off_reason)

    @property
    def enabled(self) -> bool:
        return not self.off_reason

    def client_for(self, repo: str):
        """A client with `repo`'s token; a token GitHub would not give is a GitHubError (status None)."""
        if self.client is not None:
            return self.client
        try:
            return self._client(self._tokens.token_for(repo))
        except github_auth.TokenUnavailable as exc:
            raise self._github.GitHubError(None, f"no GitHub token for {repo}: {exc}", "") from None

    def _client(self, token: str):
        return self._github.GitHubClient(self.config.github_api_url, token, timeout=20, retries=2, max_wait=30)

    def _once(self, key: str, level: int, message: str, *args) -> None:
        """Log at `level` when the text differs from the last one for `key`, else at debug level."""
        text = message % args
        self.log.log(level if self._said.get(key) != text else logging.DEBUG, "%s", text)
        self._said[key] = text
