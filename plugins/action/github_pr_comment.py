# Copyright (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run preview.envs.github_pr_comment on the controller (plugins/plugin_utils/_github_action.py says why).

Options, checks and results are the module's (plugins/module_utils/_pr_comment.py).
"""

from __future__ import annotations

from ansible_collections.preview.envs.plugins.module_utils._pr_comment import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    ensure_comment,
)
from ansible_collections.preview.envs.plugins.plugin_utils._github_action import GitHubAction


class ActionModule(GitHubAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    REQUIRED_IF = REQUIRED_IF

    def ensure(self, params: dict, check_mode: bool, diff_mode: bool) -> dict:
        return ensure_comment(params, check_mode, diff_mode)
