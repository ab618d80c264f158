"""`preview setup`: the server (Terraform, or an existing one), the playbook, the repositories' webhooks.

Every step is safe to repeat: Terraform converges, the playbook is meant to be idempotent, and the webhooks
are matched on their URL, so a re-run creates no second hook and changes nothing that is already right.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import click
import yaml

from .._collection import COLLECTION_ROOT
from ..config_file import Settings, config_option, load, write_private
from ..inventory import GROUP, inventory, is_local, url_host
from ..playbook import run_playbook
from ..provision_state import ProvisionState
from ..terraform import Terraform, terraform_root, terraform_variables
from ..webhooks import app_webhook_note, check_access, check_app_access, client, ensure_hook, url_for

DEFAULT_PLAYBOOK = COLLECTION_ROOT / "playbooks" / "site.yml"


def _server(settings: Settings, state: ProvisionState, host: str | None, root: Path) -> tuple[str, str]:
    """The server's address and SSH user: --host / provision.host as given, else from Terraform's outputs."""
    address = host or settings.provision.get("host")
    if address:
        click.echo(f"  using {address} (Terraform skipped)")
        state.server_address = address
        return address, settings.provision.get("ssh_user") or "root"
    outputs = Terraform(root, terraform_variables(settings)).apply()
    address = outputs.get("server_ipv4") or outputs.get("server_ipv6")
    if not address or not isinstance(address, str):
        raise click.ClickException(f"the Terraform root {root} has no server_ipv4 output: it must output the address")
    state.server_address = address
    state.terraform_dir = str(root.resolve())
    click.echo(f"  server address: {address}")
    return address, settings.provision.get("ssh_user") or outputs.get("ssh_user") or "root"


def _wait_for_ssh(address: str, timeout: float, port: int = 22) -> None:
    started = time.monotonic()
    shown = -1
    while True:
        try:
            socket.create_connection((address.strip("[]"), port), timeout=5).close()
            click.echo(f"  {address}:{port} accepts connections")
            return
        except OSError as exc:
            waited = time.monotonic() - started
            if waited > timeout:
                raise click.ClickException(
                    f"{address}:{port} did not accept connections within {timeout:.0f} s ({exc}): check that the "
                    f"server runs and its firewall allows SSH, then run `preview setup` again"
                ) from None
            if int(waited // 15) != shown:
                shown = int(waited // 15)
                click.echo(f"  waiting for SSH on {address}:{port} ({waited:.0f} s)")
            time.sleep(2)


def shim_config_for_server(settings: Settings, address: str, url: str = "") -> dict:
    """The file the server's shim reads: ours without `provision:` (Terraform and SSH settings stay here),
    with preview.public_url pointing at the server when neither it nor a domain is set, and
    github.webhook_url set to the hook's URL (the shim finds its hook by it to redeliver missed events)."""
    data = {key: value for key, value in settings.data.items() if key != "provision"}
    if url:
        data["github"] = dict(data.get("github") or {}, webhook_url=url)
    preview = dict(data.get("preview") or {})
    if not preview.get("domain") and not preview.get("public_url"):
        preview["public_url"] = f"http://{url_host(address)}"
    data["preview"] = preview
    return data


# Every build of the same sources gives the same bytes, so a re-run of setup copies nothing new to the server.
SOURCE_DATE_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold


def _normalize_tarball(path: Path) -> None:
    """Give every member of the collection tarball one fixed mtime (ansible-galaxy stamps MANIFEST.json
    and FILES.json with the build time) and the gzip header none."""
    with tarfile.open(path, "r:gz") as source:
        members = [(info, source.extractfile(info).read() if info.isfile() else None) for info in source]
    temp = path.with_suffix(".normalized")
    with (
        open(temp, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as target,
    ):
        for info, data in members:
            info.mtime = SOURCE_DATE_EPOCH
            target.addfile(info, io.BytesIO(data) if data is not None else None)
    os.replace(temp, path)


def build_artifacts(directory: Path) -> dict:
    """What the shim role installs on the server: this project as a wheel and the collection as a tarball,
    built here from the checkout (the server then fetches only the wheel's dependencies). Reproducible:
    the role reinstalls the shim when the wheel's checksum changes, and only then."""
    steps = [
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(directory), str(COLLECTION_ROOT)],
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "build",
            "--force",
            "--output-path",
            str(directory),
            str(COLLECTION_ROOT),
        ],
    ]
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
        if done.returncode != 0:
            raise click.ClickException(
                f"building the shim's artifacts failed: {' '.join(argv[:4])}: {(done.stderr or done.stdout)[-800:]}"
            )
    wheel = next(directory.glob("preview_envs-*.whl"))
    tarball = next(directory.glob("preview-envs-*.tar.gz"))
    _normalize_tarball(tarball)
    return {
        "shim_artifacts_src": str(directory) + "/",
        "shim_source": "{{ shim_artifacts_dir }}/" + wheel.name,
        "shim_collection_source": "{{ shim_artifacts_dir }}/" + tarball.name,
    }


