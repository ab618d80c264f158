# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # The descriptions of the attributes every module of the collection declares; each module
    # states its own support and details.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in
      diff mode.
  idempotent:
    description: Whether a second run with the same options reports no change and changes nothing.
"""
