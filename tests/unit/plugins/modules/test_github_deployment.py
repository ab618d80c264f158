"""github_deployment: the deployment and commit status logic and the module's entry point, against the stand-in."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.preview.envs.plugins.module_utils import _deployment
from ansible_collections.preview.envs.plugins.module_utils._deployment import ensure_deployment, short
from ansible_collections.preview.envs.plugins.modules import github_deployment
from tests.support.github_standin import GitHubStandIn

REPO = "preview-envs/demo"
ENV = "preview/demo-pr-12"
CONTEXT = "preview/demo"
SHA1 = "1" * 40
SHA2 = "2" * 40


@pytest.fixture
def standin():
    with GitHubStandIn(repos={REPO}) as server:
        yield server


def params(standin, **overrides):
    values = {
        "repo": REPO,
        "environment": ENV,
        "state": "in_progress",
        "sha": SHA1,
        "deployment_id": None,
        "description": "Building the preview",
        "environment_url": "",
        "log_url": "",
        "status_context": CONTEXT,
        "token": "test-token",
        "token_file": None,
        "api_url": standin.base_url,
        "timeout": 5,
        "retries": 0,
    }
    values.update(overrides)
    return values


def states(deployment):
    return [status["state"] for status in deployment["statuses"]]


def test_a_preview_lifecycle_gives_one_transient_environment_in_order(standin):
    building = ensure_deployment(params(standin), check_mode=False)
    assert building["changed"] and not building.get("failed"), building
    assert building["superseded_ids"] == [] and building["commit_state"] == "pending"
    live = ensure_deployment(
        params(
            standin,
            state="success",
            deployment_id=building["deployment_id"],
            environment_url="http://localhost/demo-pr-12/",
            description="Preview live",
        ),
        check_mode=False,
    )
    assert live["deployment_id"] == building["deployment_id"]

    [deployment] = standin.deployments(REPO, ENV)
    assert deployment["sha"] == SHA1 and deployment["ref"] == SHA1
    assert deployment["transient_environment"] is True and deployment["production_environment"] is False
    assert states(deployment) == ["in_progress", "success"]
    assert deployment["statuses"][-1]["environment_url"] == "http://localhost/demo-pr-12/"
    assert [(s["state"], s["context"]) for s in standin.commit_statuses(REPO, SHA1)] == [
        ("pending", CONTEXT),
        ("success", CONTEXT),
    ]
    assert standin.commit_statuses(REPO, SHA1)[-1]["target_url"] == "http://localhost/demo-pr-12/"

    # A push: a new deployment, and the one it replaces is retired (auto_inactive skips transient environments).
    pushed = ensure_deployment(params(standin, sha=SHA2), check_mode=False)
    assert pushed["superseded_ids"] == [building["deployment_id"]]
    ensure_deployment(params(standin, sha=SHA2, state="failure", description="x" * 300), check_mode=False)
    first, second = standin.deployments(REPO, ENV)
    assert states(first) == ["in_progress", "success", "inactive"]
    assert states(second) == ["in_progress", "failure"]
    assert second["statuses"][-1]["description"] == short("x" * 300)
    assert len(second["statuses"][-1]["description"]) == 140

    # Closed: the newest deployment retired; a second call changes nothing.
    gone = ensure_deployment(params(standin, state="inactive", sha=None, status_context=""), check_mode=False)
    assert gone["changed"] and gone["deployment_id"] == second["id"]
    again = ensure_deployment(params(standin, state="inactive", sha=None), check_mode=False)
    assert not again["changed"]
    assert [states(item) for item in standin.deployments(REPO, ENV)] == [
        ["in_progress", "success", "inactive"],
        ["in_progress", "failure", "inactive"],
    ]
    assert standin.violations == []


def test_a_redeploy_of_the_same_commit_reuses_its_deployment(standin):
    first = ensure_deployment(params(standin), check_mode=False)
    again = ensure_deployment(params(standin), check_mode=False)
    assert again["deployment_id"] == first["deployment_id"] and again["superseded_ids"] == []
    [deployment] = standin.deployments(REPO, ENV)
    assert states(deployment) == ["in_progress", "in_progress"]


def test_our_pending_commit_status_does_not_block_the_deployment(standin):
    # Without required_contexts GitHub would verify every context of the commit, ours (pending) among them.
    ensure_deployment(params(standin), check_mode=False)
    result = ensure_deployment(params(standin, environment="preview/demo-pr-13"), check_mode=False)
    assert not result.get("failed"), result
    assert all(
        request.json.get("required_contexts") == []
        for request in standin.writes()
        if "deployments" in request.path and request.path.endswith("deployments")
    )


def test_check_mode_reads_only(standin):
    result = ensure_deployment(params(standin), check_mode=True)
    assert result["changed"] and result["deployment_id"] is None
    assert standin.deployments(REPO) == [] and standin.writes() == []
    assert ensure_deployment(params(standin, state="inactive", sha=None), check_mode=True)["changed"] is False


def test_no_environment_no_change_when_retiring(standin):
    result = ensure_deployment(params(standin, state="inactive", sha=None), check_mode=False)
    assert result == {
        "changed": False,
        "environment": ENV,
        "state": "inactive",
        "superseded_ids": [],
        "deployment_id": None,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repo": "nope"}, "repo must look like owner/name"),
        ({"sha": "abc"}, "sha must be a full commit SHA"),
        ({"environment": " "}, "environment must be a name"),
        ({"environment_url": "javascript:alert(1)"}, "environment_url must be an http:// or https:// URL"),
        ({"deployment_id": 0}, "deployment_id must be a deployment's ID"),
    ],
)
def test_bad_parameters_fail_before_any_request(standin, overrides, message):
    result = ensure_deployment(params(standin, **overrides), check_mode=False)
    assert result["failed"] and message in result["msg"]
    assert standin.requests == []


def test_a_github_error_names_the_step_and_the_answer(standin):
    result = ensure_deployment(params(standin, token="unknown-token"), check_mode=False)
    assert result["failed"] and result["status"] == 401
    assert result["msg"].startswith(f"Could not list the deployments of environment {ENV} of {REPO}: ")


def test_the_token_is_redacted_from_the_description(standin):
    ensure_deployment(params(standin, description="failed: test-token leaked"), check_mode=False)
    [deployment] = standin.deployments(REPO, ENV)
    assert "test-token" not in json.dumps(deployment)


def test_the_module_entry_point(standin, capsys):
    args = params(standin, state="in_progress")
    with patch_module_args(args), pytest.raises(SystemExit) as ended:
        github_deployment.main()
    assert ended.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] and result["deployment_id"] == standin.deployments(REPO)[0]["id"]


def test_documented_choices_are_the_specs():
    assert tuple(_deployment.ARGUMENT_SPEC["state"]["choices"]) == _deployment.DEPLOYMENT_STATES
    assert set(_deployment.COMMIT_STATES) == set(_deployment.DEPLOYMENT_STATES) - {"inactive"}
