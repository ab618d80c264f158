#!/usr/bin/python
# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: preview_stack
short_description: Find out how to run a repository as a preview
version_added: 0.1.0
description:
  - Looks at a checkout and says how its preview runs, in this order
    (the first that matches wins).
  - The repository's own compose file, O(compose_file) when given, else C(compose.yaml),
    C(compose.yml), C(docker-compose.yaml) or C(docker-compose.yml) at its root.
  - The repository's own Dockerfile, O(dockerfile) when given, else C(Dockerfile) at its root, run as one
    service built from the checkout. Its port is O(port), else the first TCP port the Dockerfile's final stage
    C(EXPOSE)s (its base image's are not seen, nor a value set by C(ARG)); with neither, it fails with a message
    that says what to set.
  - NestJS, a C(package.json) whose dependencies name C(@nestjs/core).
  - Go, a C(go.mod).
  - Anything else fails with a message that says what was looked for.
  - Reads files only; never runs anything from the repository.
author:
  - preview maintainers (@preview-envs)
extends_documentation_fragment:
  - preview.envs.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  project_src:
    description: The checkout to look at.
    type: path
    required: true
  compose_file:
    description: Path of the repository's compose file, relative to O(project_src). Empty means look.
    type: str
    default: ""
  dockerfile:
    description:
      - Path of the repository's Dockerfile, relative to O(project_src). Empty means C(Dockerfile) at its root.
      - Letters, digits, C(.), C(_), C(-) and C(/) only, no C(..); it must resolve (symlinks included) inside
        O(project_src).
    type: str
    default: ""
  port:
    description: The port the app of the repository's Dockerfile listens on inside its container; 0 reads its C(EXPOSE).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Detect the stack of the checkout
  preview.envs.preview_stack:
    project_src: /opt/preview-deployments/app-pr-5/src
  register: stack
"""

RETURN = r"""
kind:
  description: C(compose) (the repository's own file), C(dockerfile) (its Dockerfile), C(nestjs) or C(go).
  type: str
  returned: success
compose_file:
  description: The repository's compose file relative to O(project_src) (empty unless RV(kind=compose)).
  type: str
  returned: success
dockerfile:
  description: The Dockerfile the preview builds, relative to O(project_src) (empty unless RV(kind=dockerfile)).
  type: str
  returned: success
port:
  description:
    - The port its app listens on inside its container, O(port) or its C(EXPOSE) (0 unless
      RV(kind=dockerfile)).
  type: int
  returned: success
has_dockerfile:
  description: Whether the repository has a C(Dockerfile) at its root.
  type: bool
  returned: success
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.preview.envs.plugins.module_utils._stack import detect


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_src=dict(type="path", required=True),
            compose_file=dict(type="str", default=""),
            dockerfile=dict(type="str", default=""),
            port=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    try:
        params = module.params
        result = detect(params["project_src"], params["compose_file"], params["dockerfile"], params["port"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
