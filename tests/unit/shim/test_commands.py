"""`/preview <command>` comments: read from the payload, stored at intake, asked of GitHub (the stand-in) and
applied by the converger's verifier, acknowledged with a reaction."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from shim import events
from shim.app import create_app
from shim.approvals import ApprovalVerifier
from shim.commands import CommandVerifier, refusal
from shim.config import Config, RepoConfig
from shim.converger import Converger
from shim.policy import Policy, approval_of, command_decision, decide, sweep_may_move
from shim.store import Delivery, Store
from shim.vocabulary import Command, CommandOutcome, DesiredState, Reason
from tests.support.github_standin import GitHubStandIn
from tests.support.webhooks import issue_comment_payload, pull_request_payload, signed_headers
from tests.unit.shim.seams import Clock, Runs, settle

SECRET = "unit-test-secret-0123456789"
TOKEN = "test-token"
REPO = "octo/hello"
A, B = "a" * 40, "b" * 40


# --- the payload ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(Command))
def test_each_command_line_is_read(command):
    payload = issue_comment_payload(REPO, 5, 77, f"{command.line}\r\nplease, the build was flaky", "writer")
    assert events.parse_issue_comment(payload) == events.CommentCommand(REPO, 5, 77, "writer", command)


@pytest.mark.parametrize(
    "body",
    [
        "/preview Redeploy",
        "/preview redeploy now",
        "/previewredeploy",
        "please /preview redeploy",
        "hello\n/preview redeploy",
        "/preview",
        "/preview restart",
        "",
    ],
)
def test_anything_but_a_command_line_is_no_command(body):
    assert events.parse_issue_comment(issue_comment_payload(REPO, 5, 77, body, "writer")) is None


def test_edited_deleted_and_issue_comments_and_apps_are_no_commands():
    edited = issue_comment_payload(REPO, 5, 77, "/preview destroy", "writer", action="edited")
    on_issue = issue_comment_payload(REPO, 5, 77, "/preview destroy", "writer", on_pull_request=False)
    by_app = issue_comment_payload(REPO, 5, 77, "/preview destroy", "renovate[bot]")
    assert [events.parse_issue_comment(p) for p in (edited, on_issue, by_app)] == [None, None, None]


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("comment.id", "77", "comment.id must be a positive integer"),
        ("comment.id", True, "comment.id must be a positive integer"),
        ("issue.number", 0, "issue.number must be a positive integer"),
        ("comment.body", None, "comment.body must be a string"),
    ],
)
def test_a_command_with_a_bad_field_is_a_payload_error(where, value, message):
    payload = issue_comment_payload(REPO, 5, 77, "/preview pin", "writer")
    outer, inner = where.split(".")
    payload[outer][inner] = value
    with pytest.raises(events.PayloadError, match=message):
        events.parse_issue_comment(payload)


# --- what each command does to the desired state (pure) ------------------------------------------------------


def row(state="present", reason="deploy", sha=A, **extra) -> dict:
    return {
        "state": state,
        "reason": reason,
        "sha": sha,
        "approved_sha": "",
        "held_sha": "",
        "claim_sha": "",
        "claim_by": "",
        "pinned": 0,
        "pinned_by_command": 0,
        "fork": 0,
        **extra,
    }


def test_redeploy_reruns_a_present_pr_only():
    decision = command_decision(row(), Command.REDEPLOY, A)
    assert (decision.state, decision.sha, decision.reason, decision.rerun) == ("present", A, Reason.REDEPLOY, True)
    assert command_decision(row("absent", "closed"), Command.REDEPLOY, A) is None
    assert command_decision(row("absent", "ttl"), Command.REDEPLOY, A) is None
    assert command_decision(row("held", "fork-needs-approval"), Command.REDEPLOY, A) is None
    assert command_decision(None, Command.REDEPLOY, "") is None


def test_destroy_removes_until_the_head_moves():
    decision = command_decision(row(), Command.DESTROY, A)
    assert (decision.state, decision.reason) == (DesiredState.ABSENT, Reason.DESTROYED)
    assert command_decision(row("absent", "closed"), Command.DESTROY, A) is None
    destroyed = row("absent", "destroyed")
    # The sweep, which sees the PR open at the same commit, keeps it removed; a push brings it back.
    open_pr = events.PrEvent(events.SWEEP_ACTION, REPO, 5, A, "2026-12-01T10:00:00Z")
    assert not sweep_may_move(destroyed, decide(open_pr, Policy()))
    assert sweep_may_move(destroyed, decide(open_pr.__class__(**{**open_pr.__dict__, "sha": B}), Policy()))


def test_pin_and_unpin_keep_apart_from_the_label():
    pinned = command_decision(row(), Command.PIN, A)
    assert (pinned.pinned_by_command, pinned.pinned, pinned.state, pinned.rerun) == (True, False, "present", False)
    # A later event of the PR recomputes the label's pin but keeps the command's.
    event = events.PrEvent("synchronize", REPO, 5, B, "2026-12-01T10:00:00Z")
    assert decide(event, Policy(), **approval_of(row(pinned_by_command=1))).pinned_by_command is True
    assert command_decision(row(pinned_by_command=1), Command.UNPIN, A).pinned_by_command is False
    assert command_decision(row(pinned=1), Command.UNPIN, A) is None  # the label pins it: remove the label


def test_approve_approves_the_commit_the_hold_comment_named_when_the_comment_came():
    held = row("held", "fork-needs-approval", held_sha=A, fork=1)
    decision = command_decision(held, Command.APPROVE, A)
    assert (decision.state, decision.approved_sha, decision.reason) == ("present", A, Reason.DEPLOY)
    assert command_decision(held, Command.APPROVE, B) is None  # the PR moved on since the comment
    assert command_decision(row("held", "fork-needs-approval", sha=B, held_sha=A), Command.APPROVE, B) is None
    assert command_decision(row("held", "fork-denied", held_sha=A), Command.APPROVE, A) is None
    assert command_decision(row(), Command.APPROVE, A) is None


# --- through the shim: intake, the verifier with the stand-in, the converger's runs ---------------------------


@pytest.fixture
def github():
    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as server:
        yield server


class Shim:
    def __init__(self, tmp_path, github: GitHubStandIn):
        self.github = github
        self.config = Config(
            webhook_secret=SECRET,
            github_token=TOKEN,
            github_api_url=github.base_url,
            repositories={REPO: RepoConfig(REPO, "/srv/hello", "hello")},
        )
        self.store = Store(str(tmp_path / "state.db"))
        self.clock = Clock()
        self.runs = Runs()
        self.restart()
        self.minute = 0

    def restart(self) -> None:
        """A converger as a fresh shim process has it: nothing in memory but what the store holds."""
        commands = CommandVerifier.from_config(self.config, self.store)
        commands.backoff.clock = self.clock
        self.converger = Converger(
            self.config,
            self.store,
            run=self.runs,
            clock=self.clock,
            verifier=ApprovalVerifier.from_config(self.config, self.store),
            commands=commands,
        )
        self.client = falcon.testing.TestClient(create_app(self.config, self.store, self.converger))

    def post(self, event: str, payload: dict):
        body = json.dumps(payload).encode()
        return self.client.simulate_post("/webhook/github", body=body, headers=signed_headers(SECRET, body, event))

    def open(self, sha: str = A, fork: bool = False) -> None:
        self.minute += 1
        payload = pull_request_payload("opened", REPO, 5, sha, f"2026-12-01T10:{self.minute:02d}:00Z")
        if fork:
            payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/hello"
        assert self.post("pull_request", payload).status_code == 202
        self.converge()

    def command(self, body: str, sender: str, on_pull_request: bool = True) -> tuple[int, dict, falcon.testing.Result]:
        """Comment on PR 5 (in the stand-in, as GitHub keeps it) and deliver the event; returns the comment's id,
        the payload and the answer."""
        comment = self.github.add_comment(REPO, 5, body, login=sender)
        payload = issue_comment_payload(REPO, 5, comment["id"], body, sender, on_pull_request=on_pull_request)
        return comment["id"], payload, self.post("issue_comment", payload)

    def converge(self) -> None:
        self.converger._verify_approvals()
        settle(self.converger)
        self.converger._tick()
        settle(self.converger)

    def row(self) -> dict:
        return self.store.desired(REPO, 5)

    def replies(self) -> list[str]:
        return [c["body"] for c in self.github.comments(REPO, 5) if c["user"]["login"] == self.github.login]

    def reactions(self, comment_id: int) -> list[str]:
        return [reaction["content"] for reaction in self.github.reactions(REPO, comment_id)]


@pytest.fixture
def shim(tmp_path, github):
    shim = Shim(tmp_path, github)
    yield shim
    shim.store.close()


def permission_requests(github) -> list[str]:
    return [r.path for r in github.requests if r.path.endswith("/permission")]


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
def test_a_writers_redeploy_runs_the_deploy_again_at_the_same_commit(shim, github, role):
    github.set_role(REPO, "writer", role)
    shim.open()
    assert shim.runs.calls == [("deploy", 5, A)]

    comment_id, dummy, answer = shim.command("/preview redeploy", "writer")
    assert answer.status_code == 202 and answer.json["outcome"] == "accepted"
    assert answer.json["command"] == "redeploy"
    assert permission_requests(github) == [] and shim.store.pending_count() == 1  # asked later, off the request
    shim.converge()

    assert shim.runs.calls == [("deploy", 5, A), ("deploy", 5, A)]
    row = shim.row()
    assert (row["state"], row["reason"], row["generation"], row["applied_generation"]) == ("present", "redeploy", 2, 2)
    assert shim.reactions(comment_id) == ["+1"] and shim.replies() == []
    assert shim.store.commands() == [] and shim.store.pending_count() == 0
    assert github.violations == []


@pytest.mark.parametrize("role", ["read", "triage", None])
def test_a_readers_command_is_refused_with_one_reply_and_nothing_else(shim, github, role):
    github.set_role(REPO, "reader", role)
    shim.open()
    comment_id, dummy, answer = shim.command("/preview destroy", "reader")
    assert answer.status_code == 202
    shim.converge()
    shim.converge()

    assert shim.runs.calls == [("deploy", 5, A)]
    assert (shim.row()["state"], shim.row()["generation"]) == ("present", 1)
    assert shim.reactions(comment_id) == ["confused"]
    assert shim.replies() == [refusal("reader", Command.DESTROY)]
    assert "write, maintain or admin" in shim.replies()[0]
    assert shim.store.commands() == [] and github.violations == []


def test_a_writers_destroy_removes_the_preview_and_the_next_push_brings_it_back(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    comment_id, dummy, dummy = shim.command("/preview destroy", "writer")
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A), ("cleanup", 5, A)]
    assert (shim.row()["state"], shim.row()["reason"]) == ("absent", "destroyed")
    assert shim.reactions(comment_id) == ["+1"]

    payload = pull_request_payload("synchronize", REPO, 5, B, "2026-12-01T11:00:00Z")
    assert shim.post("pull_request", payload).status_code == 202
    shim.converge()
    assert shim.runs.calls[-1] == ("deploy", 5, B)


def test_pin_exempts_from_the_ttl_until_unpin(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    pin, dummy, dummy = shim.command("/preview pin", "writer")
    shim.converge()
    assert shim.row()["pinned_by_command"] == 1 and shim.reactions(pin) == ["+1"]
    assert shim.runs.calls == [("deploy", 5, A)]  # a pin runs nothing
    assert shim.store.expire(0, now=shim.row()["activity"] + 10) == []

    unpin, dummy, dummy = shim.command("/preview unpin", "writer")
    shim.converge()
    assert shim.row()["pinned_by_command"] == 0 and shim.reactions(unpin) == ["+1"]
    assert shim.store.expire(0, now=shim.row()["activity"] + 10) == [(REPO, 5)]


def test_approve_deploys_a_held_fork_pr_at_the_commit_the_hold_comment_named(shim, github):
    github.set_role(REPO, "maintainer", "write")
    shim.open(fork=True)
    assert shim.runs.calls == [("hold", 5, A)]
    comment_id, dummy, dummy = shim.command("/preview approve", "maintainer")
    shim.converge()
    assert shim.runs.calls == [("hold", 5, A), ("deploy", 5, A)]
    assert (shim.row()["state"], shim.row()["approved_sha"]) == ("present", A)
    assert shim.reactions(comment_id) == ["+1"]


def test_a_command_that_does_not_apply_gets_a_confused_reaction(shim, github):
    github.set_role(REPO, "writer", "write")
    comment_id, dummy, dummy = shim.command("/preview redeploy", "writer")  # a PR the shim never saw
    shim.converge()
    assert shim.runs.calls == [] and shim.reactions(comment_id) == ["confused"] and shim.replies() == []


@pytest.mark.parametrize(
    ("body", "on_pull_request"),
    [("/preview please", True), ("Looks good to me", True), ("/preview redeploy", False)],
)
def test_other_comments_are_ignored_silently(shim, github, body, on_pull_request):
    shim.open()
    comment_id, dummy, answer = shim.command(body, "writer", on_pull_request=on_pull_request)
    assert (answer.status_code, answer.json["outcome"]) == (200, "ignored")
    shim.converge()
    assert permission_requests(github) == [] and shim.reactions(comment_id) == [] and shim.replies() == []
    assert shim.store.commands() == [] and shim.runs.calls == [("deploy", 5, A)]


def test_a_command_on_a_repository_not_configured_is_forbidden(shim):
    payload = issue_comment_payload("elsewhere/repo", 5, 77, "/preview destroy", "writer")
    assert shim.post("issue_comment", payload).status_code == 403
    assert shim.store.commands() == []


def test_a_redelivered_command_is_stored_once(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    comment_id, payload, dummy = shim.command("/preview redeploy", "writer")
    again = shim.post("issue_comment", payload)  # GitHub's redelivery would keep the GUID; a new one still is one
    assert (again.status_code, again.json["outcome"]) == (200, "unchanged")
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A), ("deploy", 5, A)]


def test_github_down_leaves_the_command_pending_then_it_is_applied_even_after_a_restart(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    github.fail_next(2, 502, path_prefix=f"/repos/{REPO}/collaborators/")
    comment_id, dummy, dummy = shim.command("/preview redeploy", "writer")

    shim.converge()
    assert len(shim.store.commands()) == 1 and shim.runs.calls == [("deploy", 5, A)]
    shim.converge()  # within the retry time: GitHub is not asked again
    assert len(permission_requests(github)) == 1
    shim.clock.now += 5
    shim.converge()
    assert len(permission_requests(github)) == 2 and len(shim.store.commands()) == 1

    shim.restart()  # the command is in the state file, not in memory
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A), ("deploy", 5, A)]
    assert shim.reactions(comment_id) == ["+1"] and shim.store.commands() == []


def test_a_reaction_github_did_not_take_is_given_later_and_the_command_applied_once(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    comment_id, dummy, dummy = shim.command("/preview redeploy", "writer")
    github.fail_next(1, 502, method="POST", path_prefix=f"/repos/{REPO}/issues/comments/")
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A), ("deploy", 5, A)]
    assert shim.store.commands()[0]["outcome"] == CommandOutcome.APPLIED and shim.reactions(comment_id) == []

    shim.clock.now += 5
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A), ("deploy", 5, A)]  # not redeployed twice
    assert shim.reactions(comment_id) == ["+1"] and shim.store.commands() == []
    assert len(permission_requests(github)) == 1


def test_the_commands_of_one_pr_apply_in_the_order_they_came(shim, github):
    github.set_role(REPO, "writer", "write")
    shim.open()
    github.fail_next(1, 502, path_prefix=f"/repos/{REPO}/collaborators/")
    shim.command("/preview destroy", "writer")
    shim.command("/preview redeploy", "writer")  # must not run before the destroy is settled
    shim.converge()
    assert shim.runs.calls == [("deploy", 5, A)] and len(shim.store.commands()) == 2

    shim.clock.now += 5
    shim.converge()
    shim.converge()
    # The destroy first; the redeploy then finds nothing present to redeploy.
    assert shim.runs.calls == [("deploy", 5, A), ("cleanup", 5, A)]
    assert (shim.row()["state"], shim.row()["reason"]) == ("absent", "destroyed")


def test_without_a_token_a_command_waits(tmp_path, caplog):
    config = Config(webhook_secret=SECRET, repositories={REPO: RepoConfig(REPO, "/srv/hello", "hello")})
    store = Store(str(tmp_path / "state.db"))
    command = events.CommentCommand(REPO, 5, 77, "writer", Command.PIN)
    [stored] = store.accept_batch([Delivery("g1", "issue_comment", "created", REPO, 5, command=command)])
    assert stored.outcome == "accepted"
    assert CommandVerifier.from_config(config, store).run_once() == 0
    assert len(store.commands()) == 1 and "no github.token" in caplog.text
    store.close()


def test_a_command_of_the_wrong_shape_is_unprocessable_and_not_stored(shim):
    payload = issue_comment_payload(REPO, 5, 77, "/preview destroy", "writer")
    payload["comment"]["id"] = "77"
    answer = shim.post("issue_comment", payload)
    assert answer.status_code == 422 and "comment.id" in answer.json["description"]
    assert shim.store.commands() == [] and shim.store.deliveries() == []
