"""Read a verified `pull_request` or `issue_comment` payload into the facts our policy needs.

Only validated values leave this module: the repository name (matched against
our allow-list by the caller), the PR number as an int, the head SHA as 40 hex,
and the timestamp; of a comment, its id as an int, its sender's login and the
command its first line names. Logins and label names are read only to be
compared with our configuration; titles, branch names and bodies are never read
at all, but for a comment's first line, which is only compared with the fixed
command lines and never kept.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from types import ModuleType

from .vocabulary import Command

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")

# The PR number becomes a port lease index and an SQLite integer; GitHub's numbers are far below this.
PR_NUMBER_MAX = 10**9

HANDLED_ACTIONS = {"opened", "reopened", "synchronize", "closed", "labeled", "unlabeled"}

# The comment ids GitHub gives are far below this; it keeps them a 64-bit SQLite integer.
COMMENT_ID_MAX = 2**53

# The first line of a comment that asks for a command, exactly (surrounding spaces and a CR aside).
COMMAND_LINES = {command.line: command for command in Command}

# The action of what the sweep found on GitHub for an open PR (shim/sweep.py); GitHub sends no such action.
SWEEP_ACTION = "sweep"


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


@dataclass(frozen=True)
class CommentCommand:
    """A `/preview <command>` comment on a pull request: who asked for what, and where."""

    repo: str
    pr: int
    comment_id: int
    sender: str
    command: Command


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
    pull = _get(payload, "pull_request")
    label = ""
    if action in ("labeled", "unlabeled"):
        label = _str(_get(payload, "label", "name"), "label.name")
    sender = payload.get("sender")
    sender = sender.get("login") if isinstance(sender, dict) else None
    return _pull_event(
        action,
        repo,
        _get(payload, "number"),
        pull,
        "pull_request",
        label=label,
        # The sender's login ends up in a GitHub API path, so nothing but a login is taken.
        sender=sender if isinstance(sender, str) and _naming().LOGIN_RE.match(sender) else "",
    )


def parse_issue_comment(payload) -> CommentCommand | None:
    """The command of a new comment on a pull request, or None when it asks for none.

    None for an edited or deleted comment, a comment on an issue that is not a pull request, a first line
    that is not one of the command lines, and a sender that is not a user's login (an app's `name[bot]`: the
    permission API is asked about users). The body goes no further than this function.
    """
    if not isinstance(payload, dict):
        raise PayloadError("payload must be a JSON object")
    if _str(_get(payload, "action"), "action", 64) != "created":
        return None
    issue = _get(payload, "issue")
    if not isinstance(issue, dict):
        raise PayloadError("issue must be a JSON object")
    if not isinstance(issue.get("pull_request"), dict):
        return None
    body = _get(payload, "comment", "body")
    if not isinstance(body, str):
        raise PayloadError("comment.body must be a string")
    command = COMMAND_LINES.get(body.split("\n", 1)[0].strip())
    if command is None:
        return None
    repo = _str(_get(payload, "repository", "full_name"), "repository.full_name")
    number = _get(payload, "issue", "number")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= PR_NUMBER_MAX:
        raise PayloadError(f"issue.number must be a positive integer up to {PR_NUMBER_MAX}")
    comment_id = _get(payload, "comment", "id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int) or not 0 < comment_id <= COMMENT_ID_MAX:
        raise PayloadError(f"comment.id must be a positive integer up to {COMMENT_ID_MAX}")
    sender = _get(payload, "sender", "login")
    if not isinstance(sender, str) or not _naming().LOGIN_RE.match(sender):
        return None
    return CommentCommand(repo=repo, pr=number, comment_id=comment_id, sender=sender, command=command)


def parse_listed_pull(pull, repo: str) -> PrEvent:
    """A pull request as `GET /repos/{repo}/pulls` (or `.../pulls/{number}`) shows it, as the event the sweep
    applies: `closed` for a closed one, else `SWEEP_ACTION`, which the policy reads as any other change of an
    open PR (its labels as listed; an approval label is never a new claim). `repo` is ours to spell."""
    if not isinstance(pull, dict):
        raise PayloadError("a listed pull request must be a JSON object")
    action = "closed" if _get(pull, "state") == "closed" else SWEEP_ACTION
    return _pull_event(action, repo, _get(pull, "number"), pull, "pull")


def _pull_event(action: str, repo: str, number, pull, where: str, label: str = "", sender: str = "") -> PrEvent:
    """The facts of a pull request object (`where` names it in the errors)."""
    if not isinstance(pull, dict):
        raise PayloadError(f"{where} must be a JSON object")

    def field(*keys):
        return _get({where: pull}, where, *keys)  # the error names the field's whole path

    sha = field("head", "sha")
    updated_at = field("updated_at")
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= PR_NUMBER_MAX:
        raise PayloadError(f"number must be a positive integer up to {PR_NUMBER_MAX}")
    if not isinstance(sha, str) or not _naming().SHA_RE.match(sha):
        raise PayloadError(f"{where}.head.sha must be 40 lowercase hex characters")
    if not isinstance(updated_at, str) or not TIMESTAMP_RE.fullmatch(updated_at):
        raise PayloadError(f"{where}.updated_at must be an ISO 8601 UTC timestamp")

    head_repo = field("head").get("repo")
    base_repo = field("base").get("repo")
    head_name = head_repo.get("full_name") if isinstance(head_repo, dict) else None
    base_name = base_repo.get("full_name") if isinstance(base_repo, dict) else repo
    # A head repository that is gone (deleted fork) or differs from the base is a fork.
    is_fork = head_name is None or not isinstance(head_name, str) or head_name.lower() != str(base_name).lower()
    user = pull.get("user")
    author = user.get("login", "") if isinstance(user, dict) else ""
    raw_labels = pull.get("labels") or []
    if not isinstance(raw_labels, list):
        raise PayloadError(f"{where}.labels must be a list")
    labels = frozenset(
        item["name"] for item in raw_labels if isinstance(item, dict) and isinstance(item.get("name"), str)
    )
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
        sender=sender,
    )


@functools.cache
def _naming() -> ModuleType:
    """The collection's _naming.py, the one home of the SHA and login rules; imported on first use, as
    shim.store imports _sqlite (shim.config imports this module)."""
    from .config import collection_module

    return collection_module("", "_naming")
