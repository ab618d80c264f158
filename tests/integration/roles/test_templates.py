"""The roles' templates, rendered by Ansible with the roles' own defaults and checked with the
same `validate:` commands the template tasks run (read out of the roles' task files)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shim import config as shim_config
from tests.conftest import REPO_ROOT

ROLES = REPO_ROOT / "roles"
BIN = Path(sys.executable).parent
SECRET = "unit-test-webhook-secret-0123456789"
TOKEN = "ghp_unit0test0token"


def _template_task(role: str, src: str) -> dict:
    """The arguments of the role's template task for `src`."""
    for path in sorted((ROLES / role / "tasks").glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            args = task.get("ansible.builtin.template")
            if args and args.get("src") == src:
                return args
    raise AssertionError(f"role {role} has no template task for {src}")


def run_play(
    tmp_path: Path, role: str, tasks: list[dict], overrides: dict | None = None, name: str = "play"
) -> subprocess.CompletedProcess:
    """Run `tasks` on localhost with roles/<role>'s defaults and vars, `overrides` as extra vars
    (above both in precedence)."""
    play = {
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars_files": [str(ROLES / role / "defaults" / "main.yml"), str(ROLES / role / "vars" / "main.yml")],
        "tasks": tasks,
    }
    playbook, extra = tmp_path / f"{name}.yml", tmp_path / f"{name}.json"
    playbook.write_text(yaml.safe_dump([play]))
    extra.write_text(json.dumps({"ansible_python_interpreter": sys.executable, **(overrides or {})}))
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", f"@{extra}", str(playbook)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render(tmp_path: Path, role: str, src: str, overrides: dict | None = None) -> subprocess.CompletedProcess:
    """Render roles/<role>/templates/<src> to tmp_path/<name>, validated as the role validates it."""
    args = _template_task(role, src)
    task = {"src": str(ROLES / role / "templates" / src), "dest": str(tmp_path / Path(src).stem), "mode": "0755"}
    if "validate" in args:
        task["validate"] = args["validate"]
    return run_play(
        tmp_path,
        role,
        [{"name": f"Render {src}", "ansible.builtin.template": task}],
        overrides,
        name=f"render-{Path(src).stem}",
    )


def rendered(tmp_path: Path, role: str, src: str, overrides: dict | None = None) -> str:
    result = render(tmp_path, role, src, overrides)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return (tmp_path / Path(src).stem).read_text()


@pytest.fixture
def nginx_vars(tmp_path: Path) -> dict:
    """Overrides that keep the nginx checks off the host's live files: the checker script and the
    per-preview directory live in tmp_path."""
    configs = tmp_path / "preview-configs"
    configs.mkdir()
    rendered(tmp_path, "nginx", "preview-nginx-validate.sh.j2")
    return {
        "nginx_validate_script": str(tmp_path / "preview-nginx-validate.sh"),
        "nginx_preview_configs_dir": str(configs),
    }


needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")


def test_base_site_template_with_defaults_is_the_bootstrap_file(tmp_path):
    # scripts/bootstrap and the tests install roles/nginx/files/preview-base.conf; the role renders
    # the template: with the defaults they are the same file, byte for byte.
    text = rendered(tmp_path, "nginx", "preview-base.conf.j2", {"nginx_validate_script": "/bin/true"})
    assert text == (ROLES / "nginx" / "files" / "preview-base.conf").read_text()


@needs_nginx
def test_base_site_with_tls_passes_nginx_t(tmp_path, nginx_vars):
    cert, key = tmp_path / "wildcard.crt", tmp_path / "wildcard.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=*.preview.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    text = rendered(
        tmp_path,
        "nginx",
        "preview-base.conf.j2",
        {
            **nginx_vars,
            "nginx_tls_enabled": True,
            "nginx_tls_certificate": str(cert),
            "nginx_tls_certificate_key": str(key),
            "nginx_shim_port": 3900,
        },
    )
    assert "listen 443 ssl default_server;" in text
    assert f"ssl_certificate {cert};" in text
    assert "proxy_pass http://127.0.0.1:3900;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text


@needs_nginx
def test_the_check_leaves_the_running_nginxs_temp_dirs_alone(tmp_path, nginx_vars):
    """Run as root, `nginx -t` on a configuration without `user` gives nginx's compiled-in temp dirs to
    nobody: the running nginx (workers as www-data) then answers 500 to every webhook above 16 KiB, whose
    body it must buffer in /var/lib/nginx/body, until its next reload. The check, even of a rejected
    change, leaves them alone."""
    live = [path for path in (Path("/var/lib/nginx") / name for name in ("body", "proxy")) if path.is_dir()]
    if not live:
        pytest.skip("no /var/lib/nginx temp dirs on this machine")
    owners = {path: path.stat().st_uid for path in live}
    rendered(tmp_path, "nginx", "preview-base.conf.j2", {**nginx_vars, "nginx_shim_port": 3900})
    render(tmp_path, "nginx", "preview-base.conf.j2", {**nginx_vars, "nginx_webhook_max_body_size": "lots"})
    assert {path: path.stat().st_uid for path in live} == owners


