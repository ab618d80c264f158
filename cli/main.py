"""`preview`: the command line of preview.envs."""

from __future__ import annotations

import click

from shim.version import collection_version, package_version

from ._collection import collections_path
from .commands.demo import demo
from .commands.destroy import destroy
from .commands.init import init
from .commands.logs import logs
from .commands.setup import setup
from .commands.status import status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    version=f"{package_version()}, collection preview.envs {collection_version(collections_path())}",
    prog_name="preview",
    message="%(prog)s %(version)s",
)
def cli() -> None:
    """Pull-request preview environments on your own server."""


cli.add_command(demo)
cli.add_command(destroy)
cli.add_command(init)
cli.add_command(logs)
cli.add_command(setup)
cli.add_command(status)
