"""Repair the desired state from GitHub's own list of open pull requests.

Webhooks are the fast path, and they can be missed: the shim was down past GitHub's redelivery window, the
hook was deleted, re-created or disabled, or the state file was lost. Each pass lists the open PRs of every
configured repository and moves each PR through the same policy a webhook would (shim/policy.py), as one
`sweep` event with the PR's labels as listed; a PR we keep a preview for that is no longer in the list is
looked up on its own, and a closed one is removed. What the events already applied comes back `unchanged`
or `stale` (an event newer than the list wins), so a pass costs a few reads and no run.

Each page of a list is asked for with the ETag of its last answer: an unchanged page is a `304`, which
GitHub does not count against the rate limit, and is read from memory. The ETags live in memory only; after
a restart the first pass reads everything.

What a sweep cannot see: an approval label's sender (an approval counts only after GitHub vouches for its
sender, from a `labeled` event; a listed label is never a new claim), and a PR pruned from the state file
long after it was closed (only a webhook brings it back).
"""

from __future__ import annotations

import logging
import threading

from . import events
from .config import Config
from .github_pass import GitHubPass
from .policy import approval_of, decide
from .store import Store

log = logging.getLogger("preview.shim.sweep")

PER_PAGE = 100


class Sweeper(GitHubPass):
    """`run_once()` sweeps every configured repository. Each one's client has its token (a given `client`, a
    `GitHubClient`, serves them all); without a token or an App the sweep is off, and says why once."""

    name = "sweep"

    def __init__(self, config: Config, store: Store, client=None):
        self.store = store
        self._pages: dict[str, tuple[str, list, str | None]] = {}  # page URL -> (etag, items, next page URL)
        self._lock = threading.Lock()
        super().__init__(config, client)

    def run_once(self) -> int:
        """Sweep every repository; returns how many PRs got a new desired state. Never raises."""
        if not self.enabled or not self._lock.acquire(blocking=False):
            return 0
        try:
            moved = 0
            for repo in self.config.repositories.values():
                try:
                    moved += self._sweep(repo.full_name)
                except self._github.GitHubError as error:
                    self._once(repo.full_name, logging.WARNING, "repo=%s sweep=error reason=%s", repo.full_name, error)
                except Exception:  # a bad answer must not end the pass, nor the shim
                    log.exception("repo=%s sweep=error", repo.full_name)
            return moved
        finally:
            self._lock.release()

    # --- one repository -----------------------------------------------------------------------------------
    def _sweep(self, repo: str) -> int:
        client = self.client_for(repo)
        moved = 0
        listed = set()
        for pull in self._open_pulls(repo, client):
            event = self._event(repo, pull)
            if event is not None:
                listed.add(event.pr)
                moved += self._apply(event)
        for pr in self.store.previews_of(repo):
            if pr in listed:
                continue
            # Not in the list: closed, or opened and closed while we listed. Its own page says which.
            try:
                event = self._event(repo, client.request("GET", f"/repos/{repo}/pulls/{pr}")[2])
            except self._github.GitHubError as error:
                if error.status != 404:
                    raise
                # Not a closed PR (GitHub keeps those): a PR this token cannot see. Nothing to decide on.
                self._once(f"{repo}#{pr}", logging.WARNING, "repo=%s pr=%d sweep=skipped reason=%s", repo, pr, error)
                continue
            if event is not None and event.closed:
                moved += self._apply(event)
        self._once(repo, logging.DEBUG, "repo=%s sweep=done open=%d moved=%d", repo, len(listed), moved)
        return moved

    def _event(self, repo: str, pull) -> events.PrEvent | None:
        try:
            return events.parse_listed_pull(pull, repo)
        except events.PayloadError as exc:
            number = pull.get("number") if isinstance(pull, dict) else None
            log.warning(
                "repo=%s pr=%s sweep=skipped reason=GitHub listed a pull request we cannot read: %s", repo, number, exc
            )
            return None

    def _apply(self, event: events.PrEvent) -> int:
        policy = self.config.policy
        stored = self.store.sweep(
            event.repo, event.pr, lambda row: decide(event, policy, **approval_of(row)), event.updated_at
        )
        if stored.outcome != "accepted":
            return 0
        log.info(
            "repo=%s pr=%d sweep=accepted state=%s reason=%s generation=%d sha=%s",
            event.repo,
            event.pr,
            stored.state,
            stored.reason,
            stored.generation,
            event.sha,
        )
        return 1

    def _open_pulls(self, repo: str, client) -> list:
        """Every open PR of `repo`, page by page, each page conditional on the ETag of its last answer."""
        pulls: list = []
        # The first page by its path (the query is always the same), the next ones by their link URLs.
        path: str | None = f"/repos/{repo}/pulls"
        query: dict | None = {"state": "open", "per_page": PER_PAGE}
        seen: set[str] = set()
        while path:
            if path in seen:
                raise self._github.GitHubError(
                    None, f"GET {path}: the link header points back at a page already read", path
                )
            seen.add(path)
            cached = self._pages.get(path)
            status, headers, page = client.request("GET", path, query=query, etag=cached[0] if cached else None)
            query = None  # the link URLs carry it
            if status == 304 and cached:
                items, following = cached[1], cached[2]
            else:
                if not isinstance(page, list):
                    raise self._github.GitHubError(status, f"GET {path}: expected a JSON list of pull requests", path)
                items, following = page, self._github.next_link(headers.get("link", ""))
                if headers.get("etag"):
                    self._pages[path] = (headers["etag"], items, following)
            pulls.extend(items)
            path = following
        return pulls
