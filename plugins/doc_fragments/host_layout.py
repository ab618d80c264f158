# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # The preview host's layout, one option per fragment (preview.envs.host_layout.db, ...), since each module
    # takes only the parts it touches. The argument specs are plugins/module_utils/_args_common.py's
    # HOST_LAYOUT; the role passes the same values to every module (preview_pr_state_db, ...).
    DB = r"""
options:
  db:
    description:
      - The preview host's SQLite state file, which holds the deployment records and the port leases.
      - A module that writes to it creates it, and its directory, when missing; one that only reads finds
        no record there.
    type: path
    default: /var/lib/preview/state.db
"""

    DEPLOYMENTS_DIR = r"""
options:
  deployments_dir:
    description: The directory of the previews' work dirs, one per preview, C(<deployments_dir>/<label>).
    type: path
    default: /opt/preview-deployments
"""

    NGINX_CONFIGS_DIR = r"""
options:
  nginx_configs_dir:
    description:
      - The directory of the previews' nginx files, the one the base site includes, C(<label>.location.conf)
        for path routing and C(<label>.server.conf) for subdomain routing.
    type: path
    default: /etc/nginx/preview-configs
"""

    DOCKER_CLI = r"""
options:
  docker_cli:
    description: The docker CLI to run, a name looked up in E(PATH) or a path.
    type: path
    default: docker
"""
