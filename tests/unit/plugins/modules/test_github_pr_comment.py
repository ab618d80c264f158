"""github_pr_comment: the sticky-comment logic and the module's entry point, against the GitHub stand-in."""

from __future__ import annotations

import functools
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.preview.envs.plugins.module_utils import _github
from ansible_collections.preview.envs.plugins.module_utils._github import GitHubClient
from ansible_collections.preview.envs.plugins.module_utils._pr_comment import (
    StickyComment,
    carries_marker,
    marker_line,
    with_marker,
)
from ansible_collections.preview.envs.plugins.modules import github_pr_comment
from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
PR = 12
MARK = "<!-- preview-envs:preview-envs -->"


@pytest.fixture
def standin():
    with GitHubStandIn(repos={REPO}) as server:
        yield server


def sticky(standin, *, check_mode=False, marker="preview-envs", token="test-token"):
    client = GitHubClient(standin.base_url, token, timeout=5, sleep=lambda seconds: None)
    return StickyComment(client, REPO, PR, marker, check_mode)


def bodies(standin):
    return [comment["body"] for comment in standin.comments(REPO, PR)]


# -- the marker ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "line"),
    [("preview-envs", MARK), ("test-report", "<!-- preview-envs:test-report -->"), ("app/web:1", None)],
)
def test_marker_line_format(marker, line):
    assert marker_line(marker) == (line or f"<!-- preview-envs:{marker} -->")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Preview is up", f"{MARK}\nPreview is up"),
        ("", f"{MARK}\n"),
        (f"{MARK}\nalready marked", f"{MARK}\nalready marked"),
        (f"  {MARK}  \nmarked with spaces", f"  {MARK}  \nmarked with spaces"),
        (f"text first\n{MARK}", f"{MARK}\ntext first\n{MARK}"),
    ],
)
def test_with_marker_puts_the_marker_line_on_top_once(body, expected):
    assert with_marker(body, "preview-envs") == expected


@pytest.mark.parametrize(
    ("body", "ours"),
    [
        (f"{MARK}\nhello", True),
        (f"{MARK}\r\nhello from a browser edit", True),
        (MARK, True),
        (f"hello\n{MARK}", False),
        (f"> {MARK}\nquoted by someone", False),
        ("<!-- preview-envs:other -->\nhello", False),
        ("<!-- preview-envs:preview-envs-2 -->\nhello", False),
        (None, False),
    ],
)
def test_carries_marker_matches_the_exact_first_line(body, ours):
    assert carries_marker(body, "preview-envs") is ours


# -- state=present -------------------------------------------------------------------------------------------


def test_creates_the_comment_when_missing(standin):
    result = sticky(standin).ensure("present", "Preview is up")

    [comment] = standin.comments(REPO, PR)
    assert comment["body"] == f"{MARK}\nPreview is up"
    assert result == {
        "changed": True,
        "comment_id": comment["id"],
        "html_url": comment["html_url"],
        "body": comment["body"],
        "deleted_comment_ids": [],
        "diff": {"before": "", "after": comment["body"]},
    }
    assert standin.violations == []


def test_check_mode_predicts_the_creation_without_writing(standin):
    result = sticky(standin, check_mode=True).ensure("present", "Preview is up")

    assert result["changed"] is True
    assert result["comment_id"] is None
    assert result["body"] == f"{MARK}\nPreview is up"
    assert result["diff"] == {"before": "", "after": f"{MARK}\nPreview is up"}
    assert standin.writes() == []
    assert bodies(standin) == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_unchanged_body_is_left_alone(standin, check_mode):
    existing = standin.add_comment(REPO, PR, f"{MARK}\nPreview is up")

    result = sticky(standin, check_mode=check_mode).ensure("present", "Preview is up")

    assert result["changed"] is False
    assert result["comment_id"] == existing["id"]
    assert result["diff"]["before"] == result["diff"]["after"]
    assert standin.writes() == []


