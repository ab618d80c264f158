"""What a preview leaves behind, looked up in the real engine, filesystem and database."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path


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
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE repo=? AND pr=?", (repo, pr))]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def assert_nothing_left(
    project: str, label: str, db: Path, deployments_dir: Path, configs_dir: Path, repo: str, pr: int
) -> None:
    resources = project_resources(project)
    assert resources == {"containers": [], "volumes": [], "networks": [], "images": []}, resources
    assert not (deployments_dir / label).exists(), "work dir left behind"
    assert list(configs_dir.glob(f"{label}.*")) == [], "nginx file left behind"
    assert db_rows(db, "deployments", repo, pr) == [], "deployment record left behind"
    assert db_rows(db, "ports", repo, pr) == [], "port lease left behind"
