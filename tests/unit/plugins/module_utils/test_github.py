"""GitHubClient against the GitHub stand-in: headers, pagination, retries and error messages."""

from __future__ import annotations

import time

import pytest

from ansible_collections.preview.envs.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    is_rate_limited,
    next_link,
)
from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
NOW = 1_700_000_000.0


@pytest.fixture
def standin():
    with GitHubStandIn(repos={REPO}) as server:
        yield server


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(standin, sleeps):
    return make_client(standin, sleeps)


def make_client(standin, sleeps, token="test-token", **kwargs):
    kwargs.setdefault("clock", lambda: NOW)
    return GitHubClient(standin.base_url, token, timeout=5, sleep=sleeps.append, **kwargs)


# -- requests ------------------------------------------------------------------------------------------------


def test_a_conditional_request_gets_304_and_no_body_when_nothing_changed(standin, client):
    standin.open_pr(REPO, 1, sha="0" * 40)
    status, headers, pulls = client.request("GET", f"/repos/{REPO}/pulls")
    assert status == 200 and len(pulls) == 1 and headers["etag"]

    assert client.request("GET", f"/repos/{REPO}/pulls", etag=headers["etag"])[::2] == (304, None)
    assert standin.requests[-1].headers["if-none-match"] == headers["etag"]

    standin.push(REPO, 1, "1" * 40)
    status, dummy, pulls = client.request("GET", f"/repos/{REPO}/pulls", etag=headers["etag"])
    assert status == 200 and pulls[0]["head"]["sha"] == "1" * 40


def test_sends_the_headers_github_asks_for(standin, client):
    client.request("GET", f"/repos/{REPO}")

    headers = standin.requests[-1].headers
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == "preview-envs"
    assert headers["authorization"] == "Bearer test-token"
    assert standin.violations == []


def test_request_returns_status_headers_and_json(standin, client):
    status, headers, body = client.request("POST", f"/repos/{REPO}/issues/3/comments", body={"body": "hi"})

    assert status == 201
    assert headers["location"] == body["url"]
    assert headers["content-type"].startswith("application/json")
    assert body["body"] == "hi"
    assert standin.requests[-1].headers["content-type"] == "application/json"

    status, _headers, body = client.request("DELETE", f"/repos/{REPO}/issues/comments/{body['id']}")
    assert (status, body) == (204, None)
    assert standin.violations == []


def test_query_parameters_are_encoded(standin, client):
    client.request("GET", f"/repos/{REPO}/issues/3/comments", query={"per_page": 5, "since": "2020-01-01T00:00:00Z"})

    assert standin.requests[-1].query == {"per_page": ["5"], "since": ["2020-01-01T00:00:00Z"]}


def test_api_url_may_end_with_a_slash(standin, sleeps):
    client = GitHubClient(standin.base_url + "/", "test-token", sleep=sleeps.append)

    assert client.request("GET", "/rate_limit")[0] == 200
    assert standin.requests[-1].path == "/rate_limit"


# -- pagination ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_paginate_follows_next_links(standin, client, count, pages):
    for number in range(count):
        standin.add_comment(REPO, 9, f"comment {number}")

    items = client.paginate(f"/repos/{REPO}/issues/9/comments", {"per_page": 100})

    assert [item["body"] for item in items] == [f"comment {number}" for number in range(count)]
    assert len(standin.requests) == pages
    # Later pages come from the link header (GitHub's /repositories/{id} form), never from a built URL.
    assert all(request.path.startswith("/repositories/") for request in standin.requests[1:])
    assert standin.violations == []


def test_paginate_keeps_the_token_on_the_api_host(standin, client):
    standin.fail_next(1, 200, headers={"link": '<https://elsewhere.example/next?page=2>; rel="next"'}, body=[])

    with pytest.raises(GitHubError, match="refusing to send the token to https://elsewhere.example"):
        client.paginate(f"/repos/{REPO}/issues/9/comments")


