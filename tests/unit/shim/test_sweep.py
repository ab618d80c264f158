"""shim/sweep.py against the GitHub stand-in, no Docker: what the sweep repairs, and what it leaves alone."""

from __future__ import annotations

import logging
import os

import pytest

from shim.config import Config, RepoConfig
from shim.events import parse_pull_request
from shim.policy import Policy, approval_of, decide
from shim.store import Store
from shim.sweep import Sweeper
from tests.support.github_standin import GitHubStandIn

REPO = "octo/hello"
SECRET = "unit-test-secret-0123456789"
SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "89abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture
def github():
    with GitHubStandIn(repos={REPO}, tokens={"test-token": {"repo"}}) as standin:
        yield standin


@pytest.fixture
def store(tmp_path):
    db = Store(str(tmp_path / "state.db"))
    yield db
    db.close()


def make_config(api_url, token="test-token", policy: Policy | None = None) -> Config:
    return Config(
        webhook_secret=SECRET,
        repositories={REPO: RepoConfig(REPO, f"/srv/{REPO}", "hello")},
        github_token=token,
        github_api_url=api_url,
        collections_path=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        policy=policy or Policy(),
    )


@pytest.fixture
def sweeper(github, store):
    return Sweeper(make_config(github.base_url), store)


def deliver(store, payload, guid):
    """What the intake does with a webhook that did arrive."""
    event = parse_pull_request(payload)
    policy = Policy()
    return store.accept(
        guid,
        "pull_request",
        event.action,
        event.repo,
        event.pr,
        lambda row: decide(event, policy, **approval_of(row)),
        event.updated_at,
    )


def converge(store):
    """Every pending run done, as the converger would."""
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)


def wanted(store, pr=1):
    row = store.desired(REPO, pr)
    return row and (row["state"], row["sha"], row["reason"])


def list_statuses(github) -> list[int]:
    return [r.status for r in github.requests if r.method == "GET" and r.path.endswith("/pulls")]


def test_a_pr_whose_opened_event_was_missed_is_deployed(github, store, sweeper):
    github.open_pr(REPO, 1, sha=SHA)

    assert sweeper.run_once() == 1
    assert wanted(store) == ("present", SHA, "deploy")
    assert store.deliveries() == []  # the sweep is not a delivery: nothing for GitHub to redeliver


def test_an_unchanged_list_costs_a_304_and_moves_nothing(github, store, sweeper):
    github.open_pr(REPO, 1, sha=SHA)
    sweeper.run_once()
    generation = store.desired(REPO, 1)["generation"]

    assert sweeper.run_once() == 0
    assert list_statuses(github) == [200, 304]
    assert store.desired(REPO, 1)["generation"] == generation


def test_a_missed_close_removes_the_preview(github, store, sweeper):
    deliver(store, github.open_pr(REPO, 1, sha=SHA, event=True), "g-open")
    github.close_pr(REPO, 1, merged=True)  # the closed event never arrives

    assert sweeper.run_once() == 1
    assert wanted(store) == ("absent", SHA, "closed")
    # Not in the open list any more: its own page said it is closed.
    assert any(r.path == f"/repos/{REPO}/pulls/1" for r in github.requests)


def test_a_missed_push_deploys_the_new_head(github, store, sweeper):
    deliver(store, github.open_pr(REPO, 1, sha=SHA, event=True), "g-open")
    github.push(REPO, 1, SHA2)

    assert sweeper.run_once() == 1
    assert wanted(store) == ("present", SHA2, "deploy")


def test_what_the_events_applied_is_left_alone(github, store, sweeper):
    deliver(store, github.open_pr(REPO, 1, sha=SHA, event=True), "g-open")
    deliver(store, github.push(REPO, 1, SHA2, event=True), "g-push")
    generation = store.desired(REPO, 1)["generation"]

    assert sweeper.run_once() == 0
    assert store.desired(REPO, 1)["generation"] == generation


def test_an_event_newer_than_the_list_wins(github, store, sweeper):
    # A push the list does not show yet (the list was read just before it): the store has the newer view.
    payload = github.open_pr(REPO, 1, sha=SHA, event=True)
    payload["pull_request"]["head"]["sha"] = SHA2
    payload["pull_request"]["updated_at"] = "2999-01-01T00:00:00Z"
    deliver(store, payload, "g-push")

    assert sweeper.run_once() == 0
    assert wanted(store) == ("present", SHA2, "deploy")


