"""Approval labels on fork PRs: a claim at intake, confirmed with GitHub (the stand-in) by the converger."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import falcon.testing
import pytest

from shim.app import create_app
from shim.approvals import ApprovalVerifier, GitHubUnavailable, PermissionClient
from shim.config import Config, RepoConfig
from shim.converger import Converger
from shim.store import Store
from tests.support.github_standin import GitHubStandIn
from tests.support.webhooks import pull_request_payload, signed_headers
from tests.unit.shim.seams import Clock, Runs, settle

SECRET = "unit-test-secret-0123456789"
TOKEN = "test-token"
REPO = "octo/hello"
A, B = "a" * 40, "b" * 40


@pytest.fixture
def github():
    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as server:
        yield server


class Shim:
    """Intake through Falcon, the converger driven by hand on its `run=` seam, GitHub's part by the stand-in."""

    def __init__(self, tmp_path, github: GitHubStandIn):
        self.config = Config(
            webhook_secret=SECRET,
            github_token=TOKEN,
            github_api_url=github.base_url,
            repositories={REPO: RepoConfig(REPO, "/srv/hello", "hello")},
        )
        self.store = Store(str(tmp_path / "state.db"))
        self.clock = Clock()
        self.runs = Runs()
        self.converger = self.restart()
        self.client = falcon.testing.TestClient(create_app(self.config, self.store, self.converger))
        self.minute = 0

    def restart(self) -> Converger:
        """A converger as a fresh shim process has it: nothing in memory but what the store holds."""
        verifier = ApprovalVerifier.from_config(self.config, self.store)
        verifier.backoff.clock = self.clock
        self.converger = Converger(self.config, self.store, run=self.runs, clock=self.clock, verifier=verifier)
        return self.converger

    def send(self, action: str, sha: str, sender: str = "stranger", label: str = "") -> dict:
        self.minute += 1
        payload = pull_request_payload(action, REPO, 5, sha, f"2026-12-01T10:{self.minute:02d}:00Z")
        payload["pull_request"]["head"]["repo"]["full_name"] = "stranger/hello"
        payload["pull_request"]["user"]["login"] = "stranger"
        payload["sender"]["login"] = sender
        if label:
            payload["label"] = {"name": label}
        body = json.dumps(payload).encode()
        resp = self.client.simulate_post("/webhook/github", body=body, headers=signed_headers(SECRET, body))
        assert resp.status_code in (200, 202), resp.text
        return resp.json

    def approve(self, sha: str, sender: str) -> dict:
        return self.send("labeled", sha, sender=sender, label="preview-approved")

    def converge(self) -> None:
        self.converger._verify_approvals()
        settle(self.converger)
        self.converger._tick()
        settle(self.converger)

    def row(self) -> dict:
        return self.store.desired(REPO, 5)


@pytest.fixture
def shim(tmp_path, github):
    shim = Shim(tmp_path, github)
    yield shim
    shim.store.close()


def permission_requests(github) -> list[str]:
    return [r.path for r in github.requests if r.path.endswith("/permission")]


@pytest.mark.parametrize(
    ("role", "deploys"),
    [("admin", True), ("maintain", True), ("write", True), ("triage", False), ("read", False), (None, False)],
)
def test_only_a_label_from_someone_who_may_write_deploys(shim, github, role, deploys):
    github.set_role(REPO, "maintainer", role)
    shim.send("opened", A)
    shim.converge()
    assert shim.runs.calls == [("hold", 5, A)]

    assert shim.approve(A, "maintainer")["outcome"] == "accepted"
    assert shim.row()["state"] == "held"  # the intake stores a claim and answers; GitHub is asked later
    assert permission_requests(github) == [] and shim.store.pending_count() == 1
    shim.converge()

    assert permission_requests(github) == [f"/repos/{REPO}/collaborators/maintainer/permission"]
    row = shim.row()
    assert (row["claim_sha"], row["claim_by"]) == ("", "")
    if deploys:
        assert shim.runs.calls == [("hold", 5, A), ("deploy", 5, A)]
        assert (row["state"], row["approved_sha"]) == ("present", A)
    else:
        assert shim.runs.calls == [("hold", 5, A)]
        assert (row["state"], row["approved_sha"]) == ("held", "")
    assert shim.store.pending() == [] and github.violations == []


