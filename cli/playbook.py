"""Run a playbook through the shim's ansible-runner adapter (shim/playbook_run.py), with one progress line
per task result.

Ctrl-C cancels the run through ansible-runner's cancel callback instead of killing the CLI mid-task.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import click

from shim import playbook_run
from shim.vocabulary import RunStatus

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


def run_playbook(playbook: Path, inventory: dict, extravars: dict, echo: Callable[[str], object] = click.echo) -> None:
    """Run `playbook` against `inventory`; raise a ClickException that names the failed task."""
    if not playbook.is_file():
        raise click.ClickException(
            f"playbook not found: {playbook} (pass --playbook PATH, or --skip-provision to skip the Ansible step)"
        )
    cancelled = False

    def on_event(event: dict) -> None:
        line = progress_line(event)
        if line:
            echo(line)

    def on_sigint(signum, frame) -> None:
        nonlocal cancelled
        cancelled = True
        echo("  cancelling the playbook run ...")

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: no Ctrl-C handling
        previous = None
    try:
        run = playbook_run.run(
            str(playbook.resolve()),
            inventory=inventory,
            extravars=extravars,
            collections_path=collections_path(),
            prefix="preview-setup-",
            ident="setup",
            on_event=on_event,
            cancelled=lambda: cancelled,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if run.status == RunStatus.SUCCESSFUL:
        return
    if run.status == RunStatus.CANCELED:
        raise click.ClickException("the playbook run was cancelled; run `preview setup` again to finish it")
    failures = [f"{f.task} on {f.host}: {(f.message or 'no message')[:500]}" for f in run.failures]
    if run.error is not None:
        failures.append(f"ansible-runner: {run.error}")
    detail = "\n".join(failures) or run.output or "no task failed: see the output above"
    raise click.ClickException(
        f"the playbook {playbook} {run.status} (rc {run.rc}):\n{detail}\nFix the cause and run `preview setup` again."
    )
