"""Run a playbook through ansible-runner, with one progress line per task result.

One private_data_dir per run, removed afterwards; env files are not written (ansible-runner issues 1440,
493). Ctrl-C cancels the run through `cancel_callback` instead of killing the CLI mid-task.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import ansible_runner
import click

from ._collection import collections_path

_RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


def progress_line(event: dict) -> str | None:
    """The line to show for one runner event, or None."""
    data = event.get("event_data") or {}
    kind = event.get("event")
    if kind == "playbook_on_play_start":
        return f"  PLAY {data.get('play') or data.get('pattern', '')}"
    status = _RESULTS.get(kind)
    if status is None:
        return None
    if status == "ok" and (data.get("res") or {}).get("changed"):
        status = "changed"
    if status == "failed" and data.get("ignore_errors"):
        status = "failed (ignored)"
    return f"  {status:<11} {data.get('task') or data.get('task_action', '?')}"


def _failure(event: dict) -> str | None:
    data = event.get("event_data") or {}
    if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
        res = data.get("res") or {}
        reason = res.get("msg") or res.get("stderr") or res.get("reason") or "no message"
        return f"{data.get('task', '?')} on {data.get('host', '?')}: {str(reason)[:500]}"
    return None


def run_playbook(playbook: Path, inventory: dict, extravars: dict, echo: Callable[[str], object] = click.echo) -> None:
    """Run `playbook` against `inventory`; raise a ClickException that names the failed task."""
    if not playbook.is_file():
        raise click.ClickException(
            f"playbook not found: {playbook} (pass --playbook PATH, or --skip-provision to skip the Ansible step)"
        )
    private_dir = tempfile.mkdtemp(prefix="preview-setup-")
    failures: list[str] = []
    cancelled = False

    def on_event(event: dict) -> bool:
        line = progress_line(event)
        if line:
            echo(line)
        failure = _failure(event)
        if failure:
            failures.append(failure)
        return False  # nothing kept on disk

    def on_sigint(signum, frame) -> None:
        nonlocal cancelled
        cancelled = True
        echo("  cancelling the playbook run ...")

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: no Ctrl-C handling
        previous = None
    try:
        envvars = {
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            "ANSIBLE_COLLECTIONS_PATH": collections_path(),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
        }
        runner = ansible_runner.run(
            private_data_dir=private_dir,
            playbook=str(playbook.resolve()),
            inventory=inventory,
            extravars=extravars,
            envvars=envvars,
            ident="setup",
            quiet=True,
            event_handler=on_event,
            cancel_callback=lambda: cancelled,
            suppress_env_files=True,
        )
        status, rc = runner.status, runner.rc
        output_tail = "" if status == "successful" else _tail(runner)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        shutil.rmtree(private_dir, ignore_errors=True)
    if status == "successful":
        return
    if status == "canceled":
        raise click.ClickException("the playbook run was cancelled; run `preview setup` again to finish it")
    detail = "\n".join(failures) or output_tail or "no task failed: see the output above"
    raise click.ClickException(
        f"the playbook {playbook} {status} (rc {rc}):\n{detail}\nFix the cause and run `preview setup` again."
    )


def _tail(runner, lines: int = 15) -> str:
    try:
        text = runner.stdout.read()
    except (OSError, AttributeError, ValueError):
        return ""
    return "\n".join(line for line in text.splitlines()[-lines:] if line.strip())
