"""The GitHub stand-in as a webhook *sender*: deliveries, their record, listing them, redelivering them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs

import pytest
import requests

from ansible_collections.preview.envs.plugins.module_utils._github import GitHubClient
from shim.signature import verify
from tests.support.github_standin import HOOKSHOT_USER_AGENT, GitHubStandIn, WebhookReceiver
from tests.support.nginx import free_port

REPO = "preview-envs/demo"
TOKEN = "test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}
SECRET = "a-hook-secret-0123456789"
PAYLOAD = {"action": "opened", "number": 7, "pull_request": {"number": 7}}


@pytest.fixture
def standin():
    with GitHubStandIn(
        repos={REPO, "preview-envs/other"},
        tokens={
            TOKEN: {"repo", "admin:repo_hook"},
            "read-hooks": {"read:repo_hook"},
            "write-hooks": {"write:repo_hook"},
            "no-scopes": set(),
        },
    ) as server:
        yield server


@pytest.fixture
def receiver():
    with WebhookReceiver() as endpoint:
        yield endpoint


def call(standin, method, path, *, headers=None, **kwargs):
    url = path if path.startswith("http") else standin.base_url + path
    return requests.request(method, url, headers=HEADERS if headers is None else headers, timeout=10, **kwargs)


def deliveries_path(hook):
    return f"/repos/{REPO}/hooks/{hook['id']}/deliveries"


# -- sending -------------------------------------------------------------------------------------------------


def test_a_delivery_carries_githubs_headers_and_a_signature_over_the_exact_body(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET)

    [delivery] = standin.deliver(REPO, "pull_request", PAYLOAD, guid="72d3162e-cc78-11e3-81ab-4c9367dc0958")

    [request] = receiver.requests
    assert request.path == "/webhook/github"
    assert request.json == PAYLOAD
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-github-event"] == "pull_request"
    assert headers["x-github-delivery"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert headers["x-github-hook-id"] == str(hook["id"])
    assert headers["user-agent"] == HOOKSHOT_USER_AGENT and headers["user-agent"].startswith("GitHub-Hookshot/")
    assert verify(SECRET, request.raw_body, headers["x-hub-signature-256"])
    expected_sha1 = hmac.new(SECRET.encode(), request.raw_body, hashlib.sha1).hexdigest()
    assert headers["x-hub-signature"] == f"sha1={expected_sha1}"
    assert delivery["guid"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    assert (delivery["status"], delivery["status_code"], delivery["redelivery"]) == ("OK", 202, False)
    assert (delivery["event"], delivery["action"], delivery["installation_id"]) == ("pull_request", "opened", None)
    assert isinstance(delivery["id"], int) and isinstance(delivery["duration"], float)
    assert delivery["repository_id"] == call(standin, "GET", f"/repos/{REPO}").json()["id"]
    assert standin.schemas.problems(delivery, standin.schemas.component("hook-delivery-item")) == []


def test_without_a_guid_each_delivery_gets_a_new_uuid_and_without_a_secret_no_signature(standin, receiver):
    standin.add_hook(REPO, receiver.url, events=["pull_request"])

    first, second = (standin.deliver(REPO, "pull_request", PAYLOAD)[0] for _attempt in range(2))

    assert first["guid"] != second["guid"] and len(first["guid"]) == 36
    assert all("x-hub-signature-256" not in request.headers for request in receiver.requests)
    assert [request.headers["x-github-delivery"] for request in receiver.requests] == [first["guid"], second["guid"]]


def test_only_active_hooks_of_the_repository_that_subscribe_to_the_event_get_it(standin):
    with WebhookReceiver() as wanted, WebhookReceiver() as wildcard, WebhookReceiver() as others:
        standin.add_hook(REPO, wanted.url, events=["pull_request"])
        standin.add_hook(REPO, wildcard.url, events=["*"])
        standin.add_hook(REPO, others.url + "?push", events=["push"])
        standin.add_hook(REPO, others.url + "?inactive", events=["pull_request"], active=False)
        standin.add_hook("preview-envs/other", others.url + "?other", events=["pull_request"])

        sent = standin.deliver(REPO, "pull_request", PAYLOAD)

        assert len(sent) == 2 and len({item["guid"] for item in sent}) == 1, "one event, one GUID for all hooks"
        assert (len(wanted.requests), len(wildcard.requests), len(others.requests)) == (1, 1, 0)
        assert standin.deliver(REPO, "issues", {"action": "opened"})[0]["event"] == "issues"  # the "*" hook
        assert len(wildcard.requests) == 2 and len(wanted.requests) == 1


def test_a_repository_without_hooks_gets_nothing_and_an_unknown_one_is_an_error(standin):
    assert standin.deliver(REPO, "pull_request", PAYLOAD) == []
    with pytest.raises(KeyError):
        standin.deliver("preview-envs/unknown", "pull_request", PAYLOAD)


@pytest.mark.parametrize(
    ("status", "recorded"),
    [
        (200, "OK"),
        (204, "OK"),
        (302, "Invalid HTTP Response: 302"),
        (401, "Invalid HTTP Response: 401"),
        (502, "Invalid HTTP Response: 502"),
    ],
)
def test_the_answer_decides_the_status(standin, receiver, status, recorded):
    standin.add_hook(REPO, receiver.url, events=["pull_request"])
    receiver.status = status

    [delivery] = standin.deliver(REPO, "pull_request", PAYLOAD)

    assert (delivery["status"], delivery["status_code"]) == (recorded, status)


def test_nothing_listening_is_failed_to_connect_to_host_with_status_code_0(standin):
    standin.add_hook(REPO, f"http://127.0.0.1:{free_port()}/webhook/github", events=["pull_request"])

    [delivery] = standin.deliver(REPO, "pull_request", PAYLOAD)

    assert (delivery["status"], delivery["status_code"]) == ("failed to connect to host", 0)
    assert standin.schemas.problems(delivery, standin.schemas.component("hook-delivery-item")) == []


def test_a_form_hook_gets_the_payload_form_encoded_and_signed_as_sent(standin, receiver):
    standin.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET, content_type="form")

    standin.deliver(REPO, "pull_request", PAYLOAD)

    [request] = receiver.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(request.raw_body.decode())["payload"][0]) == PAYLOAD
    assert verify(SECRET, request.raw_body, request.headers["x-hub-signature-256"])


# -- listing -------------------------------------------------------------------------------------------------


def test_deliveries_are_listed_newest_first_in_the_documented_shape(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    sent = [standin.deliver(REPO, "pull_request", {"action": f"a{n}"})[0] for n in range(3)]

    response = call(standin, "GET", deliveries_path(hook))

    assert response.status_code == 200
    assert response.json() == list(reversed(sent))
    item = standin.schemas.component("hook-delivery-item")
    assert all(standin.schemas.problems(d, item) == [] for d in response.json())
    assert "link" not in response.headers
    assert standin.deliveries(REPO) == list(reversed(sent)) == standin.deliveries(REPO, hook["id"])
    assert standin.violations == []


def test_the_list_is_cursor_paginated_through_the_link_header(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    ids = [standin.deliver(REPO, "pull_request", PAYLOAD)[0]["id"] for _attempt in range(5)][::-1]

    seen, pages, response = [], 0, call(standin, "GET", deliveries_path(hook), params={"per_page": 2})
    while True:
        pages += 1
        assert response.status_code == 200
        seen += [item["id"] for item in response.json()]
        if "next" not in response.links:
            break
        next_url = response.links["next"]["url"]
        assert "cursor=" in next_url and "per_page=2" in next_url and "page=" not in next_url.replace("per_page", "")
        response = call(standin, "GET", next_url)

    assert seen == ids and pages == 3
    assert "prev" in response.links
    back = call(standin, "GET", response.links["prev"]["url"])
    assert [item["id"] for item in back.json()] == ids[2:4]
    assert standin.violations == []


@pytest.mark.parametrize(("per_page", "expected"), [(None, 30), ("0", 30), ("100", 100), ("500", 100)])
def test_per_page_defaults_to_30_and_caps_at_100(standin, receiver, per_page, expected):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    for _attempt in range(101):
        standin.deliver(REPO, "pull_request", PAYLOAD)

    params = {} if per_page is None else {"per_page": per_page}
    assert len(call(standin, "GET", deliveries_path(hook), params=params).json()) == expected


def test_the_status_filter_follows_the_documented_status_code_ranges(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    for status in (200, 302, 404, 503):
        receiver.status = status
        standin.deliver(REPO, "pull_request", PAYLOAD)
    receiver.stop()
    standin.deliver(REPO, "pull_request", PAYLOAD)  # failed to connect: status_code 0, in neither range

    def codes(wanted):
        answer = call(standin, "GET", deliveries_path(hook), params={"status": wanted})
        return [item["status_code"] for item in answer.json()]

    assert codes("success") == [302, 200]
    assert codes("failure") == [503, 404]
    assert standin.violations == []


def test_a_cursor_the_link_header_did_not_give_is_refused_and_recorded(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    standin.deliver(REPO, "pull_request", PAYLOAD)

    response = call(standin, "GET", deliveries_path(hook), params={"cursor": "2"})

    assert response.status_code == 400
    assert "cursor" in standin.violations[0]


def test_a_status_outside_the_enum_is_a_violation(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])

    call(standin, "GET", deliveries_path(hook), params={"status": "failed"})

    assert "is not one of" in standin.violations[0]


@pytest.mark.parametrize(
    ("token", "path", "status"),
    [
        ("read-hooks", "/repos/{repo}/hooks/{hook}/deliveries", 200),
        ("write-hooks", "/repos/{repo}/hooks/{hook}/deliveries", 200),
        ("no-scopes", "/repos/{repo}/hooks/{hook}/deliveries", 404),
        (TOKEN, "/repos/preview-envs/other/hooks/{hook}/deliveries", 404),
        (TOKEN, "/repos/{repo}/hooks/999999/deliveries", 404),
    ],
)
def test_listing_needs_a_hook_scope_and_our_hook(standin, receiver, token, path, status):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    url = path.format(repo=REPO, hook=hook["id"])

    response = call(standin, "GET", url, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == status
    assert standin.violations == []


def test_listing_without_a_token_needs_authentication(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    assert call(standin, "GET", deliveries_path(hook), headers={}).status_code == 401


# -- redelivering --------------------------------------------------------------------------------------------


def test_attempts_answers_202_at_once_and_redelivers_the_same_body_and_guid(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET)
    receiver.status = 503
    [failed] = standin.deliver(REPO, "pull_request", PAYLOAD, guid="guid-again")
    receiver.status, receiver.delay = 202, 1.0

    started = time.monotonic()
    response = call(standin, "POST", f"{deliveries_path(hook)}/{failed['id']}/attempts")
    answered = time.monotonic() - started

    assert response.status_code == 202 and answered < 0.8, "GitHub answers before it redelivers"
    assert response.json() == {}
    assert standin.join_redeliveries()
    original, again = receiver.requests
    assert again.raw_body == original.raw_body
    assert again.headers["x-github-delivery"] == "guid-again"
    assert verify(SECRET, again.raw_body, again.headers["x-hub-signature-256"])
    newest, oldest = standin.deliveries(REPO)
    assert oldest == failed
    assert (newest["guid"], newest["redelivery"], newest["status"]) == ("guid-again", True, "OK")
    assert newest["id"] != failed["id"] and newest["duration"] >= 1.0
    assert (newest["event"], newest["action"]) == ("pull_request", "opened")
    assert standin.violations == []


def test_a_redelivery_goes_to_the_hook_as_configured_now(standin, receiver):
    hook = standin.add_hook(REPO, f"http://127.0.0.1:{free_port()}/webhook/github", events=["pull_request"])
    [failed] = standin.deliver(REPO, "pull_request", PAYLOAD)
    call(standin, "PATCH", f"/repos/{REPO}/hooks/{hook['id']}", json={"config": {"url": receiver.url}})

    assert call(standin, "POST", f"{deliveries_path(hook)}/{failed['id']}/attempts").status_code == 202
    standin.join_redeliveries()

    assert [request.headers["x-github-delivery"] for request in receiver.requests] == [failed["guid"]]
    assert standin.deliveries(REPO)[0]["status"] == "OK"


@pytest.mark.parametrize(
    ("token", "which", "status"),
    [
        ("write-hooks", "ours", 202),
        ("read-hooks", "ours", 404),  # a read scope may list but not redeliver
        ("no-scopes", "ours", 404),
        (TOKEN, "unknown", 404),
        (TOKEN, "other hook's", 404),
    ],
)
def test_redelivering_needs_a_write_scope_and_a_delivery_of_that_hook(standin, receiver, token, which, status):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    other = standin.add_hook(REPO, receiver.url + "?other", events=["pull_request"])
    ours, theirs = standin.deliver(REPO, "pull_request", PAYLOAD)
    delivery_id = {"ours": ours["id"], "unknown": 123, "other hook's": theirs["id"]}[which]
    assert other["id"] != hook["id"]

    response = call(
        standin, "POST", f"{deliveries_path(hook)}/{delivery_id}/attempts", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == status
    standin.join_redeliveries()
    assert len(standin.deliveries(REPO)) == 2 + (status == 202)
    assert standin.violations == []


def test_the_collections_client_pages_through_deliveries_and_redelivers_without_violations(standin, receiver):
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    receiver.status = 500
    for _attempt in range(3):
        standin.deliver(REPO, "pull_request", PAYLOAD)
    client = GitHubClient(standin.base_url, TOKEN)

    listed = client.paginate(deliveries_path(hook), {"per_page": 2})
    assert [item["id"] for item in listed] == [item["id"] for item in standin.deliveries(REPO)]
    status, _headers, body = client.request("POST", f"{deliveries_path(hook)}/{listed[0]['id']}/attempts")
    assert (status, body) == (202, {})
    assert standin.join_redeliveries()
    assert standin.deliveries(REPO)[0]["redelivery"] is True
    assert standin.violations == []


def test_stop_waits_for_redeliveries_in_flight(receiver):
    standin = GitHubStandIn(repos={REPO}).start()
    hook = standin.add_hook(REPO, receiver.url, events=["pull_request"])
    [sent] = standin.deliver(REPO, "pull_request", PAYLOAD)
    receiver.delay = 0.5
    call(standin, "POST", f"{deliveries_path(hook)}/{sent['id']}/attempts")

    standin.stop()

    assert len(receiver.requests) == 2
    assert standin.deliveries(REPO)[0]["redelivery"] is True
