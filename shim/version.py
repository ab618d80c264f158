"""What is running: the Python package's version and the version of the preview.envs collection its playbooks
come from (`preview --version`, the shim's `preview_build_info` metric)."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import yaml

PACKAGE = "preview-envs"
UNKNOWN = "unknown"


def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def collection_version(collections_path: str | Path) -> str:
    """The version of `ansible_collections/preview/envs` under `collections_path`: an installed collection's
    MANIFEST.json, or a checkout's galaxy.yml; `unknown` when neither is there or readable."""
    root = Path(collections_path) / "ansible_collections" / "preview" / "envs"
    try:
        version = json.loads((root / "MANIFEST.json").read_text(encoding="utf-8"))["collection_info"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        try:
            version = (yaml.safe_load((root / "galaxy.yml").read_text(encoding="utf-8")) or {})["version"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return UNKNOWN
    return str(version)
