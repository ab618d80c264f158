"""The collection as users get it: built with ansible-galaxy, installed, and run by FQCN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

from tests.support.fqcn_deploy import clean_env, deploy_and_clean_up, fresh_venv

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, **kwargs)


def test_build_install_and_run_a_playbook_by_fqcn(tmp_path, nginx):
    """ansible-galaxy builds the tarball; a fresh virtualenv outside the checkout installs it with
    `ansible-galaxy collection install` alone and deploys a real preview by FQCN."""
    built = run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO_ROOT), "--output-path", str(tmp_path / "dist")]
    )
    assert built.returncode == 0, built.stderr
    [tarball] = (tmp_path / "dist").glob("preview-envs-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "playbooks/deploy.yml" in names and "plugins/modules/compose_project.py" in names
    assert not [n for n in names if n.startswith(("shim/", "cli/", "tests/output", ".venv", "bench/", ".git/"))]
    assert "LICENSE" in names
    assert not [n for n in names if n.startswith(("build/", "dist/")) or ".egg-info" in n], "build output shipped"
    assert not {"setup.py", "MANIFEST.in", "pyproject.toml", "execution-environment.yml"} & set(names)
    # What ansible-builder reads when an execution environment installs the collection.
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= set(names)

    python, _site = fresh_venv(tmp_path / "venv")
    collections = tmp_path / "collections"
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(collections))
    ansible = [str(python), "-m", "ansible"]
    installed = run([*ansible, "galaxy", "collection", "install", str(tarball), "-p", str(collections)], env=env)
    assert installed.returncode == 0, installed.stderr
    assert (collections / "ansible_collections/preview/envs/MANIFEST.json").is_file()
    listed = run([*ansible, "galaxy", "collection", "list", "preview.envs", "--format", "json"], env=env, cwd=tmp_path)
    assert json.loads(listed.stdout) == {
        str(collections / "ansible_collections"): {"preview.envs": {"version": VERSION}}
    }

    extra = {
        "preview_pr_repo": "octo/app",
        "preview_pr_number": 5,
        "preview_pr_state_db": str(tmp_path / "s.db"),
        "preview_pr_deployments_dir": str(tmp_path / "deployments"),
        "preview_pr_nginx_configs_dir": str(tmp_path / "nginx"),
        "preview_pr_github_token": "",
    }
    played = run(
        [*ansible, "playbook", "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={python}"]
        + ["-e", json.dumps(extra), "preview.envs.cleanup"],
        env=env,
        cwd=tmp_path,
    )
    assert played.returncode == 0, played.stdout[-3000:] + played.stderr[-2000:]
    stats = json.loads(played.stdout)["stats"]["localhost"]
    assert stats["failures"] == 0 and stats["changed"] == 0  # cleaning up nothing changes nothing

    deploy_and_clean_up(tmp_path / "deploy", ansible, str(python), env, nginx, pr=92)


def test_module_defaults_name_the_collections_action_group(tmp_path):
    """`group/preview.envs.preview` in module_defaults reaches every module of the collection (meta/runtime.yml)."""
    playbook = tmp_path / "group.yml"
    playbook.write_text(
        """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/preview.envs.preview:
      docker_cli: /nonexistent/docker-from-the-group
      deployments_dir: "{{ playbook_dir }}/deployments"
      nginx_configs_dir: "{{ playbook_dir }}/nginx"
      db: "{{ playbook_dir }}/state.db"
  tasks:
    - name: List the host's preview traces
      preview.envs.preview_traces:
      register: traces
      ignore_errors: true
    - name: The group's docker_cli was the one used
      ansible.builtin.assert:
        that: traces is failed and traces.cmd is search('docker-from-the-group')
"""
    )
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    played = run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        env=env,
        cwd=tmp_path,
    )
    assert played.returncode == 0, played.stdout[-3000:] + played.stderr[-2000:]
