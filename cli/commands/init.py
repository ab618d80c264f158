"""`preview init`: ask for (or take from flags and the environment) the settings, check the token (or the
GitHub App's installation) against GitHub, and write the configuration file (mode 0600) that `preview setup`
and the shim read."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tempfile
from pathlib import Path

import click
import yaml

from shim import config as shim_config
from shim import github_auth

from .._collection import collections_path, module_util
from ..config_file import config_option, write_private
from ..inventory import is_local, url_host
from ..webhooks import check_access, check_app_access, client

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
MIN_SECRET = 16  # what the shim accepts

HEADER = """\
# preview configuration, written by `preview init`. It holds the GitHub token and the webhook secret: keep
# it private (mode 0600). The shim reads everything but `provision:`; `preview setup` reads it all.
"""


def _ask(value, text: str, flag: str, no_input: bool, default: str | None = None, hide: bool = False) -> str:
    """The value given, else the answer to a prompt; with --no-input, the default or an error naming the flag."""
    if value:
        return value
    if no_input:
        if default is not None:
            return default
        raise click.ClickException(f"{text} is required: pass {flag} (or run without --no-input to be asked)")
    return click.prompt(text, default=default, hide_input=hide, show_default=bool(default))


def _address(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    if not HOSTNAME_RE.match(value):
        raise click.ClickException(f"{what} {value!r} is neither an IP address nor a DNS name")
    return value.lower()


def _repositories(values: tuple[str, ...]) -> list[str]:
    repos: dict[str, str] = {}
    for item in ",".join(values).replace(" ", ",").split(","):
        item = item.strip().removeprefix("https://github.com/").removesuffix(".git").strip("/")
        if not item:
            continue
        if not module_util("_naming").REPO_RE.match(item):
            raise click.ClickException(f"{item!r} is not a repository: give owner/name, such as octo/app")
        repos.setdefault(item.lower(), item)
    if not repos:
        raise click.ClickException("give at least one repository (owner/name)")
    return list(repos.values())


def _secret(given: str | None, path: Path) -> tuple[str, str]:
    if given:
        if len(given) < MIN_SECRET:
            raise click.ClickException(f"the webhook secret must have at least {MIN_SECRET} characters")
        return given, "given"
    if path.is_file():
        try:
            old = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("webhook_secret")
        except (yaml.YAMLError, AttributeError):
            old = None
        if isinstance(old, str) and len(old) >= MIN_SECRET:
            return old, "kept from the file being replaced"
    return secrets.token_hex(32), "generated"


def _auth(
    token: str | None, app_id: str | None, app_key: Path | None, no_input: bool
) -> tuple[str, str | None, str | None]:
    """How the shim authenticates: ("token", token, None) or ("app", app id, key file as given). Asked, an
    empty token means a GitHub App."""
    if not (app_id or app_key):
        if token or no_input:
            return "token", _ask(token, "GitHub token", "--github-token or GITHUB_TOKEN", no_input, hide=True), None
        token = click.prompt(
            "GitHub token (empty: authenticate as a GitHub App)", default="", hide_input=True, show_default=False
        )
        if token:
            return "token", token, None
    app_id = _ask(app_id, "GitHub App id", "--github-app-id", no_input)
    key = _ask(str(app_key) if app_key else None, "The App's private key file (.pem)", "--github-app-key", no_input)
    try:
        github_auth.load_private_key(os.path.expanduser(key))
    except github_auth.KeyFileError as exc:
        raise click.ClickException(f"the GitHub App's private key: {exc}") from None
    return "app", app_id, key


def _validated(text: str) -> None:
    """Refuse to write a file the shim would not start with (a duplicate slug, say)."""
    with tempfile.TemporaryDirectory(prefix="preview-init-") as temp:
        candidate = Path(temp) / "config.yml"
        write_private(candidate, text)
        try:
            shim_config.load(candidate, environ={})
        except shim_config.ConfigError as exc:
            raise click.ClickException(f"the configuration would not load: {exc}") from None


@click.command()
@config_option
@click.option(
    "--github-token",
    envvar="GITHUB_TOKEN",
    show_envvar=True,
    help="A token that can manage the repositories' webhooks (classic: scopes repo and admin:repo_hook).",
)
@click.option(
    "--github-app-id",
    envvar="GITHUB_APP_ID",
    show_envvar=True,
    help="Authenticate as this GitHub App instead of a token (docs/github-app.md); needs --github-app-key.",
)
@click.option(
    "--github-app-key",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="GITHUB_APP_PRIVATE_KEY_FILE",
    show_envvar=True,
    help="The GitHub App's private key (.pem, mode 0600).",
)
@click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    show_envvar=True,
    default="https://api.github.com",
    show_default=True,
    help="The GitHub REST API (GitHub Enterprise: https://HOST/api/v3).",
)
@click.option(
    "--repo",
    "repos",
    multiple=True,
    envvar="PREVIEW_REPOSITORIES",
    show_envvar=True,
    help="A repository to preview, owner/name; repeat it or separate with commas.",
)
@click.option(
    "--domain",
    envvar="PREVIEW_DOMAIN",
    show_envvar=True,
    help="Domain for subdomain previews (<slug>-pr-<N>.<domain>); the webhook goes to https://<domain>.",
)
@click.option(
    "--host",
    envvar="PREVIEW_HOST",
    show_envvar=True,
    help="Address of an existing server; without it `preview setup` creates one with Terraform.",
)
@click.option(
    "--ssh-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private SSH key Ansible logs in with; its .pub goes to Terraform. Default: ~/.ssh/id_ed25519.",
)
@click.option("--ssh-user", default="root", show_default=True, help="The user Ansible logs in as.")
@click.option("--server-name", default="preview", show_default=True, help="Terraform: the server's name.")
@click.option("--location", help="Terraform: Hetzner location (nbg1, fsn1, hel1, ash, hil, sin).")
@click.option("--server-type", help="Terraform: Hetzner server type (cx23, cpx21, cax11, ...).")
@click.option(
    "--webhook-secret",
    envvar="PREVIEW_WEBHOOK_SECRET",
    show_envvar=True,
    help="The webhook secret (at least 16 characters). Default: the replaced file's, else a new one.",
)
@click.option("--no-input", is_flag=True, help="Never prompt; fail on a missing required value.")
@click.option("--force", is_flag=True, help="Replace an existing configuration file.")
def init(
    config_path: Path,
    github_token: str | None,
    github_app_id: str | None,
    github_app_key: Path | None,
    api_url: str,
    repos: tuple[str, ...],
    domain: str | None,
    host: str | None,
    ssh_key: Path | None,
    ssh_user: str,
    server_name: str,
    location: str | None,
    server_type: str | None,
    webhook_secret: str | None,
    no_input: bool,
    force: bool,
) -> None:
    """Write the configuration: token or App, repositories, domain or server, provider settings, webhook secret."""
    if config_path.exists() and not force:
        raise click.ClickException(f"{config_path} exists: pass --force to replace it (or --config PATH)")

    kind, credential, app_key = _auth(github_token, github_app_id, github_app_key, no_input)
    repositories = _repositories(
        repos or (_ask(None, "Repositories (owner/name, comma-separated)", "--repo", no_input),)
    )
    domain = _address(
        _ask(
            domain,
            "Preview domain (empty: previews at http://<server>/<slug>-pr-<N>/)",
            "--domain",
            no_input,
            default="",
        ),
        "the domain",
    )
    host = _address(
        _ask(
            host,
            "Existing server address (empty: create one on Hetzner Cloud with Terraform)",
            "--host",
            no_input,
            default="",
        ),
        "the server address",
    )
    provision: dict = {"ssh_user": ssh_user}
    if host:
        provision["host"] = host
    else:
        provision["terraform_vars"] = {
            "name": server_name,
            "location": _ask(location, "Hetzner location", "--location", no_input, default="nbg1"),
            "server_type": _ask(server_type, "Hetzner server type", "--server-type", no_input, default="cx23"),
        }
    if not host or not is_local(host):
        # Kept as given (~ and all): the file may move to another machine; readers expand it.
        key = _ask(
            str(ssh_key) if ssh_key else None,
            "Private SSH key for Ansible",
            "--ssh-key",
            no_input,
            default="~/.ssh/id_ed25519",
        )
        provision["ssh_private_key_file"] = key
        if not host:
            provision["ssh_public_key_file"] = f"{key}.pub"
            if not Path(f"{key}.pub").expanduser().is_file():
                click.echo(
                    f"Warning: {key}.pub does not exist; create it (ssh-keygen -t ed25519 -f {key}) "
                    "before `preview setup`."
                )

    secret, origin = _secret(webhook_secret, config_path)

    if kind == "app":
        github_config = {"app_id": int(credential) if credential.isdigit() else credential, "private_key_file": app_key}
        app = shim_config.Config(
            webhook_secret=secret,
            repositories={},
            github_app_id=github_config["app_id"],
            github_private_key_file=os.path.expanduser(app_key),
            github_api_url=api_url,
            collections_path=collections_path(),
        )
        click.echo(f"Checking the GitHub App's installations against {api_url}")
    else:
        github_config = {"token": credential}
        github = client(api_url, credential)
        click.echo(f"Checking the token against {api_url}")
    repositories_config = {}
    for repo in repositories:
        info = check_app_access(app, repo) if kind == "app" else check_access(github, repo)
        clone_url = info.get("clone_url") or (
            f"{info['html_url']}.git" if info.get("html_url") else f"https://github.com/{repo}.git"
        )
        repositories_config[info.get("full_name") or repo] = {"clone_url": clone_url}
        click.echo(f"  {repo}: visible, " + ("the App is installed" if kind == "app" else "webhooks can be managed"))

    config: dict = {
        "webhook_secret": secret,
        "github": {**github_config, "api_url": api_url},
        "repositories": repositories_config,
    }
    if domain:
        config["preview"] = {"domain": domain}
    elif host:
        config["preview"] = {"public_url": f"http://{url_host(host)}"}
    config["provision"] = provision
    text = HEADER + yaml.safe_dump(config, sort_keys=False)
    _validated(text)
    write_private(config_path, text)

    click.echo(f"Wrote {config_path} (mode 0600); webhook secret {origin}.")
    if not host and not os.environ.get("HCLOUD_TOKEN"):
        click.echo("Before `preview setup`: export HCLOUD_TOKEN=<a Hetzner Cloud API token (read & write)>.")
    click.echo(f"Next: preview setup --config {config_path}")
