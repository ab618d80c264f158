"""GitHub App authentication (shim/github_auth.py): the App's JWT, installation tokens per repository (cached,
refreshed before they run out), the refusals of the configuration, and the token file a run gets. GitHub is
the stand-in, which verifies every JWT and token as GitHub does."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shim import config as config_mod
from shim import github_auth, runner
from shim.config import collection_module
from shim.sweep import Sweeper
from tests.support.github_standin import GitHubStandIn

APP_ID = 31337
REPO, SIBLING, FOREIGN = "octo/hello", "octo/world", "acme/widget"
SECRET = "s" * 32
NOW = 1_750_000_000.0


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_file(tmp_path, key, mode: int = 0o600):
    path = tmp_path / "app.pem"
    path.write_bytes(pem(key))
    path.chmod(mode)
    return path


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def standin(key, clock):
    with GitHubStandIn(repos=(REPO, SIBLING, FOREIGN), clock=clock) as server:
        server.add_app(APP_ID, key.public_key())
        yield server


def app_tokens(standin, key, clock, repos=(REPO, SIBLING, FOREIGN)) -> github_auth.AppTokens:
    return github_auth.AppTokens(
        standin.base_url, APP_ID, pem(key), collection_module("", "_github"), tuple(repos), clock=clock
    )


def created(standin) -> list[dict]:
    return standin.installation_tokens()


# -- the JWT --------------------------------------------------------------------------------------------------


def test_the_jwt_has_githubs_claims_and_is_reused_until_its_last_minute(standin, key, clock):
    tokens = app_tokens(standin, key, clock)
    first = tokens.app_jwt()
    assert jwt.get_unverified_header(first)["alg"] == "RS256"
    claims = jwt.decode(first, key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": int(NOW) - 60, "exp": int(NOW) + 540, "iss": str(APP_ID)}
    clock.now += 479  # 61 s of it left
    assert tokens.app_jwt() == first
    clock.now += 2
    renewed = tokens.app_jwt()
    assert renewed != first
    assert (
        jwt.decode(renewed, key.public_key(), algorithms=["RS256"], options={"verify_exp": False})["iat"]
        == int(clock.now) - 60
    )


# -- installation tokens --------------------------------------------------------------------------------------


def test_a_token_is_cached_and_refreshed_before_it_runs_out(standin, key, clock):
    installation = standin.install_app([REPO])
    tokens = app_tokens(standin, key, clock, repos=(REPO,))
    first = tokens.token_for(REPO, valid_for=1860)
    assert tokens.token_for(REPO, valid_for=1860) == first
    assert [token["installation"] for token in created(standin)] == [installation]  # one token, asked for once
    assert list(created(standin)[0]["repositories"]) == [REPO]  # narrowed to the configured repository

    clock.now += 3600 - 1860  # exactly what a run needs is left: still good
    assert tokens.token_for(REPO, valid_for=1860) == first
    clock.now += 1
    second = tokens.token_for(REPO, valid_for=1860)
    assert second != first and len(created(standin)) == 2
    assert tokens.token_for(REPO) == second  # a short use takes what a run left


def test_each_repository_gets_its_installations_token(standin, key, clock):
    ours = standin.install_app([REPO, SIBLING])
    theirs = standin.install_app([FOREIGN])
    tokens = app_tokens(standin, key, clock)
    hello, widget = tokens.token_for(REPO), tokens.token_for(FOREIGN)
    assert hello != widget
    world = tokens.token_for(SIBLING)  # same installation, not in the first token: a token for both
    assert tokens.token_for(REPO) == world
    by_token = {token["token"]: token for token in created(standin)}
    assert by_token[widget]["installation"] == theirs and list(by_token[widget]["repositories"]) == [FOREIGN]
    assert by_token[world]["installation"] == ours and sorted(by_token[world]["repositories"]) == [REPO, SIBLING]
    assert standin.violations == []


def test_a_repository_the_app_is_not_installed_on_is_said_once(standin, key, clock, caplog):
    standin.install_app([REPO])
    tokens = app_tokens(standin, key, clock)
    caplog.set_level(logging.INFO, "preview.shim.github_auth")
    for _attempt in range(3):
        with pytest.raises(github_auth.TokenUnavailable, match=f"not installed on {FOREIGN}"):
            tokens.token_for(FOREIGN)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "install it on the repository" in warnings[0].getMessage()
    standin.install_app([FOREIGN])
    assert tokens.token_for(FOREIGN)
    assert "repo=acme/widget github_auth=ok" in caplog.text


def test_a_key_github_does_not_know_is_explained(standin, clock):
    standin.install_app([REPO])
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = app_tokens(standin, stranger, clock)
    with pytest.raises(github_auth.TokenUnavailable, match="GitHub refused the App's JWT .*check github.app_id"):
        tokens.token_for(REPO)


def test_a_reinstalled_app_is_looked_up_again(standin, key, clock):
    first = standin.install_app([REPO])
    tokens = app_tokens(standin, key, clock)
    tokens.token_for(REPO)
    standin.uninstall_app(first)
    second = standin.install_app([REPO])
    clock.now += 3600  # the cached token is spent: a new one is asked of the old installation, which is gone
    with pytest.raises(github_auth.TokenUnavailable):
        tokens.token_for(REPO)
    assert tokens.token_for(REPO) and created(standin)[-1]["installation"] == second


# -- the configuration ----------------------------------------------------------------------------------------


def write_config(tmp_path, github: str) -> str:
    path = tmp_path / "config.yml"
    path.write_text(f"webhook_secret: {SECRET}\nrepositories:\n  {REPO}: {{clone_url: /srv/hello}}\ngithub: {github}\n")
    return str(path)


def refused(path: str, message: str, environ: dict | None = None) -> None:
    with pytest.raises(config_mod.ConfigError, match=re.escape(message)):
        config_mod.load(path, environ=environ or {})


def test_an_app_is_configured_by_its_id_and_key_file(tmp_path, key):
    path = key_file(tmp_path, key)
    config = config_mod.load(write_config(tmp_path, f"{{app_id: '{APP_ID}', private_key_file: {path}}}"), environ={})
    assert (config.github_app_id, config.github_private_key_file, config.github_token) == (APP_ID, str(path), "")
    for mode in (0o400, 0o600):
        path.chmod(mode)
        config_mod.load(write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}"), environ={})


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_others_can_read_is_refused(tmp_path, key, mode):
    path = key_file(tmp_path, key, mode)
    refused(
        write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}"),
        f"github.private_key_file: {path} has mode {mode:04o}: a private key must be readable by its owner only",
    )


def test_a_key_of_another_user_is_refused(tmp_path, key, monkeypatch):
    path = key_file(tmp_path, key)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(path).st_uid + 1)
    refused(
        write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}"), "give the key to the service user"
    )


def test_a_missing_or_wrong_key_is_refused(tmp_path):
    refused(
        write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {tmp_path}/gone.pem}}"),
        f"github.private_key_file: {tmp_path}/gone.pem does not exist",
    )
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    refused(
        write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {garbage}}}"),
        "is not an unencrypted PEM private key",
    )
    curve = tmp_path / "ec.pem"
    curve.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    curve.chmod(0o600)
    refused(
        write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {curve}}}"), "a GitHub App's key is RSA (RS256)"
    )
    link = tmp_path / "link.pem"
    link.symlink_to(key_file(tmp_path, rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    refused(write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {link}}}"), "a symbolic link is refused")
    assert stat.S_ISLNK(os.lstat(link).st_mode)


def test_half_an_app_or_an_app_and_a_token_is_refused(tmp_path, key):
    path = key_file(tmp_path, key)
    refused(write_config(tmp_path, f"{{app_id: {APP_ID}}}"), "github.app_id is set without github.private_key_file")
    refused(
        write_config(tmp_path, f"{{private_key_file: {path}}}"),
        "github.private_key_file is set without github.app_id",
    )
    refused(write_config(tmp_path, f"{{app_id: -3, private_key_file: {path}}}"), "github.app_id must be")
    both = write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}")
    refused(both, "github.token (or GITHUB_TOKEN) and github.app_id are both set", {"GITHUB_TOKEN": "ghp_x"})


def test_a_private_repository_is_cloned_with_the_apps_token(tmp_path, key):
    path = key_file(tmp_path, key)
    text = (
        f"webhook_secret: {SECRET}\nrepositories:\n  {REPO}: {{clone_url: 'https://github.com/{REPO}.git', "
        f"private: true}}\ngithub: {{app_id: {APP_ID}, private_key_file: {path}}}\n"
    )
    (tmp_path / "config.yml").write_text(text)
    assert config_mod.load(tmp_path / "config.yml", environ={}).repository(REPO).private


def test_a_run_longer_than_a_token_lasts_is_warned_about(tmp_path, key):
    path = key_file(tmp_path, key)
    config = config_mod.load(write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}"), environ={})
    assert not [warning for warning in config.warnings() if "outlive" in warning]
    longer = dataclasses.replace(config, run_timeout=3600).warnings()
    assert [warning for warning in longer if "run_timeout is 3600 s" in warning and "can outlive the token" in warning]


# -- what uses it (GitHub on the real clock, as the shim's) ----------------------------------------------------


@pytest.fixture
def live(key):
    with GitHubStandIn(repos=(REPO, SIBLING, FOREIGN)) as server:
        server.add_app(APP_ID, key.public_key())
        yield server


def app_config(tmp_path, live, key, **changes) -> config_mod.Config:
    path = key_file(tmp_path, key)
    config = config_mod.load(write_config(tmp_path, f"{{app_id: {APP_ID}, private_key_file: {path}}}"), environ={})
    return dataclasses.replace(
        config, github_api_url=live.base_url, state_db=str(tmp_path / "state" / "state.db"), **changes
    )


def test_a_run_gets_its_repositorys_installation_token_in_a_private_file(tmp_path, live, key):
    live.install_app([REPO])
    config = app_config(tmp_path, live, key)
    values = runner.extravars(config, config.repository(REPO), 7, "a" * 40, 1)
    path = values["preview_pr_github_token_file"]
    assert path == str(tmp_path / "state" / "github-token-hello")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == live.installation_tokens()[-1]["token"]
    # Asked for the run's deadline and a minute: the token outlives the run.
    assert live.installation_tokens()[-1]["expires_at"] - time.time() >= config.run_timeout + 60 - 5
    assert all(token not in str(values) for token in (t["token"] for t in live.installation_tokens()))


def test_without_a_token_a_run_goes_without_one(tmp_path, live, key, caplog):
    config = app_config(tmp_path, live, key)  # the App is installed nowhere
    values = runner.extravars(config, config.repository(REPO), 7, "a" * 40, 1)
    assert values["preview_pr_github_token_file"] == values["preview_pr_clone_token_file"] == ""
    assert f"not installed on {REPO}" in caplog.text


def test_a_pass_asks_with_each_repositorys_token(tmp_path, live, key):
    live.install_app([REPO])
    config = app_config(tmp_path, live, key)
    sweeper = Sweeper(config, store=None)
    assert sweeper.enabled
    status, dummy, pulls = sweeper.client_for(REPO).request("GET", f"/repos/{REPO}/pulls")
    assert (status, pulls) == (200, [])
    used = live.requests[-1].headers["authorization"]
    assert used == f"Bearer {live.installation_tokens()[-1]['token']}"
