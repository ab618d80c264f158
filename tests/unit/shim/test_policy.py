from __future__ import annotations

import pytest

from shim.events import PrEvent
from shim.policy import Policy, approval_settled, decide

A, B = "a" * 40, "b" * 40


def event(action="opened", sha=A, fork=False, author="dev", labels=(), label="", sender="maintainer"):
    return PrEvent(
        action=action,
        repo="o/r",
        pr=1,
        sha=sha,
        updated_at="2026-01-01T00:00:00Z",
        is_fork=fork,
        author=author,
        labels=frozenset(labels),
        label=label,
        sender=sender,
    )


def test_same_repo_pr_deploys():
    assert decide(event(), Policy()).state == "present"


def test_closed_is_absent_even_for_forks():
    assert decide(event("closed", fork=True), Policy()).state == "absent"


def test_fork_waits_for_the_approval_label():
    decision = decide(event(fork=True), Policy())
    assert (decision.state, decision.reason) == ("held", "fork-needs-approval")


def test_approval_holds_for_that_sha_only():
    approved = decide(event("labeled", fork=True, labels={"preview-approved"}, label="preview-approved"), Policy(), A)
    assert (approved.state, approved.approved_sha) == ("present", A)
    pushed = decide(event("synchronize", sha=B, fork=True, labels={"preview-approved"}), Policy(), A)
    assert (pushed.state, pushed.reason) == ("held", "fork-needs-approval")
    again = decide(event("synchronize", sha=A, fork=True), Policy(), A)
    assert again.state == "present"


def test_removing_the_approval_label_withdraws_it():
    decision = decide(event("unlabeled", fork=True, label="preview-approved"), Policy(), A)
    assert (decision.state, decision.approved_sha) == ("held", "")


@pytest.mark.parametrize("author", ["Trusted", "trusted"])
def test_trusted_authors_skip_the_gate(author):
    assert decide(event(fork=True, author=author), Policy(trusted_authors=frozenset({"trusted"}))).state == "present"


def test_forks_can_be_denied_outright():
    decision = decide(event("labeled", fork=True, label="preview-approved"), Policy(forks="deny"))
    assert (decision.state, decision.reason) == ("held", "fork-denied")


def test_forks_can_be_allowed():
    assert decide(event(fork=True), Policy(forks="allow")).state == "present"


def test_label_filter():
    policy = Policy(require_label="preview")
    assert decide(event(), policy).state == "absent"
    assert decide(event("labeled", labels={"preview"}, label="preview"), policy).state == "present"
    assert decide(event("unlabeled", labels={"preview"}, label="preview"), policy).reason == "unlabeled"


def test_pin_label_pins():
    assert decide(event(labels={"preview-pinned"}), Policy()).pinned is True
    assert decide(event(), Policy()).pinned is False


def approve_label(sha=A, sender="maintainer"):
    return event("labeled", sha=sha, fork=True, labels={"preview-approved"}, label="preview-approved", sender=sender)


def test_an_approval_label_is_a_claim_until_github_confirms_its_sender():
    decision = decide(approve_label(), Policy(), held_sha=A)
    assert (decision.state, decision.reason, decision.approved_sha) == ("held", "fork-needs-approval", "")
    assert (decision.claim_sha, decision.claim_by) == (A, "maintainer")


@pytest.mark.parametrize(("held_sha", "sender"), [(B, "maintainer"), ("", "maintainer"), (A, "")])
def test_a_label_counts_only_for_the_commit_the_hold_comment_named_and_from_a_user(held_sha, sender):
    decision = decide(approve_label(sender=sender), Policy(), held_sha=held_sha)
    assert (decision.state, decision.claim_sha, decision.claim_by) == ("held", "", "")


def test_a_pr_that_waits_for_no_approval_keeps_no_claim():
    same_repo = event("labeled", labels={"preview-approved"}, label="preview-approved")
    assert decide(same_repo, Policy(), held_sha=A).claim_sha == ""
    closed = decide(event("closed", fork=True), Policy(), held_sha=A, claim_sha=A, claim_by="maintainer")
    assert (closed.state, closed.claim_sha) == ("absent", "")


def test_removing_the_label_drops_a_claim():
    decision = decide(
        event("unlabeled", fork=True, label="preview-approved"),
        Policy(),
        held_sha=A,
        claim_sha=A,
        claim_by="maintainer",
    )
    assert (decision.state, decision.claim_sha, decision.claim_by) == ("held", "", "")


def row(state="held", reason="fork-needs-approval", sha=A, claim_sha=A, approved_sha=""):
    return {
        "state": state,
        "reason": reason,
        "sha": sha,
        "claim_sha": claim_sha,
        "approved_sha": approved_sha,
        "pinned": 0,
    }


def test_a_confirmed_claim_deploys_the_commit_it_names():
    decision = approval_settled(row(), allowed=True)
    assert (decision.state, decision.reason, decision.sha, decision.approved_sha) == ("present", "deploy", A, A)
    assert decision.claim_sha == ""


@pytest.mark.parametrize(
    ("current", "allowed", "state", "approved"),
    [
        (row(), False, "held", ""),  # the sender may not approve: the approval is dropped
        (row(sha=B), True, "held", A),  # pushed meanwhile: the approval stays with its commit, the PR waits
        (row(state="absent", reason="closed"), True, "absent", A),
    ],
)
def test_a_claim_moves_nothing_else(current, allowed, state, approved):
    decision = approval_settled(current, allowed)
    assert (decision.state, decision.approved_sha, decision.claim_sha) == (state, approved, "")
