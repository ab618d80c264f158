"""The GitHub stand-in as a GitHub App sees it: the JWT checks, a repository's installation, installation tokens
(their lifetime, repositories and permissions)."""

from __future__ import annotations

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.github_standin import APP_DEFAULT_PERMISSIONS, GitHubStandIn

OWNER = "preview-envs"
REPO, OTHER, ELSEWHERE = f"{OWNER}/demo", f"{OWNER}/other", "someone/else"
APP_ID = 4242
PAT = "test-token"
NOW = 1_750_000_000.0


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def standin(key, clock):
    with GitHubStandIn(repos=(REPO, OTHER, ELSEWHERE), tokens={PAT: {"repo"}}, clock=clock) as server:
        server.add_app(APP_ID, key.public_key(), token_lifetime=600)
        yield server


def app_jwt(key, now=NOW, **claims) -> str:
    payload = {"iat": int(now) - 60, "exp": int(now) + 540, "iss": str(APP_ID), **claims}
    return jwt.encode(payload, key, algorithm="RS256")


def call(standin, method, path, token, **kwargs):
    headers = {"X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, standin.base_url + path, headers=headers, timeout=10, **kwargs)


def new_token(standin, key, installation, **body):
    answer = call(standin, "POST", f"/app/installations/{installation}/access_tokens", app_jwt(key), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_installation_is_found_and_its_token_works_like_a_token(standin, key, clock):
    installation = standin.install_app([REPO, OTHER])
    found = call(standin, "GET", f"/repos/{REPO}/installation", app_jwt(key))
    assert found.status_code == 200 and found.json()["id"] == installation and found.json()["app_id"] == APP_ID
    assert standin.schemas.problems(found.json(), standin.schemas.component("installation")) == []

    issued = new_token(standin, key, installation, repositories=["demo"])
    assert standin.schemas.problems(issued, standin.schemas.component("installation-token")) == []
    assert issued["expires_at"] == "2025-06-15T15:16:40Z"  # NOW + the 600 s lifetime the test gave
    assert issued["permissions"] == APP_DEFAULT_PERMISSIONS
    assert [repo["full_name"] for repo in issued["repositories"]] == [REPO]

    comment = call(standin, "POST", f"/repos/{REPO}/issues/3/comments", issued["token"], json={"body": "hi"})
    listed = call(standin, "GET", f"/repos/{REPO}/pulls", issued["token"])
    assert (comment.status_code, listed.status_code) == (201, 200)
    assert "x-oauth-scopes" not in listed.headers  # an installation token has no OAuth scopes
    assert [record["installation"] for record in standin.installation_tokens()] == [installation]
    assert standin.violations == []


def test_an_installation_token_expires(standin, key, clock):
    issued = new_token(standin, key, standin.install_app([REPO]))
    clock.now += 599
    assert call(standin, "GET", f"/repos/{REPO}/pulls", issued["token"]).status_code == 200
    clock.now += 1
    expired = call(standin, "GET", f"/repos/{REPO}/pulls", issued["token"])
    assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"


def test_a_token_reaches_only_its_repositories(standin, key):
    installation = standin.install_app([REPO, OTHER])
    narrowed = new_token(standin, key, installation, repositories=["demo"])["token"]
    whole = new_token(standin, key, installation)["token"]
    assert call(standin, "GET", f"/repos/{OTHER}/pulls", narrowed).status_code == 404
    assert call(standin, "GET", f"/repos/{OTHER}/pulls", whole).status_code == 200
    assert call(standin, "GET", f"/repos/{ELSEWHERE}/pulls", whole).status_code == 404
    outside = call(
        standin, "POST", f"/app/installations/{installation}/access_tokens", app_jwt(key), json={"repositories": ["x"]}
    )
    assert outside.status_code == 422 and "not accessible to the parent installation" in outside.json()["message"]


def test_a_token_without_the_permission_is_refused_with_the_permissions_accepted(standin, key):
    installation = standin.install_app([REPO], permissions={"metadata": "read", "pull_requests": "read"})
    token = new_token(standin, key, installation)["token"]
    refused = call(standin, "POST", f"/repos/{REPO}/issues/3/comments", token, json={"body": "hi"})
    assert refused.status_code == 403 and refused.json()["message"] == "Resource not accessible by integration"
    assert refused.headers["x-accepted-github-permissions"] == "issues=write; pull_requests=write"
    assert call(standin, "GET", f"/repos/{REPO}/pulls", token).status_code == 200
    more = call(
        standin,
        "POST",
        f"/app/installations/{installation}/access_tokens",
        app_jwt(key),
        json={"permissions": {"issues": "write"}},
    )
    assert more.status_code == 422


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda key: app_jwt(key, iss="999"), "A JSON web token could not be decoded"),
        (lambda key: "not-a-jwt", "A JSON web token could not be decoded"),
        (lambda key: PAT, "A JSON web token could not be decoded"),
        (lambda key: app_jwt(key, exp=int(NOW) + 601), "'Expiration time' claim ('exp') is too far in the future"),
        (lambda key: app_jwt(key, exp=int(NOW) - 1), "'Expiration time' claim ('exp') must be a numeric value"),
        (lambda key: app_jwt(key, iat=int(NOW) + 120), "'Issued at' claim ('iat') must be an Integer"),
    ],
    ids=["other-app", "garbage", "a-token", "exp-too-far", "expired", "iat-ahead"],
)
def test_a_bad_jwt_is_refused_with_githubs_message(standin, key, make, message):
    standin.install_app([REPO])
    answer = call(standin, "GET", f"/repos/{REPO}/installation", make(key))
    assert answer.status_code == 401 and answer.json()["message"].startswith(message)


def test_a_jwt_signed_by_another_key_is_refused(standin, key):
    standin.install_app([REPO])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = call(standin, "GET", f"/repos/{REPO}/installation", app_jwt(other))
    assert answer.status_code == 401 and answer.json()["message"] == "A JSON web token could not be decoded"


def test_no_installation_or_no_authentication(standin, key):
    standin.install_app([REPO])
    assert call(standin, "GET", f"/repos/{ELSEWHERE}/installation", app_jwt(key)).status_code == 404
    assert call(standin, "POST", "/app/installations/1/access_tokens", app_jwt(key)).status_code == 404
    anonymous = call(standin, "GET", f"/repos/{REPO}/installation", None)
    assert anonymous.status_code == 401 and anonymous.json()["message"] == "Requires authentication"


def test_an_uninstalled_apps_tokens_stop_working(standin, key):
    installation = standin.install_app([REPO])
    token = new_token(standin, key, installation)["token"]
    standin.uninstall_app(installation)
    assert call(standin, "GET", f"/repos/{REPO}/pulls", token).status_code == 401
    assert call(standin, "GET", f"/repos/{REPO}/installation", app_jwt(key)).status_code == 404