def test_a_label_on_a_newer_commit_than_the_hold_comment_named_does_not_deploy(shim, github):
    github.set_role(REPO, "maintainer", "write")
    shim.send("opened", A)
    shim.converge()  # the hold comment names A
    shim.send("synchronize", B)  # its hold run has not said B yet when the label comes
    shim.approve(B, "maintainer")
    shim.converge()
    assert shim.runs.calls == [("hold", 5, A), ("hold", 5, B)]
    assert shim.row()["state"] == "held" and permission_requests(github) == []

    shim.approve(B, "maintainer")  # added again now that the comment names B: it counts
    shim.converge()
    assert shim.runs.calls[-1] == ("deploy", 5, B)


def test_a_push_after_the_label_keeps_the_pr_held(shim, github):
    github.set_role(REPO, "maintainer", "write")
    shim.send("opened", A)
    shim.converge()
    shim.approve(A, "maintainer")
    shim.send("synchronize", B)
    shim.converge()
    assert ("deploy", 5, A) not in shim.runs.calls and ("deploy", 5, B) not in shim.runs.calls
    row = shim.row()  # the approval stays with the commit it was given on
    assert (row["state"], row["sha"], row["approved_sha"]) == ("held", B, A)


def test_github_down_is_retried_and_the_claim_survives_a_restart(shim, github):
    github.set_role(REPO, "maintainer", "write")
    shim.send("opened", A)
    shim.converge()
    github.fail_next(2, 502, path_prefix=f"/repos/{REPO}/collaborators/")
    shim.approve(A, "maintainer")

    shim.converge()
    assert shim.row()["claim_sha"] == A and shim.runs.calls == [("hold", 5, A)]
    shim.converge()  # within the retry time: GitHub is not asked again
    assert len(permission_requests(github)) == 1
    shim.clock.now += 5
    shim.converge()
    assert len(permission_requests(github)) == 2 and shim.row()["claim_sha"] == A

    shim.restart()  # the claim is in the state file, not in memory
    shim.converge()
    assert shim.runs.calls == [("hold", 5, A), ("deploy", 5, A)]
    assert shim.row()["claim_sha"] == ""


class Redirect(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 - the base class names it so
        Redirect.seen.append(dict(self.headers))
        self.send_response(302)
        self.send_header("Location", "http://localhost:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass


def test_a_redirect_is_not_followed_with_the_token():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = PermissionClient(f"http://127.0.0.1:{server.server_address[1]}", TOKEN, timeout=5)
        with pytest.raises(GitHubUnavailable, match="302"):
            client.may_approve(REPO, "maintainer")
    finally:
        server.shutdown()
        server.server_close()
    assert len(Redirect.seen) == 1  # one request, to the configured host only


def test_without_a_token_a_claim_waits(tmp_path, caplog):
    config = Config(webhook_secret=SECRET, repositories={REPO: RepoConfig(REPO, "/srv/hello", "hello")})
    store = Store(str(tmp_path / "state.db"))
    store.query(
        "INSERT INTO desired (repo, pr, state, sha, pr_updated_at, generation, applied_generation, changed,"
        " reason, claim_sha, claim_by) VALUES (?, 5, 'held', ?, '', 1, 1, 0, 'fork-needs-approval', ?, 'm')",
        (REPO, A, A),
    )
    assert ApprovalVerifier.from_config(config, store).run_once() == 0
    assert store.desired(REPO, 5)["claim_sha"] == A and "no github.token" in caplog.text
    store.close()


class NoReconcile:
    def run_once(self):
        return {}

    def may_start(self, repo, pr):
        return True


def test_the_converger_loop_confirms_and_deploys_on_its_own(shim, github):
    github.set_role(REPO, "maintainer", "maintain")
    converger = Converger(
        shim.config,
        shim.store,
        run=shim.runs,
        poll_interval=0.05,
        reconciler=NoReconcile(),
        verifier=ApprovalVerifier.from_config(shim.config, shim.store),
    )
    shim.client = falcon.testing.TestClient(create_app(shim.config, shim.store, converger))
    loop = threading.Thread(target=converger._main, daemon=True)
    loop.start()
    try:
        shim.send("opened", A)
        wait_for(lambda: shim.store.pending_count() == 0 and shim.runs.calls == [("hold", 5, A)])
        shim.approve(A, "maintainer")
        wait_for(lambda: shim.store.pending_count() == 0 and ("deploy", 5, A) in shim.runs.calls)
    finally:
        assert converger.drain(10)
        loop.join(10)
    assert shim.runs.calls == [("hold", 5, A), ("deploy", 5, A)]


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
