"""What crosses from the shim into a run: extravars and the environment (pure logic of shim/runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shim.config import Config, RepoConfig
from shim.runner import DEFAULT_LIMITS, extravars, run_environment

SHA = "c" * 40
REPO_ROOT = Path(__file__).resolve().parents[3]


def _config(tmp_path, **preview) -> Config:
    return Config(
        webhook_secret="s" * 20,
        repositories={},
        github_token="ghp_secret-token",
        state_db=str(tmp_path / "state" / "state.db"),
        runs_dir=str(tmp_path / "runs"),
        preview=preview,
    )


REPO = RepoConfig(
    full_name="octo/app",
    clone_url="https://github.com/octo/app.git",
    slug="app",
    compose_allow=("cap_add", "sysctls"),
    limits={"memory": "1g"},
)


@pytest.mark.parametrize(("fork", "allowed"), [(False, ["cap_add", "sysctls"]), (True, [])])
def test_a_forks_run_never_gets_the_repositorys_lifted_checks(tmp_path, fork, allowed):
    values = extravars(_config(tmp_path), REPO, 5, SHA, 9, "deploy", fork=fork)
    assert values["preview_pr_compose_allow"] == allowed


def test_repository_limits_are_laid_over_the_servers_or_the_defaults(tmp_path):
    assert extravars(_config(tmp_path), REPO, 5, SHA, 9)["preview_pr_limits"] == {**DEFAULT_LIMITS, "memory": "1g"}
    server = _config(tmp_path, limits={"cpus": 0.5, "pids": 64})
    assert extravars(server, REPO, 5, SHA, 9)["preview_pr_limits"] == {"cpus": 0.5, "pids": 64, "memory": "1g"}
    plain = RepoConfig(full_name="octo/web", clone_url="https://github.com/octo/web.git", slug="web")
    assert extravars(server, plain, 5, SHA, 9)["preview_pr_limits"] == {"cpus": 0.5, "pids": 64}


def test_the_routed_service_and_port_reach_the_role(tmp_path):
    routed = RepoConfig(
        full_name="octo/app", clone_url="https://github.com/octo/app.git", slug="app", service="web", port=3000
    )
    values = extravars(_config(tmp_path), routed, 5, SHA, 9)
    assert (values["preview_pr_service"], values["preview_pr_port"]) == ("web", 3000)
    # Unset, they are the role's defaults, which leave the choice to compose_project's rule.
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "preview_pr" / "defaults" / "main.yml").read_text())
    values = extravars(_config(tmp_path), REPO, 5, SHA, 9)
    assert (values["preview_pr_service"], values["preview_pr_port"]) == (
        defaults["preview_pr_service"],
        defaults["preview_pr_port"],
    )


def test_the_dockerfile_reaches_the_role(tmp_path):
    configured = RepoConfig(
        full_name="octo/app", clone_url="https://github.com/octo/app.git", slug="app", dockerfile="docker/Dockerfile"
    )
    assert extravars(_config(tmp_path), configured, 5, SHA, 9)["preview_pr_dockerfile"] == "docker/Dockerfile"
    # Unset, it is the role's default: the Dockerfile at the repository's root.
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "preview_pr" / "defaults" / "main.yml").read_text())
    assert extravars(_config(tmp_path), REPO, 5, SHA, 9)["preview_pr_dockerfile"] == defaults["preview_pr_dockerfile"]


def test_extravars_carry_the_token_files_path_never_the_token(tmp_path):
    values = extravars(_config(tmp_path), REPO, 5, SHA, 9)
    assert "ghp_secret-token" not in repr(values)
    assert values["preview_pr_github_token_file"] == str(tmp_path / "state" / "github-token")
    assert (tmp_path / "state" / "github-token").read_text() == "ghp_secret-token"


def test_only_a_private_repositorys_fetch_gets_the_token_file(tmp_path):
    private = RepoConfig(full_name="octo/app", clone_url="https://github.com/octo/app.git", slug="app", private=True)
    values = extravars(_config(tmp_path), private, 5, SHA, 9)
    assert values["preview_pr_clone_token_file"] == values["preview_pr_github_token_file"] != ""
    assert "ghp_secret-token" not in repr(values)
    assert extravars(_config(tmp_path), REPO, 5, SHA, 9)["preview_pr_clone_token_file"] == ""


def test_the_run_environment_keeps_what_the_runner_added_and_the_allow_list_only():
    shim_env = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "GITHUB_TOKEN": "t",
        "PREVIEW_WEBHOOK_SECRET": "s",
        "AWS_SECRET_ACCESS_KEY": "k",
        "ANSIBLE_CONFIG": "/etc/ansible.cfg",
        "DOCKER_HOST": "unix:///x",
    }
    prepared = {
        **shim_env,
        "ANSIBLE_STDOUT_CALLBACK": "awx_display",
        "AWX_ISOLATED_DATA_DIR": "/runs/r/artifacts",
        "PATH": "/venv/bin:/usr/bin",
    }
    envvars = {"PATH": "/venv/bin:/usr/bin", "TMPDIR": "/runs/r/tmp"}

    env = run_environment({**prepared, **envvars}, envvars, inherited=shim_env)

    assert env == {
        "PATH": "/venv/bin:/usr/bin",
        "HOME": "/root",
        "ANSIBLE_CONFIG": "/etc/ansible.cfg",
        "DOCKER_HOST": "unix:///x",
        "ANSIBLE_STDOUT_CALLBACK": "awx_display",
        "AWX_ISOLATED_DATA_DIR": "/runs/r/artifacts",
        "TMPDIR": "/runs/r/tmp",
    }


def test_the_default_limits_are_the_roles():
    # A repository's limits are laid over these when the server sets none: they must be what the role runs
    # without the shim.
    defaults = yaml.safe_load((REPO_ROOT / "roles" / "preview_pr" / "defaults" / "main.yml").read_text())
    assert defaults["preview_pr_limits"] == DEFAULT_LIMITS


def test_github_deployments_need_a_token_and_the_repositorys_consent(tmp_path):
    assert extravars(_config(tmp_path), REPO, 5, SHA, 9)["preview_pr_github_deployments"] is True
    off = RepoConfig(
        full_name="octo/app", clone_url="https://github.com/octo/app.git", slug="app", github_deployments=False
    )
    assert extravars(_config(tmp_path), off, 5, SHA, 9)["preview_pr_github_deployments"] is False
    tokenless = Config(webhook_secret="s" * 20, repositories={}, state_db=str(tmp_path / "state.db"))
    assert extravars(tokenless, REPO, 5, SHA, 9)["preview_pr_github_deployments"] is False


def test_a_forks_run_gets_the_variables_but_never_the_secrets_unless_allowed(tmp_path):
    spec = dict(full_name="octo/app", clone_url="https://github.com/octo/app.git", slug="app")
    repo = RepoConfig(**spec, env={"A": "1"}, secrets={"KEY": "/etc/preview/key"})
    sibling = RepoConfig(full_name="octo/api", clone_url="https://github.com/octo/api.git", slug="api")
    config = Config(
        webhook_secret="s" * 20,
        repositories={"octo/app": repo, "octo/api": sibling},
        state_db=str(tmp_path / "state.db"),
    )
    own = extravars(config, repo, 5, SHA, 9)
    assert own["preview_pr_env"] == {"A": "1"} and own["preview_pr_secret_files"] == {"KEY": "/etc/preview/key"}
    assert own["preview_pr_sibling_slugs"] == ["api"]
    forked = extravars(config, repo, 5, SHA, 9, fork=True)
    assert forked["preview_pr_env"] == {"A": "1"} and forked["preview_pr_secret_files"] == {}
    trusted = RepoConfig(**spec, secrets={"KEY": "/etc/preview/key"}, secrets_for_forks=True)
    assert extravars(config, trusted, 5, SHA, 9, fork=True)["preview_pr_secret_files"] == {"KEY": "/etc/preview/key"}


def test_a_deployment_status_links_the_runs_log_only_where_the_page_is(tmp_path):
    assert extravars(_config(tmp_path), REPO, 5, SHA, 9)["preview_pr_log_url"] == ""
    config = Config(
        webhook_secret="s" * 20,
        repositories={},
        state_db=str(tmp_path / "state.db"),
        status_credential="people:" + "p" * 20,
        status_url="https://previews.example.com/_previews/",
    )
    assert (
        extravars(config, REPO, 5, SHA, 9)["preview_pr_log_url"]
        == "https://previews.example.com/_previews/previews/octo/app/5/runs/9/log"
    )
