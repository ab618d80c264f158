"""Read a verified `pull_request` payload into the facts our policy needs.

Only validated values leave this module: the repository name (matched against
our allow-list by the caller), the PR number as an int, the head SHA as 40 hex,
and the timestamp. Logins and label names are read only to be compared with our
configuration; titles, branch names and bodies are never read at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
# A GitHub user login; the sender's ends up in a GitHub API path, so nothing else is taken.
LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", re.ASCII)

# The PR number becomes a port lease index and an SQLite integer; GitHub's numbers are far below this.
PR_NUMBER_MAX = 10**9

HANDLED_ACTIONS = {"opened", "reopened", "synchronize", "closed", "labeled", "unlabeled"}


class PayloadError(ValueError):
    """The payload is JSON but not the shape GitHub documents for this event."""


@dataclass(frozen=True)
class PrEvent:
    action: str
    repo: str
    pr: int
    sha: str
    updated_at: str  # ISO 8601 UTC; orders events of one PR
    is_fork: bool = False
    author: str = ""
    labels: frozenset[str] = field(default_factory=frozenset)
    label: str = ""  # the label added or removed by a labeled/unlabeled event
    sender: str = ""  # the login that caused the event ('' when it is not a user login, e.g. an app)

    @property
    def closed(self) -> bool:
        return self.action == "closed"


def _get(mapping, *keys):
    value = mapping
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise PayloadError("missing field: " + ".".join(keys))
        value = value[key]
    return value


def _str(value, name: str, limit: int = 256) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise PayloadError(f"{name} must be a string")
    return value


def parse_pull_request(payload) -> PrEvent | None:
    """The event's facts, or None when the action is not one we act on."""
    if not isinstance(payload, dict):
        raise PayloadError("payload must be a JSON object")
    action = _str(_get(payload, "action"), "action", 64)
    if action not in HANDLED_ACTIONS:
        return None
    repo = _str(_get(payload, "repository", "full_name"), "repository.full_name")
    number = _get(payload, "number")
    sha = _get(payload, "pull_request", "head", "sha")
    updated_at = _get(payload, "pull_request", "updated_at")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= PR_NUMBER_MAX:
        raise PayloadError(f"number must be a positive integer up to {PR_NUMBER_MAX}")
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise PayloadError("pull_request.head.sha must be 40 lowercase hex characters")
    if not isinstance(updated_at, str) or not TIMESTAMP_RE.fullmatch(updated_at):
        raise PayloadError("pull_request.updated_at must be an ISO 8601 UTC timestamp")

    head_repo = _get(payload, "pull_request", "head").get("repo")
    base_repo = _get(payload, "pull_request", "base").get("repo")
    head_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
    base_name = base_repo.get("full_name") if isinstance(base_repo, dict) else repo
    # A head repository that is gone (deleted fork) or differs from the base is a fork.
    is_fork = head_name is None or not isinstance(head_name, str) or head_name.lower() != str(base_name).lower()
    user = payload["pull_request"].get("user")
    author = user.get("login", "") if isinstance(user, dict) else ""
    raw_labels = payload["pull_request"].get("labels") or []
    if not isinstance(raw_labels, list):
        raise PayloadError("pull_request.labels must be a list")
    labels = frozenset(
        item["name"] for item in raw_labels if isinstance(item, dict) and isinstance(item.get("name"), str)
    )
    label = ""
    if action in ("labeled", "unlabeled"):
        label = _str(_get(payload, "label", "name"), "label.name")
    sender = payload.get("sender")
    sender = sender.get("login") if isinstance(sender, dict) else None
    return PrEvent(
        action=action,
        repo=repo,
        pr=number,
        sha=sha,
        updated_at=updated_at,
        is_fork=is_fork,
        author=author if isinstance(author, str) else "",
        labels=labels,
        label=label,
        sender=sender if isinstance(sender, str) and LOGIN_RE.fullmatch(sender) else "",
    )
