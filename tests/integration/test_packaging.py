"""The Python package as users get it: `python -m build` (an sdist, and the wheel built from that sdist),
installed into a fresh virtualenv outside the checkout, then its commands, its shim's /healthz and a real deploy
through the collection the wheel carries. And the execution environment definition, through ansible-builder.

The pinned tools (`build`, `ansible-builder`: the `artifacts` extra) go into a throwaway venv; the builds fetch
setuptools and ansible-core into isolated build environments from the package index, as any wheel build does.
The fresh venv gets the wheel alone (`--no-deps`); its dependencies come from this venv's site-packages through
a `.pth` line (tests/support/fqcn_deploy.py: fresh_venv). That is robust and fast (no index, no compilers), and
the wheel's own files still come first on sys.path. A directory a `.pth` line adds has no `.pth` processing of
its own, so this venv's link to the checkout (scripts/venv's preview-collections.pth) and its editable install
do not leak in: the test asserts that shim, cli and the collection all load from the fresh venv.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.fqcn_deploy import clean_env, deploy_and_clean_up, fresh_venv
from tests.support.nginx import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
IN_WHEEL = "ansible_collections/preview/envs/"


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert done.returncode == 0, f"{argv}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def pins(*names: str) -> list[str]:
    """`name==version` of each, from constraints.txt."""
    lines = (REPO_ROOT / "constraints.txt").read_text().splitlines()
    found = [line for line in lines if line.split("==")[0] in names]
    assert len(found) == len(names), f"constraints.txt pins {found}, wanted {names}"
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("packaging")
    tools = root / "tools"
    run([sys.executable, "-m", "venv", tools])
    run([tools / "bin/python", "-m", "pip", "install", "-q", *pins("build", "ansible-builder")])
    run([tools / "bin/python", "-m", "build", "--outdir", root / "dist", REPO_ROOT], cwd=root)
    [sdist] = (root / "dist").glob("preview_envs-*.tar.gz")
    [wheel] = (root / "dist").glob("preview_envs-*.whl")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", root / "galaxy", REPO_ROOT])
    [tarball] = (root / "galaxy").glob("preview-envs-*.tar.gz")
    return {"root": root, "tools": tools, "sdist": sdist, "wheel": wheel, "tarball": tarball}


def tarball_files(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as archive:
        return {member.name for member in archive.getmembers() if not member.isdir()}


def test_the_wheel_built_from_the_sdist_carries_the_collection_tarball(built):
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
    carried = {name.removeprefix(IN_WHEEL) for name in names if name.startswith(IN_WHEEL)}
    assert carried == tarball_files(built["tarball"])  # the same files, MANIFEST.json and FILES.json included
    assert {name.split("/")[0] for name in names} == {
        "ansible_collections",
        "shim",
        "cli",
        f"preview_envs-{VERSION}.dist-info",
    }
    assert f"{IN_WHEEL}playbooks/deploy.yml" in names and "shim/templates/status.html.j2" in names

    # Build output left in the checkout by these builds (git status --ignored) is in neither artifact.
    ignored = run(["git", "status", "--porcelain", "--ignored"], cwd=REPO_ROOT).stdout.splitlines()
    ignored = [line[3:].rstrip("/") for line in ignored if line.startswith("!! ")]
    assert "build" in ignored or "preview_envs.egg-info" in ignored  # the builds did leave some
    for artifact, files in (("wheel", carried), ("tarball", tarball_files(built["tarball"]))):
        shipped = sorted(f for f in files for path in ignored if f == path or f.startswith(path + "/"))
        assert not shipped, f"the {artifact} ships ignored build output: {shipped}"


def test_pip_install_outside_the_checkout_then_a_real_deploy(built, tmp_path, nginx):
    venv = tmp_path / "venv"
    python, site = fresh_venv(venv)
    run([built["tools"] / "bin/python", "-m", "pip", "--python", python, "install", "-q", "--no-deps", built["wheel"]])
    # No collections path: ansible-playbook finds preview.envs on sys.path, as it finds the `ansible` package's.
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "no-collections"))

    assert "Usage: preview" in run([venv / "bin/preview", "--help"], cwd=tmp_path, env=env).stdout
    assert "usage: preview-shim" in run([venv / "bin/preview-shim", "--help"], cwd=tmp_path, env=env).stdout
    where = """
