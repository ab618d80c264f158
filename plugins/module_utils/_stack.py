# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a checkout runs as a preview (private to the collection): used by preview_stack and preview_source.

The repository's own files win over a stack we generate: its compose file, else its Dockerfile (one
service, built from the checkout), else a generated NestJS or Go stack. Reads files only; never runs
anything from the repository.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.preview.envs.plugins.module_utils._compose_override import PORT_SETTING, WHERE, check_port
from ansible_collections.preview.envs.plugins.module_utils._compose_policy import inside
from ansible_collections.preview.envs.plugins.module_utils._dockerfile import PortUnknown, exposed_port

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DOCKERFILE = "Dockerfile"

# A path inside the repository that the configuration names: it reaches the role's Jinja and the generated
# compose file as data, so it holds no character either would read as syntax, and no '..'.
REPO_PATH_RE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")

# A Dockerfile longer than this is not read for its EXPOSE: the port is then the configuration's to give.
MAX_DOCKERFILE_BYTES = 1024 * 1024


def check_repo_path(value: object, what: str) -> str:
    """``value`` if it is a relative path inside a repository, else ValueError naming ``what``."""
    if not isinstance(value, str) or not REPO_PATH_RE.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(
            f"{what} must be a relative path inside the repository (letters, digits, '.', '_', '-' and '/', "
            f"no '..'), got {value!r}"
        )
    return value


def _in_checkout(root: str, relative: str, what: str) -> str:
    """``relative`` resolved in the checkout ``root``, by the rule the compose policy confines paths with."""
    path = os.path.join(root, relative)
    if not inside(root, path):
        raise ValueError(f"{what} leaves the checkout: {relative}")
    return os.path.realpath(path)


def _dockerfile(root: str, configured: str) -> str:
    """The Dockerfile a preview builds, relative to ``root``: ``configured``, else ``Dockerfile``; "" for none."""
    if configured:
        path = _in_checkout(root, check_repo_path(configured, "dockerfile"), "dockerfile")
        if not os.path.isfile(path):
            raise ValueError(f"the configured Dockerfile {configured} is not in the repository")
        return os.path.relpath(path, root)
    if not os.path.isfile(os.path.join(root, DOCKERFILE)):
        return ""
    return os.path.relpath(_in_checkout(root, DOCKERFILE, DOCKERFILE), root)


def _port(root: str, dockerfile: str, port: int) -> int:
    """The port the app of ``dockerfile`` listens on: ``port`` when configured, else its EXPOSE."""
    if port:
        return port
    try:
        with open(os.path.join(root, dockerfile), encoding="utf-8", errors="replace") as stream:
            text = stream.read(MAX_DOCKERFILE_BYTES + 1)
        if len(text) > MAX_DOCKERFILE_BYTES:
            raise PortUnknown(f"it is longer than {MAX_DOCKERFILE_BYTES} characters, so it was not read")
        return exposed_port(text)
    except (OSError, PortUnknown) as exc:
        raise ValueError(
            f"the port the preview routes to is unknown: {dockerfile} does not tell it ({exc}); set {PORT_SETTING} "
            f"{WHERE} to the port the app listens on inside its container"
        ) from None


def detect(src: str, compose_file: str = "", dockerfile: str = "", port: int = 0) -> dict:
    """Return the detection result, or raise ValueError with the reason.

    ``compose_file`` and ``dockerfile`` are the configured paths (relative to ``src``), ``port`` the configured
    container port of a Dockerfile's app (0: its EXPOSE).
    """
    if not os.path.isdir(src):
        raise ValueError(f"checkout not found: {src}")
    if port:
        check_port(port, "port")
    root = os.path.realpath(src)
    has_dockerfile = os.path.isfile(os.path.join(root, DOCKERFILE))
    found = dict(compose_file="", dockerfile="", port=0, has_dockerfile=has_dockerfile)
    if compose_file:
        path = _in_checkout(root, compose_file, "compose_file")
        if not os.path.isfile(path):
            raise ValueError(f"the configured compose file {compose_file} is not in the repository")
        return dict(found, kind="compose", compose_file=os.path.relpath(path, root))
    for name in COMPOSE_NAMES:
        if os.path.isfile(os.path.join(root, name)):
            return dict(found, kind="compose", compose_file=name)
    path = _dockerfile(root, dockerfile)
    if path:
        return dict(found, kind="dockerfile", dockerfile=path, port=_port(root, path, port))
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
            return dict(found, kind="nestjs")
    if os.path.isfile(os.path.join(root, "go.mod")):
        return dict(found, kind="go")
    raise ValueError(
        "nothing we can run: no compose file (" + ", ".join(COMPOSE_NAMES) + "), "
        f"no {DOCKERFILE}, no package.json depending on @nestjs/core, no go.mod"
    )
