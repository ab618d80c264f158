"""Who may deploy: the decision for one PR event, as pure logic.

Fork PRs run code nobody on the team wrote. By default they are held until a
maintainer adds the approval label, and that approval holds for the head SHA
it was given on; a new push needs a new approval. A label is only a *claim*
until GitHub confirms that its sender may write to the repository (the
converger asks, off the request thread), and it only counts for the commit the
hold comment named: whoever added it saw that one. Authors in the trusted list
skip the gate. With forks denied, a fork PR is told so once; its later pushes
change nothing. An optional label filter deploys only labelled PRs. The pin
label exempts a preview from the idle TTL.

A `/preview <command>` comment from someone GitHub says may write to the
repository moves the same state (`command_decision`): a redeploy, a removal
that lasts until the next push, a pin kept apart from the label's, or the
approval of the commit the hold comment named.
"""

from __future__ import annotations

from dataclasses import dataclass

from .events import PrEvent
from .vocabulary import Command, DesiredState, Reason


@dataclass(frozen=True)
class Policy:
    forks: str = "label"  # deny | label | allow
    approve_label: str = "preview-approved"
    trusted_authors: frozenset[str] = frozenset()
    require_label: str = ""
    pin_label: str = "preview-pinned"


@dataclass(frozen=True)
class Decision:
    state: DesiredState
    sha: str
    approved_sha: str  # an approval GitHub confirmed
    pinned: bool
    reason: Reason
    claim_sha: str = ""  # an approval label not confirmed yet: the commit it is for,
    claim_by: str = ""  # and the login that added it
    fork: bool = False  # the head is a fork's: the server's compose_allow is never lifted for it
    pinned_by_command: bool = False  # a `/preview pin` (`pinned` is the pin label's); either exempts from the TTL
    rerun: bool = False  # run again although nothing else changed (`/preview redeploy`)


APPROVAL_COLUMNS = ("approved_sha", "held_sha", "claim_sha", "claim_by")


def approval_of(row: dict | None) -> dict:
    """What a PR's desired row knows of its approval (and of a pin by command), as keyword arguments of `decide`."""
    if not row:
        return {}
    return {**{key: row[key] for key in APPROVAL_COLUMNS}, "pinned_by_command": bool(row["pinned_by_command"])}


def decide(
    event: PrEvent,
    policy: Policy,
    approved_sha: str = "",
    held_sha: str = "",
    claim_sha: str = "",
    claim_by: str = "",
    pinned_by_command: bool = False,
) -> Decision:
    """The PR's wanted state after `event`.

    `approved_sha` is the confirmed approval so far, `held_sha` the commit the last hold comment named,
    `claim_sha` / `claim_by` an approval label that waits for GitHub's word on its sender, and
    `pinned_by_command` a `/preview pin` in force.
    """
    labels = set(event.labels)
    if event.action == "labeled":
        labels.add(event.label)
    elif event.action == "unlabeled":
        labels.discard(event.label)
    if event.action == "labeled" and event.label == policy.approve_label:
        # A label on a commit the hold comment did not show its sender approves nothing.
        claim_sha, claim_by = (event.sha, event.sender) if event.sender and event.sha == held_sha else ("", "")
    elif event.action == "unlabeled" and event.label == policy.approve_label:
        approved_sha, claim_sha, claim_by = "", "", ""
    pinned = bool(policy.pin_label) and policy.pin_label in labels

    def result(state: DesiredState, reason: Reason) -> Decision:
        # A claim matters only to a PR that waits for an approval; for any other, GitHub need not be asked.
        waits = reason == Reason.FORK_NEEDS_APPROVAL
        return Decision(
            state=state,
            sha=event.sha,
            approved_sha=approved_sha,
            pinned=pinned,
            reason=reason,
            claim_sha=claim_sha if waits else "",
            claim_by=claim_by if waits else "",
            fork=event.is_fork,
            pinned_by_command=pinned_by_command,
        )

    if event.closed:
        return result(DesiredState.ABSENT, Reason.CLOSED)
    if policy.require_label and policy.require_label not in labels:
        return result(DesiredState.ABSENT, Reason.UNLABELED)
    if event.is_fork and event.author.lower() not in {a.lower() for a in policy.trusted_authors}:
        if policy.forks == "deny":
            return result(DesiredState.HELD, Reason.FORK_DENIED)
        if policy.forks == "label" and approved_sha != event.sha:
            return result(DesiredState.HELD, Reason.FORK_NEEDS_APPROVAL)
    return result(DesiredState.PRESENT, Reason.DEPLOY)


