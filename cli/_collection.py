"""Make the checkout importable as the Ansible collection `preview.envs`, so the CLI reuses its code.

The repository root *is* the collection. Ansible finds it as `ansible_collections/preview/envs` under a
collections path; when nothing on `sys.path` provides that already (bootstrap's `.venv/collections`, an
installed collection, the test suite's link), a private temporary tree links the checkout under that name.
The same directory is what `ANSIBLE_COLLECTIONS_PATH` must name for playbooks that use `preview.envs.*`.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

COLLECTION_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "ansible_collections.preview.envs"

_linked: Path | None = None


def _importable() -> Path | None:
    """The collections directory that provides `preview.envs` on sys.path, or None."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    # .../<collections dir>/ansible_collections/preview/envs
    return Path(next(iter(spec.submodule_search_locations))).parents[2]


def collections_path() -> str:
    """A directory whose `ansible_collections/preview/envs` is this collection; put on sys.path if needed."""
    global _linked
    found = _importable()
    if found is not None:
        return str(found)
    if not (COLLECTION_ROOT / "galaxy.yml").is_file():
        raise RuntimeError(
            f"{COLLECTION_ROOT} is not the preview.envs collection (no galaxy.yml): run the CLI from a checkout, "
            "or install the collection (ansible-galaxy collection install) and put its path on PYTHONPATH"
        )
    if _linked is None:
        _linked = Path(tempfile.mkdtemp(prefix="preview-collections-"))
        atexit.register(shutil.rmtree, _linked, True)  # removes the link, never what it points at
        (_linked / "ansible_collections" / "preview").mkdir(parents=True)
        (_linked / "ansible_collections" / "preview" / "envs").symlink_to(COLLECTION_ROOT, target_is_directory=True)
    if str(_linked) not in sys.path:
        sys.path.insert(0, str(_linked))
    importlib.invalidate_caches()
    return str(_linked)


def module_util(name: str) -> ModuleType:
    """`ansible_collections.preview.envs.plugins.module_utils.<name>`, importing the checkout if need be."""
    collections_path()
    return importlib.import_module(f"{PACKAGE}.plugins.module_utils.{name}")


_github = module_util("_github")
GitHubClient = _github.GitHubClient
GitHubError = _github.GitHubError

__all__ = ["COLLECTION_ROOT", "GitHubClient", "GitHubError", "collections_path", "module_util"]
