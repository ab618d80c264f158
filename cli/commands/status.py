"""`preview status`: every preview and the queue, from the state database."""

from __future__ import annotations

import os
import time

import click

from .. import state


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def read_status(db: str) -> tuple[list[dict], list[state.Pending]]:
    if not state.exists(db):
        raise click.ClickException(f"no state database at {db} (nothing deployed yet, or pass --db)")
    return state.previews(db), state.queue(db) or []


@click.command()
@click.option(
    "--db",
    default=lambda: os.environ.get("PREVIEW_STATE_DB", "/var/lib/preview/state.db"),
    show_default="/var/lib/preview/state.db",
    help="The state database.",
)
def status(db: str) -> None:
    """Show every preview (URL, SHA, state, age) and the queued work."""
    previews, queue = read_status(db)
    now = time.time()
    if not previews:
        click.echo("No previews.")
    for row in previews:
        click.echo(
            f"{row['repo']}#{row['pr']:<6} {row['status']:<9} {row['sha'][:7]}  "
            f"{_age(now - row['created']):>5} old  {row['url']}"
        )
        if row["status"] == "failed" and row["reason"]:
            click.echo(f"    reason: {row['reason'][:200]}")
    click.echo(f"Queue: {len(queue)} pending")
    for row in queue:
        click.echo(f"  {row.repo}#{row.pr} -> {row.state} {row.sha[:7]} (waiting {_age(now - row.changed)})")
