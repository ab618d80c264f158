from __future__ import annotations

import pytest

from ansible_collections.preview.envs.plugins.module_utils import _naming


@pytest.mark.parametrize(
    ("repo", "slug"),
    [
        ("Codertocat/Hello-World", "hello-world"),
        ("octo/app", "app"),
        ("o/My__Repo.js", "my-repo-js"),
        ("o/---", "repo"),
    ],
)
def test_default_slug(repo, slug):
    assert _naming.default_slug(repo) == slug


def test_names_of_a_preview():
    assert _naming.label("hello-world", 5) == "hello-world-pr-5"
    assert _naming.project_name("hello-world", 5) == "preview-hello-world-pr-5"
    assert _naming.url("app", 5, public_url="http://10.0.0.1/") == "http://10.0.0.1/app-pr-5/"
    assert (
        _naming.url("app", 5, domain="preview.example.com", scheme="https") == "https://app-pr-5.preview.example.com/"
    )


@pytest.mark.parametrize(
    "bad",
    ["{{ lookup('pipe','id') }}", "../etc", "UPPER", "-lead", "trail-", "a b", "", "x" * 41, "a;b", "$(id)"],
)
def test_slug_rejects_anything_else(bad):
    with pytest.raises(_naming.NamingError):
        _naming.check_slug(bad)


@pytest.mark.parametrize("bad", [0, -1, "5; rm -rf /", "05", True, None, 1.5, "1e3", 10**9])
def test_pr_number_must_be_a_plain_positive_int(bad):
    with pytest.raises(_naming.NamingError):
        _naming.check_pr(bad)


@pytest.mark.parametrize("bad", ["abc", "A" * 40, "0" * 39, "0" * 41, "{{ x }}" + "0" * 33])
def test_sha_must_be_40_lowercase_hex(bad):
    with pytest.raises(_naming.NamingError):
        _naming.check_sha(bad)


@pytest.mark.parametrize("bad", ["a/b/c", "../x", "a", "{{x}}/y", "o/" + "x" * 101, "o/.."])
def test_repo_must_be_owner_slash_name(bad):
    with pytest.raises(_naming.NamingError):
        _naming.check_repo(bad)


@pytest.mark.parametrize("bad", ["localhost", "exa mple.com", "-x.com", "x.c", "a.b;include /etc/x"])
def test_domain_validation(bad):
    with pytest.raises(_naming.NamingError):
        _naming.check_domain(bad)


def test_sibling_urls_name_each_repository_by_its_slug():
    assert _naming.sibling_urls(["api-server", "web"], 7, public_url="http://h") == {
        "PREVIEW_URL_API_SERVER": "http://h/api-server-pr-7/",
        "PREVIEW_URL_WEB": "http://h/web-pr-7/",
    }
    assert _naming.sibling_url_variable("a1") == "PREVIEW_URL_A1"
    assert _naming.environment("web-pr-7") == "preview/web-pr-7"
    assert _naming.status_context("web") == "preview/web"
