"""The GitHub stand-in's pull requests: the model, ``pulls/list`` and ``pulls/get``, conditional requests, payloads."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from shim.events import TIMESTAMP_RE, parse_pull_request
from tests.support.github_standin import GitHubStandIn, WebhookReceiver
from tests.support.webhooks import load_payload, pull_request_event

REPO = "preview-envs/demo"
OTHER = "preview-envs/other"
TOKEN = "test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}
SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
PULLS = f"/repos/{REPO}/pulls"


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def standin(clock):
    with GitHubStandIn(
        repos={REPO, OTHER},
        tokens={TOKEN: {"repo"}, "hooks-only": {"admin:repo_hook"}},
        clock=clock,
    ) as server:
        yield server


def call(standin, method, path, *, headers=None, **kwargs):
    url = path if path.startswith("http") else standin.base_url + path
    return requests.request(method, url, headers=HEADERS if headers is None else headers, timeout=10, **kwargs)


def problems(standin, value, name):
    return standin.schemas.problems(value, standin.schemas.component(name))


def numbers(response):
    return [pull["number"] for pull in response.json()]


# -- the model -----------------------------------------------------------------------------------------------


def test_pull_requests_are_numbered_per_repository_and_a_number_is_taken_once(standin):
    assert standin.open_pr(REPO, sha=SHA_A)["number"] == 1
    assert standin.open_pr(REPO, sha=SHA_A)["number"] == 2
    assert standin.open_pr(REPO, 10, sha=SHA_A)["number"] == 10
    assert standin.open_pr(REPO, sha=SHA_A)["number"] == 11
    assert standin.open_pr(OTHER, sha=SHA_A)["number"] == 1

    with pytest.raises(ValueError, match="already has a pull request #10"):
        standin.open_pr(REPO, 10, sha=SHA_A)


def test_a_pull_request_goes_through_githubs_transitions(standin):
    opened = standin.open_pr(REPO, sha=SHA_A, user="alice", title="Try it", labels=["preview"])
    assert (opened["state"], opened["head"]["sha"], opened["user"]["login"], opened["title"]) == (
        "open",
        SHA_A,
        "alice",
        "Try it",
    )
    assert [label["name"] for label in opened["labels"]] == ["preview"]
    assert opened["created_at"] == opened["updated_at"] and opened["closed_at"] is None

    pushed = standin.push(REPO, 1, SHA_B)
    assert (pushed["head"]["sha"], pushed["commits"], pushed["created_at"]) == (SHA_B, 2, opened["created_at"])

    closed = standin.close_pr(REPO, 1, sender="bob")
    assert (closed["state"], closed["merged"], closed["merged_at"]) == ("closed", False, None)
    assert closed["closed_at"] == closed["updated_at"]

    reopened = standin.reopen_pr(REPO, 1)
    assert (reopened["state"], reopened["closed_at"], reopened["head"]["sha"]) == ("open", None, SHA_B)

    merged = standin.close_pr(REPO, 1, merged=True, sender="bob")
    assert (merged["state"], merged["merged"], merged["merged_by"]["login"]) == ("closed", True, "bob")
    assert merged["merged_at"] == merged["closed_at"] == merged["updated_at"]
    assert standin.pull(REPO, 1) == merged


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda s: s.push(REPO, 1, SHA_A), ValueError, "already at"),
        (lambda s: s.push(REPO, 1, "A" * 40), ValueError, "40 lowercase hex"),
        (lambda s: s.open_pr(REPO, sha="abc"), ValueError, "40 lowercase hex"),
        (lambda s: s.open_pr(REPO, 0, sha=SHA_A), ValueError, "start at 1"),
        (lambda s: s.open_pr(REPO, sha=SHA_A, head_repo="nobody"), ValueError, "owner/name"),
        (lambda s: s.reopen_pr(REPO, 1), ValueError, "is open"),
        (lambda s: s.set_labels(REPO, 1, [""]), ValueError, "non-empty"),
        (lambda s: s.pull(REPO, 2), KeyError, "no pull request #2"),
        (lambda s: s.pull("preview-envs/unknown", 1), KeyError, "does not know the repository"),
    ],
)
def test_impossible_changes_are_refused_with_a_reason(standin, change, error, message):
    standin.open_pr(REPO, sha=SHA_A)

    with pytest.raises(error, match=message):
        change(standin)


def test_a_closed_pr_takes_no_push_and_a_merged_one_cannot_be_reopened(standin):
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 1, merged=True)

    with pytest.raises(ValueError, match="is closed; reopen it first"):
        standin.push(REPO, 1, SHA_B)
    with pytest.raises(ValueError, match="is merged"):
        standin.reopen_pr(REPO, 1)


def test_updated_at_moves_forward_on_every_change_even_within_one_second(standin, clock):
    # The clock stands still: every change falls within the same second.
    stamps = [standin.open_pr(REPO, sha=SHA_A)["updated_at"]]
    stamps.append(standin.push(REPO, 1, SHA_B)["updated_at"])
    stamps.append(standin.set_labels(REPO, 1, ["preview"])["updated_at"])
    stamps.append(standin.set_labels(REPO, 1, ["approved"])["updated_at"])  # two changes: one off, one on
    stamps.append(standin.close_pr(REPO, 1)["updated_at"])
    stamps.append(standin.reopen_pr(REPO, 1)["updated_at"])

    assert all(TIMESTAMP_RE.fullmatch(stamp) for stamp in stamps)
    # The shim orders a PR's events by comparing these strings.
    assert stamps == sorted(set(stamps))
    assert len(set(stamps)) == 6

    clock.advance(3600)
    assert standin.push(REPO, 1, SHA_C)["updated_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now))


def test_set_labels_removes_then_adds_one_label_at_a_time(standin):
    standin.open_pr(REPO, sha=SHA_A, labels=["preview", "wip"])
    before = standin.pull(REPO, 1)["updated_at"]

    payloads = standin.set_labels(REPO, 1, ["preview", "approved"], sender="maintainer", event=True)

    assert [(payload["action"], payload["label"]["name"]) for payload in payloads] == [
        ("unlabeled", "wip"),
        ("labeled", "approved"),
    ]
    assert [[label["name"] for label in p["pull_request"]["labels"]] for p in payloads] == [
        ["preview"],
        ["preview", "approved"],
    ]
    assert before < payloads[0]["pull_request"]["updated_at"] < payloads[1]["pull_request"]["updated_at"]
    assert {payload["sender"]["login"] for payload in payloads} == {"maintainer"}
    assert standin.set_labels(REPO, 1, ["approved", "preview"], event=True) == []


def test_a_label_keeps_its_id_when_it_comes_back(standin):
    standin.open_pr(REPO, sha=SHA_A, labels=["preview"])
    first = standin.pull(REPO, 1)["labels"][0]
    standin.set_labels(REPO, 1, [])
    standin.set_labels(REPO, 1, ["preview"])

    assert standin.pull(REPO, 1)["labels"] == [first]


# -- answers follow the schemas ------------------------------------------------------------------------------


def test_pulls_get_answers_match_the_pull_request_schema_in_every_state(standin):
    standin.open_pr(REPO, sha=SHA_A, labels=["preview", "needs review"])
    standin.open_pr(REPO, sha=SHA_A, user="mallory", head_repo="mallory/demo", draft=True)
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 3, merged=True)
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 4)
    standin.add_comment(REPO, 1, "a comment")

    for number in (1, 2, 3, 4):
        response = call(standin, "GET", f"{PULLS}/{number}")
        assert response.status_code == 200
        assert problems(standin, response.json(), "pull-request") == []
        assert response.json() == standin.pull(REPO, number)
    assert standin.pull(REPO, 1)["comments"] == 1
    assert standin.violations == []


def test_pulls_list_items_match_the_pull_request_simple_schema(standin):
    standin.open_pr(REPO, sha=SHA_A, labels=["preview"])
    standin.open_pr(REPO, sha=SHA_A, user="mallory", head_repo="mallory/demo", draft=True)

    response = call(standin, "GET", PULLS)

    assert response.status_code == 200
    listing = {"type": "array", "items": {"$ref": "#/components/schemas/pull-request-simple"}}
    assert standin.schemas.problems(response.json(), listing) == []
    simple_keys = set(standin.schemas.component("pull-request-simple")["properties"])
    for item in response.json():
        assert set(item) <= simple_keys
        full = standin.pull(REPO, item["number"])
        assert item == {name: full[name] for name in item}
    assert standin.violations == []


def test_a_fork_is_told_apart_by_its_head_repository(standin):
    fork = standin.open_pr(REPO, sha=SHA_A, user="mallory", head_repo="mallory/demo", head_ref="patch-1")
    own = standin.open_pr(REPO, sha=SHA_B, user="alice")

    assert fork["head"]["repo"]["full_name"] == "mallory/demo" and fork["head"]["repo"]["fork"] is True
    assert fork["head"]["label"] == "mallory:patch-1" and fork["head"]["user"]["type"] == "User"
    assert fork["base"]["repo"]["full_name"] == REPO and fork["base"]["repo"]["fork"] is False
    assert own["head"]["repo"] == own["base"]["repo"] and own["head"]["repo"]["fork"] is False
    assert own["base"]["repo"]["id"] == call(standin, "GET", f"/repos/{REPO}").json()["id"]


# -- pulls/list ----------------------------------------------------------------------------------------------


def test_more_than_100_open_prs_page_through_the_link_header_newest_first(standin):
    for _number in range(1, 151):
        standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 150)

    seen, url, pages = [], f"{PULLS}?state=open&per_page=100", 0
    while url:
        response = call(standin, "GET", url)
        assert response.status_code == 200
        seen += numbers(response)
        pages += 1
        url = response.links.get("next", {}).get("url")
        if url:
            assert urlsplit(url).path.startswith("/repositories/")
            assert parse_qs(urlsplit(url).query)["per_page"] == ["100"]

    assert pages == 2
    assert seen == list(range(149, 0, -1))
    assert standin.violations == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [4, 2, 1]),
        ("?state=open", [4, 2, 1]),
        ("?state=closed", [3]),
        ("?state=all", [4, 3, 2, 1]),
        ("?direction=asc", [1, 2, 4]),
        ("?sort=created&direction=desc", [4, 2, 1]),
        # Any other sort defaults to ascending: #1 was changed last.
        ("?sort=updated", [2, 4, 1]),
        ("?sort=updated&direction=desc", [1, 4, 2]),
        ("?sort=popularity", [1, 4, 2]),
        ("?sort=long-running", [1]),
        ("?head=mallory:patch-1", [2]),
        ("?head=preview-envs:change-4", [4]),
        ("?base=main", [4, 2, 1]),
        ("?base=other", []),
    ],
)
def test_list_filters_and_orders_as_documented(standin, clock, query, expected):
    standin.open_pr(REPO, sha=SHA_A)
    # Long-running: open for more than a month, with activity within the past month (#1 only).
    clock.advance(40 * 24 * 3600)
    standin.open_pr(REPO, sha=SHA_A, user="mallory", head_repo="mallory/demo", head_ref="patch-1")
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 3)
    clock.advance(60)
    standin.open_pr(REPO, sha=SHA_A)
    clock.advance(60)
    standin.push(REPO, 1, SHA_B)
    # Popularity counts comments: #2 has two, #4 one, #1 none.
    standin.add_comment(REPO, 2, "one")
    standin.add_comment(REPO, 2, "two")
    standin.add_comment(REPO, 4, "three")

    response = call(standin, "GET", PULLS + query)

    assert response.status_code == 200
    assert numbers(response) == expected
    assert standin.violations == []


def test_prs_of_other_repositories_are_not_listed(standin):
    standin.open_pr(OTHER, sha=SHA_A)

    assert call(standin, "GET", PULLS).json() == []
    assert numbers(call(standin, "GET", f"/repos/{OTHER}/pulls")) == [1]


# -- conditional requests ------------------------------------------------------------------------------------


def test_an_unchanged_list_answers_304_without_a_body_and_without_charge(standin):
    standin.open_pr(REPO, sha=SHA_A)
    first = call(standin, "GET", f"{PULLS}?state=open&per_page=100")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')

    again = call(standin, "GET", f"{PULLS}?state=open&per_page=100", headers={**HEADERS, "If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "content-type" not in again.headers
    # The rate-limit headers are still there, and the 304 did not spend any of it.
    assert again.headers["x-ratelimit-used"] == first.headers["x-ratelimit-used"] == "1"
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    assert [request.status for request in standin.requests] == [200, 304]
    assert standin.violations == []


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.push(REPO, 1, SHA_B),
        lambda s: s.set_labels(REPO, 1, ["preview"]),
        lambda s: s.close_pr(REPO, 1),
        lambda s: s.open_pr(REPO, sha=SHA_C),
        lambda s: s.reopen_pr(REPO, 2),
    ],
    ids=["push", "label", "close", "open", "reopen"],
)
def test_any_change_to_the_list_gives_a_new_etag(standin, change):
    standin.open_pr(REPO, sha=SHA_A)
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 2)
    etag = call(standin, "GET", PULLS).headers["etag"]

    change(standin)
    response = call(standin, "GET", PULLS, headers={**HEADERS, "If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert response.headers["x-ratelimit-used"] == "2"


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("{etag}", 304),
        ("{strong}", 304),
        ('W/"other", {etag}', 304),
        ("*", 304),
        ('W/"other"', 200),
        ("", 200),
    ],
)
def test_if_none_match_uses_the_weak_comparison(standin, if_none_match, status):
    standin.open_pr(REPO, sha=SHA_A)
    etag = call(standin, "GET", PULLS).headers["etag"]
    value = if_none_match.format(etag=etag, strong=etag.removeprefix("W/"))

    assert call(standin, "GET", PULLS, headers={**HEADERS, "If-None-Match": value}).status_code == status


def test_every_page_has_its_own_etag(standin):
    for _number in range(1, 6):
        standin.open_pr(REPO, sha=SHA_A)
    first = call(standin, "GET", f"{PULLS}?per_page=2")
    second = call(standin, "GET", f"{PULLS}?per_page=2&page=2")

    assert first.headers["etag"] != second.headers["etag"]
    conditional = {**HEADERS, "If-None-Match": first.headers["etag"]}
    assert call(standin, "GET", f"{PULLS}?per_page=2&page=2", headers=conditional).status_code == 200
    assert call(standin, "GET", f"{PULLS}?per_page=2", headers=conditional).status_code == 304


def test_pulls_get_is_conditional_too(standin):
    standin.open_pr(REPO, sha=SHA_A)
    etag = call(standin, "GET", f"{PULLS}/1").headers["etag"]
    conditional = {**HEADERS, "If-None-Match": etag}

    assert call(standin, "GET", f"{PULLS}/1", headers=conditional).status_code == 304
    standin.close_pr(REPO, 1)
    closed = call(standin, "GET", f"{PULLS}/1", headers=conditional)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_a_conditional_request_still_needs_a_valid_token(standin):
    standin.open_pr(REPO, sha=SHA_A)
    etag = call(standin, "GET", PULLS).headers["etag"]

    response = call(standin, "GET", PULLS, headers={"If-None-Match": etag})

    assert response.status_code == 401


# -- payloads ------------------------------------------------------------------------------------------------


def facts(pull):
    """What the shim reads from a PR, in pulls/get terms."""
    return {
        "number": pull["number"],
        "sha": pull["head"]["sha"],
        "labels": [label["name"] for label in pull["labels"]],
        "user": pull["user"]["login"],
        "fork": pull["head"]["repo"]["full_name"] != pull["base"]["repo"]["full_name"],
        "state": pull["state"],
        "updated_at": pull["updated_at"],
    }


@pytest.mark.parametrize("fork", [False, True], ids=["same-repo", "fork"])
def test_each_payload_agrees_with_what_pulls_get_answers_right_after_the_change(standin, fork):
    head_repo = "mallory/demo" if fork else None
    steps = [
        ("opened", lambda: standin.open_pr(REPO, sha=SHA_A, user="mallory", head_repo=head_repo, event=True)),
        ("synchronize", lambda: standin.push(REPO, 1, SHA_B, event=True)),
        ("labeled", lambda: standin.set_labels(REPO, 1, ["preview"], sender="maintainer", event=True)[0]),
        ("unlabeled", lambda: standin.set_labels(REPO, 1, [], sender="maintainer", event=True)[0]),
        ("closed", lambda: standin.close_pr(REPO, 1, event=True)),
        ("reopened", lambda: standin.reopen_pr(REPO, 1, event=True)),
    ]
    for action, change in steps:
        payload = change()
        answer = call(standin, "GET", f"{PULLS}/1").json()

        assert payload["action"] == action
        assert payload["pull_request"] == answer
        assert facts(payload["pull_request"]) == facts(answer)
        event = parse_pull_request(payload)
        assert (event.pr, event.sha, event.updated_at, event.author, event.is_fork) == (
            answer["number"],
            answer["head"]["sha"],
            answer["updated_at"],
            "mallory",
            fork,
        )
        assert event.labels == {label["name"] for label in answer["labels"]}
    assert standin.violations == []


@pytest.mark.parametrize(
    ("action", "example"),
    [
        ("opened", "opened"),
        ("synchronize", "synchronize"),
        ("closed", "closed"),
        ("reopened", "reopened"),
        ("labeled", "labeled"),
        ("unlabeled", "labeled"),
    ],
)
def test_payloads_have_the_keys_of_githubs_examples(standin, action, example):
    standin.open_pr(REPO, sha=SHA_A, labels=["wip"])
    payload = {
        "opened": lambda: standin.open_pr(REPO, sha=SHA_C, event=True),
        "synchronize": lambda: standin.push(REPO, 1, SHA_B, event=True),
        "closed": lambda: standin.close_pr(REPO, 1, event=True),
        "reopened": lambda: (standin.close_pr(REPO, 1), standin.reopen_pr(REPO, 1, event=True))[1],
        "labeled": lambda: standin.set_labels(REPO, 1, ["wip", "preview"], event=True)[0],
        "unlabeled": lambda: standin.set_labels(REPO, 1, [], event=True)[0],
    }[action]()
    octokit = load_payload(f"pull_request.{example}.octokit")

    # A repository webhook carries no `installation`: only a GitHub App's deliveries do.
    assert list(payload) == [key for key in octokit if key != "installation"]
    assert set(payload["pull_request"]) == set(octokit["pull_request"])
    assert set(payload["pull_request"]["head"]) == set(octokit["pull_request"]["head"])
    assert set(payload["sender"]) == set(octokit["sender"])
    if action == "synchronize":
        assert (payload["before"], payload["after"]) == (SHA_A, SHA_B)


@pytest.mark.parametrize(
    ("action", "kwargs", "message"),
    [
        ("opened", {"label": {"name": "x"}}, "labeled and unlabeled"),
        ("labeled", {}, "labeled and unlabeled"),
        ("closed", {"before": SHA_A}, "synchronize"),
        ("synchronize", {}, "synchronize"),
    ],
)
def test_pull_request_event_refuses_mismatched_extras(standin, action, kwargs, message):
    pull = standin.open_pr(REPO, sha=SHA_A)

    with pytest.raises(ValueError, match=message):
        pull_request_event(action, pull, pull["user"], **kwargs)


def test_a_payload_can_be_delivered_or_missed(standin):
    with WebhookReceiver() as receiver:
        standin.add_hook(REPO, receiver.url, events=["pull_request"])
        delivered = standin.open_pr(REPO, sha=SHA_A, event=True)
        standin.deliver(REPO, "pull_request", delivered)
        standin.push(REPO, 1, SHA_B, event=True)  # missed: never delivered

        assert [request.json for request in receiver.requests] == [delivered]
    assert standin.pull(REPO, 1)["head"]["sha"] == SHA_B


# -- the contract --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "json", "status", "violation"),
    [
        ("GET", f"{PULLS}/one", None, 404, "is not an integer"),
        ("GET", f"{PULLS}/1/files", None, 404, "no path template"),
        ("PUT", PULLS, None, 404, "no PUT operation"),
        ("POST", PULLS, {"title": "x"}, 422, '"head" wasn\'t supplied'),
        ("POST", PULLS, {"head": "a", "base": "main"}, 501, "does not implement"),
        ("PATCH", f"{PULLS}/1", {"state": "shut"}, 422, "is not one of"),
        ("PATCH", f"{PULLS}/1", {"state": "closed"}, 501, "does not implement"),
        ("GET", f"{PULLS}?state=merged", None, 200, "state='merged' is not one of"),
        ("GET", f"{PULLS}?per_page=lots", None, 200, "is not an integer"),
        ("GET", f"{PULLS}?labels=preview", None, 200, "'labels' is not in the contract"),
    ],
)
def test_requests_that_break_the_contract_get_githubs_answer(standin, method, path, json, status, violation):
    standin.open_pr(REPO, sha=SHA_A)

    response = call(standin, method, path, json=json)

    assert response.status_code == status
    assert len(standin.violations) == 1
    assert violation in standin.violations[0]
    assert standin.pull(REPO, 1)["state"] == "open"


def test_a_query_that_breaks_the_contract_is_answered_with_the_defaults(standin):
    standin.open_pr(REPO, sha=SHA_A)
    standin.open_pr(REPO, sha=SHA_A)
    standin.close_pr(REPO, 2)

    assert numbers(call(standin, "GET", f"{PULLS}?state=merged&sort=size&direction=up")) == [1]


@pytest.mark.parametrize(
    ("token", "path", "status"),
    [
        (TOKEN, f"{PULLS}/9", 404),
        (TOKEN, "/repos/preview-envs/unknown/pulls", 404),
        (TOKEN, "/repos/preview-envs/unknown/pulls/1", 404),
        ("hooks-only", PULLS, 404),
        ("hooks-only", f"{PULLS}/1", 404),
    ],
)
def test_unknown_prs_and_missing_scopes_answer_404(standin, token, path, status):
    standin.open_pr(REPO, sha=SHA_A)

    response = call(standin, "GET", path, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == status
    assert response.json()["message"] == "Not Found"
    assert problems(standin, response.json(), "basic-error") == []
    assert standin.violations == []
