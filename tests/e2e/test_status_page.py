"""The status page and its API end to end: the real shim behind the collection's nginx base site, Docker, the
GitHub stand-in, and the page rendered by headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import requests

from tests.support.gitrepo import AppRepo
from tests.support.leftovers import assert_nothing_left
from tests.support.nginx import PrivateNginx
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import send

REPO = "octo/hello"
PR = 90
LABEL = f"hello-pr-{PR}"
USER, PASSWORD = "people", "status-page-password-0123"
STATUS = "/_previews/"  # the nginx role's default nginx_status_location


def test_the_status_page_lists_a_live_preview_shows_its_log_and_removes_it(tmp_path, github):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run scripts/bootstrap")
    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>status page</h1>\n")
    sha = app.commit("first")
    app.push_pr(PR, sha)
    credential = tmp_path / "status-credential"
    credential.write_text(f"{USER}:{PASSWORD}\n")
    credential.chmod(0o600)
    nginx = PrivateNginx(tmp_path / "nginx")
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        github_api_url=github.base_url,
        token="test-token",
        status_page={"credential_file": str(credential)},
    )
    nginx.shim_port = config["listen"]["port"]
    nginx.start()
    shim = ShimProcess(tmp_path, config).start()
    status = nginx.base_url + STATUS
    auth = (USER, PASSWORD)
    db = tmp_path / "state" / "state.db"
    try:
        assert send(shim.webhook_url, SECRET, github.open_pr(REPO, PR, sha=sha, event=True)).status_code == 202
        shim.wait_idle()
        assert "status page" in requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5).text

        # Through nginx: only the page and the API of the shim, and only with the credential.
        assert requests.get(status + "api/previews", timeout=5).status_code == 401
        assert (
            requests.get(status + "api/previews", auth=(USER, "wrong-password-0123456"), timeout=5).status_code == 401
        )
        assert requests.get(status + "metrics", auth=auth, timeout=5).status_code == 404
        assert requests.get(status + "healthz", auth=auth, timeout=5).status_code == 404

        listing = requests.get(status + "api/previews", auth=auth, timeout=5)
        assert listing.status_code == 200 and listing.headers["X-Robots-Tag"].startswith("noindex")
        [preview] = listing.json()["previews"]
        assert (preview["repo"], preview["pr"], preview["status"]) == (REPO, PR, "live")
        assert (preview["sha"], preview["deployed_sha"]) == (sha, sha)
        assert preview["url"] == f"{nginx.base_url}/{LABEL}/"
        assert preview["last_run"]["kind"] == "deploy" and preview["last_run"]["status"] == "successful"

        # The page at the location itself redirects to its list, whose links are relative.
        page = requests.get(status, auth=auth, timeout=5)
        assert page.status_code == 200 and page.url == status + "previews/", page.url
        assert page.headers["X-Robots-Tag"].startswith("noindex")
        assert f'<a href="{nginx.base_url}/{LABEL}/" rel="noopener noreferrer">{LABEL}</a>' in page.text
        assert f'<code title="{sha}">{sha[:7]}</code>' in page.text
        assert '<span class="status live">live</span>' in page.text
        log_path = preview["last_run"]["log_path"]
        assert f'href="../{log_path}"' in page.text
        log = requests.get(status + log_path, auth=auth, timeout=5)
        assert log.status_code == 200 and log.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "PLAY [" in log.text and "test-token" not in log.text

        # The page as a browser renders it: basic auth in the URL, which Chromium sends for the page it opens.
        screenshot = tmp_path / "status-page.png"
        url = status.replace("http://", f"http://{USER}:{PASSWORD}@") + "previews/"
        # Chromium refuses to run as root with its sandbox on.
        sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
        shot = subprocess.run(
            [chromium, "--headless", *sandbox, "--disable-gpu", "--hide-scrollbars", "--window-size=1280,800"]
            + [f"--screenshot={screenshot}", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert screenshot.is_file(), shot.stderr[-2000:]
        data = screenshot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, len(data)
        access = (tmp_path / "nginx" / "logs" / "access.log").read_text()
        assert f'GET {STATUS}previews/ HTTP/1.1" 200' in access  # Chromium got the page, not the 401

        # DELETE removes the preview, as /preview destroy does; the page then says so.
        assert requests.delete(status + f"api/previews/octo/hello/{PR}", timeout=5).status_code == 401
        removed = requests.delete(status + f"api/previews/octo/hello/{PR}", auth=auth, timeout=5)
        assert removed.status_code == 202, removed.text
        assert removed.json()["preview"]["state"] == "absent"
        shim.wait_idle()
        assert requests.get(f"{nginx.base_url}/{LABEL}/", timeout=5).status_code == 404
        assert_nothing_left(f"preview-{LABEL}", LABEL, db, tmp_path / "deployments", nginx.configs_dir, REPO, PR)
        after = requests.get(status + f"api/previews/octo/hello/{PR}", auth=auth, timeout=5).json()
        assert (after["state"], after["status"], after["reason"], after["url"]) == (
            "absent",
            "removed",
            "destroyed",
            None,
        )
        assert after["last_run"]["kind"] == "cleanup" and after["last_run"]["status"] == "successful"
        assert github.violations == []
    finally:
        shim.stop()
        nginx.stop()
