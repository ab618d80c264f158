"""Where the preview.envs collection is, and whether the playbooks the shim runs are there.

The collection reaches a machine in one of three layouts: a collections path of its own (`<venv>/collections`,
where the shim role and scripts/venv put it), the `preview-envs` wheel (which carries it as
`site-packages/ansible_collections/preview/envs`, as the `ansible` package carries its collections), or a
checkout linked under that name (cli/_collection.py). A collections path is the directory that holds
`ansible_collections/preview/envs`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .vocabulary import RunKind

PACKAGE = "ansible_collections.preview.envs"
COLLECTION_DIR = Path("ansible_collections", "preview", "envs")


def importable_collections_path() -> str | None:
    """The collections path on sys.path that provides `preview.envs` to Python, or None."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    # <collections path>/ansible_collections/preview/envs
    return str(Path(next(iter(spec.submodule_search_locations))).parents[2])


def default_collections_path() -> str:
    """`collections_path` when the configuration names none: `<venv>/collections` when the collection is
    there, else wherever Python finds it (the wheel's copy in site-packages), else `<venv>/collections`,
    which the configuration's check then reports as missing."""
    venv = Path(sys.prefix) / "collections"
    if (venv / COLLECTION_DIR).is_dir():
        return str(venv)
    return importable_collections_path() or str(venv)


class CollectionCheck:
    """Whether the collection and every playbook the shim runs (one per RunKind) are on disk.

    The paths are worked out once, at start; each `problems()` is a handful of stats, cheap enough for every
    /healthz. Importing the collection's module_utils at start does not prove the playbooks are there: a
    collections path that lacks them fails every run with "the playbook could not be found".
    """

    def __init__(self, collections_path: str):
        self.root = Path(collections_path) / COLLECTION_DIR
        self.playbooks = tuple(self.root / "playbooks" / kind.playbook for kind in RunKind)

    def problems(self) -> list[str]:
        if not self.root.is_dir():
            return [f"no preview.envs collection at {self.root} (collections_path)"]
        return [f"playbook missing: {path}" for path in self.playbooks if not path.is_file()]