@needs_nginx
def test_base_site_that_nginx_rejects_is_not_written(tmp_path, nginx_vars):
    result = render(tmp_path, "nginx", "preview-base.conf.j2", {**nginx_vars, "nginx_webhook_max_body_size": "lots"})
    assert result.returncode != 0
    assert "failed to validate" in result.stdout
    assert not (tmp_path / "preview-base.conf").exists()


def _shim_vars(**extra) -> dict:
    return {
        # The validate command runs <shim_venv>/bin/python with the shim importable: this venv.
        "shim_venv": sys.prefix,
        "shim_webhook_secret": SECRET,
        "shim_github_token": TOKEN,
        "shim_repositories": {"octo/app": {"clone_url": "https://github.com/octo/app.git", "slug": "app"}},
        **extra,
    }


def test_shim_config_loads_and_holds_no_secret(tmp_path):
    text = rendered(
        tmp_path,
        "shim",
        "config.yml.j2",
        _shim_vars(
            shim_preview_settings={"domain": "preview.example.com", "port_range": [8100, 8199]},
            shim_policy={"forks": "deny"},
            shim_github_webhook_url="https://preview.example.com/webhook/github",
            shim_config_extra={"ttl_hours": 24},
        ),
    )
    assert SECRET not in text and TOKEN not in text
    loaded = shim_config.load(tmp_path / "config.yml", environ={"PREVIEW_WEBHOOK_SECRET": SECRET})
    assert (loaded.listen_host, loaded.listen_port) == ("127.0.0.1", 3000)
    assert loaded.collections_path == f"{sys.prefix}/collections"
    assert loaded.state_db == "/var/lib/preview/state.db"
    assert loaded.repository("octo/app").clone_url == "https://github.com/octo/app.git"
    assert loaded.policy.forks == "deny"
    assert loaded.github_webhook_url == "https://preview.example.com/webhook/github"
    assert loaded.ttl_hours == 24
    assert loaded.preview == {
        "deployments_dir": "/opt/preview-deployments",
        "nginx_configs_dir": "/etc/nginx/preview-configs",
        "nginx_test_command": ["sudo", "-n", "/usr/sbin/nginx", "-t"],
        "nginx_reload_command": ["sudo", "-n", "/usr/sbin/nginx", "-s", "reload"],
        "domain": "preview.example.com",
        "port_range": [8100, 8199],
    }


def test_shim_config_and_env_file_from_a_preview_config_file(tmp_path):
    # `preview setup` passes its configuration file as preview_config_file: the secrets go to the
    # environment file, provision: goes nowhere, everything else to the config file.
    source = tmp_path / "preview.yml"
    source.write_text(
        yaml.safe_dump(
            {
                "webhook_secret": SECRET,
                "github": {"token": TOKEN, "webhook_url": "http://203.0.113.5/webhook/github"},
                "listen": {"host": "0.0.0.0", "port": 3100},
                "concurrency": 3,
                "repositories": {"octo/app": {"clone_url": "https://github.com/octo/app.git"}},
                "preview": {"public_url": "http://203.0.113.5"},
                "policy": {"forks": "allow"},
                "ttl_hours": 12,
                "provision": {"host": "203.0.113.5"},
            }
        )
    )
    overrides = {"shim_venv": sys.prefix, "preview_config_file": str(source)}
    text = rendered(tmp_path, "shim", "config.yml.j2", overrides)
    assert SECRET not in text and TOKEN not in text and "provision" not in text
    data = yaml.safe_load(text)
    assert data["listen"] == {"host": "127.0.0.1", "port": 3100}
    assert data["github"] == {"api_url": "https://api.github.com", "webhook_url": "http://203.0.113.5/webhook/github"}
    assert (data["concurrency"], data["policy"], data["ttl_hours"]) == (3, {"forks": "allow"}, 12)
    assert data["preview"]["public_url"] == "http://203.0.113.5"
    env = rendered(tmp_path, "shim", "shim.env.j2", overrides).splitlines()
    assert f"PREVIEW_WEBHOOK_SECRET={SECRET}" in env and f"GITHUB_TOKEN={TOKEN}" in env


def test_shim_config_that_the_shim_rejects_is_not_written(tmp_path):
    result = render(tmp_path, "shim", "config.yml.j2", _shim_vars(shim_preview_settings={"no_such_setting": 1}))
    assert result.returncode != 0
    assert "unknown setting" in result.stdout
    assert not (tmp_path / "config.yml").exists()


