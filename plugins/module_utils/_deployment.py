# Copyright (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The GitHub Deployment and commit status of ``preview.envs.github_deployment`` (private to the collection).

Shared by the module (``plugins/modules/github_deployment.py``, documentation and a direct entry point) and its
action plugin (``plugins/action/github_deployment.py``), which runs it on the controller, as the sticky comment
does: it only talks to GitHub, and the token never reaches the managed host.

A preview's environment is transient, so GitHub's ``auto_inactive`` (which skips transient environments) never
retires an older deployment of it. This module does: each new deployment of an environment sets the one before
it ``inactive``, so at most the newest deployment of a preview is ever shown as active, and setting that one
``inactive`` when the preview is removed leaves the environment destroyed.
"""

from __future__ import annotations

from ansible_collections.preview.envs.plugins.module_utils import _naming
from ansible_collections.preview.envs.plugins.module_utils._args_common import github
from ansible_collections.preview.envs.plugins.module_utils._github import (
    GitHubClient,
    GitHubError,
    client_from_options,
)
from ansible_collections.preview.envs.plugins.module_utils._redact import redact_secrets, redact_urls

# What a deployment status may say (GitHub's enum) and the commit status each one sets on the head commit;
# `inactive` (the preview is gone) leaves the commit's status as it was.
DEPLOYMENT_STATES = ("queued", "in_progress", "success", "failure", "error", "inactive")
COMMIT_STATES = {
    "queued": "pending",
    "in_progress": "pending",
    "success": "success",
    "failure": "failure",
    "error": "error",
}
# GitHub refuses a longer description of a deployment status or a commit status.
MAX_DESCRIPTION = 140
# Deployments of one environment looked at to find ours and the one it supersedes: they come newest first.
LISTED = 30


def short(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class Deployment:
    """One preview environment's deployments, and the commit status of its head commit."""

    def __init__(self, client: GitHubClient, repo: str, environment: str, check_mode: bool) -> None:
        self.client = client
        self.repo = repo
        self.environment = environment
        self.check_mode = check_mode
        self.step = "read"

    def _listed(self) -> list[dict]:
        self.step = f"list the deployments of environment {self.environment} of"
        return self.client.request(
            "GET", f"/repos/{self.repo}/deployments", query={"environment": self.environment, "per_page": LISTED}
        )[2]

    def _set_status(self, deployment_id: int, status: dict) -> None:
        self.step = f"set deployment {deployment_id} {status['state']} in"
        self.client.request("POST", f"/repos/{self.repo}/deployments/{deployment_id}/statuses", body=status)

    def report(self, params: dict) -> dict:
        """Give the deployment of ``params['sha']`` the status ``params['state']`` (not ``inactive``)."""
        state, sha = params["state"], params["sha"]
        result = {"changed": True, "environment": self.environment, "state": state, "superseded_ids": []}
        deployment_id = params["deployment_id"]
        if not deployment_id:
            listed = self._listed()
            newest = listed[0] if listed else None
            if newest is not None and newest.get("sha") == sha:
                # The same commit deployed again (a redeploy): its deployment takes the new status.
                deployment_id = newest["id"]
            else:
                if not self.check_mode:
                    self.step = f"create a deployment of {sha[:12]} to environment {self.environment} in"
                    created = self.client.request(
                        "POST",
                        f"/repos/{self.repo}/deployments",
                        body={
                            "ref": sha,
                            "environment": self.environment,
                            "description": short(params["description"]) or None,
                            "transient_environment": True,
                            "production_environment": False,
                            # A SHA has nothing to merge; and the deployment must not wait on status checks,
                            # our own pending commit status among them.
                            "auto_merge": False,
                            "required_contexts": [],
                        },
                    )[2]
                    deployment_id = created["id"]
                if newest is not None:
                    result["superseded_ids"] = [newest["id"]]
                    if not self.check_mode:
                        self._set_status(newest["id"], {"state": "inactive", "description": "Superseded"})
        result["deployment_id"] = deployment_id
        status = {"state": state, "description": short(params["description"])}
        if params["environment_url"]:
            status["environment_url"] = params["environment_url"]
        if params["log_url"]:
            status["log_url"] = params["log_url"]
        if not self.check_mode:
            self._set_status(deployment_id, status)
        if params["status_context"]:
            result["commit_state"] = COMMIT_STATES[state]
            if not self.check_mode:
                self.step = f"set the commit status {params['status_context']} of {sha[:12]} in"
                body = {
                    "state": COMMIT_STATES[state],
                    "context": params["status_context"],
                    "description": short(params["description"]),
                }
                target = params["environment_url"] or params["log_url"]
                if target:
                    body["target_url"] = target
                self.client.request("POST", f"/repos/{self.repo}/statuses/{sha}", body=body)
        return result

    def retire(self, params: dict) -> dict:
        """Set the environment's newest deployment ``inactive``: GitHub then shows the environment destroyed."""
        listed = self._listed()
        result = {"changed": False, "environment": self.environment, "state": "inactive", "superseded_ids": []}
        if not listed:
            result["deployment_id"] = None
            return result
        newest = listed[0]
        result["deployment_id"] = newest["id"]
        self.step = f"read the statuses of deployment {newest['id']} in"
        latest = self.client.request(
            "GET", f"/repos/{self.repo}/deployments/{newest['id']}/statuses", query={"per_page": 1}
        )[2]
        if latest and latest[0].get("state") == "inactive":
            return result
        result["changed"] = True
        if not self.check_mode:
            self._set_status(newest["id"], {"state": "inactive", "description": short(params["description"])})
        return result


