"""Turn a verified `pull_request` payload into the PR's wanted state.

Only validated values leave this module: the repository as we configured it,
the PR number as an int, the head SHA as 40 hex. Titles, branch names, bodies
and logins are never read into anything that reaches Ansible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")

DEPLOY_ACTIONS = {"opened", "reopened", "synchronize"}
CLEANUP_ACTIONS = {"closed"}


class PayloadError(ValueError):
    """The payload is JSON but not the shape GitHub documents for this event."""


@dataclass(frozen=True)
class Wanted:
    repo: str  # as GitHub spells it in the payload; matched against our allow-list by the caller
    pr: int
    state: str  # "present" or "absent"
    sha: str
    updated_at: str  # ISO 8601 UTC; orders events of one PR


def _get(mapping, *keys):
    value = mapping
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise PayloadError("missing field: " + ".".join(keys))
        value = value[key]
    return value


def wanted_state(payload) -> Wanted | None:
    """The wanted state of the PR, or None when the action is not one we act on."""
    if not isinstance(payload, dict):
        raise PayloadError("payload must be a JSON object")
    action = _get(payload, "action")
    if not isinstance(action, str):
        raise PayloadError("action must be a string")
    if action not in DEPLOY_ACTIONS | CLEANUP_ACTIONS:
        return None
    repo = _get(payload, "repository", "full_name")
    number = _get(payload, "number")
    sha = _get(payload, "pull_request", "head", "sha")
    updated_at = _get(payload, "pull_request", "updated_at")
    if not isinstance(repo, str):
        raise PayloadError("repository.full_name must be a string")
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise PayloadError("number must be a positive integer")
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise PayloadError("pull_request.head.sha must be 40 lowercase hex characters")
    if not isinstance(updated_at, str) or not TIMESTAMP_RE.match(updated_at):
        raise PayloadError("pull_request.updated_at must be an ISO 8601 UTC timestamp")
    state = "absent" if action in CLEANUP_ACTIONS else "present"
    return Wanted(repo=repo, pr=number, state=state, sha=sha, updated_at=updated_at)
