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
