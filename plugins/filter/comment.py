# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
name: preview_code_block
short_description: Text as a Markdown code block that the text cannot close
version_added: 0.1.0
description:
  - Wraps the input in a fenced code block whose fence of backticks is longer than any run of backticks
    in the input, so that text a pull request controls (build output, logs) stays inside the block and is
    never read as Markdown or HTML.
options:
  _input:
    description: The text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Quote a build log in a PR comment
  ansible.builtin.debug:
    msg: "{{ build.stderr | preview.envs.preview_code_block }}"
"""

RETURN = r"""
_value:
  description: The code block, fences included.
  type: str
"""

from ansible_collections.preview.envs.plugins.module_utils._pr_comment import fenced


def preview_code_block(text) -> str:
    return fenced(str(text))


class FilterModule:
    def filters(self):
        return {"preview_code_block": preview_code_block}
