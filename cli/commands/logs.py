"""`preview logs <repo> <pr>`: the output of a PR's last run (or of `--run N`), as the shim keeps it."""

from __future__ import annotations

import os
import re
import time

import click

from .. import state

# A run's output is a PR's build output: control characters (terminal escapes among them) are shown, not sent.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every control character but newline and tab written as an escape (`\\x1b`)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group(0)):02x}", text)


def _header(run: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["finished"] or run["started"]))
    rc = "" if run["rc"] is None else f" rc={run['rc']}"
    return f"# run {run['id']}: {run['kind']} of {run['sha'][:12]} {run['status']}{rc} ({when})"


@click.command()
@click.argument("repo")
@click.argument("pr", type=click.IntRange(min=1))
@click.option("--run", "run_id", type=click.IntRange(min=1), help="This run's output (`preview logs` lists them).")
@click.option(
    "--db",
    default=lambda: os.environ.get("PREVIEW_STATE_DB", "/var/lib/preview/state.db"),
    show_default="/var/lib/preview/state.db",
    help="The state database.",
)
def logs(repo: str, pr: int, run_id: int | None, db: str) -> None:
    """Show the playbook output of REPO's (owner/name) pull request PR: its last run's, or an older run's.

    The shim keeps the tail of the output of a PR's newest five runs, redacted.
    """
    runs = state.runs(db, repo, pr)
    if runs is None:
        raise click.ClickException(f"no shim state at {db} (the shim has not run here, or pass --db)")
    if not runs:
        raise click.ClickException(f"{repo}#{pr}: the shim knows no run of this pull request (see `preview status`)")
    kept = [run for run in runs if run["log"] is not None]
    listing = ", ".join(str(run["id"]) for run in kept) or "none"
    if run_id is not None:
        chosen = next((run for run in runs if run["id"] == run_id), None)
        if chosen is None or chosen["log"] is None:
            why = "is not one of its runs" if chosen is None else "has no output kept"
            raise click.ClickException(f"{repo}#{pr}: run {run_id} {why}; runs with output: {listing}")
    else:
        if not kept:
            raise click.ClickException(f"{repo}#{pr}: no run's output is kept (its last run is {runs[0]['status']})")
        chosen = kept[0]
        if chosen is not runs[0]:
            click.echo(f"run {runs[0]['id']} ({runs[0]['status']}) has no output yet; the last that has:", err=True)
    click.echo(_header(chosen))
    click.echo(printable(chosen["log"]), nl=not chosen["log"].endswith("\n"))
    if len(kept) > 1:
        click.echo(f"# runs with output: {listing} (--run N)", err=True)
