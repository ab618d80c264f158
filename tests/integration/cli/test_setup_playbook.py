"""`preview setup --playbook`: the CLI runs a real playbook on this machine through ansible-runner, a line per
task, and registers the hook only once the playbook succeeded."""

from __future__ import annotations

import textwrap

import yaml

from tests.cli.helpers import REPO, read_config


def _setup(run, config_path, *extra):
    return run("setup", "--config", str(config_path), *extra)


def _tiny_playbook(tmp_path, fail: bool = False):
    copied = tmp_path / "shim-config.yml"
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        textwrap.dedent(f"""\
        - name: Set up the preview server (test stand-in for site.yml)
          hosts: "{{{{ preview_hosts }}}}"
          gather_facts: false
          tasks:
            - name: Say where the webhooks go
              ansible.builtin.debug:
                msg: "{{{{ preview_webhook_url }}}}"
            - name: Install the shim configuration
              ansible.builtin.copy:
                src: "{{{{ preview_config_file }}}}"
                dest: {copied}
                mode: "0600"
            - name: Break on purpose
              ansible.builtin.command: /bin/false
              changed_when: false
              when: {str(fail).lower()}
        """)
    )
    return playbook, copied


def test_setup_runs_the_playbook_with_one_line_per_task(run, configured, standin, tmp_path):
    playbook, copied = _tiny_playbook(tmp_path)

    result = _setup(run, configured, "--host", "localhost", "--playbook", str(playbook))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  ok          Say where the webhooks go" in lines
    assert "  changed     Install the shim configuration" in lines
    assert "  skipped     Break on purpose" in lines
    shim_file = yaml.safe_load(copied.read_text())
    assert "provision" not in shim_file  # Terraform and SSH settings stay on the operator's machine
    assert shim_file["webhook_secret"] == read_config(configured)["webhook_secret"]
    (hook,) = standin.hooks(REPO)
    assert hook["config"]["url"] == "http://localhost/webhook/github"
    assert "GitHub cannot reach localhost" in result.output
    assert standin.violations == []


def test_a_failing_playbook_names_the_task_and_registers_no_hook(run, configured, standin, tmp_path):
    playbook = _tiny_playbook(tmp_path, fail=True)[0]

    result = _setup(run, configured, "--host", "localhost", "--playbook", str(playbook))

    assert result.exit_code == 1
    assert "  failed      Break on purpose" in result.output
    assert "Break on purpose on localhost" in result.output
    assert standin.hooks(REPO) == []
    assert standin.violations == []
