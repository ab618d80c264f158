"""Ask GitHub to redeliver the webhook deliveries that never reached us.

GitHub does not redeliver a failed delivery on its own. Its recommended automation, run on a schedule:
list the hook's deliveries, treat every one whose `status` is not `OK` as failed, skip a GUID that has an
`OK` delivery, and `POST .../deliveries/{id}/attempts` for the rest. A redelivery carries the original
`X-GitHub-Delivery` GUID, so the intake stores it like any other delivery (and a GUID it already has is
acknowledged as a duplicate, never run twice).

On top of that we skip a GUID the shim already has in `deliveries` (GitHub gave up waiting, but the event
landed), ask at most once per GUID (a redelivery that fails too is logged for a person to look at, not
retried forever), and look only at deliveries newer than the last check (less a margin for clock skew).
What was asked for, and when each repository was last checked, lives in the shim's database.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from .config import Config
from .github_pass import GitHubPass
from .store import Store

log = logging.getLogger("preview.shim.redelivery")

# Deliveries this much older than the last check are looked at again: GitHub's clock is not ours, and a
# delivery still in flight during the last check shows up with its start time.
OVERLAP = 300.0
PER_PAGE = 100


def _epoch(timestamp: object) -> float | None:
    """GitHub's `2021-05-12T20:33:44Z` as seconds since the epoch; None when it is not one."""
    if not isinstance(timestamp, str):
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Redeliverer(GitHubPass):
    """One `check()` looks at our hook's recent deliveries in every configured repository and asks GitHub to
    redeliver the failed ones. `client` (a `GitHubClient`) is built from the configuration when not given."""

    name = "redelivery"

    def __init__(self, config: Config, store: Store, client=None):
        self.store = store
        self.webhook_url = config.github_webhook_url
        self._hooks: dict[str, int] = {}
        self._reported: set[int] = set()  # failed redeliveries already logged
        off = "" if self.webhook_url else "github.webhook_url is not set"
        if not off and config.github_app_id and client is None:
            # An App's events come from the App's own webhook, not a repository hook; its deliveries are the
            # App's to list (GET /app/hook/deliveries), which this check does not do yet. The sweep repairs.
            off = "GitHub App authentication: the App's webhook delivers, and its deliveries are not redelivered"
        super().__init__(config, client, off)

    def check(self) -> list[str]:
        """Ask for the redelivery of every missed delivery; returns the GUIDs asked for. Never raises."""
        if not self.enabled:
            return []
        asked: list[str] = []
        for repo in self.config.repositories.values():
            try:
                asked += self._check_repo(repo.full_name)
            except self._github.GitHubError as error:
                self._once(repo.full_name, logging.WARNING, "repo=%s redelivery=error reason=%s", repo.full_name, error)
            except Exception:  # a bad answer must not end the loop, nor the shim
                log.exception("repo=%s redelivery=error", repo.full_name)
        return asked

    # --- one repository -----------------------------------------------------------------------------------
    def _check_repo(self, repo: str) -> list[str]:
        started = time.time()
        hook_id = self._hook_id(repo)
        if hook_id is None:
            return []
        since = self.store.redelivery_checked(repo)
        cutoff = None if since is None else since - OVERLAP
        try:
            deliveries = self._recent_deliveries(repo, hook_id, cutoff)
        except self._github.GitHubError as error:
            if error.status == 404:
                self._hooks.pop(repo, None)  # the hook is gone (or out of reach): look for it again next time
            raise
        asked, complete = self._redeliver(repo, hook_id, deliveries)
        if complete:
            # Only a check that asked for everything it should moves the window on.
            self.store.set_redelivery_checked(repo, started)
        self._once(
            repo, logging.DEBUG, "repo=%s redelivery=checked deliveries=%d asked=%d", repo, len(deliveries), len(asked)
        )
        return asked

    def _hook_id(self, repo: str) -> int | None:
        if repo in self._hooks:
            return self._hooks[repo]
        hooks = self.client_for(repo).paginate(f"/repos/{repo}/hooks", {"per_page": 100})
        ours = [
            hook
            for hook in hooks
            if isinstance(hook, dict) and (hook.get("config") or {}).get("url") == self.webhook_url
        ]
        if not ours:
            self._once(
                repo,
                logging.WARNING,
                "repo=%s redelivery=skipped reason=no webhook delivers to %s (run preview setup)",
                repo,
                self.webhook_url,
            )
            return None
        self._hooks[repo] = int(ours[0]["id"])
        log.info("repo=%s hook=%d redelivery=on url=%s", repo, self._hooks[repo], self.webhook_url)
        return self._hooks[repo]

    def _recent_deliveries(self, repo: str, hook_id: int, cutoff: float | None) -> list[dict]:
        """The hook's deliveries, newest first, down to the first one older than `cutoff` (all when None)."""
        found: list[dict] = []
        url: str | None = f"/repos/{repo}/hooks/{hook_id}/deliveries"
        query: dict | None = {"per_page": PER_PAGE}
        seen: set[str] = set()
        while url:
            if url in seen:
                raise self._github.GitHubError(
                    None, f"GET {url}: the link header points back at a page already read", url
                )
            seen.add(url)
            status, headers, page = self.client_for(repo).request("GET", url, query=query)
            query = None  # the link URLs carry the query
            if not isinstance(page, list):
                raise self._github.GitHubError(status, f"GET {url}: expected a JSON list of deliveries", url)
            for item in page:
                delivered = _epoch(item.get("delivered_at")) if isinstance(item, dict) else None
                if cutoff is not None and delivered is not None and delivered < cutoff:
                    return found
                if isinstance(item, dict):
                    found.append(item)
            url = self._github.next_link(headers.get("link", ""))
        return found

    def _redeliver(self, repo: str, hook_id: int, deliveries: list[dict]) -> tuple[list[str], bool]:
        delivered = {item.get("guid") for item in deliveries if item.get("status") == "OK"}
        asked: list[str] = []
        complete = True
        for item in reversed(deliveries):  # oldest first: the events go back in the order they happened
            guid, status, delivery_id = item.get("guid"), item.get("status"), item.get("id")
            if not guid or not isinstance(delivery_id, int) or status == "OK" or guid in delivered or guid in asked:
                continue
            if self.store.has_delivery(guid):
                continue  # it reached us after all (GitHub stopped waiting for the answer)
            if self.store.redelivery_asked(repo, guid):
                if item.get("redelivery") and delivery_id not in self._reported:
                    self._reported.add(delivery_id)
                    log.warning(
                        "repo=%s guid=%s delivery=%d event=%s action=%s status=%r outcome=redelivery_failed "
                        "reason=asked once already; redeliver it from the hook's Recent Deliveries if needed",
                        repo,
                        guid,
                        delivery_id,
                        item.get("event"),
                        item.get("action"),
                        status,
                    )
                continue
            try:
                self.client_for(repo).request(
                    "POST", f"/repos/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts"
                )
            except self._github.GitHubError as error:
                log.warning(
                    "repo=%s guid=%s delivery=%d outcome=redelivery_refused reason=%s", repo, guid, delivery_id, error
                )
                complete = False
                continue
            self.store.record_redelivery(repo, guid, delivery_id)
            asked.append(guid)
            log.info(
                "repo=%s guid=%s delivery=%d event=%s action=%s status=%r outcome=redelivery_requested",
                repo,
                guid,
                delivery_id,
                item.get("event"),
                item.get("action"),
                status,
            )
        return asked, complete


class RedeliveryLoop:
    """Runs `check()` at start and then every `interval` seconds, or at once on `trigger()`."""

    def __init__(self, redeliverer: Redeliverer, interval: float):
        self.redeliverer = redeliverer
        self.interval = interval
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0

    def start(self) -> None:
        if not self.redeliverer.enabled:
            return
        self._thread = threading.Thread(target=self._main, name="redelivery", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def trigger(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _main(self) -> None:
        while not self._stopping.is_set():
            try:
                self.redeliverer.check()
            except Exception:  # check() does not raise; this is the last line of defence for the thread
                log.exception("redelivery check failed; trying again in %ss", self.interval)
            self.checks += 1
            self._wake.wait(self.interval)
            self._wake.clear()
