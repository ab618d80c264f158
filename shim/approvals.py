"""Confirm approval labels with GitHub: only a sender who may write to the repository approves a fork PR.

The intake stores a label as a claim (`claim_sha`, `claim_by`) and answers at once; the converger runs
`ApprovalVerifier.run_once` off the request thread. A claim GitHub cannot answer for (down, rate
limited, a redirect) stays stored and is asked again after a backoff, across restarts too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from . import github_auth
from .backoff import Backoff
from .config import Config, collection_module
from .store import Store

log = logging.getLogger("preview.shim.approvals")

# Roles that may approve (`role_name`; custom roles report their base in `permission`, where maintain
# counts as write): https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user
APPROVER_ROLES = frozenset({"admin", "maintain", "write"})
APPROVER_PERMISSIONS = frozenset({"admin", "write"})
TIMEOUT = 10.0
# Seconds before a claim GitHub could not answer for is asked again; doubled each time, up to RETRY_MAX.
RETRY_AFTER = 5.0
RETRY_MAX = 300.0


class GitHubUnavailable(Exception):
    """GitHub gave no answer about the permission; ask again later."""


class PermissionClient:
    """`GET /repos/{owner}/{repo}/collaborators/{username}/permission`, through the collection's GitHub client,
    with the repository's token (`tokens`: a token, or a source from shim/github_auth.py)."""

    def __init__(
        self,
        api_url: str,
        tokens: str | github_auth.TokenSource,
        collections_path: str = "",
        timeout: float = TIMEOUT,
    ):
        self._github = collection_module(collections_path, "_github")
        self._error = self._github.GitHubError
        self.api_url = api_url
        self.timeout = timeout
        self.tokens = github_auth.PersonalToken(tokens) if isinstance(tokens, str) else tokens
        self.client = None  # with a personal token, the one client every repository shares

    def _client(self, repo: str):
        try:
            token = self.tokens.token_for(repo)
        except github_auth.TokenUnavailable as exc:
            raise GitHubUnavailable(f"no GitHub token for {repo}: {exc}") from None
        if self.client is not None:
            return self.client
        # No retries here: a claim GitHub cannot answer for is asked again after the verifier's own backoff.
        client = self._github.GitHubClient(self.api_url, token, timeout=self.timeout, retries=0)
        if self.tokens.kind == "token":
            self.client = client
        return client

    def may_approve(self, repo: str, login: str) -> bool:
        """True when `login` has write, maintain or admin on `repo`; raises GitHubUnavailable when unsure."""
        owner, name = repo.split("/", 1)
        path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/collaborators/{quote(login, safe='')}/permission"
        try:
            dummy, dummy, body = self._client(repo).request("GET", path)
        except self._error as exc:
            if exc.status == 404:
                return False  # not a collaborator (or no such user)
            raise GitHubUnavailable(str(exc)) from exc
        if not isinstance(body, dict):
            raise GitHubUnavailable("GitHub's answer is not a JSON object")
        return body.get("role_name") in APPROVER_ROLES or body.get("permission") in APPROVER_PERMISSIONS


class ApprovalVerifier:
    """Settle every stored claim GitHub can answer for; the others wait for their retry time."""

    def __init__(
        self,
        store: Store,
        client: PermissionClient | None,
        clock: Callable[[], float] = time.monotonic,
        retry_after: float = RETRY_AFTER,
    ):
        self.store = store
        self.client = client
        self.backoff = Backoff(retry_after, RETRY_MAX, clock)

    @classmethod
    def from_config(cls, config: Config, store: Store) -> ApprovalVerifier:
        tokens = configured_tokens(config)
        return cls(store, PermissionClient(config.github_api_url, tokens, config.collections_path) if tokens else None)

    def due(self) -> list[dict]:
        """The stored claims not waiting for a retry time."""
        claims = self.store.approval_claims()
        self.backoff.retain(self._key(claim) for claim in claims)
        return [claim for claim in claims if self.backoff.ready(self._key(claim))]

    def run_once(self) -> int:
        """Ask GitHub about every due claim; returns how many PRs moved (each now has a run to do)."""
        moved = 0
        for claim in self.due():
            key = self._key(claim)
            where = f"repo={claim['repo']} pr={claim['pr']} sha={claim['claim_sha'][:12]} sender={claim['claim_by']}"
            if self.client is None:
                log.warning(
                    "%s outcome=approval_unverified reason=no github.token or github.app_id to ask GitHub with", where
                )
                self.backoff.failed(key)
                continue
            try:
                allowed = self.client.may_approve(claim["repo"], claim["claim_by"])
            except GitHubUnavailable as exc:
                log.warning("%s outcome=approval_unverified reason=%s; asking again later", where, exc)
                self.backoff.failed(key)
                continue
            outcome = self.store.settle_approval(
                claim["repo"], claim["pr"], claim["claim_sha"], claim["claim_by"], allowed
            )
            self.backoff.succeeded(key)
            log.info("%s outcome=%s state=%s", where, "approved" if allowed else "approval_refused", outcome)
            moved += outcome == "accepted"
        return moved

    @staticmethod
    def _key(claim: dict) -> tuple:
        return claim["repo"], claim["pr"], claim["claim_sha"], claim["claim_by"]


def configured_tokens(config: Config) -> github_auth.TokenSource | None:
    """The configuration's token source, or None (without a token or an App, or when the App's key is gone:
    github_auth has logged why)."""
    try:
        return github_auth.source(config)
    except github_auth.TokenUnavailable as exc:
        log.warning("github_auth=unavailable reason=%s", exc)
        return None