def test_shim_env_file_holds_both_secrets(tmp_path):
    lines = rendered(tmp_path, "shim", "shim.env.j2", _shim_vars()).splitlines()
    assert f"PREVIEW_WEBHOOK_SECRET={SECRET}" in lines
    assert f"GITHUB_TOKEN={TOKEN}" in lines
    without_token = rendered(tmp_path, "shim", "shim.env.j2", _shim_vars(shim_github_token="")).splitlines()
    assert not [line for line in without_token if line.startswith("GITHUB_TOKEN")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_shim_unit_passes_systemd_analyze(tmp_path):
    # The user must exist for systemd-analyze verify: root does everywhere.
    text = rendered(tmp_path, "shim", "preview-shim.service.j2", _shim_vars(shim_user="root", shim_group="root"))
    assert "Restart=on-failure" in text
    assert f"ExecStart={sys.prefix}/bin/preview-shim --config /etc/preview/config.yml --drain-timeout 600" in text
    assert "EnvironmentFile=/etc/preview/shim.env" in text


def test_supervisor_restarts_a_failed_shim_restarts_on_sighup_and_stops_on_sigterm(tmp_path):
    # The supervising loop with a stand-in shim: it fails once (status 3), then runs until SIGTERM.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    starts = tmp_path / "starts"
    fake = venv / "bin" / "preview-shim"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$PREVIEW_WEBHOOK_SECRET $*" >>{starts}\n'
        f'[ "$(wc -l <{starts})" -gt 1 ] || exit 3\n'
        "trap 'exit 0' TERM\n"
        "while :; do sleep 0.1; done\n"
    )
    fake.chmod(0o755)
    env_file = tmp_path / "shim.env"
    env_file.write_text(f"# comment\nPREVIEW_WEBHOOK_SECRET={SECRET}\n")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()
    rendered(
        tmp_path,
        "shim",
        "preview-shim-supervise.sh.j2",
        _shim_vars(
            shim_venv=str(venv),
            shim_env_file=str(env_file),
            shim_user=user,
            shim_group=group,
            shim_pid_file=str(tmp_path / "shim.pid"),
            shim_home=str(tmp_path),
            shim_restart_delay=0,
        ),
    )
    supervisor = subprocess.Popen(
        ["sh", str(tmp_path / "preview-shim-supervise.sh")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    def wait_for_starts(count: int) -> None:
        for _attempt in range(100):
            if starts.exists() and len(starts.read_text().splitlines()) >= count:
                break
            time.sleep(0.1)
        expected = f"{SECRET} --config /etc/preview/config.yml --drain-timeout 600"
        assert starts.read_text().splitlines() == [expected] * count

    try:
        wait_for_starts(2)  # the failed first run and its restart
        time.sleep(0.3)
        supervisor.send_signal(signal.SIGHUP)
        wait_for_starts(3)
        time.sleep(0.3)
        supervisor.terminate()
        output = supervisor.communicate(timeout=20)[0]
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    assert supervisor.returncode == 0, output
    assert "exited with status 3: restarting" in output
    assert "restarting preview-shim (SIGHUP)" in output
    assert "stopped" in output
    assert not (tmp_path / "shim.pid").exists()
    assert SECRET not in output


@pytest.mark.parametrize(
    ("secret", "token", "accepted"),
    [
        (SECRET, TOKEN, True),
        (SECRET, "", True),
        ("too-short", "", False),
        ("a secret with spaces", "", False),
        ("quote'in-the-secret", "", False),
        ("dollar$in-the-secret", "", False),
        (SECRET, 'ghp_"quoted"', False),
    ],
)
def test_shim_refuses_secrets_the_env_file_cannot_hold(tmp_path, secret, token, accepted):
    task = next(
        t
        for t in yaml.safe_load((ROLES / "shim" / "tasks" / "main.yml").read_text())
        if t.get("name") == "Check the secrets"
    )
    result = run_play(tmp_path, "shim", [task], {"shim_webhook_secret": secret, "shim_github_token": token})
    assert (result.returncode == 0) is accepted, result.stdout[-2000:]
    assert secret not in result.stdout or accepted


def test_bootstrap_writes_the_docker_roles_daemon_json_byte_for_byte(tmp_path):
    """scripts/bootstrap writes /etc/docker/daemon.json before any role runs; if it differed from what the
    docker role writes, every `preview setup` on such a machine would rewrite it and restart dockerd."""
    tasks = yaml.safe_load((ROLES / "docker" / "tasks" / "service.yml").read_text())
    [role_task] = [t["ansible.builtin.copy"] for t in tasks if t.get("name") == "Write the daemon configuration"]
    dest = tmp_path / "daemon.json"
    copy = {"dest": str(dest), "content": role_task["content"]}
    result = run_play(tmp_path, "docker", [{"name": "Write it as the role does", "ansible.builtin.copy": copy}])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    bootstrap = (REPO_ROOT / "scripts" / "bootstrap").read_text()
    literal = bootstrap.split("want_daemon_json='", 1)[1].split("'", 1)[0]
    assert "printf '%s\\n' \"$want_daemon_json\"" in bootstrap  # written with one newline at the end
    assert dest.read_text() == literal + "\n"
