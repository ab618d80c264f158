"""`preview`: the command line of preview.envs."""

from __future__ import annotations

import click

from .commands.demo import demo
from .commands.destroy import destroy
from .commands.init import init
from .commands.setup import setup
from .commands.status import status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="preview-envs")
def cli() -> None:
    """Pull-request preview environments on your own server."""


cli.add_command(demo)
cli.add_command(destroy)
cli.add_command(init)
cli.add_command(setup)
cli.add_command(status)
