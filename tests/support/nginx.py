"""A private, real nginx for tests: own prefix, own port, own preview-configs dir."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from .waiting import wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateNginx:
    """nginx -p <dir> with the collection's base site, listening on a free port."""

    def __init__(self, root: Path, shim_port: int = 0):
        self.root = Path(root)
        self.port = free_port()
        self.shim_port = shim_port
        self.configs_dir = self.root / "preview-configs"
        self.conf = self.root / "nginx.conf"
        self.nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def test_command(self) -> list[str]:
        return [self.nginx, "-p", str(self.root), "-c", str(self.conf), "-t", "-q"]

    @property
    def reload_command(self) -> list[str]:
        return [self.nginx, "-p", str(self.root), "-c", str(self.conf), "-s", "reload"]

    def role_settings(self) -> dict:
        return {
            "nginx_configs_dir": str(self.configs_dir),
            "nginx_test_command": self.test_command,
            "nginx_reload_command": self.reload_command,
            "nginx_listen_port": self.port,
            "nginx_listen_address": "127.0.0.1",
            "public_url": self.base_url,
        }

    def start(self) -> PrivateNginx:
        self.configs_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        base = (REPO_ROOT / "roles/nginx/files/preview-base.conf").read_text()
        base = base.replace("/etc/nginx/preview-configs", str(self.configs_dir))
        base = base.replace("listen 80 default_server;", f"listen 127.0.0.1:{self.port} default_server;")
        base = base.replace("http://127.0.0.1:3000", f"http://127.0.0.1:{self.shim_port or 9}")
        self.conf.write_text(
            "worker_processes 1;\n"
            f"pid {self.root}/nginx.pid;\n"
            f"error_log {self.root}/logs/error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"  access_log {self.root}/logs/access.log;\n"
            f"  client_body_temp_path {self.root}/tmp_body;\n"
            f"  proxy_temp_path {self.root}/tmp_proxy;\n"
            f"  fastcgi_temp_path {self.root}/tmp_fastcgi;\n"
            f"  uwsgi_temp_path {self.root}/tmp_uwsgi;\n"
            f"  scgi_temp_path {self.root}/tmp_scgi;\n" + base + "\n}\n"
        )
        subprocess.run(self.test_command, check=True, capture_output=True)
        subprocess.run([self.nginx, "-p", str(self.root), "-c", str(self.conf)], check=True)
        if not wait_for_port(self.port):
            raise RuntimeError("private nginx did not start")
        return self

    def stop(self) -> None:
        subprocess.run(
            [self.nginx, "-p", str(self.root), "-c", str(self.conf), "-s", "quit"], capture_output=True, check=False
        )
        pid_file = self.root / "nginx.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.configs_dir.glob("*.conf"))
