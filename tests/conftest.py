"""Suite-wide setup: make the checkout importable as the collection preview.envs.

Ansible resolves `ansible_collections.preview.envs` from a collections path; the
checkout *is* the collection, so a temporary tree links it under that name.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.nginx import PrivateNginx

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"

_collections_root = Path(tempfile.mkdtemp(prefix="preview-collections-"))
atexit.register(shutil.rmtree, _collections_root, True)  # the link only, never what it points at
(_collections_root / "ansible_collections" / "preview").mkdir(parents=True)
(_collections_root / "ansible_collections" / "preview" / "envs").symlink_to(REPO_ROOT)
COLLECTIONS_PATH = str(_collections_root)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_PATH
if COLLECTIONS_PATH not in sys.path:
    sys.path.insert(0, COLLECTIONS_PATH)


@pytest.fixture
def nginx(tmp_path):
    """A private nginx of the test's own (tests/support/nginx.py), for the tests that route previews."""
    server = PrivateNginx(tmp_path / "nginx").start()
    yield server
    server.stop()
