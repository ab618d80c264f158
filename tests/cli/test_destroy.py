"""`preview destroy`: webhooks, previews recorded in a reachable state database, the Terraform server."""

from __future__ import annotations

import json
import subprocess

from shim import runner as shim_runner
from tests.cli.helpers import OTHER, REPO, SERVER_URL, hook_writes, read_config, record_previews, write_config


def test_destroy_webhooks_removes_our_hook_only(run, configured, standin):
    assert run("setup", "--config", str(configured), "--skip-provision").exit_code == 0
    (ours,) = standin.hooks(REPO)
    other = standin.add_hook(REPO, "https://ci.example.com/hook", events=["push"])
    created = len(standin.writes())

    result = run("destroy", "--config", str(configured), "--webhooks")

    assert result.exit_code == 0, result.output
    assert f"{REPO}: removed hook {ours['id']} -> {SERVER_URL}" in result.output
    assert hook_writes(standin)[created:] == [("DELETE", f"/repos/{REPO}/hooks/{ours['id']}")]
    assert standin.hooks(REPO) == [other]
    assert "no preview was stopped" in result.output  # no state database on this machine, and it says so

    again = run("destroy", "--config", str(configured), "--webhooks")
    assert again.exit_code == 0
    assert f"{REPO}: absent" in again.output
    assert standin.violations == []


def test_destroy_cleans_up_each_recorded_preview(run, configured, standin, tmp_path, monkeypatch):
    db = tmp_path / "state.db"
    record_previews(db, (REPO, 5, "live", ""), (REPO, 7, "failed", "x"), ("elsewhere/x", 1, "live", ""))
    calls = []

    def fake_run(config, kind, repo, pr, sha, run_id, cancelled):
        calls.append((kind, repo.full_name, pr, config.state_db))
        return shim_runner.RunResult("successful", 0, "", 0.1)

    monkeypatch.setattr(shim_runner, "run_playbook", fake_run)
    asked = len(standin.requests)

    result = run("destroy", "--config", str(configured), "--db", str(db))

    assert result.exit_code == 0, result.output
    assert calls == [("cleanup", REPO, 5, str(db)), ("cleanup", REPO, 7, str(db))]
    assert "elsewhere/x#1: not in the configuration, left alone" in result.output
    assert len(standin.requests) == asked  # no --webhooks: GitHub is not asked
    assert standin.violations == []


def test_destroy_server_runs_terraform_destroy_on_the_root_setup_applied(
    run, init_config, config_path, standin, offline_root
):
    assert init_config("--no-input", repos=(REPO, OTHER)).exit_code == 0
    data = read_config(config_path)
    data["provision"].pop("ssh_public_key_file")  # the offline root needs no key
    write_config(config_path, data)
    assert (
        run("setup", "--config", str(config_path), "--terraform-dir", str(offline_root), "--skip-provision").exit_code
        == 0
    )

    result = run("destroy", "--config", str(config_path), "--webhooks", "--server", "--yes")

    assert result.exit_code == 0, result.output
    assert "terraform: Destroy complete! Resources: 1 destroyed." in result.output
    assert standin.hooks(REPO) == [] and standin.hooks(OTHER) == []
    listed = subprocess.run(
        ["terraform", f"-chdir={offline_root}", "state", "list"], capture_output=True, text=True, check=False
    )
    assert listed.stdout.strip() == ""
    state = json.loads((config_path.parent / "config.state.json").read_text())
    assert state["server_address"] == "" and state["terraform_dir"] == "" and state["hooks"] == {}
    assert standin.violations == []


def test_destroy_server_without_a_terraform_record_refuses(run, configured, standin):
    result = run("destroy", "--config", str(configured), "--server", "--yes")

    assert result.exit_code == 1
    assert "no Terraform root recorded" in result.output and "--terraform-dir" in result.output
    assert standin.violations == []
