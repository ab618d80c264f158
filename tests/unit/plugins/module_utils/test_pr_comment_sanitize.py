"""What a PR's build output and logs can do to our bot's comment: nothing (sanitize_body, fenced)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.preview.envs.plugins.module_utils._pr_comment import ensure_comment, fenced, sanitize_body
from ansible_collections.preview.envs.plugins.module_utils._redact import redact_secrets, redact_urls
from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
PR = 12
TOKEN = "ghp_0123456789abcdefABCDEF0123456789abcd"
ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "fetch https://x-access-token:ghs_abc123@github.com/o/r.git failed",
            "fetch https://***@github.com/o/r.git failed",
        ),
        ("https://ghp_tokenasuser@github.com/o/r", "https://***@github.com/o/r"),
        (
            "postgres://app:s3cr3t@db:5432/app and redis://:pw@cache/0",
            "postgres://***@db:5432/app and redis://***@cache/0",
        ),
        ("HTTP://User:Pass@Example.com/", "HTTP://***@Example.com/"),
        # an account name, not a credential: ssh authenticates with a key
        ("ssh://git@github.com/o/r, git@github.com:o/r", "ssh://git@github.com/o/r, git@github.com:o/r"),
        ("http://127.0.0.1:8005/health?next=a@b", "http://127.0.0.1:8005/health?next=a@b"),
        ("", ""),
    ],
)
def test_redact_urls(text, expected):
    assert redact_urls(text) == expected


def test_redact_secrets_takes_out_each_value_but_ignores_short_ones():
    assert redact_secrets(f"a {TOKEN} b {TOKEN[:-1]}x", [TOKEN, "", "ab"]) == f"a *** b {TOKEN[:-1]}x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cc @octocat and @octo-org/admins", f"cc @{ZWSP}octocat and @{ZWSP}octo-org/admins"),
        ("@everyone\n@here", f"@{ZWSP}everyone\n@{ZWSP}here"),
        ("fixes #123, see octo/app#4", "fixes #123, see octo/app#4"),
        ("mail dev@example.com", f"mail dev@{ZWSP}example.com"),
        ("a lone @ or @@ or @-x", "a lone @ or @@ or @-x"),
    ],
)
def test_mentions_are_neutralized_and_references_kept(text, expected):
    assert sanitize_body(text) == expected


def test_sanitize_is_idempotent_and_takes_the_token_out():
    body = f"Reason: git said https://u:{TOKEN}@github.com/x and then {TOKEN} alone; ping @admin"
    once = sanitize_body(body, (TOKEN,))
    # The @ after the redacted credentials is broken too: "https://a:b@octo-org/admins" must ping nobody.
    assert TOKEN not in once and f"https://***@{ZWSP}github.com/x" in once and f"@{ZWSP}admin" in once
    assert sanitize_body(once, (TOKEN,)) == once


@pytest.mark.parametrize(
    "text",
    ["plain", "```\n</details>\n@x", "````````", "a `b` ``c``\n```js\nx\n```", "~~~\n```` \n   ```"],
)
def test_the_text_cannot_close_its_code_block(text):
    block = fenced(text)
    opening, *inside, closing = block.split("\n")
    assert opening == closing and set(opening) == {"`"} and len(opening) >= 3
    assert "\n".join(inside) == text
    # CommonMark: a closing fence is a line of at least as many backticks (up to 3 spaces of indent).
    assert not any(re.fullmatch(rf" {{0,3}}`{{{len(opening)},}}\s*", line) for line in inside)


def test_every_body_posted_is_sanitized():
    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as standin:
        params = {
            "repo": REPO,
            "pr": PR,
            "state": "present",
            "marker": "preview-envs",
            "token": TOKEN,
            "api_url": standin.base_url,
            "timeout": 5,
            "retries": 0,
            "body": f"failed: https://x:{TOKEN}@github.com/o/r.git\nlog echoes {TOKEN}\n@octo-org/everyone",
        }

        result = ensure_comment(params, check_mode=False, diff_mode=False)
        again = ensure_comment(params, check_mode=False, diff_mode=False)

        [comment] = standin.comments(REPO, PR)
    assert result["changed"] is True and again["changed"] is False
    assert TOKEN not in comment["body"]
    assert f"https://***@{ZWSP}github.com/o/r.git" in comment["body"] and "log echoes ***" in comment["body"]
    assert f"@{ZWSP}octo-org/everyone" in comment["body"]
