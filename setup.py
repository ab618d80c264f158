"""The wheel carries the collection: setuptools' build_py, plus preview.envs as `ansible-galaxy collection build`
makes it, unpacked where the `ansible` package puts its collections.

`pip install preview-envs` then gives `site-packages/ansible_collections/preview/envs` (with its MANIFEST.json
and FILES.json, as `ansible-galaxy collection install` leaves it): Python imports its module_utils,
ansible-playbook finds `preview.envs.*` on sys.path, and the shim and the CLI find its playbooks. The files are
the collection tarball's, chosen by ansible-galaxy itself (galaxy.yml's build_ignore). The metadata is in
pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COLLECTION_DIR = Path("ansible_collections", "preview", "envs")


class BuildPyWithCollection(build_py):
    def run(self):
        super().run()
        # An editable install links the checkout itself (scripts/venv); it gets no copy.
        if not getattr(self, "editable_mode", False):
            self.add_collection(Path(self.build_lib) / COLLECTION_DIR)

    def add_collection(self, target: Path) -> None:
        shutil.rmtree(target, ignore_errors=True)  # a previous build's copy in build/lib
        with tempfile.TemporaryDirectory() as out:
            argv = [sys.executable, "-m", "ansible.cli.galaxy", "collection", "build", "--output-path", out, str(HERE)]
            built = subprocess.run(argv, capture_output=True, text=True, check=False)
            if built.returncode != 0:
                raise RuntimeError(f"ansible-galaxy collection build failed: {built.stderr or built.stdout}")
            [tarball] = Path(out).glob("preview-envs-*.tar.gz")
            target.mkdir(parents=True)
            with tarfile.open(tarball) as archive:
                # The tarball was made just now, from this tree; the filter (Python 3.11.4+) is belt and braces.
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                archive.extractall(target, **safe)


setup(cmdclass={"build_py": BuildPyWithCollection})
