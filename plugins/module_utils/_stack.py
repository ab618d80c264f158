# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a checkout runs as a preview (private to the collection): used by preview_stack and preview_source.

Reads files only; never runs anything from the repository.
"""

from __future__ import annotations

import json
import os

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def detect(src: str, compose_file: str = "") -> dict:
    """Return the detection result, or raise ValueError with the reason."""
    if not os.path.isdir(src):
        raise ValueError(f"checkout not found: {src}")
    root = os.path.realpath(src)
    has_dockerfile = os.path.isfile(os.path.join(root, "Dockerfile"))
    if compose_file:
        path = os.path.realpath(os.path.join(root, compose_file))
        if not path.startswith(root + os.sep):
            raise ValueError(f"compose_file leaves the checkout: {compose_file}")
        if not os.path.isfile(path):
            raise ValueError(f"the configured compose file {compose_file} is not in the repository")
        return dict(kind="compose", compose_file=os.path.relpath(path, root), has_dockerfile=has_dockerfile)
    for name in COMPOSE_NAMES:
        if os.path.isfile(os.path.join(root, name)):
            return dict(kind="compose", compose_file=name, has_dockerfile=has_dockerfile)
    package = os.path.join(root, "package.json")
    if os.path.isfile(package):
        try:
            with open(package, encoding="utf-8") as handle:
                manifest = json.load(handle)
        except (OSError, ValueError) as exc:
            raise ValueError(f"package.json is not valid JSON: {exc}") from None
        deps = {}
        if isinstance(manifest, dict):
            for key in ("dependencies", "devDependencies"):
                if isinstance(manifest.get(key), dict):
                    deps.update(manifest[key])
        if "@nestjs/core" in deps:
            return dict(kind="nestjs", compose_file="", has_dockerfile=has_dockerfile)
    if os.path.isfile(os.path.join(root, "go.mod")):
        return dict(kind="go", compose_file="", has_dockerfile=has_dockerfile)
    raise ValueError(
        "nothing we can run: no compose file (" + ", ".join(COMPOSE_NAMES) + "), "
        "no package.json depending on @nestjs/core, no go.mod"
    )
