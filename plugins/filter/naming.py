# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
name: preview_label
short_description: The public label of a preview (C(<slug>-pr-<N>))
version_added: 0.1.0
description:
  - Builds the label used for the URL path or subdomain, the nginx file and the compose project,
    from a validated slug and a PR number. Raises an error for anything else.
  - The same module also provides C(preview.envs.preview_project), C(preview.envs.preview_label_project)
    (the compose project of a label), C(preview.envs.preview_slug), C(preview.envs.preview_url),
    C(preview.envs.preview_environment) (the GitHub Deployment environment of a label) and
    C(preview.envs.preview_status_context) (the commit status context of a slug),
    C(preview.envs.preview_sibling_urls) (a list of slugs to their C(PREVIEW_URL_<SLUG>) variables), each
    the function of the same job in the collection's naming rules (C(plugins/module_utils/_naming.py)).
options:
  _input:
    description: The repository slug (lowercase letters, digits and dashes).
    type: str
    required: true
  pr:
    description: The pull request number.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Label and compose project of PR 5
  ansible.builtin.debug:
    msg: "{{ 'hello-world' | preview.envs.preview_label(5) }} {{ 'hello-world' | preview.envs.preview_project(5) }}"
"""

RETURN = r"""
_value:
  description: The label, e.g. C(hello-world-pr-5).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.preview.envs.plugins.module_utils import _naming


def _wrap(func):
    def filter_func(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _naming.NamingError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    filter_func.__name__ = func.__name__
    return filter_func


class FilterModule:
    def filters(self):
        return {
            "preview_label": _wrap(_naming.label),
            "preview_project": _wrap(_naming.project_name),
            "preview_label_project": _wrap(_naming.label_project),
            "preview_slug": _wrap(_naming.default_slug),
            "preview_url": _wrap(_naming.url),
            "preview_environment": _wrap(_naming.environment),
            "preview_status_context": _wrap(_naming.status_context),
            "preview_sibling_urls": _wrap(_naming.sibling_urls),
        }
