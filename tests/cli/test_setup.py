"""`preview setup`: one hook per repository, json, our secret, pull_request and issue_comment; idempotent;
repairs drift."""

from __future__ import annotations

import json
import sys

from cli.inventory import inventory
from tests.cli.helpers import NO_HOOKS_TOKEN, OTHER, REPO, SERVER_URL, hook_writes, read_config, write_config


def _setup(run, config_path, *extra):
    return run("setup", "--config", str(config_path), *extra)


def test_first_setup_creates_exactly_one_hook_and_a_rerun_changes_nothing(run, configured, standin):
    secret = read_config(configured)["webhook_secret"]

    first = _setup(run, configured, "--skip-provision")

    assert first.exit_code == 0, first.output
    hooks = standin.hooks(REPO)
    assert len(hooks) == 1
    assert hooks[0]["config"] == {"url": SERVER_URL, "content_type": "json", "insecure_ssl": "0", "secret": secret}
    assert hooks[0]["events"] == ["issue_comment", "pull_request"]
    assert hooks[0]["active"] is True
    assert f"{REPO}: created hook {hooks[0]['id']} -> {SERVER_URL}" in first.output
    assert hook_writes(standin) == [("POST", f"/repos/{REPO}/hooks")]

    before = len(standin.writes())
    second = _setup(run, configured, "--skip-provision")

    assert second.exit_code == 0, second.output
    assert f"{REPO}: unchanged hook {hooks[0]['id']}" in second.output
    assert len(standin.writes()) == before
    assert standin.hooks(REPO) == hooks
    assert standin.violations == []


def test_a_changed_secret_is_patched_with_the_secret(run, configured, standin):
    assert _setup(run, configured, "--skip-provision").exit_code == 0
    data = read_config(configured)
    data["webhook_secret"] = "a-brand-new-secret-0123456789"
    write_config(configured, data)

    result = _setup(run, configured, "--skip-provision")

    assert result.exit_code == 0, result.output
    assert "updated hook" in result.output and "the secret changed" in result.output
    patches = [r for r in standin.requests if r.method == "PATCH"]
    assert len(patches) == 1
    assert patches[0].json["config"]["secret"] == "a-brand-new-secret-0123456789"
    assert patches[0].json["config"]["content_type"] == "json"
    hooks = standin.hooks(REPO)
    assert len(hooks) == 1
    assert hooks[0]["config"]["secret"] == "a-brand-new-secret-0123456789"
    assert standin.violations == []


def test_a_hook_someone_else_made_for_our_url_is_adopted_not_duplicated(run, configured, standin):
    existing = standin.add_hook(REPO, SERVER_URL, events=["push"], content_type="form")

    result = _setup(run, configured, "--skip-provision")

    assert result.exit_code == 0, result.output
    assert hook_writes(standin) == [("PATCH", f"/repos/{REPO}/hooks/{existing['id']}")]
    (hook,) = standin.hooks(REPO)
    assert hook["id"] == existing["id"]
    assert hook["config"]["content_type"] == "json"
    assert hook["config"]["secret"] == read_config(configured)["webhook_secret"]
    assert hook["events"] == ["issue_comment", "pull_request"]
    assert "content_type was 'form'" in result.output
    assert standin.violations == []


def test_other_hooks_of_the_repository_are_left_alone(run, configured, standin):
    other = standin.add_hook(REPO, "https://ci.example.com/hook", events=["push"], secret="ci-secret-123456")

    assert _setup(run, configured, "--skip-provision").exit_code == 0

    hooks = {hook["id"]: hook for hook in standin.hooks(REPO)}
    assert len(hooks) == 2
    assert hooks[other["id"]] == other
    assert standin.violations == []


def test_setup_with_a_token_without_admin_repo_hook_names_the_scope(run, configured, standin):
    data = read_config(configured)
    data["github"]["token"] = NO_HOOKS_TOKEN
    write_config(configured, data)

    result = _setup(run, configured, "--skip-provision")

    assert result.exit_code == 1
    assert "admin:repo_hook" in result.output
    assert standin.writes() == []
    assert standin.violations == []


def test_the_offline_terraform_root_gives_the_address_the_hooks_use(
    run, init_config, config_path, standin, offline_root, tmp_path
):
    result = init_config("--location", "nbg1", "--server-type", "cx23", repos=(REPO, OTHER))
    assert result.exit_code == 0, result.output
    data = read_config(config_path)
    data["provision"]["terraform_vars"]["server_ipv4"] = "198.51.100.7"
    (tmp_path / "etc" / "id_ed25519.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests test\n")
    write_config(config_path, data)

    result = _setup(run, config_path, "--terraform-dir", str(offline_root), "--skip-provision")

    assert result.exit_code == 0, result.output
    assert "terraform: terraform_data.server: Creation complete" in result.output
    assert "server address: 198.51.100.7" in result.output
    url = "http://198.51.100.7/webhook/github"
    for repo in (REPO, OTHER):
        (hook,) = standin.hooks(repo)
        assert hook["config"]["url"] == url
    assert (offline_root / "terraform.tfstate").is_file()
    state = json.loads((config_path.parent / "config.state.json").read_text())
    assert state["server_address"] == "198.51.100.7"
    assert state["terraform_dir"] == str(offline_root.resolve())
    assert standin.violations == []


def test_a_missing_playbook_says_how_to_go_on(run, configured, standin, tmp_path):
    result = _setup(run, configured, "--host", "localhost", "--playbook", str(tmp_path / "nope.yml"))

    assert result.exit_code == 1
    assert "playbook not found" in result.output and "--skip-provision" in result.output
    assert standin.violations == []


def test_the_inventory_names_our_interpreter_locally_and_ssh_settings_remotely():
    local = inventory("localhost")["all"]["children"]["preview"]["hosts"]
    assert local == {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
    remote = inventory("2001:db8::5", "admin", "/keys/id")["all"]["children"]["preview"]["hosts"]["server"]
    assert remote["ansible_host"] == "2001:db8::5"
    assert remote["ansible_user"] == "admin"
    assert remote["ansible_ssh_private_key_file"] == "/keys/id"
    assert "StrictHostKeyChecking=accept-new" in remote["ansible_ssh_common_args"]


def test_terraform_failures_are_reported_with_terraforms_own_words(run, init_config, config_path, standin, tmp_path):
    assert init_config("--no-input").exit_code == 0
    data = read_config(config_path)
    data["provision"].pop("ssh_public_key_file")  # the key is checked first; these roots take none
    write_config(config_path, data)
    empty = tmp_path / "empty-root"
    empty.mkdir()
    result = _setup(run, config_path, "--terraform-dir", str(empty), "--skip-provision")
    assert result.exit_code == 1
    assert "holds no Terraform configuration" in result.output

    broken = tmp_path / "broken-root"
    broken.mkdir()
    (broken / "main.tf").write_text('variable "needed" {\n  type = string\n}\n')
    result = _setup(run, config_path, "--terraform-dir", str(broken), "--skip-provision")

    assert result.exit_code == 1
    assert "terraform apply failed" in result.output
    assert "No value for required variable" in result.output
    assert "provision.terraform_vars" in result.output
    assert standin.hooks(REPO) == []
    assert standin.violations == []
