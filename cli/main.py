"""`preview`: the command line of preview.envs."""

from __future__ import annotations

import click

from .commands.demo import demo
from .commands.status import status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="preview-envs")
def cli() -> None:
    """Pull-request preview environments on your own server."""


cli.add_command(demo)
cli.add_command(status)
