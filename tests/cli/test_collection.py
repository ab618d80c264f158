"""cli._collection: the checkout becomes importable as ansible_collections.preview.envs on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cli import _collection

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_uses_the_collections_github_client():
    assert _collection.GitHubClient.__module__ == "ansible_collections.preview.envs.plugins.module_utils._github"


def test_a_fresh_interpreter_gets_a_temporary_link_that_is_removed_at_exit():
    code = (
        "import json, sys, os\n"
        # Without the venv's collections dir (scripts/bootstrap puts it on the path with a .pth file).
        "sys.path[:] = [p for p in sys.path if not p.rstrip('/').endswith('collections')]\n"
        "from cli import _collection as c\n"
        "path = c.collections_path()\n"
        "link = os.path.join(path, 'ansible_collections', 'preview', 'envs')\n"
        "print(json.dumps({'path': path, 'target': os.path.realpath(link),"
        " 'module': c.GitHubClient.__module__, 'file': sys.modules[c.GitHubClient.__module__].__file__}))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ANSIBLE_COLLECTIONS_PATH")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(result.stdout)

    assert Path(found["path"]).name.startswith("preview-collections-")
    assert found["target"] == str(REPO_ROOT)
    assert found["file"].endswith("plugins/module_utils/_github.py")
    assert not Path(found["path"]).exists()  # atexit removed the link tree (and only it)
    assert (REPO_ROOT / "galaxy.yml").is_file()
