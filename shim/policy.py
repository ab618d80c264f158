"""Who may deploy: the decision for one PR event, as pure logic.

Fork PRs run code nobody on the team wrote. By default they are held until a
maintainer adds the approval label, and that approval holds for the head SHA
it was given on; a new push needs a new approval. Authors in the trusted list
skip the gate. An optional label filter deploys only labelled PRs. The pin
label exempts a preview from the idle TTL.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import PrEvent


@dataclass(frozen=True)
class Policy:
    forks: str = "label"  # deny | label | allow
    approve_label: str = "preview-approved"
    trusted_authors: frozenset[str] = frozenset()
    require_label: str = ""
    pin_label: str = "preview-pinned"


@dataclass(frozen=True)
class Decision:
    state: str  # present | absent | held
    sha: str
    approved_sha: str
    pinned: bool
    reason: str  # a code: deploy, closed, unlabeled, fork-needs-approval, fork-denied


def decide(event: PrEvent, policy: Policy, approved_sha: str = "") -> Decision:
    """The PR's wanted state after `event`; `approved_sha` is the approval recorded so far."""
    labels = set(event.labels)
    if event.action == "labeled":
        labels.add(event.label)
    elif event.action == "unlabeled":
        labels.discard(event.label)
    if event.action == "labeled" and event.label == policy.approve_label:
        approved_sha = event.sha
    elif event.action == "unlabeled" and event.label == policy.approve_label:
        approved_sha = ""
    pinned = bool(policy.pin_label) and policy.pin_label in labels

    def result(state: str, reason: str) -> Decision:
        return Decision(state=state, sha=event.sha, approved_sha=approved_sha, pinned=pinned, reason=reason)

    if event.closed:
        return result("absent", "closed")
    if policy.require_label and policy.require_label not in labels:
        return result("absent", "unlabeled")
    if event.is_fork and event.author.lower() not in {a.lower() for a in policy.trusted_authors}:
        if policy.forks == "deny":
            return result("held", "fork-denied")
        if policy.forks == "label" and approved_sha != event.sha:
            return result("held", "fork-needs-approval")
    return result("present", "deploy")