def test_line_ends_from_a_browser_edit_are_no_change(standin):
    standin.add_comment(REPO, PR, f"{MARK}\r\nline one\r\nline two")

    result = sticky(standin).ensure("present", "line one\nline two")

    assert result["changed"] is False
    assert standin.writes() == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_different_body_is_patched_in_place(standin, check_mode):
    existing = standin.add_comment(REPO, PR, f"{MARK}\nold text")

    result = sticky(standin, check_mode=check_mode).ensure("present", "new text")

    assert result["changed"] is True
    assert result["comment_id"] == existing["id"]
    assert result["diff"] == {"before": f"{MARK}\nold text", "after": f"{MARK}\nnew text"}
    if check_mode:
        assert standin.writes() == []
        assert bodies(standin) == [f"{MARK}\nold text"]
    else:
        assert [(r.method, r.path) for r in standin.writes()] == [
            ("PATCH", f"/repos/{REPO}/issues/comments/{existing['id']}")
        ]
        assert bodies(standin) == [f"{MARK}\nnew text"]
    assert standin.violations == []


def test_other_comments_and_other_markers_are_not_touched(standin):
    theirs = standin.add_comment(REPO, PR, "LGTM", login="octocat")
    report = standin.add_comment(REPO, PR, "<!-- preview-envs:test-report -->\n3 passed")

    sticky(standin).ensure("present", "Preview is up")

    assert bodies(standin) == [theirs["body"], report["body"], f"{MARK}\nPreview is up"]


def test_the_comment_is_found_beyond_the_first_page(standin):
    for number in range(150):
        standin.add_comment(REPO, PR, f"chatter {number}", login="octocat")
    ours = standin.add_comment(REPO, PR, f"{MARK}\nold")

    result = sticky(standin).ensure("present", "new")

    assert result["comment_id"] == ours["id"]
    assert len(standin.comments(REPO, PR)) == 151
    assert [r.method for r in standin.requests] == ["GET", "GET", "PATCH"]
    assert standin.violations == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_duplicates_are_reduced_to_the_oldest(standin, check_mode):
    first = standin.add_comment(REPO, PR, f"{MARK}\nold one")
    second = standin.add_comment(REPO, PR, f"{MARK}\nold two")
    third = standin.add_comment(REPO, PR, f"{MARK}\nNew")

    result = sticky(standin, check_mode=check_mode).ensure("present", "New")

    assert result["changed"] is True
    assert result["comment_id"] == first["id"]
    assert result["deleted_comment_ids"] == [second["id"], third["id"]]
    if check_mode:
        assert standin.writes() == []
    else:
        assert bodies(standin) == [f"{MARK}\nNew"]


def test_duplicates_alone_make_a_change(standin):
    first = standin.add_comment(REPO, PR, f"{MARK}\nsame")
    second = standin.add_comment(REPO, PR, f"{MARK}\nsame")

    result = sticky(standin).ensure("present", "same")

    assert result["changed"] is True
    assert result["deleted_comment_ids"] == [second["id"]]
    assert [c["id"] for c in standin.comments(REPO, PR)] == [first["id"]]


def test_separate_markers_keep_separate_comments(standin):
    sticky(standin).ensure("present", "preview")
    sticky(standin, marker="test-report").ensure("present", "report")
    sticky(standin, marker="test-report").ensure("present", "report v2")

    assert bodies(standin) == [f"{MARK}\npreview", "<!-- preview-envs:test-report -->\nreport v2"]


# -- state=absent --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_deletes_every_marked_comment(standin, check_mode):
    standin.add_comment(REPO, PR, "LGTM", login="octocat")
    first = standin.add_comment(REPO, PR, f"{MARK}\none")
    second = standin.add_comment(REPO, PR, f"{MARK}\ntwo")

    result = sticky(standin, check_mode=check_mode).ensure("absent", None)

    assert result == {
        "changed": True,
        "comment_id": None,
        "html_url": None,
        "body": None,
        "deleted_comment_ids": [first["id"], second["id"]],
        "diff": {"before": f"{MARK}\none", "after": ""},
    }
    assert bodies(standin) == (["LGTM", f"{MARK}\none", f"{MARK}\ntwo"] if check_mode else ["LGTM"])


def test_absent_without_a_comment_changes_nothing(standin):
    result = sticky(standin).ensure("absent", None)

    assert result["changed"] is False
    assert result["deleted_comment_ids"] == []
    assert standin.writes() == []


# -- the module entry point ----------------------------------------------------------------------------------


