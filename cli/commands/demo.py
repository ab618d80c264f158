"""`preview demo`: a real preview on this machine, on the embedded defaults.

It plays GitHub's part only: a local git repository holds the example app,
and a signed `pull_request` delivery goes through nginx on :80 to the shim.
Everything after that is the product as it runs in production: the shim
stores the delivery, ansible-runner runs preview.envs.deploy, docker compose
builds and starts the app, nginx routes /hello-pr-1/ to it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
import requests
import yaml

from shim.signature import sign

from .. import state

REPO = "demo/hello"
PR = 1
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _demo_repo(workdir: Path) -> tuple[Path, str]:
    repo = workdir / "hello.git-work"
    if not (repo / ".git").exists():
        if not EXAMPLE.is_dir():
            raise click.ClickException(f"example app not found at {EXAMPLE}: run the demo from a checkout")
        shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
        _git(repo, "init", "-q", "-b", "main")
        _git(
            repo,
            "-c",
            "user.email=demo@preview.invalid",
            "-c",
            "user.name=preview demo",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "demo",
        )
        _git(repo, "add", "-A")
        _git(
            repo,
            "-c",
            "user.email=demo@preview.invalid",
            "-c",
            "user.name=preview demo",
            "commit",
            "-q",
            "-m",
            "example app",
        )
    sha = _git(repo, "rev-parse", "HEAD")
    _git(repo, "update-ref", f"refs/pull/{PR}/head", sha)
    return repo, sha


def _config(workdir: Path, repo: Path) -> tuple[Path, dict]:
    path = workdir / "config.yml"
    if path.exists():
        config = yaml.safe_load(path.read_text())
    else:
        config = {
            "webhook_secret": secrets.token_hex(32),
            "listen": {"host": "127.0.0.1", "port": 3000},
            "state_db": "/var/lib/preview/state.db",
            "repositories": {REPO: {"clone_url": str(repo), "slug": "hello"}},
            "preview": {"public_url": "http://localhost"},
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(config, handle)
    return path, config


def _shim_up(config: dict) -> bool:
    try:
        url = f"http://127.0.0.1:{config['listen']['port']}/healthz"
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _start_shim(workdir: Path, config_path: Path, config: dict) -> None:
    if _shim_up(config):
        click.echo("shim: already running")
        return
    shim = Path(sys.executable).parent / "preview-shim"
    log = open(workdir / "shim.log", "ab")
    proc = subprocess.Popen(
        [str(shim), "--config", str(config_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (workdir / "shim.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"the shim exited ({proc.returncode}); see {workdir / 'shim.log'}")
        if _shim_up(config):
            click.echo(f"shim: started (pid {proc.pid}, log {workdir / 'shim.log'})")
            return
        time.sleep(0.2)
    raise click.ClickException(f"the shim did not answer within 30 s; see {workdir / 'shim.log'}")


def _deliver(config: dict, action: str, sha: str, webhook_url: str) -> dict:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = {
        "action": action,
        "number": PR,
        "pull_request": {
            "number": PR,
            "state": "closed" if action == "closed" else "open",
            "updated_at": now,
            "title": "Demo preview",
            "head": {"sha": sha, "ref": "demo", "repo": {"full_name": REPO, "fork": False}},
            "base": {"ref": "main", "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO, "name": "hello", "owner": {"login": "demo"}},
        "sender": {"login": "demo"},
    }
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "User-Agent": "GitHub-Hookshot/preview-demo",
        "X-Hub-Signature-256": sign(config["webhook_secret"], body),
    }
    try:
        resp = requests.post(webhook_url, data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise click.ClickException(
            f"could not reach {webhook_url}: {exc} (is nginx running? run scripts/bootstrap)"
        ) from None
    if resp.status_code >= 300:
        raise click.ClickException(f"the shim answered {resp.status_code}: {resp.text}")
    return resp.json()


def _record(db: str) -> dict | None:
    """The demo PR's deployment record plus `pending` (whether a run of it is due); None before the shim
    has written the file."""
    queue = state.queue(db)
    if queue is None:
        return None
    pending = sum(1 for item in queue if (item.repo, item.pr) == (REPO, PR))
    return dict(state.preview(db, REPO, PR) or {}, pending=pending)


def _wait(db: str, done, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    last = None
    while time.monotonic() < deadline:
        record = _record(db) or {}
        state = record.get("status", "absent")
        if state != last:
            click.echo(f"  [{time.monotonic() - started:5.1f}s] {what}: {state}")
            last = state
        if done(record):
            return record
        time.sleep(0.5)
    raise click.ClickException(f"{what} did not finish within {timeout:.0f} s")


@click.command()
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path("/var/lib/preview/demo"),
    show_default=True,
    help="Where the demo keeps its repository, config and shim log.",
)
@click.option(
    "--webhook-url",
    default="http://127.0.0.1/webhook/github",
    show_default=True,
    help="Where the signed delivery goes (nginx in front of the shim).",
)
@click.option("--down", is_flag=True, help="Close the demo PR: remove the preview and stop the shim.")
@click.option("--timeout", type=float, default=300, show_default=True)
def demo(workdir: Path, webhook_url: str, down: bool, timeout: float) -> None:
    """Bring up a real preview of the example app (or take it down with --down)."""
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    repo, sha = _demo_repo(workdir)
    config_path, config = _config(workdir, repo)
    db = config["state_db"]
    _start_shim(workdir, config_path, config)
    if down:
        click.echo(f"closing {REPO}#{PR}")
        _deliver(config, "closed", sha, webhook_url)
        _wait(db, lambda r: "status" not in r and r.get("pending") == 0, timeout, "cleanup")
        pid_file = workdir / "shim.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
            pid_file.unlink()
        click.echo("preview removed; shim stopped")
        return
    click.echo(f"opening {REPO}#{PR} at {sha[:7]} -> {webhook_url}")
    answer = _deliver(config, "opened", sha, webhook_url)
    click.echo(f"  shim: {answer['outcome']} ({answer.get('detail', '')})")
    record = _wait(db, lambda r: r.get("status") in ("live", "failed") and r.get("pending") == 0, timeout, "preview")
    if record["status"] != "live":
        raise click.ClickException(f"the preview failed: {record.get('reason')}; see {workdir / 'shim.log'}")
    page = requests.get(record["url"], timeout=10)
    click.echo(f"  GET {record['url']} -> {page.status_code}")
    click.echo(f"Preview live: {record['url']}")
    click.echo("Take it down with: .venv/bin/preview demo --down")
