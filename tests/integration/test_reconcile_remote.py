"""A reconcile pass with the previews on another host (`inventory:`), through the real ansible-playbook.

The preview host is a container of the local molecule image (scripts/molecule-image), reached with the
docker connection: a filesystem of its own, so its state file is not the shim's even at the same path. It
sees the machine's Docker engine through the socket, as a host with Docker would. The records live in the
host's file only; the shim learns their status from the play's report, and its own file never gets the
playbooks' tables.
"""

from __future__ import annotations

import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.preview.envs.plugins.module_utils import _state
from shim.config import Config, RepoConfig
from shim.policy import Decision
from shim.reconciler import Reconciler
from shim.store import Store
from tests.conftest import COLLECTIONS_PATH, REPO_ROOT

IMAGE = "preview-molecule/debian:bookworm"
REPO = "octo/app"
SHA = "a" * 40


@pytest.fixture
def preview_host(tmp_path):
    """A container to be the preview host; its state dir is a dir of the test's (to write its records)."""
    image = subprocess.run([str(REPO_ROOT / "scripts" / "molecule-image")], capture_output=True, text=True, check=False)
    assert image.returncode == 0, f"scripts/molecule-image failed:\n{image.stdout}\n{image.stderr}"
    name = f"preview-remote-host-{uuid.uuid4().hex[:12]}"
    host_state, shim_state = tmp_path / "host-state", tmp_path / "shim-state"
    host_state.mkdir()
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-v", f"{host_state}:{shim_state}"]
        + ["-v", "/var/run/docker.sock:/var/run/docker.sock", IMAGE, "sleep", "infinity"],
        check=True,
        capture_output=True,
    )
    try:
        yield name, host_state, shim_state
    finally:
        subprocess.run(["docker", "rm", "-f", name], check=False, capture_output=True)


def _record(conn, pr: int, status: str) -> None:
    label = f"app-pr-{pr}"
    values = {"repo": REPO, "pr": pr, "sha": SHA, "label": label, "project": f"preview-{label}", "status": status}
    values.update(work_dir=f"/opt/preview-deployments/{label}", url=f"http://previews.test/{label}/")
    _state.upsert_record(conn, dict(values, app_port=8000 + pr, db_port=9000 + pr))


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_pass_on_a_remote_host_reports_the_host_records_status_and_leaves_the_shims_file_alone(
    tmp_path, preview_host
):
    container, host_state, shim_state = preview_host
    # The playbooks target `localhost` (the shim passes no preview_hosts): the inventory says where that is.
    inventory = tmp_path / "inventory.yml"
    host = {
        "ansible_connection": "community.docker.docker",
        "ansible_host": container,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": host}}}))
    config = Config(
        webhook_secret="x" * 16,
        repositories={REPO: RepoConfig(full_name=REPO, clone_url="/nowhere", slug="app")},
        state_db=str(shim_state / "state.db"),
        runs_dir=str(tmp_path / "runs"),
        collections_path=COLLECTIONS_PATH,
        inventory=str(inventory),
        run_nice=0,
    )
    store = Store(config.state_db)
    try:
        decision = Decision(state="present", sha=SHA, approved_sha="", pinned=False, reason="deploy")
        for pr in (1, 2):
            store.accept(f"g{pr}", "pull_request", "opened", REPO, pr, lambda row: decision, "2026-01-01T00:00:00Z")
        for item in store.pending():
            store.finish_run(store.start_run(item), item, "successful", 0)
        # On the preview host: PR 1 went live, PR 2's last deploy failed; neither has a stack running now.
        conn = _state.connect(str(host_state / "state.db"))
        _record(conn, 1, "live")
        _record(conn, 2, "failed")
        conn.close()

        result = Reconciler(config, store).run_once()

        assert result == {"orphans": [], "redeploy": [(REPO, 1)]}  # a failed preview is not redeployed
        assert [(item.pr, item.reason) for item in store.pending()] == [(1, "missing")]
    finally:
        store.close()
    assert not {"deployments", "ports"} & _tables(shim_state / "state.db")
    assert [(r["pr"], r["status"]) for r in _state.read_records(str(host_state / "state.db"))] == [
        (1, "live"),
        (2, "failed"),
    ]
