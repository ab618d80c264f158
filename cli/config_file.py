"""The configuration file the CLI writes and reads: the shim's format plus a `provision:` section.

`preview init` writes it; `preview setup` and `preview destroy` read it. The shim reads the same file on the
server and ignores `provision:` (it reads only the top-level keys it knows). The file holds the GitHub token
and the webhook secret, so it is written with mode 0600, and its directory with 0700.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import yaml

from shim import config as shim_config

# Keys of the `provision:` section and their types; the shim never reads them.
PROVISION_KEYS: dict[str, type | tuple[type, ...]] = {
    "host": str,  # an existing server: setup skips Terraform
    "ssh_user": str,  # default: the Terraform output ssh_user, else root
    "ssh_private_key_file": str,  # the key Ansible logs in with
    "ssh_public_key_file": str,  # given to Terraform as the variable ssh_public_key
    "terraform_dir": str,  # default: the collection's terraform/ module
    "terraform_vars": dict,  # passed to Terraform as TF_VAR_<name>
    "playbook": str,  # default: the collection's playbooks/site.yml
    "vars": dict,  # variables for the playbook, e.g. docker_package_source: distro (the roles' defaults)
    "webhook_url": str,  # default: derived from the server address or preview.domain
}


def default_path() -> Path:
    if os.environ.get("PREVIEW_CONFIG"):
        return Path(os.environ["PREVIEW_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "preview" / "config.yml"


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=default_path,
    show_default="$PREVIEW_CONFIG, else ~/.config/preview/config.yml",
    help="The configuration file (written by `preview init`).",
)


@dataclass(frozen=True)
class Settings:
    path: Path
    data: dict  # the file as read
    shim: shim_config.Config  # the shim's view, validated as the shim will on the server
    provision: dict

    @property
    def github_token(self) -> str:
        return os.environ.get("GITHUB_TOKEN") or self.shim.github_token

    @property
    def repositories(self) -> list[str]:
        return [repo.full_name for repo in self.shim.repositories.values()]


def load(path: Path) -> Settings:
    """Read and check the file; every problem is a ClickException that says how to fix it."""
    if not path.is_file():
        raise click.ClickException(f"no configuration at {path}: run `preview init` first (or pass --config)")
    try:
        # An empty environment: what counts is the file, which is what the server will read.
        validated = shim_config.load(path, environ={})
    except shim_config.ConfigError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    provision = data.get("provision") or {}
    if not isinstance(provision, dict):
        raise click.ClickException(f"{path}: provision: must be a mapping")
    for key, value in provision.items():
        kind = PROVISION_KEYS.get(key)
        if kind is None:
            known = ", ".join(sorted(PROVISION_KEYS))
            raise click.ClickException(f"{path}: provision.{key}: unknown setting (known: {known})")
        if value is not None and not isinstance(value, kind):
            raise click.ClickException(f"{path}: provision.{key}: must be a {kind.__name__}")
    return Settings(path=path, data=data, shim=validated, provision={k: v for k, v in provision.items() if v})


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only (0600, directory 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