def _provision(settings: Settings, playbook: Path, address: str, ssh_user: str, url: str, timeout: float) -> None:
    if not is_local(address):
        _wait_for_ssh(address, timeout)
    with tempfile.TemporaryDirectory(prefix="preview-setup-config-") as temp:
        config_file = Path(temp) / "config.yml"
        write_private(config_file, yaml.safe_dump(shim_config_for_server(settings, address, url), sort_keys=False))
        # The user's variables first: the ones setup itself passes name this run's host and files.
        extravars = {
            **settings.provision.get("vars", {}),
            "preview_hosts": GROUP,
            "preview_config_file": str(config_file),
            "preview_server_address": address,
            "preview_webhook_url": url,
        }
        if playbook.resolve() == DEFAULT_PLAYBOOK.resolve():
            click.echo("  building the shim's wheel and the collection tarball")
            artifacts = Path(temp) / "artifacts"
            artifacts.mkdir()
            extravars.update(build_artifacts(artifacts))
        key_file = settings.provision.get("ssh_private_key_file", "")
        hosts = inventory(address, ssh_user, str(Path(key_file).expanduser()) if key_file else "")
        click.echo(f"  running {playbook}")
        run_playbook(playbook, hosts, extravars)


@click.command()
@config_option
@click.option("--host", metavar="ADDRESS", help="Use this existing server (address or DNS name) and skip Terraform.")
@click.option(
    "--terraform-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The Terraform root to apply. Default: provision.terraform_dir, else the collection's terraform/.",
)
@click.option(
    "--playbook",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The playbook that sets up the server. Default: provision.playbook, else playbooks/site.yml.",
)
@click.option("--skip-provision", is_flag=True, help="Skip the Ansible run (the server is set up already).")
@click.option(
    "--ssh-timeout",
    type=float,
    default=300,
    show_default=True,
    help="Seconds to wait for SSH on the server before the playbook runs.",
)
def setup(
    config_path: Path,
    host: str | None,
    terraform_dir: Path | None,
    playbook: Path | None,
    skip_provision: bool,
    ssh_timeout: float,
) -> None:
    """Create the server (or use --host), set it up, and register the repositories' webhooks."""
    settings = load(config_path)
    state = ProvisionState.for_config(config_path)
    as_app = bool(settings.shim.github_app_id)
    github = None if as_app else client(settings.shim.github_api_url, settings.github_token)

    count = len(settings.repositories)
    repositories = f"{count} repositor{'y' if count == 1 else 'ies'}"
    if as_app:
        click.echo(f"[1/4] GitHub: the App's installation on {repositories}")
        for repo in settings.repositories:
            check_app_access(settings.shim, repo)
            click.echo(f"  {repo}: the App is installed")
    else:
        click.echo(f"[1/4] GitHub: the token's access to {repositories}")
        for repo in settings.repositories:
            check_access(github, repo)
            click.echo(f"  {repo}: can manage webhooks")

    click.echo("[2/4] server")
    address, ssh_user = _server(settings, state, host, terraform_root(terraform_dir, settings))
    state.save()
    url = url_for(settings, address)
    state.webhook_url = url

    click.echo("[3/4] Ansible")
    if skip_provision:
        click.echo("  skipped (--skip-provision)")
    else:
        chosen = playbook or (
            Path(settings.provision["playbook"]).expanduser()
            if settings.provision.get("playbook")
            else DEFAULT_PLAYBOOK
        )
        _provision(settings, chosen, address, ssh_user, url, ssh_timeout)

    click.echo(f"[4/4] webhooks -> {url}")
    if as_app:
        click.echo(app_webhook_note(url))
    else:
        try:
            for repo in settings.repositories:
                change = ensure_hook(github, repo, url, settings.shim.webhook_secret, state)
                click.echo(change.line(url))
        finally:
            state.save()
    hostname = urlsplit(url).hostname or ""
    if is_local(hostname):
        click.echo(
            f"Note: GitHub cannot reach {hostname}; set preview.domain or provision.webhook_url to a "
            "public address for real deliveries."
        )
    click.echo(f"Done: pull_request and issue_comment events of {repositories} go to {url}")
