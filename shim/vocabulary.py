"""The words the shim, its store and the playbooks share: one home for each.

StrEnums, so a member is the very string the store keeps, the log line shows and the playbooks receive:
`DesiredState.ABSENT == "absent"`, and a row read back from SQLite compares equal to its member. The
role spells the same codes as `choices` in roles/preview_pr/meta/argument_specs.yml, and its comment
template words each reason (tests/unit/roles/test_vocabulary.py, tests/integration/roles/test_comment_reasons.py).
"""

from __future__ import annotations

from enum import StrEnum


class DesiredState(StrEnum):
    """What a PR's preview should be (the `desired` table's `state`)."""

    PRESENT = "present"  # deployed at the PR's head commit
    ABSENT = "absent"  # no trace left
    HELD = "held"  # not deployed; the PR comment says why (a fork PR without approval)


class RunKind(StrEnum):
    """What a run does: the playbook `playbooks/<kind>.yml`, which enters the role at `tasks_from: <kind>`."""

    DEPLOY = "deploy"
    CLEANUP = "cleanup"
    HOLD = "hold"
    REPORT = "report"  # after a deploy ended at its deadline: record and comment the failure
    RECONCILE = "reconcile"  # the timer's repair pass, for every PR at once

    @property
    def playbook(self) -> str:
        return f"{self.value}.yml"


# The run that brings a PR to its desired state.
RUN_KIND = {
    DesiredState.PRESENT: RunKind.DEPLOY,
    DesiredState.ABSENT: RunKind.CLEANUP,
    DesiredState.HELD: RunKind.HOLD,
}


class RunStatus(StrEnum):
    """How a run ended (the `runs` table's `status`): ansible-runner's words, plus the shim's own."""

    RUNNING = "running"  # started, not finished yet
    SUCCESSFUL = "successful"
    FAILED = "failed"
    TIMEOUT = "timeout"  # ended at the shim's deadline (run_timeout)
    CANCELED = "canceled"  # ended because a newer desired state superseded it
    ERROR = "error"  # ansible-runner itself broke, or the repository is no longer configured
    INTERRUPTED = "interrupted"  # the shim stopped under it (a crash): the run is due again


class Reason(StrEnum):
    """Why a PR's preview is what it is: a code, never free text; the PR comment says it in words."""

    DEPLOY = "deploy"  # an open PR's new head commit (the default)
    MISSING = "missing"  # the reconciler found its stack or route gone
    CLOSED = "closed"
    UNLABELED = "unlabeled"  # the server deploys labelled PRs only, and the label went
    TTL = "ttl"  # idle longer than ttl_hours
    FORK_NEEDS_APPROVAL = "fork-needs-approval"
    FORK_DENIED = "fork-denied"
    DEADLINE = "deadline"  # the deploy passed run_timeout and was ended
    REDEPLOY = "redeploy"  # a `/preview redeploy` command: the same commit deployed again
    DESTROYED = "destroyed"  # a `/preview destroy` command: removed while the PR stays open

    @property
    def run_kind(self) -> RunKind:
        """The run this reason leads to."""
        return _REASON_RUN_KIND[self]


_REASON_RUN_KIND = {
    Reason.DEPLOY: RunKind.DEPLOY,
    Reason.MISSING: RunKind.DEPLOY,
    Reason.CLOSED: RunKind.CLEANUP,
    Reason.UNLABELED: RunKind.CLEANUP,
    Reason.TTL: RunKind.CLEANUP,
    Reason.FORK_NEEDS_APPROVAL: RunKind.HOLD,
    Reason.FORK_DENIED: RunKind.HOLD,
    Reason.DEADLINE: RunKind.REPORT,
    Reason.REDEPLOY: RunKind.DEPLOY,
    Reason.DESTROYED: RunKind.CLEANUP,
}


class Command(StrEnum):
    """What a `/preview <command>` PR comment asks for (the `commands` table's `command`); README, "Commands in
    PR comments", says what each does."""

    REDEPLOY = "redeploy"
    DESTROY = "destroy"
    PIN = "pin"
    UNPIN = "unpin"
    APPROVE = "approve"

    @property
    def line(self) -> str:
        """The comment's first line that asks for it, exactly."""
        return f"/preview {self.value}"


class CommandOutcome(StrEnum):
    """What became of a command once GitHub vouched for its sender, or did not (the `commands` table's `outcome`)."""

    APPLIED = "applied"
    NOT_APPLICABLE = "not-applicable"  # permitted, but nothing to do for the PR as it is (e.g. redeploy a closed PR)
    REFUSED = "refused"  # the sender may not write to the repository
