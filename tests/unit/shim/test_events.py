from __future__ import annotations

import pytest

from shim.events import PR_NUMBER_MAX, SWEEP_ACTION, PayloadError, parse_listed_pull, parse_pull_request
from tests.support.webhooks import load_payload

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.mark.parametrize(
    "fixture",
    [
        "pull_request.opened.octokit",
        "pull_request.reopened.octokit",
        "pull_request.synchronize.octokit",
        "pull_request.closed.octokit",
    ],
)
def test_real_payloads(fixture):
    event = parse_pull_request(load_payload(fixture))
    assert event.repo == "Codertocat/Hello-World"
    assert event.pr == 2
    assert event.sha == SHA
    assert event.is_fork is False
    assert event.author == "Codertocat"
    assert event.closed == fixture.endswith("closed.octokit")


def test_fork_payload_is_a_fork():
    event = parse_pull_request(load_payload("pull_request.synchronize.fork.ferretdb"))
    assert (event.repo, event.pr, event.is_fork, event.author) == ("FerretDB/FerretDB", 305, True, "AlekSi")


def test_labeled_carries_the_label():
    event = parse_pull_request(load_payload("pull_request.labeled.octokit"))
    assert event.action == "labeled" and event.label


def test_other_actions_are_not_acted_on():
    payload = load_payload("pull_request.opened.octokit")
    payload["action"] = "edited"
    assert parse_pull_request(payload) is None


def _broken(path, value):
    payload = load_payload("pull_request.opened.octokit")
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("number",), "2", "number"),
        (("number",), True, "number"),
        (("number",), -3, "number"),
        (("number",), PR_NUMBER_MAX + 1, "number"),
        (("number",), 2**63, "number"),
        (("pull_request", "head", "sha"), "{{ lookup('pipe','id') }}", "head.sha"),
        (("pull_request", "head", "sha"), SHA.upper(), "head.sha"),
        (("pull_request", "head", "sha"), SHA + "\n", "head.sha"),
        (("pull_request", "updated_at"), "2026-01-01T00:00:00Z\n", "updated_at"),
        (("pull_request", "head"), KeyError, "pull_request.head"),
        (("repository",), KeyError, "repository"),
        (("pull_request", "updated_at"), "yesterday", "updated_at"),
        (("action",), 5, "action"),
    ],
)
def test_wrong_shape_is_rejected_with_the_field(path, value, match):
    with pytest.raises(PayloadError, match=match):
        parse_pull_request(_broken(path, value))


def test_not_an_object():
    with pytest.raises(PayloadError):
        parse_pull_request([1, 2])


def test_the_largest_pr_number_is_taken():
    payload = load_payload("pull_request.opened.octokit")
    payload["number"] = PR_NUMBER_MAX
    assert parse_pull_request(payload).pr == PR_NUMBER_MAX


@pytest.mark.parametrize(
    ("login", "sender"),
    [
        ("Codertocat", "Codertocat"),
        ("octo-cat-1", "octo-cat-1"),
        ("dependabot[bot]", ""),
        ("../../admin", ""),
        ("x" * 40, ""),
        (None, ""),
    ],
)
def test_the_sender_is_a_login_or_nothing(login, sender):
    payload = load_payload("pull_request.labeled.octokit")
    payload["sender"]["login"] = login
    assert parse_pull_request(payload).sender == sender


def test_a_listed_pull_reads_as_the_sweep_event_or_closed():
    payload = load_payload("pull_request.opened.octokit")
    pull = payload["pull_request"]
    event = parse_listed_pull(pull, "Our/Spelling")
    assert (event.action, event.repo, event.pr, event.sha) == (
        SWEEP_ACTION,
        "Our/Spelling",
        pull["number"],
        pull["head"]["sha"],
    )
    assert (event.sender, event.label) == ("", "")

    assert parse_listed_pull(dict(pull, state="closed"), "o/r").closed


@pytest.mark.parametrize("pull", ["a string", {"state": "open"}, {"state": "open", "number": 1, "head": {"sha": "x"}}])
def test_a_listed_pull_of_the_wrong_shape_is_refused(pull):
    with pytest.raises(PayloadError):
        parse_listed_pull(pull, "o/r")
