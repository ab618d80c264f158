"""The README's main command, as a new user runs it: `preview demo` brings a real preview up through
the system nginx on :80 and the shim on :3000, and `preview demo --down` takes every trace away."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

PREVIEW = Path(sys.executable).parent / "preview"


def system_nginx_serves_previews() -> bool:
    try:
        return requests.get("http://127.0.0.1/no-such-preview/", timeout=2).status_code == 404
    except requests.RequestException:
        return False


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx: run scripts/bootstrap")
def test_demo_up_and_down(tmp_path):
    if not system_nginx_serves_previews():
        pytest.fail("the system nginx with the preview base site is not answering on :80: run scripts/bootstrap")
    workdir = tmp_path / "demo"
    up = subprocess.run(
        [str(PREVIEW), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr + (workdir / "shim.log").read_text(errors="replace")
        assert "Preview live: http://localhost/hello-pr-1/" in up.stdout
        page = requests.get("http://127.0.0.1/hello-pr-1/", timeout=5)
        assert page.status_code == 200 and "Hello from a preview" in page.text
        status = subprocess.run([str(PREVIEW), "status"], capture_output=True, text=True, timeout=60, check=False)
        assert "demo/hello#1" in status.stdout and "live" in status.stdout
    finally:
        down = subprocess.run(
            [str(PREVIEW), "demo", "--workdir", str(workdir), "--down"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    assert down.returncode == 0, down.stdout + down.stderr
    assert requests.get("http://127.0.0.1/hello-pr-1/", timeout=5).status_code == 404
    assert not Path("/etc/nginx/preview-configs/hello-pr-1.location.conf").exists()
    assert not Path("/opt/preview-deployments/hello-pr-1").exists()
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            "label=com.docker.compose.project=preview-hello-pr-1",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == ""
