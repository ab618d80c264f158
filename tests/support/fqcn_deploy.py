"""A preview deployed and removed by FQCN (`preview.envs.deploy`, then `preview.envs.cleanup`) with the Ansible
an install gave: proof that an installed collection works, not only that its files are there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import requests

from .gitrepo import AppRepo
from .leftovers import project_resources
from .nginx import PrivateNginx


def fresh_venv(path: Path) -> tuple[Path, Path]:
    """A virtualenv outside the checkout whose dependencies are this venv's (a `.pth` line names its
    site-packages; that directory's own `.pth` files, such as the link to the checkout, are not processed).
    Returns its python and its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    python = path / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([python, "-c", purelib], check=True, capture_output=True, text=True).stdout.strip())
    (site / "preview-envs-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what points Ansible or Python at the checkout (the suite's
    ANSIBLE_COLLECTIONS_PATH link, PYTHONPATH), nor a GitHub token."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS", "PYTHONPATH", "GITHUB_TOKEN")
    }
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="json", **extra)
    return env


def deploy_and_clean_up(tmp: Path, ansible: list[str], python: str, env: dict, nginx: PrivateNginx, pr: int) -> None:
    """`ansible` runs an Ansible CLI (`[python, "-m", "ansible"]`); `python` is the modules' interpreter."""
    app = AppRepo(tmp / "hello")
    app.write("www/index.html", f"<h1>installed collection, PR {pr}</h1>\n")
    sha = app.commit("page")
    app.push_pr(pr, sha)
    label = f"hello-pr-{pr}"
    extra = {
        "preview_pr_repo": "octo/hello",
        "preview_pr_number": pr,
        "preview_pr_sha": sha,
        "preview_pr_clone_url": app.clone_url,
        "preview_pr_state_db": str(tmp / "state.db"),
        "preview_pr_deployments_dir": str(tmp / "deployments"),
        "preview_pr_github_token": "",
        "preview_pr_stop_timeout": 2,
        "preview_pr_health_timeout": 30,
        **{f"preview_pr_{key}": value for key, value in nginx.role_settings().items()},
    }

    def play(name: str) -> dict:
        argv = [*ansible, "playbook", "-i", "localhost,", "-c", "local"]
        argv += ["-e", f"ansible_python_interpreter={python}", "-e", json.dumps(extra), f"preview.envs.{name}"]
        done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{name}: {done.stdout[-4000:]}{done.stderr[-2000:]}"
        return json.loads(done.stdout)["stats"]["localhost"]

    try:
        assert play("deploy")["failures"] == 0
        page = requests.get(f"{nginx.base_url}/{label}/", timeout=10)
        assert page.status_code == 200 and f"installed collection, PR {pr}" in page.text
    finally:
        stats = play("cleanup")
    assert stats["failures"] == 0 and stats["changed"] > 0
    assert project_resources(f"preview-{label}") == {"containers": [], "volumes": [], "networks": [], "images": []}
    assert nginx.files() == []
