# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs of the options several modules share, each the twin of a documentation fragment.

As kubernetes.core does (module_utils/args_common.py beside its doc_fragments): a module whose DOCUMENTATION
extends a fragment of plugins/doc_fragments/ takes the matching spec from here, so the option's type and
default are written once per side, and ansible-test's validate-modules holds the two sides together.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import env_fallback

# preview.envs.host_layout.<option>: where the preview host keeps its state, work dirs and nginx files, and
# the docker CLI that runs its stacks.
HOST_LAYOUT = dict(
    db=dict(type="path", default="/var/lib/preview/state.db"),
    deployments_dir=dict(type="path", default="/opt/preview-deployments"),
    nginx_configs_dir=dict(type="path", default="/etc/nginx/preview-configs"),
    docker_cli=dict(type="path", default="docker"),
)

# preview.envs.github: how to reach the GitHub REST API.
GITHUB = dict(
    token=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["GITHUB_TOKEN"])),
    token_file=dict(type="path", no_log=False),
    api_url=dict(type="str", default="https://api.github.com", fallback=(env_fallback, ["GITHUB_API_URL"])),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=4),
    pace_file=dict(type="path", default=""),
)


def host_layout(*options: str) -> dict:
    """The specs of these host layout options, copied: AnsibleModule may change the spec it is given."""
    return {name: copy.deepcopy(HOST_LAYOUT[name]) for name in options}


def github() -> dict:
    """The specs of the GitHub options, copied."""
    return copy.deepcopy(GITHUB)
