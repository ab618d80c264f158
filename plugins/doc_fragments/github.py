# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # How a module reaches the GitHub REST API. The argument spec is plugins/module_utils/_args_common.py's
    # GITHUB; plugins/module_utils/_github.py is the client that uses these options.
    DOCUMENTATION = r"""
options:
  token:
    description:
      - A GitHub token, sent in an C(Authorization) header as a bearer token.
      - If not set, the environment variable E(GITHUB_TOKEN) is used.
    type: str
    required: true
  token_file:
    description:
      - A file that holds the token, read on the controller by the collection's action plugin when O(token)
        is not given, so that the token need not be among the play's variables (which ansible-runner keeps
        in its artifacts) nor in the environment every task inherits.
      - A task that runs the module on the managed host directly must give O(token).
    type: path
  api_url:
    description:
      - The root of the GitHub REST API. For GitHub Enterprise Server this is C(https://HOSTNAME/api/v3).
      - If not set, the environment variable E(GITHUB_API_URL) is used (GitHub Actions sets it).
    type: str
    default: https://api.github.com
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is repeated after a server error (5xx), a network error or a rate limit.
      - Waits follow GitHub's C(retry-after) and C(x-ratelimit-reset) headers, else back off exponentially.
        A rate limit that would need a wait of more than 60 seconds fails at once, saying when it resets.
    type: int
    default: 4
  pace_file:
    description:
      - A file (created mode 0600) through which every process writing with the same token paces its
        content-creating requests (C(POST), C(PATCH), C(PUT), C(DELETE)), as GitHub's secondary rate limits ask;
        a burst of 6 goes at once, then one a second. Reads are never paced.
      - Empty, the requests of this task are not paced.
    type: path
    default: ""
"""
