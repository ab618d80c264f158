"""`preview init`: the token is checked over the API, and the file is private, complete and shim-readable."""

from __future__ import annotations

import re
import stat

import pytest

from shim import config as shim_config
from tests.cli.helpers import NO_HOOKS_TOKEN, OTHER, REPO, SERVER, read_config


def test_init_writes_a_private_config_with_a_generated_secret(init_config, config_path, standin):
    result = init_config("--host", SERVER, repos=(REPO, OTHER))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_path.parent.stat().st_mode) == 0o700
    data = read_config(config_path)
    assert re.fullmatch(r"[0-9a-f]{64}", data["webhook_secret"])
    assert "webhook secret generated" in result.output
    assert data["github"] == {"token": "admin-token", "api_url": standin.base_url}
    assert data["repositories"] == {
        REPO: {"clone_url": f"https://github.com/{REPO}.git"},
        OTHER: {"clone_url": f"https://github.com/{OTHER}.git"},
    }
    assert data["preview"] == {"public_url": f"http://{SERVER}"}
    assert data["provision"]["host"] == SERVER
    # The shim reads the same file and ignores provision:.
    loaded = shim_config.load(config_path, environ={})
    assert loaded.webhook_secret == data["webhook_secret"]
    assert sorted(loaded.repositories) == [OTHER, REPO]
    # Read-only checks: the repository and its hooks, nothing written.
    assert standin.writes() == []
    seen = {(request.method, request.path) for request in standin.requests}
    assert seen >= {("GET", f"/repos/{REPO}"), ("GET", f"/repos/{REPO}/hooks")}
    assert standin.violations == []


def test_init_asks_for_what_flags_do_not_give(run, standin, config_path, tmp_path):
    answers = (
        "\n".join(
            [
                "admin-token",  # GitHub token (hidden)
                f"{REPO}, {OTHER}",  # repositories
                "previews.example.com",  # domain
                "",  # no existing server: Terraform
                "fsn1",  # location
                "",  # server type: default
                str(tmp_path / "key"),  # SSH key
            ]
        )
        + "\n"
    )
    result = run("init", "--config", str(config_path), "--api-url", standin.base_url, input=answers)

    assert result.exit_code == 0, result.output
    data = read_config(config_path)
    assert sorted(data["repositories"]) == [OTHER, REPO]
    assert data["preview"] == {"domain": "previews.example.com"}
    assert data["provision"]["terraform_vars"] == {"name": "preview", "location": "fsn1", "server_type": "cx23"}
    assert data["provision"]["ssh_public_key_file"] == str(tmp_path / "key.pub")
    assert "does not exist" in result.output  # the missing public key is pointed out
    assert "HCLOUD_TOKEN" in result.output
    assert standin.violations == []


def test_a_token_without_admin_repo_hook_is_refused_by_name(init_config, config_path, standin):
    result = init_config("--host", SERVER, token=NO_HOOKS_TOKEN)

    assert result.exit_code == 1
    assert "admin:repo_hook" in result.output
    assert "public_repo, read:org" in result.output  # what the token has
    assert not config_path.exists()
    assert standin.violations == []


def test_hooks_the_token_may_not_manage_are_named(init_config, config_path, standin):
    # GitHub answers 404 on /hooks when a token sees the repository but lacks the hook scope.
    standin.fail_next(
        status=404,
        method="GET",
        path_prefix=f"/repos/{REPO}/hooks",
        body={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
        headers={"x-oauth-scopes": "repo:status", "x-accepted-oauth-scopes": "admin:repo_hook"},
    )
    result = init_config("--host", SERVER)

    assert result.exit_code == 1
    assert "may not manage the repository's webhooks" in result.output
    assert "needs the admin:repo_hook scope" in result.output
    assert "repo:status" in result.output
    assert not config_path.exists()
    assert standin.violations == []


def test_an_unknown_repository_is_named(init_config, standin):
    result = init_config("--host", SERVER, repos=("octo/missing",))

    assert result.exit_code == 1
    assert "octo/missing: the token cannot see the repository" in result.output
    assert standin.violations == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--host", SERVER, "--webhook-secret", "short"), "at least 16 characters"),
        (("--host", "not a host"), "neither an IP address nor a DNS name"),
        (("--host", SERVER, "--repo", "no-slash"), "is not a repository"),
    ],
)
def test_bad_values_are_refused_before_any_request(init_config, standin, extra, message):
    result = init_config(*extra)

    assert result.exit_code == 1
    assert message in result.output
    assert standin.requests == []


def test_no_input_names_the_missing_flag(run, config_path):
    result = run("init", "--config", str(config_path), "--no-input", "--repo", REPO)

    assert result.exit_code == 1
    assert "GitHub token is required: pass --github-token or GITHUB_TOKEN" in result.output


def test_an_existing_file_is_kept_unless_forced_and_then_keeps_its_secret(init_config, configured, standin):
    secret = read_config(configured)["webhook_secret"]

    refused = init_config("--host", SERVER)
    assert refused.exit_code == 1
    assert "pass --force" in refused.output

    forced = init_config("--host", "198.51.100.9", "--force")
    assert forced.exit_code == 0, forced.output
    assert read_config(configured)["webhook_secret"] == secret
    assert read_config(configured)["provision"]["host"] == "198.51.100.9"
    assert "kept from the file being replaced" in forced.output
    assert standin.violations == []