def test_paginate_stops_on_a_link_loop(standin, client):
    loop = f'<{standin.base_url}/repos/{REPO}/issues/9/comments>; rel="next"'
    standin.fail_next(1, 200, headers={"link": loop}, body=[])

    with pytest.raises(GitHubError, match="points back at a page already read"):
        client.paginate(f"/repos/{REPO}/issues/9/comments")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"', "https://a/x?page=2"),
        ('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next"', "https://a/x?page=3"),
        ('<https://a/x?page=1>; rel="first", <https://a/x?page=1>; rel="prev"', None),
        ("<https://a/x?cursor=abc>; rel=next", "https://a/x?cursor=abc"),
        ('<https://a/x?page=9>; rel="next last"', "https://a/x?page=9"),
        ("", None),
    ],
)
def test_next_link(header, expected):
    assert next_link(header) == expected


# -- retries -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "waits"), [(1, [1.0]), (2, [1.0, 2.0]), (4, [1.0, 2.0, 4.0, 8.0])])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_exponential_backoff(standin, client, sleeps, status, failures, waits):
    standin.fail_next(failures, status)

    assert client.request("GET", f"/repos/{REPO}")[0] == 200
    assert sleeps == waits
    assert len(standin.requests) == failures + 1


def test_backoff_is_capped_by_max_wait(standin, sleeps):
    client = make_client(standin, sleeps, retries=6, max_wait=5)
    standin.fail_next(6, 502)

    client.request("GET", f"/repos/{REPO}")

    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_server_errors_fail_once_the_retries_are_spent(standin, sleeps):
    client = make_client(standin, sleeps, retries=2)
    standin.fail_next(3, 503)

    with pytest.raises(GitHubError) as caught:
        client.request("GET", f"/repos/{REPO}")

    assert caught.value.status == 503
    assert "503 Service Unavailable" in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("status", "headers", "waits"),
    [
        (429, {"retry-after": "7"}, [7.0]),
        (403, {"retry-after": "3"}, [3.0]),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}, [30.0]),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}, [1.0]),
        # retry-after wins over the reset time.
        (
            403,
            {"retry-after": "2", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 50)},
            [2.0],
        ),
        # A secondary limit that names no wait: at least a minute, as GitHub asks.
        (403, {}, [60.0]),
        (429, {}, [60.0]),
    ],
)
def test_rate_limits_wait_as_github_asks(standin, client, sleeps, status, headers, waits):
    standin.fail_next(1, status, headers=headers)

    assert client.request("GET", f"/repos/{REPO}")[0] == 200
    assert sleeps == waits


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)},
            "resets at 2023-11-14T23:13:20Z (in 3600 s)",
        ),
        ({"retry-after": "120"}, "GitHub asked to retry after 120 s"),
    ],
)
def test_a_rate_limit_longer_than_max_wait_fails_at_once(standin, client, sleeps, headers, expected):
    standin.fail_next(1, 403, headers=headers)

    with pytest.raises(GitHubError) as caught:
        client.request("GET", f"/repos/{REPO}")

    assert sleeps == []
    assert len(standin.requests) == 1
    assert caught.value.status == 403
    assert expected in str(caught.value)
    assert "max_wait" in str(caught.value)


def test_a_secondary_limit_backs_off_until_max_wait_is_exceeded(standin, client, sleeps):
    standin.fail_next(2, 429)

    with pytest.raises(GitHubError, match="needs a wait of 120 s, longer than the 60 s"):
        client.request("POST", f"/repos/{REPO}/issues/3/comments", body={"body": "x"})

    assert sleeps == [60.0]
    assert standin.comments(REPO, 3) == []


def test_the_real_reset_time_is_used_with_the_real_clock(standin):
    sleeps = []
    client = GitHubClient(standin.base_url, "test-token", sleep=sleeps.append)
    standin.fail_next(1, 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 20)})

    client.request("GET", f"/repos/{REPO}")

    assert len(sleeps) == 1 and 18 <= sleeps[0] <= 21


def test_an_exhausted_primary_limit_reports_when_it_resets(sleeps):
    with GitHubStandIn(repos={REPO}, rate_limit=1) as standin:
        client = GitHubClient(standin.base_url, "test-token", sleep=sleeps.append)
        client.request("GET", f"/repos/{REPO}")

        with pytest.raises(GitHubError) as caught:
            client.request("GET", f"/repos/{REPO}")

    assert "the rate limit resets at" in str(caught.value)
    assert "API rate limit exceeded" in str(caught.value)
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "headers", "body", "limited"),
    [
        (429, {}, None, True),
        (403, {"retry-after": "1"}, None, True),
        (403, {"x-ratelimit-remaining": "0"}, None, True),
        (403, {}, {"message": "You have exceeded a secondary rate limit."}, True),
        (403, {"x-ratelimit-remaining": "12"}, {"message": "Resource not accessible by integration"}, False),
        (404, {"x-ratelimit-remaining": "0"}, None, False),
    ],
)
def test_is_rate_limited(status, headers, body, limited):
    assert is_rate_limited(status, headers, body) is limited


