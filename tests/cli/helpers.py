"""Names and small helpers shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = "octo/app"
OTHER = "octo/api"
ADMIN_TOKEN = "admin-token"
NO_HOOKS_TOKEN = "no-hooks-token"
SERVER = "203.0.113.5"  # TEST-NET-3: never reached; the tests skip the Ansible step for remote hosts
SERVER_URL = f"http://{SERVER}/webhook/github"
OFFLINE_ROOT = Path(__file__).resolve().parents[2] / "terraform" / "examples" / "offline"


def read_config(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def write_config(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def hook_writes(standin) -> list[tuple[str, str]]:
    """(method, path) of every request that could have changed a webhook."""
    return [(request.method, request.path) for request in standin.writes()]


def record_previews(db: Path, *previews: tuple[str, int, str, str]) -> None:
    """Record (repo, pr, status, reason) in `db` as the playbooks do, through the records' owner."""
    from ansible_collections.preview.envs.plugins.module_utils import _state

    conn = _state.connect(str(db))
    try:
        for repo, pr, status, reason in previews:
            label = f"{repo.rsplit('/', 1)[1]}-pr-{pr}"
            values = {"repo": repo, "pr": pr, "sha": "c0ffee" + "0" * 34, "label": label, "status": status}
            values.update(project=f"preview-{label}", work_dir=f"/srv/{label}", url=f"http://previews.test/{label}/")
            _state.upsert_record(conn, dict(values, app_port=8000 + pr, db_port=9000 + pr, reason=reason))
    finally:
        conn.close()
