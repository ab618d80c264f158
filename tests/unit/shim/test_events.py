from __future__ import annotations

import pytest

from shim.events import PayloadError, wanted_state
from tests.support.webhooks import load_payload

SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.mark.parametrize(
    ("fixture", "state"),
    [("pull_request.opened.octokit", "present"), ("pull_request.reopened.octokit", "present"),
     ("pull_request.synchronize.octokit", "present"), ("pull_request.closed.octokit", "absent")],
)
def test_real_payloads(fixture, state):
    wanted = wanted_state(load_payload(fixture))
    assert wanted.repo == "Codertocat/Hello-World"
    assert wanted.pr == 2
    assert wanted.state == state
    assert wanted.sha == SHA


def test_fork_payload_is_read_too():
    wanted = wanted_state(load_payload("pull_request.synchronize.fork.ferretdb"))
    assert (wanted.repo, wanted.pr, wanted.state) == ("FerretDB/FerretDB", 305, "present")


def test_other_actions_are_not_acted_on():
    assert wanted_state(load_payload("pull_request.labeled.octokit")) is None


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
        (("pull_request", "head", "sha"), "{{ lookup('pipe','id') }}", "head.sha"),
        (("pull_request", "head", "sha"), SHA.upper(), "head.sha"),
        (("pull_request", "head"), KeyError, "pull_request.head"),
        (("repository",), KeyError, "repository"),
        (("pull_request", "updated_at"), "yesterday", "updated_at"),
        (("action",), 5, "action"),
    ],
)
def test_wrong_shape_is_rejected_with_the_field(path, value, match):
    with pytest.raises(PayloadError, match=match):
        wanted_state(_broken(path, value))


def test_not_an_object():
    with pytest.raises(PayloadError):
        wanted_state([1, 2])
