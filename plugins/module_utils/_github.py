# Copyright (c) 2025, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small GitHub REST client for the collection's modules (private: the API may change without notice).

HTTP goes through ``ansible.module_utils.urls.open_url`` so that modules need nothing beyond ansible-core on
the target. The client retries server errors and rate limits the way GitHub's documentation asks
(``retry-after``, then ``x-ratelimit-reset``, then exponential backoff), follows ``link`` headers instead of
building page URLs, and turns error answers into ``GitHubError`` with a message a person can act on.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import re
import time
from collections.abc import Callable
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

API_VERSION = "2022-11-28"
USER_AGENT = "preview-envs"
MEDIA_TYPE = "application/vnd.github+json"
# GitHub asks for at least a minute before retrying a secondary rate limit that names no wait.
SECONDARY_RATE_LIMIT_WAIT = 60
# GitHub answers a renamed or moved repository with a redirect, to be repeated as it was sent (its REST docs,
# "Redirects"); 303 alone asks for a GET.
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}

_LINK_VALUE = re.compile(r"<([^>]*)>([^,<]*)")
_LINK_REL = re.compile(r"""rel\s*=\s*"?([^";]+)"?""")


class GitHubError(Exception):
    """GitHub answered with an error, or could not be reached (then ``status`` is None)."""

    def __init__(
        self,
        status: int | None,
        message: str,
        url: str,
        documentation_url: str | None = None,
        errors: list | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.url = url
        self.documentation_url = documentation_url
        self.errors = errors or []
        self.headers = headers or {}

    def __str__(self) -> str:
        return self.message


class WritePacer:
    """Paces one token's content-creating requests (POST, PATCH, PUT, DELETE), across processes.

    GitHub's secondary rate limits count writes per token: at most 80 a minute, and "wait at least one second
    between each request" when making many. A token bucket kept in ``path`` (0600, locked with ``flock``) lets
    a burst of ``burst`` writes go at once and then one per ``1 / rate`` seconds, so the sustained pace stays
    at one a second (80 a minute is never reached) while one deploy's few writes are not delayed. Every
    process that writes with the token (the playbooks' GitHub modules, the shim) should share the file.
    """

    def __init__(
        self,
        path: str,
        rate: float = 1.0,
        burst: float = 6.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.path = path
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep

    def acquire(self) -> float:
        """Wait for the bucket to hold a write, and take it; returns the seconds waited."""
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            now = self.clock()
            tokens, stamp = self.burst, now
            try:
                saved = os.pread(descriptor, 64, 0).decode("ascii").split()
                tokens, stamp = float(saved[0]), float(saved[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                pass  # a new or unreadable file: a full bucket
            tokens = min(self.burst, max(tokens, 0.0) + max(now - stamp, 0.0) * self.rate)
            waited = 0.0
            if tokens < 1.0:
                waited = (1.0 - tokens) / self.rate
                self.sleep(waited)
                now, tokens = now + waited, 1.0
            record = f"{tokens - 1.0:.6f} {now:.6f}\n".encode("ascii")
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, record, 0)
            return waited
        finally:
            os.close(descriptor)  # releases the lock


class GitHubClient:
    """Talks to one GitHub REST API root (``https://api.github.com`` or a GitHub Enterprise ``/api/v3``).

    ``retries`` is how many times a request is repeated after a server error, a network error or a rate
    limit. ``max_wait`` caps a single wait in seconds: a rate limit that resets later than that fails at
    once. ``pacer`` spaces the writes (``WritePacer``). ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        timeout: float = 30,
        retries: int = 4,
        sleep: Callable[[float], object] = time.sleep,
        max_wait: float = 60,
        clock: Callable[[], float] = time.time,
        pacer: WritePacer | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = max(int(retries), 0)
        self.sleep = sleep
        self.max_wait = max_wait
        self.clock = clock
        self.pacer = pacer
        self._origin = origin(self.api_url)

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        query: dict | None = None,
        etag: str | None = None,
    ) -> tuple[int, dict[str, str], object]:
        """Send one request; returns ``(status, headers, decoded JSON or None)`` for a 2xx answer.

        ``path`` is relative to ``api_url`` (``/repos/o/r``), or an absolute URL on the same host, as found in
        a ``link`` header. Header names in the result are lower case. With ``etag`` (the ``etag`` header of an
        earlier answer) the request is conditional: ``304`` with no body means that answer still holds, and
        GitHub does not count it against the rate limit. Raises ``GitHubError`` otherwise.
        """
        method = method.upper()
        url = self._url(path, query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        extra = {"If-None-Match": etag} if etag else {}
        attempt = 0
        while True:
            if self.pacer is not None and method not in ("GET", "HEAD"):
                self.pacer.acquire()
            status, headers, payload, text = self._follow(method, url, data, extra)
            if status is not None and (200 <= status < 300 or (status == 304 and etag)):
                return status, headers, payload
            wait = self._retry_wait(method, url, status, headers, payload, attempt)
            if wait is None or attempt >= self.retries:
                raise self._error(method, url, status, headers, payload, text, attempt + 1)
            self.sleep(wait)
            attempt += 1

    def paginate(self, path: str, query: dict | None = None) -> list:
        """All items of a list endpoint, following each ``link: <...>; rel="next"`` URL as given."""
        items: list = []
        seen = set()
        url = self._url(path, query)
        while url:
            if url in seen:
                raise GitHubError(None, f"GET {url}: the link header points back at a page already read", url)
            seen.add(url)
            status, headers, page = self.request("GET", url)
            if not isinstance(page, list):
                raise GitHubError(status, f"GET {url}: expected a JSON list, got {type(page).__name__}", url)
            items.extend(page)
            url = next_link(headers.get("link", ""))
        return items

    # -- internals -----------------------------------------------------------------------------------------

    def _check_origin(self, url: str, why: str) -> None:
        """The token must never travel to a host other than the configured API."""
        scheme, host, port = origin(url)
        if (scheme, host, port) != self._origin:
            shown_port = f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else ""
            message = (
                f"{why}refusing to send the token to {scheme}://{host}{shown_port}, "
                f"which is not the API at {self.api_url}"
            )
            raise GitHubError(None, message, url)

    def _url(self, path: str, query: dict | None) -> str:
        if path.startswith(("http://", "https://")):
            self._check_origin(path, "")
            url = path
        elif path.startswith("/"):
            url = self.api_url + path
        else:
            raise ValueError(f"API paths start with '/', not {path!r}")
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query, doseq=True)
        return url

    def _follow(self, method: str, url: str, data: bytes | None, extra: dict[str, str]):
        """``_send``, following redirects on the API's own scheme, host and port only, where the token may go.

        urllib would follow a redirect anywhere with every header, the token's included, so redirects are
        turned off there and handled here.
        """
        for _hop in range(MAX_REDIRECTS + 1):
            status, headers, payload, text = self._send(method, url, data, extra)
            if status not in REDIRECT_STATUSES or not headers.get("location"):
                return status, headers, payload, text
            target = urljoin(url, headers["location"])
            self._check_origin(target, f"{method} {url} was redirected ({status}); ")
            if status == 303:
                method, data = "GET", None
            url = target
        raise GitHubError(status, f"{method} {url}: more than {MAX_REDIRECTS} redirects", url)

    def _send(self, method: str, url: str, data: bytes | None, extra: dict[str, str]):
        headers = {
            **extra,
            "Accept": MEDIA_TYPE,
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {self.token}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = open_url(
                url,
                data=data,
                headers=headers,
                method=method,
                timeout=self.timeout,
                http_agent=USER_AGENT,
                follow_redirects="none",
                use_netrc=False,
            )
            status, raw_headers, raw = response.status, response.headers, response.read()
        except HTTPError as error:
            status, raw_headers = error.code, error.headers
            try:
                raw = error.read()
            except (OSError, http.client.HTTPException):
                raw = b""
        except (URLError, UrlsConnectionError, OSError, http.client.HTTPException) as error:
            # Retried like a 5xx. A write that timed out may have landed; callers that create things
            # (the sticky comment) find and reconcile duplicates on their next run.
            reason = getattr(error, "reason", None) or error
            return None, {}, None, f"could not reach GitHub: {reason}"
        headers = {name.lower(): value for name, value in (raw_headers or {}).items()}
        text = raw.decode("utf-8", errors="replace") if raw else ""
        try:
            payload = json.loads(text) if text.strip() else None
        except ValueError:
            if 200 <= status < 300:
                # Not retried: the request did reach GitHub, and repeating a POST could duplicate its effect.
                message = f"{method} {url}: GitHub answered {status} with a body that is not JSON: {text[:200]!r}"
                raise GitHubError(status, message, url) from None
            payload = None
        return status, headers, payload, text

    def _retry_wait(self, method, url, status, headers, payload, attempt) -> float | None:
        """Seconds to wait before the next attempt, or None when the answer is final."""
        if status is None or status >= 500:
            return min(float(2**attempt), self.max_wait)
        if not is_rate_limited(status, headers, payload):
            return None
        retry_after = _number(headers.get("retry-after"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if retry_after is not None:
            wait = retry_after
            why = f"GitHub asked to retry after {retry_after:g} s"
        elif headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            wait = max(reset - self.clock(), 1.0)
            why = f"the rate limit resets at {_utc(reset)} (in {wait:.0f} s)"
        else:
            wait = float(SECONDARY_RATE_LIMIT_WAIT * 2**attempt)
            why = f"the secondary rate limit needs a wait of {wait:g} s"
        if wait > self.max_wait:
            message = _message(payload) or "rate limit exceeded"
            raise GitHubError(
                status,
                f"GitHub rate limit hit on {method} {url} ({status} {message}): {why}, longer than the "
                f"{self.max_wait:g} s this client waits (max_wait); try again after that",
                url,
                _documentation_url(payload),
                headers=headers,
            )
        return wait

    def _error(self, method, url, status, headers, payload, text, attempts) -> GitHubError:
        where = f"{method} {url}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if status is None:
            return GitHubError(None, f"{where}: {text}{tries}", url)
        message = _message(payload) or (text.strip()[:200] if text else "") or _reason(status)
        answer = f"{status} {message}"
        documentation_url = _documentation_url(payload)
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if is_rate_limited(status, headers, payload):
            human = f"GitHub rate limit still exceeded on {where}{tries} ({answer})"
        elif status == 401:
            human = (
                f"GitHub rejected the credentials on {where} ({answer}): the token is missing, malformed, "
                "expired or revoked; check the token (or GITHUB_TOKEN)"
            )
        elif status == 403:
            human = f"GitHub refused {where} ({answer}): the token lacks the permission this needs"
            if headers.get("x-accepted-github-permissions"):
                human += f"; the endpoint accepts the permissions {headers['x-accepted-github-permissions']}"
            if headers.get("x-accepted-oauth-scopes"):
                human += (
                    f"; it accepts the OAuth scopes {headers['x-accepted-oauth-scopes']} and the token has "
                    f"{headers.get('x-oauth-scopes') or 'none'}"
                )
        elif status == 404:
            human = (
                f"GitHub answered {where} with {answer}: it does not exist, or the token cannot see it "
                "(GitHub answers 404, not 403, for private resources a token has no access to)"
            )
        elif status == 422:
            details = "; ".join(_describe(error) for error in errors or [])
            human = f"GitHub rejected {where} as invalid ({answer})" + (f": {details}" if details else "")
        else:
            human = f"GitHub answered {where} with {answer}{tries}"
        if documentation_url:
            human += f" (see {documentation_url})"
        return GitHubError(status, human, url, documentation_url, errors, headers)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url``, the port spelled out when it is the scheme's default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def next_link(link_header: str) -> str | None:
    """The ``rel="next"`` URL of a ``link`` header, or None."""
    for url, params in _LINK_VALUE.findall(link_header or ""):
        for rels in _LINK_REL.findall(params):
            if "next" in rels.split():
                return url
    return None


def is_rate_limited(status: int | None, headers: dict[str, str], payload: object) -> bool:
    """GitHub signals both primary and secondary rate limits with 403 or 429."""
    if status == 429:
        return True
    if status != 403:
        return False
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in (_message(payload) or "").lower()
    )


def _message(payload: object) -> str:
    return str(payload.get("message") or "") if isinstance(payload, dict) else ""


def _documentation_url(payload: object) -> str | None:
    return payload.get("documentation_url") if isinstance(payload, dict) else None


def _describe(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    subject = ".".join(str(error[key]) for key in ("resource", "field") if error.get(key))
    text = error.get("message") or error.get("code") or "invalid"
    if error.get("message") and error.get("code"):
        text = f"{error['message']} ({error['code']})"
    return f"{subject}: {text}" if subject else str(text)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _reason(status: int) -> str:
    return http.client.responses.get(status, "error")


def client_from_options(params: dict) -> GitHubClient:
    """The client a module's ``preview.envs.github`` options describe."""
    pace_file = params.get("pace_file") or ""
    return GitHubClient(
        params["api_url"],
        params["token"],
        timeout=params["timeout"],
        retries=params["retries"],
        pacer=WritePacer(pace_file) if pace_file else None,
    )
