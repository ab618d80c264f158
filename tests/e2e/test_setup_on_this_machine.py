"""Issue #4's "done when", as a new user runs it: `preview init`, then `preview setup --host 127.0.0.1`
applies playbooks/site.yml to this machine (connection local). Docker, nginx and the shim are then running
as services, the hook is registered once on the GitHub stand-in, and a signed `pull_request` delivery
through nginx on :80 brings a live preview up, deployed by the shim's own user.

The repository is served by `git daemon`, so the shim's user clones it over the network as it would from
GitHub. The test stops the shim's service at the end; the packages, the user and the files stay
installed, as after a real setup, and a re-run of setup over them must change nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo, GitDaemon
from tests.support.webhooks import pull_request_payload, send

PREVIEW = Path(sys.executable).parent / "preview"
REPO = "octo/app"
TOKEN = "admin-token"
PR = 7
URL = f"http://127.0.0.1/app-pr-{PR}/"
# The shim role's defaults (roles/shim/defaults/main.yml).
SUPERVISOR_PID = Path("/run/preview-shim-supervise.pid")
SHIM_PID = Path("/run/preview-shim.pid")
SHIM_LOG = Path("/var/log/preview-shim.log")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setup installs packages and services: run as root")


def _cli(*args: str, env: dict, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PREVIEW), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _stop_service() -> None:
    """What `start-stop-daemon --stop` does for the supervisor: the shim drains, then both exit."""
    subprocess.run(
        ["start-stop-daemon", "--stop", "--oknodo", "--retry", "TERM/120/KILL/5", "--pidfile", str(SUPERVISOR_PID)],
        capture_output=True,
        check=False,
    )
    SUPERVISOR_PID.unlink(missing_ok=True)


def _wait_for(url: str, status: int, timeout: float) -> requests.Response | None:
    deadline = time.monotonic() + timeout
    page = None
    while time.monotonic() < deadline:
        try:
            page = requests.get(url, timeout=5)
            if page.status_code == status:
                return page
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return page


def _process_user(pid: int) -> str:
    return subprocess.run(
        ["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True, check=False
    ).stdout.strip()


def _listeners(port: int) -> list[str]:
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines() if line.strip()]


@pytest.fixture
def app_remote():
    # Outside pytest's 0700 tmp_path: the shim's user must be able to reach the daemon's files only
    # through the daemon, and the daemon (root) must be able to read them.
    base = Path(tempfile.mkdtemp(prefix="preview-setup-remote-"))
    app = AppRepo(base / "app")
    app.push_pr(PR, app.commit("the PR's head"))
    daemon = GitDaemon(base).start()
    yield app, daemon
    daemon.stop()
    subprocess.run(["rm", "-rf", str(base)], check=False)


def test_init_then_setup_on_this_machine_serves_a_preview_through_port_80(tmp_path, app_remote):
    app, daemon = app_remote
    sha = subprocess.run(
        ["git", "-C", str(app.path), "rev-parse", f"refs/pull/{PR}/head"], capture_output=True, text=True, check=True
    ).stdout.strip()
    config = tmp_path / "config.yml"
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "GITHUB_TOKEN",
            "GITHUB_API_URL",
            "PREVIEW_CONFIG",
            "PREVIEW_WEBHOOK_SECRET",
            "PREVIEW_REPOSITORIES",
            "PREVIEW_DOMAIN",
            "PREVIEW_HOST",
        }
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")

    with GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo", "admin:repo_hook"}}) as github:
        init = _cli(
            "init",
            "--config",
            str(config),
            "--no-input",
            "--github-token",
            TOKEN,
            "--api-url",
            github.base_url,
            "--repo",
            REPO,
            "--host",
            "127.0.0.1",
            env=env,
        )
        assert init.returncode == 0, init.stdout + init.stderr
        assert config.stat().st_mode & 0o777 == 0o600

        # What an operator edits: the stand-in's clone URL is github.com, which is not reachable here, and
        # this machine's Docker comes from Debian (Docker's own apt repository is not reachable either).
        data = yaml.safe_load(config.read_text())
        data["repositories"][REPO]["clone_url"] = daemon.url("app")
        data["provision"]["vars"] = {"docker_package_source": "distro"}
        config.write_text(yaml.safe_dump(data, sort_keys=False))

        try:
            setup = _cli("setup", "--config", str(config), "--host", "127.0.0.1", env=env)
            assert setup.returncode == 0, setup.stdout + setup.stderr
            assert "[3/4] Ansible" in setup.stdout and "failed " not in setup.stdout

            # The services.
            assert subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
            assert (
                subprocess.run(
                    ["start-stop-daemon", "--status", "--pidfile", "/run/nginx.pid", "--exec", "/usr/sbin/nginx"],
                    check=False,
                ).returncode
                == 0
            )
            shim_pid = int(SHIM_PID.read_text())
            assert _process_user(shim_pid) == "preview"
            assert _listeners(3000) == ["127.0.0.1:3000"]
            assert Path("/etc/preview/shim.env").stat().st_mode & 0o777 == 0o600

            # The hook, once.
            (hook,) = github.hooks(REPO)
            assert hook["config"]["url"] == "http://127.0.0.1/webhook/github"
            assert hook["events"] == ["issue_comment", "pull_request"]

            # A delivery through nginx on :80.
            secret = yaml.safe_load(config.read_text())["webhook_secret"]
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            sent = send("http://127.0.0.1/webhook/github", secret, pull_request_payload("opened", REPO, PR, sha, now))
            assert sent.status_code == 202, sent.text
            page = _wait_for(URL, 200, timeout=300)
            assert page is not None and page.status_code == 200, SHIM_LOG.read_text(errors="replace")[-4000:]
            assert "Hello from a preview" in page.text
            # The comment is updated after nginx routes the preview: wait for it too.
            deadline = time.monotonic() + 60
            while "Preview live" not in github.comments(REPO, PR)[0]["body"] and time.monotonic() < deadline:
                time.sleep(0.2)
            (comment,) = github.comments(REPO, PR)
            assert "Preview live" in comment["body"] and URL.rstrip("/") in comment["body"], comment["body"]

            # A second setup changes nothing: no task reports a change, and no hook is written.
            writes = len(github.writes())
            again = _cli("setup", "--config", str(config), "--host", "127.0.0.1", env=env)
            assert again.returncode == 0, again.stdout + again.stderr
            changed = [line for line in again.stdout.splitlines() if line.startswith("  changed ")]
            assert changed == []
            assert f"unchanged hook {hook['id']}" in again.stdout
            assert len(github.writes()) == writes
            assert int(SHIM_PID.read_text()) == shim_pid

            # A changed configuration restarts the shim, and setup returns only once the *new* one
            # listens: the old one keeps listening while it drains, so a port check alone passed on it.
            data = yaml.safe_load(config.read_text())
            data["ttl_hours"] = 48
            config.write_text(yaml.safe_dump(data, sort_keys=False))
            changed_config = _cli("setup", "--config", str(config), "--host", "127.0.0.1", env=env)
            assert changed_config.returncode == 0, changed_config.stdout + changed_config.stderr
            new_pid = int(SHIM_PID.read_text())
            assert new_pid != shim_pid and not Path(f"/proc/{shim_pid}").exists()
            assert _process_user(new_pid) == "preview"
            assert _listeners(3000) == ["127.0.0.1:3000"]
            assert requests.get("http://127.0.0.1:3000/healthz", timeout=5).status_code == 200
            assert github.violations == []
        finally:
            closed = pull_request_payload("closed", REPO, PR, sha, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            try:
                send("http://127.0.0.1/webhook/github", yaml.safe_load(config.read_text())["webhook_secret"], closed)
                gone = _wait_for(URL, 404, timeout=180)
            finally:
                _stop_service()
        assert gone is not None and gone.status_code == 404
        assert not Path(f"/etc/nginx/preview-configs/app-pr-{PR}.location.conf").exists()
