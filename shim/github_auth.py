"""Who the shim is on GitHub: a personal token, or a GitHub App through its installation tokens.

Everything that talks to GitHub (the runs' PR comments and private clones, the sweep, the redelivery check,
approvals and `/preview` commands, `preview setup`) asks `source(config).token_for(repo)` for the token of
one repository. A personal token is the same for every repository. A GitHub App signs a short JWT with its
private key (RS256, `iat` a minute in the past against clock drift, `exp` nine minutes ahead, under GitHub's
ten, `iss` the App's id), finds the installation that covers the repository
(`GET /repos/{owner}/{repo}/installation`), and trades the JWT for that installation's access token
(`POST /app/installations/{installation_id}/access_tokens`, narrowed to the configured repositories of the
installation). An installation token lasts an hour; it is cached per installation and replaced once less
than `valid_for` seconds of it remain. A run asks for its deadline (`run_timeout`) plus a minute, so the
token it is handed outlives it; a pass asks for a few minutes.

What cannot get a token (the App is not installed on the repository, the key is wrong, GitHub is down)
raises `TokenUnavailable`, and is logged here once per repository and cause.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("preview.shim.github_auth")

# GitHub refuses a JWT whose `exp` is more than ten minutes ahead; nine leave room for our clock running fast.
JWT_LIFETIME = 540
# `iat` this far in the past, as GitHub recommends, so a server clock slightly behind GitHub's still works.
JWT_BACKDATE = 60
# A JWT is signed anew once less than this remains of it.
JWT_MARGIN = 60
# What a caller that uses its token at once (a pass, an approval) needs left of it.
SHORT_USE = 300
# An installation token lasts an hour (GitHub: "Installation access tokens expire after one hour").
TOKEN_LIFETIME = 3600
TIMEOUT = 20


class TokenUnavailable(Exception):
    """No token for a repository; the message says why and what to do."""


class KeyFileError(ValueError):
    """The App's private key file is missing, unsafe or not an RSA key."""


class TokenSource(Protocol):
    kind: str  # "token" or "app"

    def token_for(self, repo: str, valid_for: float = SHORT_USE) -> str: ...


class PersonalToken:
    """A personal access token: the same for every repository, with no expiry the shim knows of."""

    kind = "token"

    def __init__(self, token: str):
        self._token = token

    def token_for(self, repo: str, valid_for: float = SHORT_USE) -> str:
        return self._token