def test_a_preview_the_ttl_removed_stays_removed_until_a_push(github, store, sweeper):
    deliver(store, github.open_pr(REPO, 1, sha=SHA, event=True), "g-open")
    converge(store)
    assert store.expire(0, now=store.desired(REPO, 1)["activity"] + 1) == [(REPO, 1)]
    github.set_labels(REPO, 1, ["documentation"])  # updated_at moves (as a comment moves it on GitHub)

    assert sweeper.run_once() == 0
    assert wanted(store) == ("absent", SHA, "ttl")

    github.push(REPO, 1, SHA2)
    assert sweeper.run_once() == 1
    assert wanted(store) == ("present", SHA2, "deploy")


def test_a_fork_pr_is_held_and_a_listed_approval_label_approves_nothing(github, store, sweeper):
    github.open_pr(REPO, 1, sha=SHA, head_repo="mallory/hello", user="mallory", labels=["preview-approved"])

    assert sweeper.run_once() == 1
    row = store.desired(REPO, 1)
    assert (row["state"], row["reason"], row["fork"]) == ("held", "fork-needs-approval", 1)
    assert (row["approved_sha"], row["claim_sha"]) == ("", "")


def test_the_label_filter_applies(github, store):
    sweeper = Sweeper(make_config(github.base_url, policy=Policy(require_label="preview")), store)
    github.open_pr(REPO, 1, sha=SHA)
    github.open_pr(REPO, 2, sha=SHA2, labels=["preview"])

    assert sweeper.run_once() == 1
    assert wanted(store, 1) is None
    assert wanted(store, 2) == ("present", SHA2, "deploy")

    github.set_labels(REPO, 2, [])  # the unlabeled event is missed
    assert sweeper.run_once() == 1
    assert wanted(store, 2) == ("absent", SHA2, "unlabeled")


def test_every_page_is_read_and_each_is_conditional(github, store, sweeper):
    for number in range(1, 151):
        github.open_pr(REPO, number, sha=SHA)

    assert sweeper.run_once() == 150
    assert sweeper.run_once() == 0
    assert list_statuses(github)[-1:] == [304]
    assert sorted(r.status for r in github.requests if r.method == "GET")[-2:] == [304, 304]


def test_a_lost_state_file_brings_every_open_pr_back(github, tmp_path):
    github.open_pr(REPO, 1, sha=SHA)
    github.open_pr(REPO, 2, sha=SHA2)
    github.close_pr(REPO, 2)
    fresh = Store(str(tmp_path / "fresh.db"))
    try:
        assert Sweeper(make_config(github.base_url), fresh).run_once() == 1
        assert [(row["pr"], row["state"]) for row in fresh.query("SELECT pr, state FROM desired")] == [(1, "present")]
    finally:
        fresh.close()


def test_a_pr_pruned_long_ago_is_not_brought_back(github, store, sweeper):
    deliver(store, github.open_pr(REPO, 1, sha=SHA, event=True), "g-open")
    deliver(store, github.close_pr(REPO, 1, event=True), "g-close")
    converge(store)
    store.prune(0, now=store.desired(REPO, 1)["changed"] + 1)
    assert store.desired(REPO, 1) is None
    github.reopen_pr(REPO, 1)  # and the reopened event is missed too

    assert sweeper.run_once() == 0
    assert store.desired(REPO, 1) is None


def test_github_out_of_reach_is_logged_once_and_moves_nothing(github, store, caplog):
    sweeper = Sweeper(make_config(github.base_url, token="revoked"), store)
    github.open_pr(REPO, 1, sha=SHA)
    with caplog.at_level(logging.INFO, logger="preview.shim.sweep"):
        assert sweeper.run_once() == 0
        assert sweeper.run_once() == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "sweep=error" in warnings[0] and "401" in warnings[0]
    assert wanted(store) is None


def test_without_a_token_the_sweep_is_off(store):
    sweeper = Sweeper(make_config("http://127.0.0.1:9", token=""), store)
    assert not sweeper.enabled and "token" in sweeper.off_reason
    assert sweeper.run_once() == 0


def test_a_preview_of_a_pr_github_does_not_know_is_skipped_not_removed(github, store, sweeper, caplog):
    payload = github.open_pr(REPO, 1, sha=SHA, event=True)
    deliver(store, dict(payload, number=7), "g-unknown")  # a PR the token cannot see (404)
    github.close_pr(REPO, 1)
    deliver(store, payload, "g-open")
    with caplog.at_level(logging.WARNING, logger="preview.shim.sweep"):
        assert sweeper.run_once() == 1  # the other PR's close is still applied
    assert wanted(store, 7) == ("present", SHA, "deploy")
    assert wanted(store, 1) == ("absent", SHA, "closed")
    assert "pr=7 sweep=skipped" in caplog.text and "404" in caplog.text