import json, sys, shim, cli
from cli import _collection
from shim.collection import default_collections_path
print(json.dumps({
    "shim": shim.__file__,
    "cli": cli.__file__,
    "module_utils": sys.modules[_collection.GitHubClient.__module__].__file__,
    "collection_root": str(_collection.COLLECTION_ROOT),
    "cli_collections_path": _collection.collections_path(),
    "shim_collections_path": default_collections_path(),
}))
"""
    loaded = json.loads(run([python, "-c", where], cwd=tmp_path, env=env).stdout)
    assert all(Path(path).is_relative_to(site) for path in loaded.values()), loaded
    assert loaded["collection_root"] == str(site / IN_WHEEL.rstrip("/"))
    assert loaded["cli_collections_path"] == loaded["shim_collections_path"] == str(site)
    listed = run(
        [python, "-m", "ansible", "galaxy", "collection", "list", "preview.envs", "--format", "json"],
        cwd=tmp_path,
        env=env,
    )
    assert json.loads(listed.stdout) == {str(site / "ansible_collections"): {"preview.envs": {"version": VERSION}}}

    deploy_and_clean_up(tmp_path / "deploy", [str(python), "-m", "ansible"], str(python), env, nginx, pr=93)

    # The shim with no collections_path in its file finds the wheel's copy, and /healthz says when a playbook goes.
    port = free_port()
    config = tmp_path / "shim.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "webhook_secret": "packaging-test-secret-0123456789",
                "listen": {"host": "127.0.0.1", "port": port},
                "state_db": str(tmp_path / "shim-state" / "state.db"),
                "runs_dir": str(tmp_path / "runs"),
                "repositories": {"octo/hello": {"clone_url": str(tmp_path / "deploy" / "hello")}},
            }
        )
    )
    with open(tmp_path / "shim.log", "wb") as log:
        shim = subprocess.Popen(
            [venv / "bin/preview-shim", "--config", config], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            first = wait_for_health(f"http://127.0.0.1:{port}/healthz", shim, tmp_path / "shim.log")
            assert first.status_code == 200 and first.json()["collection"] == "ok", first.text
            (site / IN_WHEEL / "playbooks" / "hold.yml").unlink()
            gone = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert gone.status_code == 503
            assert gone.json()["collection"] == f"playbook missing: {site / IN_WHEEL / 'playbooks' / 'hold.yml'}"
        finally:
            shim.send_signal(signal.SIGTERM)
            shim.wait(60)


def wait_for_health(url: str, shim: subprocess.Popen, log: Path) -> requests.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert shim.poll() is None, f"preview-shim exited with {shim.returncode}: {log.read_text()}"
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"preview-shim did not answer: {log.read_text()}")


def test_the_execution_environment_definition_is_accepted_and_the_collection_declares_its_needs(built, tmp_path):
    builder = built["tools"] / "bin/ansible-builder"
    definition = yaml.safe_load((REPO_ROOT / "execution-environment.yml").read_text())
    [requirement] = definition["dependencies"]["galaxy"]["collections"]
    assert requirement == {"name": f"collections/preview-envs-{VERSION}.tar.gz", "type": "file"}
    assert definition["additional_build_files"] == [{"src": f"dist/{built['tarball'].name}", "dest": "collections"}]
    # Where docs/install.md builds it: the definition beside dist/ holding the collection tarball.
    shutil.copy(REPO_ROOT / "execution-environment.yml", tmp_path)
    (tmp_path / "dist").mkdir()
    shutil.copy(built["tarball"], tmp_path / "dist")
    created = run([builder, "create", "-f", tmp_path / "execution-environment.yml", "-c", tmp_path / "context"])
    assert "Complete!" in created.stdout
    assert (tmp_path / "context/_build/collections" / built["tarball"].name).is_file()
    dockerfile = (tmp_path / "context/Dockerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<2.5"' in dockerfile

    # What ansible-builder installs for the collection in any EE that lists it (meta/execution-environment.yml).
    run([BIN / "ansible-galaxy", "collection", "install", "--force", "-p", tmp_path / "coll", built["tarball"]])
    found = run([builder, "introspect", tmp_path / "coll"]).stdout
    data = yaml.safe_load(found.split("---", 1)[1])
    assert data["system"] == [
        "openssh-clients [platform:rpm]  # from collection preview.envs",
        "openssh-client [platform:dpkg]  # from collection preview.envs",
    ]
    assert data["python"] == []  # PyYAML, which ansible-builder counts as given with ansible-core
