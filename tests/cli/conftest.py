"""The `preview` command against the GitHub stand-in: a CliRunner with an isolated environment."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.cli.helpers import (
    ADMIN_TOKEN,
    NO_HOOKS_TOKEN,
    OFFLINE_ROOT,
    OTHER,
    REPO,
    SERVER,
    read_config,
    write_config,
)
from tests.support.github_standin import GitHubStandIn


@pytest.fixture
def standin():
    with GitHubStandIn(
        repos={REPO, OTHER},
        tokens={ADMIN_TOKEN: {"repo", "admin:repo_hook"}, NO_HOOKS_TOKEN: {"public_repo", "read:org"}},
    ) as server:
        yield server


@pytest.fixture
def run(tmp_path):
    """Invoke `preview ...` with no token, secret or config path leaking in from the environment."""
    terraformrc = tmp_path / "terraformrc"
    terraformrc.write_text("")
    env = {
        "GITHUB_TOKEN": None,
        "GITHUB_API_URL": None,
        "PREVIEW_CONFIG": None,
        "PREVIEW_WEBHOOK_SECRET": None,
        "PREVIEW_REPOSITORIES": None,
        "PREVIEW_DOMAIN": None,
        "PREVIEW_HOST": None,
        "HCLOUD_TOKEN": None,
        "TF_CLI_CONFIG_FILE": str(terraformrc),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def config_path(tmp_path):
    return tmp_path / "etc" / "config.yml"


@pytest.fixture
def init_config(run, standin, config_path):
    """`preview init` for an existing server; returns a function that runs it with extra flags."""

    def init(*extra: str, token: str = ADMIN_TOKEN, repos: tuple[str, ...] = (REPO,)):
        args = [
            "init",
            "--config",
            str(config_path),
            "--no-input",
            "--github-token",
            token,
            "--api-url",
            standin.base_url,
            "--ssh-key",
            str(config_path.parent / "id_ed25519"),
        ]
        for repo in repos:
            args += ["--repo", repo]
        result = run(*args, *extra)
        if result.exit_code == 0:
            # Never this machine's real state database: destroy would clean up what it records.
            data = read_config(config_path)
            data["state_db"] = str(config_path.parent / "no-state" / "state.db")
            write_config(config_path, data)
        return result

    return init


@pytest.fixture
def configured(init_config, config_path):
    result = init_config("--host", SERVER)
    assert result.exit_code == 0, result.output
    return config_path


@pytest.fixture
def offline_root(tmp_path):
    """A copy of the offline example root: its state files land in tmp_path, never in the repository."""
    root = tmp_path / "offline-root"
    shutil.copytree(OFFLINE_ROOT, root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return root