def test_network_errors_are_retried_then_reported(sleeps):
    with GitHubStandIn() as standin:
        url = standin.base_url
    # The stand-in is gone: nothing listens on that port now.
    client = GitHubClient(url, "test-token", retries=2, sleep=sleeps.append)

    with pytest.raises(GitHubError) as caught:
        client.request("GET", "/rate_limit")

    assert caught.value.status is None
    assert "could not reach GitHub" in str(caught.value)
    assert sleeps == [1.0, 2.0]


# -- errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (
            401,
            {},
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            ["401 Bad credentials", "expired or revoked", "(see https://docs.github.com/rest)"],
        ),
        (
            403,
            {"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
            {"message": "Resource not accessible by personal access token"},
            [
                "403 Resource not accessible by personal access token",
                "lacks the permission",
                "accepts the permissions issues=write; pull_requests=write",
            ],
        ),
        (404, {}, {"message": "Not Found"}, ["404 Not Found", "token cannot see it"]),
        (
            410,
            {},
            {"message": "Issues are disabled for this repo"},
            ["410 Issues are disabled for this repo"],
        ),
        (
            422,
            {},
            {
                "message": "Validation Failed",
                "errors": [
                    {"resource": "IssueComment", "field": "body", "code": "missing_field"},
                    {"resource": "IssueComment", "code": "custom", "message": "body is too long"},
                ],
            },
            [
                "422 Validation Failed",
                "IssueComment.body: missing_field",
                "IssueComment: body is too long (custom)",
            ],
        ),
        (422, {}, {"message": "Validation Failed", "errors": ["Only one allowed"]}, ["Only one allowed"]),
        (400, {}, "<html>bad</html>", ["400 <html>bad</html>"]),
    ],
)
def test_error_answers_become_clear_messages(standin, client, sleeps, status, headers, body, expected):
    standin.fail_next(1, status, headers=headers, body=body)

    with pytest.raises(GitHubError) as caught:
        client.request("GET", f"/repos/{REPO}/issues/3/comments")

    error = caught.value
    assert error.status == status
    assert error.url == f"{standin.base_url}/repos/{REPO}/issues/3/comments"
    assert f"GET {error.url}" in str(error)
    for text in expected:
        assert text in str(error)
    assert sleeps == []
    assert len(standin.requests) == 1


def test_a_bad_token_is_reported_as_such(standin, sleeps):
    client = make_client(standin, sleeps, token="expired")

    with pytest.raises(GitHubError) as caught:
        client.request("GET", f"/repos/{REPO}/issues/3/comments")

    assert caught.value.status == 401
    assert caught.value.documentation_url == "https://docs.github.com/rest"
    assert "GitHub rejected the credentials" in str(caught.value)
    assert "expired" not in caught.value.url
    assert standin.violations == []


def test_missing_scopes_are_reported_as_not_found(sleeps):
    with GitHubStandIn(repos={REPO}, tokens={"read-hooks": {"read:repo_hook"}}) as standin:
        client = GitHubClient(standin.base_url, "read-hooks", sleep=sleeps.append)

        with pytest.raises(GitHubError) as caught:
            client.request("POST", f"/repos/{REPO}/hooks", body={"config": {"url": "https://h.example/"}})

    assert caught.value.status == 404
    assert "GitHub answers 404, not 403, for private resources" in str(caught.value)


def test_a_contract_breach_comes_back_as_a_validation_error(standin, client):
    with pytest.raises(GitHubError) as caught:
        client.request("POST", f"/repos/{REPO}/issues/3/comments", body={"text": "no body key"})

    assert caught.value.status == 422
    assert 'IssueComment.body: "body" wasn\'t supplied. (missing_field)' in str(caught.value)
    assert caught.value.errors[0]["field"] == "body"
    assert len(standin.violations) == 1


def test_relative_paths_must_start_with_a_slash(client):
    with pytest.raises(ValueError, match="start with '/'"):
        client.request("GET", "rate_limit")