def load_private_key(path: str) -> bytes:
    """The PEM bytes of a GitHub App's private key at `path`, after checking that only its owner can read it.

    The file must be a regular file with no permission bits for group or others (0600 or 0400) and owned by
    the user that reads it: the user the shim runs as. Root reads every file anyway, so when root loads the
    configuration (the shim role checks a new one as root) the owner is not checked, only the mode."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"{path} cannot be opened ({exc.strerror}; a symbolic link is refused too)") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{path} is not a regular file")
        if info.st_mode & 0o077:
            raise KeyFileError(
                f"{path} has mode {info.st_mode & 0o777:04o}: a private key must be readable by its owner only "
                f"(chmod 600 {path})"
            )
        euid = os.geteuid()
        if euid != 0 and info.st_uid != euid:
            raise KeyFileError(
                f"{path} belongs to uid {info.st_uid}, not to uid {euid} that runs the shim: "
                "give the key to the service user (chown)"
            )
        data = handle.read()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(
            f"{path} is not an unencrypted PEM private key ({exc}); use the .pem file GitHub generated for the App"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}: a GitHub App's key is RSA (RS256)")
    return data


@dataclass
class _InstallationToken:
    token: str
    expires_at: float
    repositories: frozenset[str]  # the repository names (no owner) it was narrowed to


class AppTokens:
    """A GitHub App's installation tokens, one per installation, cached and refreshed; thread-safe.

    `github` is the collection's `_github` module (its GitHubClient and GitHubError); `repositories` the
    configured `owner/name`s, which narrow each installation's token to the ones in that installation."""

    kind = "app"

    def __init__(
        self,
        api_url: str,
        app_id: int | str,
        private_key: bytes,
        github: ModuleType,
        repositories: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ):
        self.api_url = api_url
        self.app_id = app_id
        self._key = private_key
        self._github = github
        self._configured = {name.lower() for name in repositories}
        self.clock = clock
        self._lock = threading.Lock()
        self._jwt: tuple[str, float] | None = None  # (token, exp)
        self._installations: dict[str, int] = {}  # owner/name (lower case) -> installation id
        self._names: dict[int, set[str]] = {}  # installation id -> repository names seen in it
        self._tokens: dict[int, _InstallationToken] = {}
        self._said: dict[str, str] = {}  # repository -> the last cause logged for it

    # -- the JWT -------------------------------------------------------------------------------------------

    def claims(self, now: float) -> dict:
        return {"iat": int(now) - JWT_BACKDATE, "exp": int(now) + JWT_LIFETIME, "iss": str(self.app_id)}

    def app_jwt(self) -> str:
        """The App's JWT, signed anew when less than a minute of the last one remains."""
        now = self.clock()
        if self._jwt is None or self._jwt[1] - now < JWT_MARGIN:
            claims = self.claims(now)
            self._jwt = (jwt.encode(claims, self._key, algorithm="RS256"), float(claims["exp"]))
        return self._jwt[0]

    def _app_client(self):
        return self._github.GitHubClient(self.api_url, self.app_jwt(), timeout=TIMEOUT, retries=2, max_wait=30)

    # -- installation tokens -------------------------------------------------------------------------------

    def token_for(self, repo: str, valid_for: float = SHORT_USE) -> str:
        """The installation token for `repo`, with at least `valid_for` seconds left when GitHub allows that
        much; raises TokenUnavailable."""
        key = repo.lower()
        with self._lock:
            try:
                token = self._token(repo, key, valid_for)
            except TokenUnavailable as exc:
                if self._said.get(key) != str(exc):
                    log.warning("repo=%s github_auth=unavailable reason=%s", repo, exc)
                    self._said[key] = str(exc)
                raise
            if self._said.pop(key, None) is not None:
                log.info("repo=%s github_auth=ok", repo)
            return token

    def _token(self, repo: str, key: str, valid_for: float) -> str:
        installation = self._installation(repo, key)
        name = key.split("/", 1)[1]
        self._names.setdefault(installation, set()).add(name)
        cached = self._tokens.get(installation)
        now = self.clock()
        if cached is not None and name in cached.repositories and cached.expires_at - now >= valid_for:
            return cached.token
        names = sorted(self._names[installation])
        try:
            body = self._app_client().request(
                "POST", f"/app/installations/{installation}/access_tokens", body={"repositories": names}
            )[2]
        except self._github.GitHubError as error:
            if error.status == 404:
                # Uninstalled (or re-installed under a new id): look the installation up again next time.
                self._installations.pop(key, None)
                self._tokens.pop(installation, None)
            raise TokenUnavailable(self._explain(error, f"an access token of installation {installation}")) from None
        if not isinstance(body, dict) or not isinstance(body.get("token"), str):
            raise TokenUnavailable(f"GitHub's answer to the installation token request of {repo} has no token")
        expires_at = _epoch(body.get("expires_at")) or now + TOKEN_LIFETIME
        self._tokens[installation] = _InstallationToken(body["token"], expires_at, frozenset(names))
        log.info(
            "repo=%s installation=%d github_auth=token_created expires_at=%s repositories=%s",
            repo,
            installation,
            body.get("expires_at"),
            ",".join(names),
        )
        return body["token"]

    def _installation(self, repo: str, key: str) -> int:
        if key in self._installations:
            return self._installations[key]
        owner, name = repo.split("/", 1)
        try:
            body = self._app_client().request(
                "GET", f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}/installation"
            )[2]
        except self._github.GitHubError as error:
            if error.status == 404:
                raise TokenUnavailable(
                    f"the GitHub App {self.app_id} is not installed on {repo}: install it on the repository "
                    "(the App's page, Install App), or remove the repository from the configuration"
                ) from None
            raise TokenUnavailable(self._explain(error, "the App's installation")) from None
        installation = body.get("id") if isinstance(body, dict) else None
        if not isinstance(installation, int) or isinstance(installation, bool):
            raise TokenUnavailable(f"GitHub's answer about the App's installation on {repo} has no id")
        self._installations[key] = installation
        return installation

    def _explain(self, error, what: str) -> str:
        if error.status == 401:
            # GitHub's own words (the client's message goes on about personal tokens).
            said = re.search(r"\(401 (.*)\): the token is missing", error.message)
            return (
                f"GitHub refused the App's JWT asking for {what} (401 {said.group(1) if said else error.message}): "
                "check github.app_id, that github.private_key_file is a current key of that App, and this "
                "server's clock"
            )
        return f"asking GitHub for {what} failed: {error}"


def _epoch(timestamp: object) -> float | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_sources: dict[tuple, TokenSource] = {}
_sources_lock = threading.Lock()


def source(config: Config) -> TokenSource | None:
    """The process's one token source for `config`'s credentials (so every caller shares the App's cache),
    or None when the configuration has neither a token nor an App; TokenUnavailable when the App's key can no
    longer be read."""
    if config.github_app_id:
        repos = tuple(sorted(repo.full_name for repo in config.repositories.values()))
        key = ("app", config.github_api_url, config.github_app_id, config.github_private_key_file, repos)
    elif config.github_token:
        key = ("token", config.github_token)
    else:
        return None
    with _sources_lock:
        found = _sources.get(key)
        if found is None:
            if key[0] == "app":
                from .config import collection_module

                try:
                    private_key = load_private_key(config.github_private_key_file)
                except KeyFileError as exc:
                    # Checked when the configuration loaded; gone or changed since.
                    raise TokenUnavailable(f"github.private_key_file: {exc}") from None
                found = AppTokens(
                    config.github_api_url,
                    config.github_app_id,
                    private_key,
                    collection_module(config.collections_path, "_github"),
                    repos,
                )
            else:
                found = PersonalToken(config.github_token)
            _sources[key] = found
        return found


def run_valid_for(config: Config) -> float:
    """How long a token handed to a run must last: the run's deadline, and a minute for its last comment."""
    return float(config.run_timeout) + 60.0
