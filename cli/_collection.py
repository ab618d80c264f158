"""Make the Ansible collection `preview.envs` importable, so the CLI reuses its code and runs its playbooks.

Ansible finds it as `ansible_collections/preview/envs` under a collections path. When something on `sys.path`
provides that already (the `preview-envs` wheel's copy in site-packages, bootstrap's `.venv/collections`, an
installed collection, the test suite's link), that is the one used. Otherwise, in a checkout (whose root *is*
the collection), a private temporary tree links the checkout under that name. The same directory is what
`ANSIBLE_COLLECTIONS_PATH` must name for playbooks that use `preview.envs.*`.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from shim.collection import COLLECTION_DIR, PACKAGE, importable_collections_path

# The checkout this module sits in, if it is one (galaxy.yml beside cli/); in an installed wheel, site-packages.
CHECKOUT = Path(__file__).resolve().parents[1]

_linked: Path | None = None


def collections_path() -> str:
    """A directory whose `ansible_collections/preview/envs` is this collection; put on sys.path if needed."""
    global _linked
    found = importable_collections_path()
    if found is not None:
        return found
    if not (CHECKOUT / "galaxy.yml").is_file():
        raise RuntimeError(
            f"the preview.envs collection is not importable, and {CHECKOUT} is not a checkout of it (no galaxy.yml):"
            " the preview-envs package carries it in site-packages/ansible_collections/preview/envs, so reinstall"
            " the package (pip install --force-reinstall preview-envs), or run the CLI from a checkout"
        )
    if _linked is None:
        _linked = Path(tempfile.mkdtemp(prefix="preview-collections-"))
        atexit.register(shutil.rmtree, _linked, True)  # removes the link, never what it points at
        (_linked / COLLECTION_DIR).parent.mkdir(parents=True)
        (_linked / COLLECTION_DIR).symlink_to(CHECKOUT, target_is_directory=True)
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

# The collection's own directory (playbooks/, roles/): the checkout, or the installed copy.
COLLECTION_ROOT = (Path(collections_path()) / COLLECTION_DIR).resolve()

__all__ = ["COLLECTION_ROOT", "GitHubClient", "GitHubError", "collections_path", "module_util"]
