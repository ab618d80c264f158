from __future__ import annotations

import pytest

from shim.events import PrEvent
from shim.policy import Policy, decide

A, B = "a" * 40, "b" * 40


def event(action="opened", sha=A, fork=False, author="dev", labels=(), label=""):
    return PrEvent(action=action, repo="o/r", pr=1, sha=sha, updated_at="2026-01-01T00:00:00Z", is_fork=fork,
                   author=author, labels=frozenset(labels), label=label)


def test_same_repo_pr_deploys():
    assert decide(event(), Policy()).state == "present"


def test_closed_is_absent_even_for_forks():
    assert decide(event("closed", fork=True), Policy()).state == "absent"


def test_fork_waits_for_the_approval_label():
    decision = decide(event(fork=True), Policy())
    assert (decision.state, decision.reason) == ("held", "fork-needs-approval")


def test_approval_holds_for_that_sha_only():
    approved = decide(event("labeled", fork=True, labels={"preview-approved"}, label="preview-approved"), Policy())
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
