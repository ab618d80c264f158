"""Terraform for `preview setup` and `preview destroy --server`: init, apply, outputs, destroy.

Variables travel as `TF_VAR_<name>` in the environment, never on the command line (where `ps` shows them);
Terraform ignores the ones a root does not declare. Progress lines (resources being created, the summary)
are echoed as they come; the whole output is kept for the error message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import click

from ._collection import COLLECTION_ROOT
from .config_file import Settings

DEFAULT_ROOT = COLLECTION_ROOT / "terraform"
# Lines worth showing while Terraform works: per-resource progress, summaries, errors.
_PROGRESS = re.compile(r"^(\S+\.\S+: |Apply complete|Destroy complete|No changes|Error: )")


def tf_vars(variables: dict) -> dict[str, str]:
    """`TF_VAR_*` for each variable: strings as they are, anything else as JSON (which HCL reads)."""
    return {
        f"TF_VAR_{name}": value if isinstance(value, str) else json.dumps(value)
        for name, value in variables.items()
        if value is not None
    }


class Terraform:
    def __init__(self, root: Path, variables: dict | None = None, echo: Callable[[str], object] = click.echo):
        self.root = Path(root)
        self.echo = echo
        binary = shutil.which("terraform")
        if binary is None:
            raise click.ClickException(
                "terraform is not on PATH: install Terraform 1.5 or later, or pass --host ADDRESS to use a "
                "server you already have"
            )
        if not self.root.is_dir() or not any(self.root.glob("*.tf")):
            raise click.ClickException(f"{self.root} holds no Terraform configuration (*.tf): check --terraform-dir")
        self.binary = binary
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", **tf_vars(variables or {})}

    def _run(self, *args: str, show: bool = True) -> str:
        command = [self.binary, f"-chdir={self.root}", *args, "-no-color"]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        lines = []
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            lines.append(line)
            if show and _PROGRESS.match(line):
                self.echo(f"  terraform: {line}")
        if process.wait() != 0:
            tail = "\n".join(line for line in lines[-25:] if line.strip())
            raise click.ClickException(
                f"terraform {args[0]} failed in {self.root} (exit {process.returncode}):\n{tail}\n"
                "Fix the cause above and run the command again (Terraform picks up where it stopped). Variables "
                "come from provision.terraform_vars and provision.ssh_public_key_file; the Hetzner token from "
                "HCLOUD_TOKEN."
            )
        return "\n".join(lines)

    def init(self) -> None:
        self.echo(f"  terraform init in {self.root}")
        self._run("init", "-input=false", show=False)

    def apply(self) -> dict:
        """Create or update what the root describes; returns its outputs as {name: value}."""
        self.init()
        self._run("apply", "-auto-approve", "-input=false")
        return self.outputs()

    def outputs(self) -> dict:
        result = subprocess.run(
            [self.binary, f"-chdir={self.root}", "output", "-json", "-no-color"],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if result.returncode != 0:
            raise click.ClickException(f"terraform output failed in {self.root}: {result.stderr.strip()}")
        return {name: item.get("value") for name, item in (json.loads(result.stdout or "{}") or {}).items()}

    def destroy(self) -> None:
        self.init()
        self._run("destroy", "-auto-approve", "-input=false")


def terraform_variables(settings: Settings) -> dict:
    """provision.terraform_vars, plus ssh_public_key read from provision.ssh_public_key_file."""
    variables = dict(settings.provision.get("terraform_vars") or {})
    public_key_file = settings.provision.get("ssh_public_key_file")
    if public_key_file and "ssh_public_key" not in variables:
        path = Path(public_key_file).expanduser()
        try:
            variables["ssh_public_key"] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.ClickException(
                f"provision.ssh_public_key_file: cannot read {path} ({exc.strerror}): create a key with "
                "`ssh-keygen -t ed25519` or point the setting at your public key"
            ) from None
    return variables


def terraform_root(option: Path | None, settings: Settings) -> Path:
    """--terraform-dir, else provision.terraform_dir, else the collection's module."""
    if option:
        return option
    configured = settings.provision.get("terraform_dir")
    return Path(configured).expanduser() if configured else DEFAULT_ROOT
