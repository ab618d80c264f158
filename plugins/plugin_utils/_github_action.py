# Copyright (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugins of the collection's GitHub modules: each runs its module's code on the controller.

A GitHub module talks to GitHub only, so it needs nothing of the managed host: no connection is opened and no
module process is started there. That keeps the token on the controller (it never travels to the managed
host), and it saves the module start-up every task on the host pays (docs/benchmarks.md).
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class GitHubAction(ActionBase):
    """Validates the task's arguments against the module's spec and runs ``ensure`` on the controller.

    A subclass names the module's ``ARGUMENT_SPEC``, ``REQUIRED_IF`` and its ``ensure(params, check_mode,
    diff_mode)``, which returns the task's result.
    """

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC: dict = {}
    REQUIRED_IF: list = []

    def ensure(self, params: dict, check_mode: bool, diff_mode: bool) -> dict:
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused: nothing goes to the managed host
        self._task.args = with_token_from_file(dict(self._task.args))
        dummy, params = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC, required_if=self.REQUIRED_IF)
        result.update(self.ensure(params, bool(self._task.check_mode), bool(self._task.diff)))
        return result


def with_token_from_file(args: dict) -> dict:
    """Read O(token_file) on the controller when no O(token) is given.

    The shim hands the token to its runs this way only: a file of its own, mode 0600, read here in the
    controller's worker. In the environment every module and `docker compose` would inherit it, and
    extravars or argv end up in ansible-runner's artifacts and in /proc.
    """
    token_file = args.pop("token_file", None)
    if token_file and not args.get("token"):
        try:
            with open(token_file, encoding="utf-8") as handle:
                args["token"] = handle.read().strip()
        except OSError as exc:
            msg = f"cannot read the GitHub token from token_file {token_file}: {exc.strerror}"
            raise AnsibleActionFail(msg) from None
    return args