ARGUMENT_SPEC = dict(
    repo=dict(type="str", required=True),
    environment=dict(type="str", required=True),
    state=dict(type="str", required=True, choices=list(DEPLOYMENT_STATES)),
    sha=dict(type="str"),
    deployment_id=dict(type="int"),
    description=dict(type="str", default=""),
    environment_url=dict(type="str", default=""),
    log_url=dict(type="str", default=""),
    status_context=dict(type="str", default=""),
    **github(),
)
REQUIRED_IF = [("state", state, ["sha"]) for state in DEPLOYMENT_STATES if state != "inactive"]


def check_params(params: dict) -> str | None:
    """What is wrong with validated ``params`` beyond their types, or None; checked before calling GitHub."""
    if not _naming.REPO_RE.match(params["repo"]):
        return f"repo must look like owner/name, not {params['repo']!r}"
    if params["sha"] is not None and not _naming.SHA_RE.match(params["sha"]):
        return f"sha must be a full commit SHA (40 lowercase hex characters), not {params['sha']!r}"
    if not params["environment"].strip() or len(params["environment"]) > 255:
        return "environment must be a name of 1 to 255 characters"
    if len(params["status_context"]) > 255:
        return "status_context must be at most 255 characters"
    for name in ("environment_url", "log_url"):
        if params[name] and not params[name].startswith(("http://", "https://")):
            return f"{name} must be an http:// or https:// URL, not {params[name]!r}"
    if params["deployment_id"] is not None and params["deployment_id"] < 1:
        return f"deployment_id must be a deployment's ID (1 or more), not {params['deployment_id']}"
    if params["timeout"] < 1 or params["retries"] < 0:
        return "timeout must be at least 1 second and retries at least 0"
    return None


def ensure_deployment(params: dict, check_mode: bool) -> dict:
    """Bring the deployment to ``params['state']``: the task's result, with ``failed``/``msg`` on an error."""
    # Descriptions quote failure reasons, which the pull request's build output can fill.
    params = dict(params, description=redact_urls(redact_secrets(params["description"] or "", (params["token"],))))
    error = check_params(params)
    if error:
        return {"failed": True, "changed": False, "msg": error}
    client = client_from_options(params)
    deployment = Deployment(client, params["repo"], params["environment"], check_mode)
    try:
        if params["state"] == "inactive":
            return deployment.retire(params)
        return deployment.report(params)
    except GitHubError as error:
        return {
            "failed": True,
            "changed": False,
            "msg": f"Could not {deployment.step} {params['repo']}: {error}",
            "status": error.status,
            "url": error.url,
            "documentation_url": error.documentation_url,
        }
