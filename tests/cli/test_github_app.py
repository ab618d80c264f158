"""`preview init` and `preview setup` with a GitHub App instead of a token: the App's installation is checked,
its key file must be private, and setup registers no repository hook (the App's own webhook delivers)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shim import config as shim_config
from tests.cli.helpers import OTHER, REPO, SERVER, SERVER_URL, read_config

APP_ID = 5150


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_path(tmp_path, key):
    path = tmp_path / "app.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


def init_app(run, standin, config_path, key_path, *extra):
    return run(
        "init",
        "--config",
        str(config_path),
        "--no-input",
        "--github-app-id",
        str(APP_ID),
        "--github-app-key",
        str(key_path),
        "--api-url",
        standin.base_url,
        "--host",
        SERVER,
        "--ssh-key",
        str(config_path.parent / "id_ed25519"),
        "--repo",
        REPO,
        *extra,
    )


def test_init_and_setup_with_an_app(run, standin, config_path, key_path, key):
    standin.add_app(APP_ID, key.public_key())
    standin.install_app([REPO, OTHER])

    result = init_app(run, standin, config_path, key_path)

    assert result.exit_code == 0, result.output
    assert f"{REPO}: visible, the App is installed" in result.output
    data = read_config(config_path)
    assert data["github"] == {"app_id": APP_ID, "private_key_file": str(key_path), "api_url": standin.base_url}
    assert shim_config.load(config_path, environ={}).github_app_id == APP_ID

    setup = run("setup", "--config", str(config_path), "--skip-provision")
    assert setup.exit_code == 0, setup.output
    assert f"{REPO}: the App is installed" in setup.output
    assert f"in the App's settings set the Webhook URL to {SERVER_URL}" in setup.output
    assert standin.hooks(REPO) == []
    # Nothing but installation tokens was written: no hook.
    assert {(r.method, r.path.rsplit("/", 1)[-1]) for r in standin.writes()} == {("POST", "access_tokens")}
    assert standin.violations == []


def test_init_refuses_an_app_that_is_not_installed_or_a_key_others_can_read(run, standin, config_path, key_path, key):
    standin.add_app(APP_ID, key.public_key())
    standin.install_app([OTHER])
    missing = init_app(run, standin, config_path, key_path)
    assert missing.exit_code == 1 and f"the GitHub App {APP_ID} is not installed on {REPO}" in missing.output
    assert not config_path.exists()

    key_path.chmod(0o644)
    readable = init_app(run, standin, config_path, key_path)
    assert readable.exit_code == 1 and "has mode 0644" in readable.output and "chmod 600" in readable.output
