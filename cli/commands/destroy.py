"""`preview destroy`: remove the previews; with --webhooks our repository hooks, with --server the server.

The previews are recorded in the shim's state database on the server. Where that database is on this
machine (`preview destroy` run on the server itself, or --db), each recorded preview is removed by the
collection's cleanup playbook, as the shim would on `closed`. Where it is not, no preview is stopped, and
the command says so: `--server` removes them with the server, or run `preview destroy` on the server.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from shim import runner as shim_runner

from .. import state
from .._collection import collections_path
from ..config_file import Settings, config_option, load
from ..provision_state import ProvisionState
from ..terraform import Terraform, terraform_variables
from ..webhooks import client, remove_hooks, url_for


def _remove_previews(settings: Settings, db: str) -> None:
    if not state.exists(db):
        click.echo(
            f"  no state database at {db} on this machine: no preview was stopped. Previews run on the "
            "server; --server removes them with it, or run `preview destroy` on the server (or pass --db)."
        )
        return
    previews = [(row["repo"], int(row["pr"])) for row in state.previews(db)]
    if not previews:
        click.echo(f"  none recorded in {db}")
        return
    click.echo("  (stop the shim first, or a new event may bring a preview back)")
    config = dataclasses.replace(
        settings.shim, state_db=db, collections_path=collections_path(), github_token=settings.github_token
    )
    failed = []
    for run_id, (repo, pr) in enumerate(previews, start=1):
        repo_config = config.repository(repo)
        if repo_config is None:
            click.echo(f"  {repo}#{pr}: not in the configuration, left alone")
            continue
        try:
            result = shim_runner.run_playbook(config, "cleanup", repo_config, pr, "", run_id, lambda: False)
        except OSError as exc:
            raise click.ClickException(
                f"cannot run the cleanup playbook: {exc} (runs_dir is {config.runs_dir}; "
                "run as the user the shim runs as)"
            ) from None
        click.echo(f"  {repo}#{pr}: cleanup {result.status} ({result.duration:.1f} s)")
        if result.status != "successful":
            failed.append(f"{repo}#{pr}: {result.message or result.status}")
    if failed:
        raise click.ClickException("some previews were not removed:\n" + "\n".join(failed))


def _webhook_url(settings: Settings, state: ProvisionState, host: str | None) -> str:
    if host:
        return url_for(settings, host)
    return state.webhook_url or url_for(settings, state.server_address or settings.provision.get("host", ""))


@click.command()
@config_option
@click.option("--webhooks", is_flag=True, help="Also delete our webhook from every configured repository.")
@click.option("--server", is_flag=True, help="Also destroy the server Terraform created (terraform destroy).")
@click.option("--host", metavar="ADDRESS", help="The server address the webhooks point at, if setup's record is lost.")
@click.option(
    "--terraform-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The Terraform root to destroy. Default: the one `preview setup` applied.",
)
@click.option("--db", help="The shim's state database. Default: state_db of the configuration.")
@click.option("--yes", is_flag=True, help="Do not ask before destroying the server.")
def destroy(
    config_path: Path,
    webhooks: bool,
    server: bool,
    host: str | None,
    terraform_dir: Path | None,
    db: str | None,
    yes: bool,
) -> None:
    """Remove the previews, and with --webhooks / --server the webhooks and the server."""
    settings = load(config_path)
    state = ProvisionState.for_config(config_path)

    if webhooks:
        url = _webhook_url(settings, state, host)
        click.echo(f"webhooks -> {url}")
        github = client(settings.shim.github_api_url, settings.github_token)
        try:
            for repo in settings.repositories:
                click.echo(remove_hooks(github, repo, url, state).line(url))
        finally:
            state.save()

    click.echo("previews")
    _remove_previews(settings, db or settings.shim.state_db)

    if server:
        root = terraform_dir or (Path(state.terraform_dir) if state.terraform_dir else None)
        if root is None:
            raise click.ClickException(
                f"no Terraform root recorded in {state.path} (setup used --host, or never ran): "
                "pass --terraform-dir DIR to destroy a root anyway"
            )
        if not yes:
            click.confirm(f"Destroy the server of {root}, with every preview and its data?", abort=True)
        click.echo(f"server ({root})")
        Terraform(root, terraform_variables(settings)).destroy()
        state.server_address = ""
        state.terraform_dir = ""
        state.save()
    click.echo("Done.")
