"""shim/runner.py with real ansible-runner and ansible-playbook runs: what a failure tells the operator."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
from pathlib import Path

from shim.config import Config
from shim.runner import github_token_file, run_reconcile


def _config(tmp_path: Path, playbook_text: str) -> Config:
    playbooks = tmp_path / "collections" / "ansible_collections" / "preview" / "envs" / "playbooks"
    playbooks.mkdir(parents=True)
    (playbooks / "reconcile.yml").write_text(playbook_text)
    return Config(
        webhook_secret="x" * 16,
        repositories={},
        state_db=str(tmp_path / "state.db"),
        runs_dir=str(tmp_path / "runs"),
        collections_path=str(tmp_path / "collections"),
        run_nice=0,
    )  # these run on the test's own thread: leave its priority alone


def test_a_playbook_that_fails_before_any_task_reports_ansible_playbooks_own_error(tmp_path):
    # No task runs, so no failure event: the message must come from ansible-playbook's output, or all
    # the run says is rc=4 or rc=250.
    config = _config(tmp_path, "- hosts: localhost\n  tasks:\n    - name: A task with no action\n")

    result, _stats = run_reconcile(config, [])

    assert result.status == "failed"
    assert result.message.startswith("ansible-playbook: ")
    assert "reconcile.yml" in result.message and "no module/action detected in task" in result.message.lower()
    assert list((tmp_path / "runs").iterdir()) == []  # the run's private_data_dir is removed all the same


def test_a_failed_task_is_reported_by_its_name_and_message(tmp_path):
    config = _config(
        tmp_path,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Refuse\n      ansible.builtin.fail:\n        msg: no way\n",
    )

    result, _stats = run_reconcile(config, [])

    assert result.status == "failed"
    assert result.message == "Refuse: no way"


def test_playbook_runs_get_the_configured_nice_value_and_the_caller_keeps_its_own(tmp_path):
    # The modules of a run report their own nice value (field 19 of /proc/self/stat) through set_stats.
    config = _config(
        tmp_path,
        """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read this module process's stat line
      ansible.builtin.command: cat /proc/self/stat
      register: stat
      changed_when: false
    - name: Report its nice value
      ansible.builtin.set_stats:
        data:
          nice: "{{ stat.stdout.rsplit(')', 1)[1].split()[16] | int }}"
""",
    )
    config = dataclasses.replace(config, run_nice=7)
    outcome = {}
    before = os.getpriority(os.PRIO_PROCESS, 0)

    # On a thread of its own, as the converger runs it: the nice value belongs to the calling thread.
    def run() -> None:
        outcome["result"], outcome["stats"] = run_reconcile(config, [])

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)

    assert outcome["result"].status == "successful", outcome["result"].message
    assert int(outcome["stats"]["nice"]) == 7
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # this (main) thread is untouched


def test_a_run_sees_none_of_the_shims_secrets_and_keeps_its_temp_files_in_its_own_dir(tmp_path, monkeypatch):
    # The shim's environment, as systemd's EnvironmentFile gives it: both secrets, and something unrelated.
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_shim-token-0123456789")
    monkeypatch.setenv("PREVIEW_WEBHOOK_SECRET", "shim-webhook-secret-0123456789")
    monkeypatch.setenv("UNRELATED_SETTING", "anything")
    config = _config(
        tmp_path,
        """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The environment a module (and so git and docker compose) gets
      ansible.builtin.command: env
      register: module_env
      changed_when: false
    - name: Report it, with what ansible-runner recorded of the run's command
      ansible.builtin.set_stats:
        data:
          module_env: "{{ module_env.stdout }}"
          command_file: "{{ lookup('ansible.builtin.file', artifacts ~ '/command') }}"
          tmpdir: "{{ lookup('ansible.builtin.env', 'TMPDIR') }}"
      vars:
        artifacts: "{{ lookup('ansible.builtin.env', 'AWX_ISOLATED_DATA_DIR') }}"
""",
    )
    config = dataclasses.replace(config, github_token="ghp_config-token-0123456789")

    result, stats = run_reconcile(config, [])

    assert result.status == "successful", result.message
    for where in ("module_env", "command_file"):
        for secret in ("ghp_shim-token-0123456789", "shim-webhook-secret-0123456789", "ghp_config-token-0123456789"):
            assert secret not in stats[where], f"{secret} in the run's {where}"
        assert "UNRELATED_SETTING" not in stats[where]
        assert "PATH=" in stats[where] or '"PATH"' in stats[where]
    assert stats["tmpdir"].startswith(str(tmp_path / "runs"))
    assert list((tmp_path / "runs").iterdir()) == []  # temp files went with the run's directory


def test_the_token_file_is_the_shims_own_and_private(tmp_path):
    config = dataclasses.replace(_config(tmp_path, "- hosts: localhost\n  tasks: []\n"), github_token="ghp_abc")

    path = github_token_file(config)

    assert Path(path).read_text() == "ghp_abc"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert not path.startswith(config.runs_dir)
    assert github_token_file(dataclasses.replace(config, github_token="")) == ""


def test_a_run_past_its_deadline_is_ended_with_everything_it_started(tmp_path):
    marker = f"{os.getpid()}.{time.monotonic_ns() % 1000}"
    config = _config(
        tmp_path,
        f"""\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Start a child that outlives its parent, then hang
      ansible.builtin.shell: "(exec -a preview-deadline-{marker} sleep 300) & sleep 300"
""",
    )
    config = dataclasses.replace(config, run_timeout=3)

    result, _stats = run_reconcile(config, [])

    assert result.status == "timeout"
    assert "deadline of 3 s" in result.message
    time.sleep(0.5)
    left = subprocess.run(
        ["pgrep", "-f", f"preview-deadline-{marker}"], capture_output=True, text=True, check=False
    ).stdout
    assert left == "", f"processes of the run left: {left}"
    assert list((tmp_path / "runs").iterdir()) == []
