"""GitHub App authentication end to end: the real shim, Docker and nginx, with no personal token; GitHub's part
(the App's JWT, the installation, its tokens and their expiry) by the stand-in."""

from __future__ import annotations

import os
import stat
import time

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.gitrepo import AppRepo
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import send

REPO = "octo/hello"
APP_ID = 271828
# A run's token must outlive its deadline and a minute (150 s here), so a token the shim caches for runs is
# spent a little after that; the stand-in makes it last LIFETIME instead of GitHub's hour.
RUN_TIMEOUT = 90
LIFETIME = 160


def test_previews_are_commented_with_installation_tokens_refreshed_when_spent(tmp_path, nginx, github):
    pr, label = 90, "hello-pr-90"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "app.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    github.add_app(APP_ID, key.public_key(), token_lifetime=LIFETIME)
    installation = github.install_app([REPO])

    app = AppRepo(tmp_path / "hello")
    app.write("www/index.html", "<h1>app auth</h1>\n")
    first = app.commit("first")
    app.push_pr(pr, first)
    config = shim_config(
        tmp_path,
        {REPO: {"clone_url": app.clone_url}},
        nginx.role_settings(),
        run_timeout=RUN_TIMEOUT,
        reconcile_interval=3600,
    )
    config["github"] = {"api_url": github.base_url, "app_id": APP_ID, "private_key_file": str(key_path)}
    shim = ShimProcess(tmp_path, config).start()

    def comment_tokens(since: int) -> set[str]:
        """The tokens the PR comment's requests since request number `since` were sent with."""
        return {
            request.headers["authorization"].removeprefix("Bearer ")
            for request in github.requests[since:]
            if request.path.startswith(f"/repos/{REPO}/issues/") and request.method in ("GET", "POST", "PATCH")
        }

    try:
        assert send(shim.webhook_url, SECRET, github.open_pr(REPO, pr, sha=first, event=True)).status_code == 202
        shim.wait_idle()
        assert "app auth" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        [comment] = github.comments(REPO, pr)
        assert "Preview live" in comment["body"] and first[:7] in comment["body"]
        issued = {record["token"]: record for record in github.installation_tokens()}
        [token_a] = comment_tokens(0)
        assert token_a in issued and issued[token_a]["installation"] == installation
        assert list(issued[token_a]["repositories"]) == [REPO]
        # The run read it from a file of the repository's own, readable by the shim's user only.
        token_file = tmp_path / "state" / "github-token-hello"
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600

        # Past the token's lifetime: GitHub refuses it, and the next push's comment has a new one.
        time.sleep(max(issued[token_a]["expires_at"] - time.time() + 1, 0))
        spent = requests.get(
            f"{github.base_url}/repos/{REPO}/pulls", headers={"Authorization": f"Bearer {token_a}"}, timeout=5
        )
        assert spent.status_code == 401 and spent.json()["message"] == "Bad credentials"
        app.write("www/index.html", "<h1>app auth, again</h1>\n")
        second = app.commit("second")
        app.push_pr(pr, second)
        before = len(github.requests)
        assert send(shim.webhook_url, SECRET, github.push(REPO, pr, second, event=True)).status_code == 202
        shim.wait_idle()
        assert "app auth, again" in requests.get(f"{nginx.base_url}/{label}/", timeout=5).text
        [comment] = github.comments(REPO, pr)
        assert "Preview live" in comment["body"] and second[:7] in comment["body"]
        [token_b] = comment_tokens(before)
        assert token_b != token_a and token_b in {record["token"] for record in github.installation_tokens()}
        assert token_file.read_text() == token_b

        # Nothing was refused, and no token reached the log.
        assert [request.status for request in github.requests if request.status in (401, 403)] == [401]
        log = shim.log_text()
        assert "github_auth=token_created" in log
        assert not [record["token"] for record in github.installation_tokens() if record["token"] in log]
        assert github.violations == []
    finally:
        shim.stop()
