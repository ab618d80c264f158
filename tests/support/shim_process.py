"""The real shim: `preview-shim` under waitress in its own process, with its own state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

from .nginx import free_port

SECRET = "test-webhook-secret-0123456789"


def shim_config(tmp: Path, repos: dict, preview: dict, github_api_url: str = "", token: str = "", **extra) -> dict:
    config = {
        "webhook_secret": SECRET,
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "state_db": str(tmp / "state" / "state.db"),
        "runs_dir": str(tmp / "runs"),
        "collections_path": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "repositories": repos,
        "preview": {"deployments_dir": str(tmp / "deployments"), "stop_timeout": 2, "health_timeout": 30, **preview},
    }
    if github_api_url:
        config["github"] = {"api_url": github_api_url, "token": token}
    config.update(extra)
    return config


class ShimProcess:
    def __init__(self, tmp: Path, config: dict, env: dict | None = None):
        self.tmp = Path(tmp)
        self.config = config
        self.env = dict(env or {})  # added to the shim's environment
        self.config_path = self.tmp / "shim.yml"
        self.log_path = self.tmp / "shim.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config['listen']['port']}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + "/webhook/github"

    def start(self) -> ShimProcess:
        self.config_path.write_text(yaml.safe_dump(self.config))
        shim = Path(sys.executable).parent / "preview-shim"
        env = dict(os.environ)
        env.pop("GITHUB_TOKEN", None)
        env.update(self.env)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(shim), "--config", str(self.config_path)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shim exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("shim did not become healthy:\n" + self.log_text())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, sig) if sig == signal.SIGKILL else self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)
        finally:
            self.log.close()

    def wait_idle(self, timeout: float = 180) -> dict:
        """Wait until no PR is pending or running; returns the last /healthz body."""
        deadline = time.monotonic() + timeout
        body = {}
        while time.monotonic() < deadline:
            body = requests.get(self.base_url + "/healthz", timeout=5).json()
            if body["queue_depth"] == 0 and body["running"] == 0:
                return body
            time.sleep(0.3)
        raise AssertionError(f"shim still busy after {timeout}s: {body}\n{self.log_text()[-4000:]}")
