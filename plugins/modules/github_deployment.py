#!/usr/bin/python
# Copyright (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: github_deployment
short_description: Report a preview as a GitHub Deployment, and as a commit status on its head commit
version_added: 0.1.0
description:
  - Gives the deployment of commit O(sha) to O(environment) the status O(state), creating the deployment when
    the environment's newest deployment is not of that commit. The deployment is created with
    C(transient_environment=true), C(production_environment=false), C(auto_merge=false) and no required status
    contexts, so GitHub neither merges nor waits on checks.
  - GitHub's C(auto_inactive) skips transient environments, so the module retires the previous deployment
    itself. When it creates a deployment, the environment's newest one before it is set C(inactive)
    (RV(superseded_ids)); at most the newest deployment of the environment is shown as active.
  - O(state=inactive) sets the environment's newest deployment C(inactive), which GitHub shows as destroyed;
    nothing happens when there is none, or when it is inactive already.
  - With O(status_context), a commit status of that context is set on O(sha) too (C(pending) while queued or
    in progress, then C(success), C(failure) or C(error)), linked to O(environment_url) or else O(log_url).
  - Every call writes, since a status is a new event in the deployment's history. Give O(deployment_id) (from
    an earlier task's RV(deployment_id)) to skip looking the deployment up.
  - The task runs on the controller, through the collection's action plugin of the same name, like
    M(preview.envs.github_pr_comment).
  - A classic personal access token needs the C(repo_deployment) scope (and C(repo:status) for
    O(status_context)), or C(repo); a fine-grained token or GitHub App the C(Deployments) repository permission,
    write (and C(Commit statuses), write).
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
  - preview.envs.github
attributes:
  check_mode:
    support: full
    details:
      - Check mode lists the environment's deployments but creates no deployment and sets no status.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - A commit already deployed to the environment by its newest deployment is not deployed again, but each
        call adds a status; O(state=inactive) is idempotent.
options:
  repo:
    description:
      - The repository, as C(owner/name).
    type: str
    required: true
  environment:
    description:
      - The deployment environment, for a preview C(preview/<label>) (the filter
        C(preview.envs.preview_environment) gives it).
    type: str
    required: true
  state:
    description:
      - The status to give the deployment.
    type: str
    required: true
    choices: [queued, in_progress, success, failure, error, inactive]
  sha:
    description:
      - The commit deployed, 40 lowercase hex characters. Required unless O(state=inactive).
    type: str
  deployment_id:
    description:
      - The deployment to give the status, as returned by an earlier call; not looked up again.
    type: int
  description:
    description:
      - A short text for the status (and for a new deployment); cut to 140 characters, GitHub's limit.
    type: str
    default: ""
  environment_url:
    description:
      - Where the environment answers, shown by GitHub as the deployment's link (a preview's URL).
    type: str
    default: ""
  log_url:
    description:
      - Where the deployment's output can be read.
    type: str
    default: ""
  status_context:
    description:
      - When set, also set a commit status of this context on O(sha) (not for O(state=inactive)), for a
        preview C(preview/<slug>) (the filter C(preview.envs.preview_status_context) gives it).
    type: str
    default: ""
seealso:
  - module: preview.envs.github_pr_comment
  - name: GitHub REST API, deployments
    description: The endpoints this module uses, and what an environment's deployments mean.
    link: https://docs.github.com/rest/deployments/deployments
  - name: GitHub REST API, commit statuses
    description: The endpoint behind O(status_context).
    link: https://docs.github.com/rest/commits/statuses
"""

EXAMPLES = r"""
- name: Say that the preview of the PR's head is building
  preview.envs.github_deployment:
    repo: octo-org/shop
    sha: "{{ head_sha }}"
    environment: preview/shop-pr-42
    state: in_progress
    description: Building the preview
    status_context: preview/shop
    token_file: /etc/preview/github-token
  register: deployment

- name: Say that it is live, and where
  preview.envs.github_deployment:
    repo: octo-org/shop
    sha: "{{ head_sha }}"
    environment: preview/shop-pr-42
    deployment_id: "{{ deployment.deployment_id }}"
    state: success
    environment_url: https://shop-pr-42.preview.example.com/
    status_context: preview/shop
    token_file: /etc/preview/github-token

- name: The preview is gone (token from GITHUB_TOKEN)
  preview.envs.github_deployment:
    repo: octo-org/shop
    environment: preview/shop-pr-42
    state: inactive
"""

RETURN = r"""
deployment_id:
  description:
    - The ID of the deployment that got the status; V(null) in check mode when it would be created, and with
      O(state=inactive) when the environment has no deployment.
  returned: success
  type: int
  sample: 1234567890
environment:
  description: The environment, as given.
  returned: success
  type: str
  sample: preview/shop-pr-42
state:
  description: The status given to the deployment.
  returned: success
  type: str
  sample: success
superseded_ids:
  description: The deployments of the environment set C(inactive) because a new deployment replaced them.
  returned: success
  type: list
  elements: int
  sample: [1234567880]
commit_state:
  description: The state of the commit status set on O(sha).
  returned: when O(status_context) is set and O(state) is not V(inactive)
  type: str
  sample: success
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils._deployment import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    ensure_deployment,
)


def main() -> None:
    """Run on the managed host. Tasks normally reach the action plugin instead, which runs the same code on
    the controller (plugins/action/github_deployment.py)."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    result = ensure_deployment(module.params, module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