def run_module(args, capsys, *, check_mode=False, diff=False):
    module_args = dict(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    if diff:
        module_args["_ansible_diff"] = True
    with patch_module_args(module_args), pytest.raises(SystemExit) as exited:
        github_pr_comment.main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code, result


@pytest.fixture
def env(monkeypatch, standin):
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("GITHUB_API_URL", standin.base_url)


def test_main_creates_then_reports_no_change(standin, env, capsys):
    args = {"repo": REPO, "pr": PR, "body": "Preview is up", "retries": 0}

    code, first = run_module(args, capsys, diff=True)
    code_again, second = run_module(args, capsys)

    assert (code, code_again) == (0, 0)
    assert first["changed"] is True and second["changed"] is False
    assert first["comment_id"] == second["comment_id"] == standin.comments(REPO, PR)[0]["id"]
    assert first["diff"] == {"before": "", "after": f"{MARK}\nPreview is up"}
    assert "diff" not in second
    assert "test-token" not in json.dumps([first, second])
    assert standin.violations == []


def test_main_in_check_mode_writes_nothing(standin, env, capsys):
    code, result = run_module({"repo": REPO, "pr": PR, "body": "x"}, capsys, check_mode=True)

    assert code == 0
    assert result["changed"] is True
    assert standin.writes() == []


def test_main_warns_about_duplicates(standin, env, capsys):
    standin.add_comment(REPO, PR, f"{MARK}\na")
    duplicate = standin.add_comment(REPO, PR, f"{MARK}\nb")

    result = run_module({"repo": REPO, "pr": PR, "body": "a"}, capsys)[1]

    assert result["deleted_comment_ids"] == [duplicate["id"]]
    # ansible-core 2.19 returns warnings as structured events; the text is inside.
    assert "had 2 comments with the marker" in json.dumps(result["warnings"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"pr": PR, "body": "x"}, "missing required arguments: repo"),
        ({"repo": REPO, "pr": PR}, "state is present but all of the following are missing: body"),
        ({"repo": "not-a-repo", "pr": PR, "body": "x"}, "repo must look like owner/name"),
        ({"repo": REPO, "pr": 0, "body": "x"}, "pr must be a pull request number"),
        ({"repo": REPO, "pr": PR, "body": "x", "marker": "bad -->"}, "marker 'bad -->' is not allowed"),
        ({"repo": REPO, "pr": PR, "body": "x" * 65536}, "GitHub accepts at most 65536"),
        ({"repo": REPO, "pr": PR, "body": "x", "retries": -1}, "retries at least 0"),
    ],
)
def test_main_refuses_bad_arguments_before_calling_github(standin, env, capsys, args, message):
    code, result = run_module(args, capsys)

    assert code == 1
    assert result["failed"] is True
    assert message in result["msg"]
    assert standin.requests == []


def test_main_needs_a_token(standin, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)

    code, result = run_module({"repo": REPO, "pr": PR, "body": "x", "api_url": standin.base_url}, capsys)

    assert code == 1
    assert "missing required arguments: token" in result["msg"]


@pytest.mark.parametrize(
    ("setup", "token", "expected"),
    [
        (
            None,
            "wrong",
            ["Could not list the comments of preview-envs/demo pull request #12", "401 Bad credentials"],
        ),
        ("gone", "test-token", ["preview-envs/gone pull request #12", "404 Not Found", "cannot see it"]),
        (
            "post-403",
            "test-token",
            [
                "Could not create the comment on preview-envs/demo pull request #12",
                "403 Resource not accessible",
                "issues=write",
            ],
        ),
    ],
)
def test_main_failures_name_the_repo_the_pr_and_the_status(standin, monkeypatch, capsys, setup, token, expected):
    monkeypatch.setenv("GITHUB_TOKEN", token)
    repo = "preview-envs/gone" if setup == "gone" else REPO
    if setup == "post-403":
        standin.fail_next(
            1,
            403,
            headers={"X-Accepted-GitHub-Permissions": "issues=write"},
            method="POST",
            body={"message": "Resource not accessible by personal access token"},
        )

    code, result = run_module({"repo": repo, "pr": PR, "body": "x", "api_url": standin.base_url}, capsys)

    assert code == 1
    for text in expected:
        assert text in result["msg"]
    assert result["status"] in (401, 403, 404)
    assert "wrong" not in result["msg"]
    assert standin.violations == []


def test_main_retries_a_server_error(standin, env, capsys, monkeypatch):
    sleeps = []
    monkeypatch.setattr(_github, "GitHubClient", functools.partial(GitHubClient, sleep=sleeps.append))
    standin.fail_next(1, 502, method="POST")

    code, result = run_module({"repo": REPO, "pr": PR, "body": "x"}, capsys)

    assert code == 0
    assert result["changed"] is True
    assert sleeps == [1.0]
    assert len(standin.comments(REPO, PR)) == 1