def same_wanted_state(current: dict, decision: Decision) -> bool:
    """True when `decision` wants nothing that the PR's current desired row (state, sha, reason) does not.

    A denied fork PR's comment names no commit, so a push to it has nothing new to say: one hold run per
    denial, not one per push.
    """
    if decision.rerun or current["state"] != decision.state:
        return False
    if decision.state == DesiredState.ABSENT:
        return True
    if decision.state == DesiredState.HELD and decision.reason == current["reason"] == Reason.FORK_DENIED:
        return True
    return current["sha"] == decision.sha


def sweep_may_move(current: dict | None, decision: Decision) -> bool:
    """Whether the sweep (shim/sweep.py) may apply `decision`, made from GitHub's view of an open or closed PR.

    Everything but one: a preview the TTL (or a `/preview destroy`) removed stays removed until the PR's head
    moves. GitHub's `updated_at` moves with every comment, our own included, so a newer one says nothing about
    the PR being worked on; a push (or a webhook of any kind) is what brings an idle preview back.
    """
    if current is None or decision.state == DesiredState.ABSENT:
        return True
    expired = current["state"] == DesiredState.ABSENT and current["reason"] in (Reason.TTL, Reason.DESTROYED)
    return not expired or current["sha"] != decision.sha


def approval_settled(current: dict, allowed: bool) -> Decision:
    """The PR's wanted state once GitHub said whether the sender of its approval claim may approve.

    Either way the claim is gone. Confirmed, it becomes the approval, and a PR held for want of exactly
    that approval is deployed at the commit the claim names; refused, the PR stays as it is.
    """
    claim = current["claim_sha"]
    approved = claim if allowed else current["approved_sha"]
    waited_for_it = (
        current["state"] == DesiredState.HELD
        and current["reason"] == Reason.FORK_NEEDS_APPROVAL
        and current["sha"] == claim
    )
    if allowed and waited_for_it:
        state, reason = DesiredState.PRESENT, Reason.DEPLOY
    else:
        state, reason = DesiredState(current["state"]), Reason(current["reason"])
    return Decision(
        state=state,
        sha=current["sha"],
        approved_sha=approved,
        pinned=bool(current["pinned"]),
        reason=reason,
        fork=bool(current.get("fork")),
        pinned_by_command=bool(current.get("pinned_by_command")),
    )


def command_decision(current: dict | None, command: Command, sha: str) -> Decision | None:
    """The PR's wanted state after a `/preview <command>` from someone who may write to the repository, or None
    when the command does not apply to the PR as it is (the comment then gets a `confused` reaction).

    `sha` is the PR's head as the shim knew it when the comment came: `approve` approves that commit only, and
    only when the hold comment named it, as an approval label does. `unpin` does not apply while the pin label
    pins the PR (remove the label). A closed PR (or one the shim never saw) takes none.
    """
    if current is None or (current["state"] == DesiredState.ABSENT and current["reason"] == Reason.CLOSED):
        return None
    state, reason = DesiredState(current["state"]), Reason(current["reason"])
    fields = {
        "sha": current["sha"],
        "approved_sha": current["approved_sha"],
        "pinned": bool(current["pinned"]),
        "fork": bool(current["fork"]),
        "pinned_by_command": bool(current["pinned_by_command"]),
        "claim_sha": current["claim_sha"],
        "claim_by": current["claim_by"],
    }
    if command == Command.REDEPLOY:
        if state != DesiredState.PRESENT:
            return None
        return Decision(state=state, reason=Reason.REDEPLOY, rerun=True, **fields)
    if command == Command.DESTROY:
        if state == DesiredState.ABSENT:
            return None
        return Decision(state=DesiredState.ABSENT, reason=Reason.DESTROYED, **fields)
    if command == Command.PIN:
        return Decision(state=state, reason=reason, **{**fields, "pinned_by_command": True})
    if command == Command.UNPIN:
        if current["pinned"]:
            return None
        return Decision(state=state, reason=reason, **{**fields, "pinned_by_command": False})
    waits = state == DesiredState.HELD and reason == Reason.FORK_NEEDS_APPROVAL
    if not waits or not sha or current["sha"] != sha or current["held_sha"] != sha:
        return None
    return approval_settled({**current, "claim_sha": sha}, allowed=True)
