"""The GitHub stand-in itself: it must hold clients to GitHub's contract, or the other tests prove nothing."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
TOKEN = "test-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}


@pytest.fixture
def standin():
    with GitHubStandIn(
        repos={REPO, "preview-envs/other"},
        tokens={TOKEN: {"repo", "admin:repo_hook"}, "hooks-only": {"admin:repo_hook"}, "no-scopes": set()},
    ) as server:
        yield server


def call(standin, method, path, *, headers=None, **kwargs):
    url = path if path.startswith("http") else standin.base_url + path
    return requests.request(method, url, headers=HEADERS if headers is None else headers, timeout=10, **kwargs)


def schema(standin, name):
    return standin.schemas.component(name)


# -- the contract --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "json", "status", "violation"),
    [
        ("GET", f"/repos/{REPO}/issues/7/comment", None, 404, "no path template"),
        ("GET", "/user", None, 404, "no path template"),
        ("PUT", f"/repos/{REPO}/issues/7/comments", {"body": "x"}, 404, "no PUT operation"),
        ("POST", f"/repos/{REPO}/issues/comments/5", {"body": "x"}, 404, "no POST operation"),
        ("GET", f"/repos/{REPO}/issues/seven/comments", None, 404, "is not an integer"),
        ("POST", f"/repos/{REPO}/issues/7/comments", {}, 422, '"body" wasn\'t supplied'),
        ("POST", f"/repos/{REPO}/issues/7/comments", {"body": 5}, 422, "5 is not a string"),
        ("PATCH", f"/repos/{REPO}/issues/comments/5", {"text": "x"}, 422, '"body" wasn\'t supplied'),
        (
            "POST",
            f"/repos/{REPO}/hooks",
            {"config": {"url": "https://h.example/"}, "extra": 1},
            422,
            '"extra" is not a permitted key',
        ),
        (
            "POST",
            f"/repos/{REPO}/hooks",
            {"config": {"url": "https://h.example/"}, "events": "push"},
            422,
            "is not an array",
        ),
        (
            "POST",
            f"/repos/{REPO}/hooks",
            {"config": {"url": "https://h.example/", "insecure_ssl": True}},
            422,
            "does not match any allowed form",
        ),
        ("PATCH", f"/repos/{REPO}/hooks/5", {"active": "yes"}, 422, "is not a boolean"),
        ("POST", f"/repos/{REPO}/hooks", {"events": ["push"]}, 422, "Config must have a url"),
    ],
)
def test_requests_that_break_the_contract_are_refused_and_recorded(standin, method, path, json, status, violation):
    response = call(standin, method, path, json=json)

    assert response.status_code == status
    assert len(standin.violations) == 1
    assert violation in standin.violations[0]
    assert standin.comments(REPO, 7) == [] and standin.hooks(REPO) == []
    if status == 422:
        body = response.json()
        assert standin.schemas.problems(body, schema(standin, "validation-error")) == []
        assert body["errors"][0]["code"] in {"missing_field", "invalid", "custom"}
        assert body["documentation_url"].startswith("https://docs.github.com/rest/")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "Problems parsing JSON"),
        ("[1, 2]", "Body should be a JSON object"),
        ('"text"', "Body should"),
    ],
)
def test_bodies_that_are_not_json_objects_get_400(standin, data, message):
    response = call(standin, "POST", f"/repos/{REPO}/issues/7/comments", data=data)

    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert len(standin.violations) == 1
    assert standin.comments(REPO, 7) == []


def test_unknown_query_parameters_are_recorded_but_ignored_like_github_does(standin):
    response = call(standin, "GET", f"/repos/{REPO}/issues/7/comments", params={"per_page": 2, "sort": "desc"})

    assert response.status_code == 200
    assert standin.violations == [f"GET /repos/{REPO}/issues/7/comments: query parameter 'sort' is not in the contract"]


@pytest.mark.parametrize(
    ("headers", "status", "violation"),
    [
        ({"Authorization": f"Bearer {TOKEN}", "User-Agent": ""}, 403, "no User-Agent"),
        (
            {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2021-01-01"},
            400,
            "X-GitHub-Api-Version",
        ),
    ],
)
def test_request_headers_are_part_of_the_contract(standin, headers, status, violation):
    response = call(standin, "GET", f"/repos/{REPO}/issues/7/comments", headers=headers)

    assert response.status_code == status
    assert violation in standin.violations[0]


def test_a_documented_operation_the_standin_lacks_is_not_silently_accepted(standin):
    response = call(standin, "GET", f"/repos/{REPO}/commits/main/status")

    assert response.status_code == 501
    assert "does not implement" in standin.violations[0]


def test_a_good_session_leaves_no_violations(standin):
    created = call(standin, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": "hello"})
    comment_id = created.json()["id"]
    call(standin, "PATCH", f"/repos/{REPO}/issues/comments/{comment_id}", json={"body": "hello again"})
    call(standin, "GET", f"/repos/{REPO}/issues/7/comments", params={"per_page": 100, "page": 1})
    call(standin, "GET", f"/repos/{REPO}")
    call(standin, "GET", "/rate_limit")
    call(standin, "DELETE", f"/repos/{REPO}/issues/comments/{comment_id}")

    assert standin.violations == []
    assert standin.comments(REPO, 7) == []


# -- answers follow the schemas ------------------------------------------------------------------------------


def test_comment_answers_match_the_issue_comment_schema(standin):
    created = call(standin, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": "hello"})
    listed = call(standin, "GET", f"/repos/{REPO}/issues/7/comments")

    assert created.status_code == 201
    assert created.headers["location"] == created.json()["url"]
    for comment in [created.json(), *listed.json()]:
        assert standin.schemas.problems(comment, schema(standin, "issue-comment")) == []
    assert created.json()["html_url"].endswith(f"/{REPO}/pull/7#issuecomment-{created.json()['id']}")
    assert created.json()["user"]["login"] == "preview-bot"


def test_hook_answers_match_the_hook_schema_and_never_show_the_secret(standin):
    config = {"url": "https://hooks.example/github", "content_type": "json", "secret": "s3cret"}
    created = call(standin, "POST", f"/repos/{REPO}/hooks", json={"config": config, "events": ["pull_request"]})
    listed = call(standin, "GET", f"/repos/{REPO}/hooks")

    assert created.status_code == 201
    for hook in [created.json(), *listed.json()]:
        assert standin.schemas.problems(hook, schema(standin, "hook")) == []
        assert hook["config"]["secret"] == "********"
    assert standin.hooks(REPO)[0]["config"]["secret"] == "s3cret"
    assert standin.violations == []


def test_rate_limit_answer_matches_its_schema_and_does_not_count(standin):
    call(standin, "GET", f"/repos/{REPO}")
    first = call(standin, "GET", "/rate_limit")
    second = call(standin, "GET", "/rate_limit")

    assert standin.schemas.problems(first.json(), schema(standin, "rate-limit-overview")) == []
    assert first.json()["resources"]["core"]["used"] == second.json()["resources"]["core"]["used"] == 1


# -- pagination ----------------------------------------------------------------------------------------------


def test_link_header_pages_through_comments(standin):
    for number in range(5):
        standin.add_comment(REPO, 7, f"comment {number}")

    first = call(standin, "GET", f"/repos/{REPO}/issues/7/comments", params={"per_page": 2})
    second = call(standin, "GET", first.links["next"]["url"])
    third = call(standin, "GET", second.links["next"]["url"])

    assert [c["body"] for c in first.json()] == ["comment 0", "comment 1"]
    assert [c["body"] for c in second.json()] == ["comment 2", "comment 3"]
    assert [c["body"] for c in third.json()] == ["comment 4"]
    assert set(first.links) == {"next", "last"}
    assert set(second.links) == {"prev", "next", "last", "first"}
    assert set(third.links) == {"prev", "first"}
    assert first.links["last"]["url"] == second.links["next"]["url"]
    # Like GitHub, the links name the repository by ID and carry per_page along.
    assert "/repositories/" in first.links["next"]["url"]
    assert "per_page=2" in first.links["next"]["url"] and "page=2" in first.links["next"]["url"]
    assert standin.violations == []


def test_a_single_page_has_no_link_header(standin):
    standin.add_comment(REPO, 7, "only one")

    response = call(standin, "GET", f"/repos/{REPO}/issues/7/comments")

    assert "link" not in response.headers
    assert len(response.json()) == 1


@pytest.mark.parametrize(("per_page", "expected"), [(None, 30), ("100", 100), ("250", 100)])
def test_per_page_defaults_to_30_and_caps_at_100(standin, per_page, expected):
    for number in range(120):
        standin.add_comment(REPO, 8, f"comment {number}")

    params = {"per_page": per_page} if per_page else {}
    response = call(standin, "GET", f"/repos/{REPO}/issues/8/comments", params=params)

    assert len(response.json()) == expected


def test_comments_are_kept_per_repository_and_issue(standin):
    theirs = standin.add_comment("preview-envs/other", 7, "elsewhere")
    standin.add_comment(REPO, 8, "another issue")

    assert call(standin, "GET", f"/repos/{REPO}/issues/7/comments").json() == []
    assert call(standin, "GET", f"/repos/{REPO}/issues/comments/{theirs['id']}").status_code == 404
    assert call(standin, "DELETE", f"/repos/{REPO}/issues/comments/{theirs['id']}").status_code == 404
    assert [c["body"] for c in standin.comments("preview-envs/other", 7)] == ["elsewhere"]


# -- authentication ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status", "message"),
    [
        (None, 401, "Requires authentication"),
        ("Bearer wrong", 401, "Bad credentials"),
        ("token wrong", 401, "Bad credentials"),
        ("Basic dGVzdC10b2tlbg==", 401, "Requires authentication"),
        (f"token {TOKEN}", 200, None),
        (f"Bearer {TOKEN}", 200, None),
    ],
)
def test_tokens(standin, authorization, status, message):
    headers = {"Authorization": authorization} if authorization else {}

    response = call(standin, "GET", f"/repos/{REPO}/issues/7/comments", headers=headers)

    assert response.status_code == status
    if message:
        assert response.json() == {"message": message, "documentation_url": "https://docs.github.com/rest"}
        assert "x-oauth-scopes" not in response.headers
    else:
        assert response.headers["x-oauth-scopes"] == "admin:repo_hook, repo"
    assert standin.violations == []


@pytest.mark.parametrize(
    ("token", "path", "status"),
    [
        ("hooks-only", f"/repos/{REPO}/hooks", 200),
        ("hooks-only", f"/repos/{REPO}/issues/7/comments", 404),
        ("no-scopes", f"/repos/{REPO}/hooks", 404),
        ("no-scopes", f"/repos/{REPO}", 404),
        ("no-scopes", "/rate_limit", 200),
        (TOKEN, "/repos/preview-envs/unknown/hooks", 404),
        (TOKEN, "/repos/PREVIEW-ENVS/Demo/issues/7/comments", 200),
    ],
)
def test_scopes_and_unknown_repositories_answer_404_like_private_resources(standin, token, path, status):
    response = call(standin, "GET", path, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == status
    if status == 404:
        assert response.json()["message"] == "Not Found"
    assert standin.violations == []


# -- failure injection and rate limits -----------------------------------------------------------------------


def test_fail_next_answers_the_next_requests_then_recovers(standin):
    standin.fail_next(2, 502)

    statuses = [call(standin, "GET", f"/repos/{REPO}").status_code for _attempt in range(3)]

    assert statuses == [502, 502, 200]
    assert standin.violations == []


def test_fail_next_can_target_one_method_and_path(standin):
    standin.fail_next(1, 503, method="POST", path_prefix=f"/repos/{REPO}/issues/")

    listed = call(standin, "GET", f"/repos/{REPO}/issues/7/comments")
    failed = call(standin, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": "x"})
    created = call(standin, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": "x"})

    assert (listed.status_code, failed.status_code, created.status_code) == (200, 503, 201)
    assert len(standin.comments(REPO, 7)) == 1


@pytest.mark.parametrize(
    ("status", "headers", "body", "message"),
    [
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000000"},
            None,
            "secondary rate limit",
        ),
        (429, {"retry-after": "30"}, None, "secondary rate limit"),
        (
            403,
            {"X-Accepted-GitHub-Permissions": "issues=write"},
            {"message": "Resource not accessible by personal access token"},
            "Resource not accessible",
        ),
        (500, None, None, "Internal Server Error"),
    ],
)
def test_injected_answers_carry_the_given_headers_and_body(standin, status, headers, body, message):
    standin.fail_next(1, status, headers=headers, body=body)

    response = call(standin, "GET", f"/repos/{REPO}/issues/7/comments")

    assert response.status_code == status
    assert message in response.json()["message"]
    for name, value in (headers or {}).items():
        assert response.headers[name] == value


def test_every_answer_carries_rate_limit_headers_and_counts_requests(standin):
    answers = [call(standin, "GET", f"/repos/{REPO}") for _attempt in range(3)]
    unauthenticated = call(standin, "GET", f"/repos/{REPO}", headers={})

    assert [int(a.headers["x-ratelimit-used"]) for a in answers] == [1, 2, 3]
    assert answers[-1].headers["x-ratelimit-remaining"] == "4997"
    assert answers[-1].headers["x-ratelimit-limit"] == "5000"
    assert answers[-1].headers["x-ratelimit-resource"] == "core"
    assert int(answers[-1].headers["x-ratelimit-reset"]) > time.time()
    assert unauthenticated.headers["x-ratelimit-limit"] == "60"


def test_an_exhausted_primary_limit_answers_403_with_remaining_zero():
    with GitHubStandIn(repos={REPO}, rate_limit=2) as standin:
        statuses = [call(standin, "GET", f"/repos/{REPO}").status_code for _attempt in range(3)]
        last = call(standin, "GET", f"/repos/{REPO}")

    assert statuses == [200, 200, 403]
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert "API rate limit exceeded" in last.json()["message"]


# -- webhooks ------------------------------------------------------------------------------------------------


def test_hooks_get_github_defaults(standin):
    created = call(standin, "POST", f"/repos/{REPO}/hooks", json={"config": {"url": "https://h.example/"}})

    hook = created.json()
    assert (hook["name"], hook["active"], hook["events"]) == ("web", True, ["push"])
    assert hook["config"] == {"url": "https://h.example/", "content_type": "form", "insecure_ssl": "0"}
    assert created.headers["location"] == hook["url"]


def test_a_patch_without_the_secret_drops_it(standin):
    hook = standin.add_hook(REPO, "https://h.example/", events=["pull_request"], secret="s3cret")

    kept = call(
        standin,
        "PATCH",
        f"/repos/{REPO}/hooks/{hook['id']}",
        json={"config": {"url": "https://h.example/", "secret": "s3cret"}, "add_events": ["ping"]},
    )
    assert standin.hooks(REPO)[0]["config"]["secret"] == "s3cret"
    dropped = call(standin, "PATCH", f"/repos/{REPO}/hooks/{hook['id']}", json={"remove_events": ["ping"]})

    assert kept.json()["events"] == ["pull_request", "ping"]
    assert dropped.json()["events"] == ["pull_request"]
    assert "secret" not in dropped.json()["config"]
    assert "secret" not in standin.hooks(REPO)[0]["config"]
    assert standin.violations == []


def test_a_second_hook_with_the_same_url_and_events_is_refused(standin):
    standin.add_hook(REPO, "https://h.example/", events=["pull_request"])

    again = call(
        standin,
        "POST",
        f"/repos/{REPO}/hooks",
        json={"config": {"url": "https://h.example/"}, "events": ["pull_request"]},
    )

    assert again.status_code == 422
    assert again.json()["errors"][0]["message"] == "Hook already exists on this repository"
    assert len(standin.hooks(REPO)) == 1


def test_hooks_can_be_read_and_deleted(standin):
    hook = standin.add_hook(REPO, "https://h.example/")

    got = call(standin, "GET", f"/repos/{REPO}/hooks/{hook['id']}")
    deleted = call(standin, "DELETE", f"/repos/{REPO}/hooks/{hook['id']}")
    again = call(standin, "DELETE", f"/repos/{REPO}/hooks/{hook['id']}")

    assert (got.status_code, deleted.status_code, again.status_code) == (200, 204, 404)
    assert deleted.content == b""
    assert standin.hooks(REPO) == []


# -- the request log -----------------------------------------------------------------------------------------


def test_requests_are_recorded(standin):
    call(standin, "POST", f"/repos/{REPO}/issues/7/comments", json={"body": "hi"}, params={"x": "1"})

    [request] = standin.requests
    assert (request.method, request.path, request.query, request.json) == (
        "POST",
        f"/repos/{REPO}/issues/7/comments",
        {"x": ["1"]},
        {"body": "hi"},
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert [r.method for r in standin.writes()] == ["POST"]


def test_base_url_needs_a_running_server():
    standin = GitHubStandIn()

    with pytest.raises(RuntimeError, match="not running"):
        getattr(standin, "base_url")  # noqa: B009
    with standin:
        assert standin.base_url.startswith("http://127.0.0.1:")


# -- collaborator permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permission"),
    [("admin", "admin"), ("maintain", "write"), ("write", "write"), ("triage", "read"), ("read", "read")],
)
def test_a_collaborators_permission_matches_its_schema(standin, role, permission):
    standin.set_role(REPO, "Mona", role)
    response = call(standin, "GET", f"/repos/{REPO}/collaborators/mona/permission")
    assert response.status_code == 200
    body = response.json()
    assert (body["permission"], body["role_name"], body["user"]["login"]) == (permission, role, "mona")
    assert standin.schemas.problems(body, schema(standin, "repository-collaborator-permission")) == []
    assert standin.violations == []


def test_a_login_without_a_role_is_not_found(standin):
    standin.set_role(REPO, "mona", "write")
    standin.set_role(REPO, "mona", None)
    assert call(standin, "GET", f"/repos/{REPO}/collaborators/mona/permission").status_code == 404
    assert call(standin, "GET", f"/repos/{REPO}/collaborators/hubot/permission").status_code == 404
