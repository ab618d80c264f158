"""What a preview leaves behind, looked up in the real engine, filesystem and database."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ansible_collections.preview.envs.plugins.module_utils import _state
from shim.store import Store


def docker_lines(*args: str) -> list[str]:
    out = subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def project_resources(project: str) -> dict[str, list[str]]:
    label = f"label=com.docker.compose.project={project}"
    return {
        "containers": docker_lines("ps", "-a", "--filter", label, "--format", "{{.Names}}"),
        "volumes": docker_lines("volume", "ls", "--filter", label, "--format", "{{.Name}}"),
        "networks": docker_lines("network", "ls", "--filter", label, "--format", "{{.Name}}"),
        "images": docker_lines("images", "--filter", label, "--format", "{{.Repository}}:{{.Tag}}"),
    }


def db_rows(db: Path, table: str, repo: str, pr: int) -> list[dict]:
    """The PR's rows of `table`, read through the table's owner, read-only ([] while nothing wrote them)."""
    if table in ("deployments", "ports"):
        read = _state.read_records if table == "deployments" else _state.read_leases
        return [row for row in read(str(db)) if (row["repo"], row["pr"]) == (repo, pr)]
    if not db.is_file():
        return []
    store = Store(str(db), readonly=True)
    try:
        if not store.has_tables():
            return []
        return {"runs": store.runs, "deliveries": store.deliveries}[table](repo, pr)
    finally:
        store.close()


def assert_nothing_left(
    project: str, label: str, db: Path, deployments_dir: Path, configs_dir: Path, repo: str, pr: int
) -> None:
    resources = project_resources(project)
    assert resources == {"containers": [], "volumes": [], "networks": [], "images": []}, resources
    assert not (deployments_dir / label).exists(), "work dir left behind"
    assert list(configs_dir.glob(f"{label}.*")) == [], "nginx file left behind"
    assert db_rows(db, "deployments", repo, pr) == [], "deployment record left behind"
    assert db_rows(db, "ports", repo, pr) == [], "port lease left behind"
