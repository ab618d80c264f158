"""A local stand-in for the parts of GitHub's REST API that the collection uses.

GitHub itself is out of reach from the test machines, so tests talk to this server instead. It follows
GitHub's documented contract, taken from the OpenAPI subset in
``tests/fixtures/github/github-openapi-subset.json``, and keeps its state in memory:

* issue comments: ``GET``/``POST /repos/{owner}/{repo}/issues/{issue_number}/comments`` (``since``,
  ``per_page``, ``page``, with a ``link`` header) and ``GET``/``PATCH``/``DELETE
  /repos/{owner}/{repo}/issues/comments/{comment_id}``;
* reactions to an issue comment: ``GET``/``POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions``
  (``content``, ``per_page``, ``page``); a reaction the same user already gave answers 200 with it, a new one
  201, as documented. ``reactions(repo, comment_id)`` lists them for a test;
* repository webhooks: ``GET``/``POST /repos/{owner}/{repo}/hooks`` and ``GET``/``PATCH``/``DELETE
  /repos/{owner}/{repo}/hooks/{hook_id}``. As documented, a ``PATCH`` without ``config.secret`` removes the
  stored secret; the API shows a set secret only as ``"********"``;
* webhook deliveries: ``GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries`` (newest first, ``per_page``,
  ``status``, cursor pagination through the ``link`` header) and ``POST
  /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts`` (202 at once; the redelivery is
  sent from a thread, with the original body and ``X-GitHub-Delivery``, and recorded with ``redelivery: true``);
* a collaborator's permission: ``GET /repos/{owner}/{repo}/collaborators/{username}/permission``, from the
  roles given with ``set_role(repo, login, role)``; a login without a role answers 404;
* pull requests: ``GET /repos/{owner}/{repo}/pulls`` (``state``, ``head``, ``base``, ``sort``, ``direction``,
  ``per_page``, ``page``, with a ``link`` header; newest first by default) and ``GET
  /repos/{owner}/{repo}/pulls/{pull_number}``, from the model described below;
* deployments and commit statuses: ``GET``/``POST /repos/{owner}/{repo}/deployments`` (``sha``, ``ref``,
  ``task``, ``environment`` filters; newest first), ``GET``/``POST
  /repos/{owner}/{repo}/deployments/{deployment_id}/statuses`` and ``POST /repos/{owner}/{repo}/statuses/{sha}``.
  As documented, a deployment created without ``required_contexts`` is refused (409) while any commit status of
  its commit is not ``success``; ``auto_inactive`` retires earlier *non-transient* deployments of the environment
  only; a description over 140 characters is refused (422). ``deployments(repo, environment)`` and
  ``commit_statuses(repo, sha)`` show them to a test;
* ``GET /rate_limit``;
* ``GET /repos/{owner}/{repo}``: a minimal repository object with ``permissions``. This operation is not in
  the OpenAPI subset; it is whitelisted explicitly (see ``EXTRA_OPERATIONS``) so clients can check access;
* a GitHub App: ``GET /repos/{owner}/{repo}/installation`` and ``POST
  /app/installations/{installation_id}/access_tokens`` (``repositories``, ``repository_ids``, ``permissions``),
  both authenticated by the App's JWT. ``add_app(app_id, public_key)`` registers the App and ``install_app(repos)``
  installs it. A JWT is verified as GitHub does: an RS256 signature by the App's key, ``iss`` the App's id (or
  client ID), ``iat`` not ahead of the clock, ``exp`` in the future and at most ten minutes ahead; anything
  else answers 401 with GitHub's message. An installation token (``installation_tokens()`` lists them) lasts
  ``app_token_lifetime`` seconds of ``clock`` (an hour unless the test shortens it) and is then refused with
  401 "Bad credentials"; before that the other operations take it like a token, on the repositories it was
  given (else 404) and with the permissions ``APP_PERMISSIONS`` names for each (else 403 "Resource not
  accessible by integration" with ``x-accepted-github-permissions``). Which token a request used is in its
  recorded ``authorization`` header.

Every request is checked against the document. The method and path must match one of its path templates
(or the whitelist), path parameters must have their declared types, query parameters must be declared, and the
JSON body must satisfy the operation's ``requestBody`` schema (``type``, ``required``, ``properties``,
``additionalProperties: false``, ``enum``, ``items``, ``nullable``, ``oneOf``/``anyOf`` loosely). A request
that breaks the contract gets the answer GitHub gives (404 for an unknown route, 400 "Problems parsing JSON",
400 "Body should be a JSON object", 422 in the ``validation-error`` shape) and is described in
``violations``, so a test can assert ``standin.violations == []``. Unknown query parameters are recorded but
otherwise ignored, as GitHub ignores them. A documented operation that the stand-in does not implement answers
501 and is recorded too, so a gap in the stand-in can't pass for a working client.

Like GitHub, the ``link`` header points at ``/repositories/{repository_id}/...`` URLs, which the server also
routes: a client that builds page URLs itself instead of following the links stands out.

Authentication takes ``Authorization: Bearer TOKEN`` or ``token TOKEN``. ``tokens`` maps each known token to
its OAuth scopes; answers to a valid token carry ``X-OAuth-Scopes``. A missing token gets 401 "Requires
authentication", an unknown one 401 "Bad credentials". The repositories are private, so a token without a
scope the endpoint accepts gets 404, as GitHub answers for private resources. Every answer carries the
``x-ratelimit-*`` headers; each token has a primary budget of ``rate_limit`` requests (``GET /rate_limit``
does not count), and an exhausted budget answers 403 with ``x-ratelimit-remaining: 0``.

Where the document lists a ``304`` answer for an operation (``pulls/list``, ``pulls/get``, ``rate-limit/get``),
every 200 carries a weak ``ETag`` computed from the body and the ``link`` header, and a request whose
``If-None-Match`` names it gets ``304 Not Modified`` with no body. As GitHub documents ("Best practices for using
the REST API": a conditional request that gets a 304 while correctly authorized does not count against the
primary rate limit), such a 304 is not charged; it still carries the ``x-ratelimit-*`` headers. Each recorded
request keeps the status it was answered with, so a test can count the 304s.

Pull requests are kept as GitHub keeps them and changed with ``open_pr``, ``push``, ``close_pr``, ``reopen_pr``
and ``set_labels``; ``pull`` shows one as ``pulls/get`` does. Their time is ``clock`` (``time.time`` unless the
test passes its own). Every change sets the PR's ``updated_at`` (GitHub's whole-second ``Z`` form) to the clock's
time, or to a second past its last value when the clock has not moved on that far, so two changes within one
second still order as the shim orders them: by comparing the strings. With ``event=True`` a change returns,
instead of the PR, the ``pull_request`` webhook payload GitHub would send for it (built by
``tests.support.webhooks.pull_request_event`` from the same state), which a test can ``deliver`` or leave
undelivered, as a missed webhook. Likewise ``add_comment(..., event=True)`` returns the ``issue_comment`` payload
of the new comment (with ``issue.pull_request`` when the number is a PR's).

``fail_next`` queues canned answers (5xx, secondary rate limits, permission errors) for the next matching
requests; they are served after the contract check and before authentication.

GitHub is also a *sender*: ``deliver(repo, event, payload)`` POSTs the payload to every active hook of the
repository that subscribes to the event (or to ``*``), with the headers GitHub sends (``X-GitHub-Event``,
``X-GitHub-Delivery``, ``X-GitHub-Hook-ID``, ``User-Agent: GitHub-Hookshot/...``, ``X-Hub-Signature-256`` when
the hook has a secret), and records each attempt as a delivery: ``status`` is ``OK`` for a 2xx answer,
``Invalid HTTP Response: <code>`` for any other answer (redirects are not followed), ``failed to connect to
host`` when nothing answers (then ``status_code`` is 0). GitHub never redelivers on its own, and neither does
the stand-in. ``WebhookReceiver`` is a small local endpoint that records what it is sent.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import http.client
import itertools
import json
import math
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import jwt

from tests.support.webhooks import issue_comment_payload, pull_request_event

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "github-openapi-subset.json"
DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
DEFAULT_TOKENS: dict[str, set[str]] = {"test-token": {"repo", "admin:repo_hook"}}
DEFAULT_REPOS = ("preview-envs/demo",)
SUPPORTED_API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
MAX_COMMENT_LENGTH = 65536
MAX_STATUS_DESCRIPTION = 140
SECRET_MASK = "********"
# What GitHub's webhook sender calls itself, and how long it waits for an answer.
HOOKSHOT_USER_AGENT = "GitHub-Hookshot/044aadd"
DELIVERY_TIMEOUT = 10.0
# Pull requests: the branch they target, what `sort=long-running` means ("open for more than a month and had
# activity within the past month"), and the colour GitHub gives a label created without one.
BASE_BRANCH = "main"
LONG_RUNNING_SECONDS = 30 * 24 * 3600
LABEL_COLOR = "ededed"
SHA_PATTERN = re.compile(r"[0-9a-f]{40}")
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)

# Operations served although the OpenAPI subset does not describe them.
EXTRA_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/repos/{owner}/{repo}"): {
        "operationId": "repos/get",
        "externalDocs": {"url": "https://docs.github.com/rest/repos/repos#get-a-repository"},
        "parameters": [{"$ref": "#/components/parameters/owner"}, {"$ref": "#/components/parameters/repo"}],
    },
}

_READ_HOOK_SCOPES = frozenset({"repo", "admin:repo_hook", "write:repo_hook", "read:repo_hook"})
_WRITE_HOOK_SCOPES = frozenset({"repo", "admin:repo_hook", "write:repo_hook"})
_REPO_SCOPES = frozenset({"repo"})
# The OAuth scopes each operation accepts; None means any valid token will do.
ACCEPTED_SCOPES: dict[str, frozenset[str] | None] = {
    "issues/list-comments": _REPO_SCOPES,
    "issues/create-comment": _REPO_SCOPES,
    "issues/get-comment": _REPO_SCOPES,
    "issues/update-comment": _REPO_SCOPES,
    "issues/delete-comment": _REPO_SCOPES,
    "reactions/list-for-issue-comment": _REPO_SCOPES,
    "reactions/create-for-issue-comment": _REPO_SCOPES,
    "repos/list-webhooks": _READ_HOOK_SCOPES,
    "repos/get-webhook": _READ_HOOK_SCOPES,
    "repos/create-webhook": _WRITE_HOOK_SCOPES,
    "repos/update-webhook": _WRITE_HOOK_SCOPES,
    "repos/delete-webhook": frozenset({"repo", "admin:repo_hook"}),
    "repos/list-webhook-deliveries": _READ_HOOK_SCOPES,
    "repos/redeliver-webhook-delivery": _WRITE_HOOK_SCOPES,
    "repos/get": _REPO_SCOPES,
    "pulls/list": _REPO_SCOPES,
    "pulls/get": _REPO_SCOPES,
    "repos/get-collaborator-permission-level": _REPO_SCOPES,
    "rate-limit/get": None,
    "apps/get-repo-installation": None,  # the App's JWT, checked by _app_reply
    "apps/create-installation-access-token": None,
    "repos/list-deployments": frozenset({"repo", "repo_deployment"}),
    "repos/create-deployment": frozenset({"repo", "repo_deployment"}),
    "repos/list-deployment-statuses": frozenset({"repo", "repo_deployment"}),
    "repos/create-deployment-status": frozenset({"repo", "repo_deployment"}),
    "repos/create-commit-status": frozenset({"repo", "repo:status"}),
}

# GitHub Apps: the operations that take the App's JWT instead of a token, and the JWT's limits as GitHub checks them.
APP_JWT_OPERATIONS = frozenset({"apps/get-repo-installation", "apps/create-installation-access-token"})
APP_TOKEN_LIFETIME = 3600.0  # an installation token lasts an hour
APP_JWT_MAX_LIFETIME = 600  # an `exp` more than ten minutes ahead is refused
APP_JWT_SKEW = 60  # an `iat` this far ahead of the clock still passes
_LEVELS = {"read": 1, "write": 2, "admin": 3}
_ISSUES_READ = {"issues": "read", "pull_requests": "read"}
_ISSUES_WRITE = {"issues": "write", "pull_requests": "write"}
# The repository permissions an installation token needs for each operation (any one of them will do), as
# GitHub's REST reference lists them under "Fine-grained access"; an operation missing here is refused.
APP_PERMISSIONS: dict[str, dict[str, str]] = {
    "issues/list-comments": _ISSUES_READ,
    "issues/create-comment": _ISSUES_WRITE,
    "issues/get-comment": _ISSUES_READ,
    "issues/update-comment": _ISSUES_WRITE,
    "issues/delete-comment": _ISSUES_WRITE,
    "reactions/list-for-issue-comment": _ISSUES_READ,
    "reactions/create-for-issue-comment": _ISSUES_WRITE,
    "repos/list-webhooks": {"repository_hooks": "read"},
    "repos/get-webhook": {"repository_hooks": "read"},
    "repos/create-webhook": {"repository_hooks": "write"},
    "repos/update-webhook": {"repository_hooks": "write"},
    "repos/delete-webhook": {"repository_hooks": "write"},
    "repos/list-webhook-deliveries": {"repository_hooks": "read"},
    "repos/redeliver-webhook-delivery": {"repository_hooks": "write"},
    "repos/get": {"metadata": "read"},
    "pulls/list": {"pull_requests": "read"},
    "pulls/get": {"pull_requests": "read"},
    "repos/get-collaborator-permission-level": {"metadata": "read"},
    "repos/list-deployments": {"deployments": "read"},
    "repos/create-deployment": {"deployments": "write"},
    "repos/list-deployment-statuses": {"deployments": "read"},
    "repos/create-deployment-status": {"deployments": "write"},
    "repos/create-commit-status": {"statuses": "write"},
}
# What docs/github-app.md asks an App for.
APP_DEFAULT_PERMISSIONS = {
    "metadata": "read",
    "contents": "read",
    "pull_requests": "read",
    "issues": "write",
    "deployments": "write",
    "statuses": "write",
}

# A collaborator's role (`role_name`) and the legacy base permission GitHub reports for it (`permission`):
# maintain counts as write, triage as read.
ROLE_PERMISSIONS = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}

# The URLs of a `repository` object, below its API URL.
_REPOSITORY_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class Problem:
    """One way a value fails its schema, in the terms of a GitHub ``validation-error`` entry."""

    field: str
    code: str
    message: str


class Schemas:
    """A validator for the part of JSON Schema (OpenAPI 3.0 flavour) that the GitHub document uses."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
        return schema

    def component(self, name: str) -> dict[str, Any]:
        return self.resolve({"$ref": f"#/components/schemas/{name}"})

    def problems(self, value: Any, schema: dict[str, Any], where: str = "") -> list[Problem]:
        found: list[Problem] = []
        self._check(value, schema, where, found)
        return found

    def _check(self, value: Any, schema: dict[str, Any], where: str, found: list[Problem]) -> None:
        schema = self.resolve(schema)
        if value is None:
            if not schema.get("nullable") and ("type" in schema or "properties" in schema):
                found.append(Problem(where, "invalid", f"For '{where or 'body'}', null is not allowed."))
            return
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if alternatives and not any(not self.problems(value, option, where) for option in alternatives):
            found.append(Problem(where, "invalid", f"For '{where}', {_show(value)} does not match any allowed form."))
        expected = schema.get("type")
        if expected and not _has_type(value, expected):
            found.append(Problem(where, "invalid", f"For '{where or 'body'}', {_show(value)} is not {_a(expected)}."))
            return
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(str(option) for option in schema["enum"])
            found.append(Problem(where, "invalid", f"For '{where}', {_show(value)} is not one of: {allowed}."))
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    found.append(Problem(_join(where, name), "missing_field", f'"{name}" wasn\'t supplied.'))
            for name, item in value.items():
                if name in properties:
                    self._check(item, properties[name], _join(where, name), found)
                elif schema.get("additionalProperties") is False:
                    found.append(Problem(_join(where, name), "invalid", f'"{name}" is not a permitted key.'))
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                self._check(item, schema["items"], f"{where}[{index}]", found)


def _has_type(value: Any, expected: str) -> bool:
    if isinstance(value, bool) and expected != "boolean":
        return False
    return isinstance(value, _JSON_TYPES.get(expected, (object,)))


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _show(value: Any) -> str:
    return json.dumps(value)[:60]


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@dataclass
class RecordedRequest:
    """One request as the stand-in received it, and the status it was answered with. Header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]
    raw_body: bytes = b""
    status: int = 0


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Injection:
    remaining: int
    reply: Reply
    method: str | None
    path_prefix: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


@dataclass
class _Operation:
    template: str
    method: str
    spec: dict[str, Any]
    params: dict[str, str]

    @property
    def operation_id(self) -> str:
        return self.spec["operationId"]

    @property
    def docs(self) -> str:
        return self.spec.get("externalDocs", {}).get("url", DOCS_URL)


class _ContractError(Exception):
    def __init__(self, reply: Reply, violation: str) -> None:
        super().__init__(violation)
        self.reply = reply
        self.violation = violation


@dataclass
class _Bucket:
    limit: int
    reset: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


class GitHubStandIn:
    """An in-memory GitHub REST API on ``http://127.0.0.1:<free port>``; see the module docstring.

    Use it as a context manager, or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        repos: Iterable[str] = DEFAULT_REPOS,
        tokens: dict[str, set[str]] | None = None,
        *,
        login: str = "preview-bot",
        rate_limit: int = 5000,
        openapi_path: Path = OPENAPI_PATH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.document = json.loads(Path(openapi_path).read_text(encoding="utf-8"))
        self.schemas = Schemas(self.document)
        self.tokens = {token: set(scopes) for token, scopes in (tokens or DEFAULT_TOKENS).items()}
        self.login = login
        self.rate_limit = rate_limit
        # The time of the pull-request model (its timestamps and sort=long-running); a test may pass its own.
        self.clock = clock
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1001)
        self._repos: dict[str, dict[str, Any]] = {}
        for full_name in repos:
            self._add_repo(full_name)
        self._comments: dict[int, dict[str, Any]] = {}
        self._reactions: dict[int, list[dict[str, Any]]] = {}  # comment id -> its reactions, oldest first
        self._hooks: dict[int, dict[str, Any]] = {}
        self._injections: list[_Injection] = []
        self._deliveries: dict[int, dict[str, Any]] = {}
        self._delivery_ids = itertools.count(70000000001)
        self._senders: list[threading.Thread] = []
        self._buckets: dict[str, _Bucket] = {}
        self._roles: dict[tuple[str, str], str] = {}
        self._pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self._label_ids: dict[tuple[str, str], int] = {}
        self._fork_ids: dict[str, int] = {}
        self._deployments: dict[int, dict[str, Any]] = {}  # id -> deployment, with its statuses oldest first
        self._commit_statuses: list[dict[str, Any]] = []  # oldest first
        self._app: dict[str, Any] | None = None  # the GitHub App (add_app), its installations and their tokens
        self._installations: dict[int, dict[str, Any]] = {}
        self._installation_tokens: dict[str, dict[str, Any]] = {}
        self.app_token_lifetime = APP_TOKEN_LIFETIME
        self._created = _iso(clock())
        self._routes = self._compile_routes()
        self._handlers = self._handler_table()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        if self._server is not None:
            return self
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="github-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.join_redeliveries(DELIVERY_TIMEOUT + 2)
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the GitHub stand-in is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- test helpers --------------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        status: int = 502,
        headers: dict[str, str] | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status``.

        ``method`` and ``path_prefix`` narrow which requests match. ``headers`` override the usual ones
        (use them for ``retry-after``, ``x-ratelimit-remaining``/``x-ratelimit-reset`` or
        ``X-Accepted-GitHub-Permissions``). ``body`` is sent as JSON, or as is when it is ``str`` or
        ``bytes``; by default it is the secondary-rate-limit message for 403 and 429, else ``basic-error``.
        """
        if body is None:
            if status in (403, 429):
                body = {
                    "message": SECONDARY_RATE_LIMIT_MESSAGE,
                    "documentation_url": f"{RATE_LIMIT_DOCS_URL}#about-secondary-rate-limits",
                }
            else:
                body = _basic_error(status, HTTPStatus(status).phrase)
        reply = Reply(status, body, {name.lower(): str(value) for name, value in (headers or {}).items()})
        with self._lock:
            self._injections.append(_Injection(count, reply, method, path_prefix))

    def add_comment(
        self,
        repo: str,
        number: int,
        body: str,
        *,
        login: str | None = None,
        author_association: str = "OWNER",
        event: bool = False,
    ) -> dict[str, Any]:
        """Store a comment as if someone had posted it; returns its API representation, or with ``event=True``
        the ``issue_comment`` (``created``) payload GitHub sends for it."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            comment = self._new_comment(full_name, number, body, login or self.login)
            comment["author_association"] = author_association
            view = self._comment_view(comment)
            if not event:
                return view
            on_pull_request = (full_name.lower(), number) in self._pulls
            payload = issue_comment_payload(
                full_name, number, view["id"], body, comment["login"], on_pull_request=on_pull_request
            )
            payload["comment"] = {**view, "reactions": payload["comment"]["reactions"]}
            payload["repository"] = self._repository_view(full_name)
            payload["sender"] = self._account_view(comment["login"])
            return payload

    def reactions(self, repo: str, comment_id: int) -> list[dict[str, Any]]:
        """The reactions to an issue comment, oldest first, in API shape (``reaction``)."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            comment = self._comments.get(comment_id)
            if comment is None or comment["repo"] != full_name:
                return []
            return copy.deepcopy(self._reactions.get(comment_id, []))

    def deployments(self, repo: str, environment: str | None = None) -> list[dict[str, Any]]:
        """The repository's deployments, oldest first, in API shape (``deployment``), each with ``statuses``: its
        deployment statuses, oldest first (``deployment-status``); only ``environment``'s when given."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            return [
                dict(
                    self._deployment_view(item),
                    statuses=[self._deployment_status_view(item, s) for s in item["statuses"]],
                )
                for item in sorted(self._deployments.values(), key=lambda item: item["id"])
                if item["repo"] == full_name and environment in (None, item["environment"])
            ]

    def commit_statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The commit statuses set on ``sha``, oldest first, in API shape (``status``)."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            return [
                self._commit_status_view(item)
                for item in self._commit_statuses
                if item["repo"] == full_name and item["sha"] == sha
            ]

    def set_role(self, repo: str, login: str, role: str | None) -> None:
        """Give `login` a role on `repo` (admin, maintain, write, triage, read), or take it away with None."""
        if role is not None and role not in ROLE_PERMISSIONS:
            raise ValueError(f"roles are {', '.join(ROLE_PERMISSIONS)}, not {role!r}")
        with self._lock:
            key = (self._repo(repo)["full_name"].lower(), login.lower())
            if role is None:
                self._roles.pop(key, None)
            else:
                self._roles[key] = role

    def open_pr(
        self,
        repo: str,
        number: int | None = None,
        *,
        sha: str,
        user: str = "octocat",
        head_repo: str | None = None,
        head_ref: str | None = None,
        labels: Iterable[str] = (),
        title: str = "A change",
        draft: bool = False,
        event: bool = False,
    ) -> dict[str, Any]:
        """Open a pull request from ``head_repo`` (a fork when it is not ``repo``; ``repo`` itself by default).

        ``number`` defaults to the repository's next one. Returns the PR as ``pull`` does, or with ``event=True``
        the ``opened`` payload.
        """
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            taken = [key[1] for key in self._pulls if key[0] == full_name.lower()]
            number = number if number is not None else max(taken, default=0) + 1
            if number < 1:
                raise ValueError(f"pull request numbers start at 1, not {number}")
            if number in taken:
                raise ValueError(f"{full_name} already has a pull request #{number}")
            head = head_repo or full_name
            if len(head.split("/")) != 2 or not all(head.split("/")):
                raise ValueError(f"head_repo looks like owner/name, not {head!r}")
            labels = list(dict.fromkeys(labels))
            pr = {
                "id": next(self._ids),
                "repo": full_name,
                "number": number,
                "title": title,
                "user": user,
                "head_repo": full_name if head.lower() == full_name.lower() else head,
                "head_ref": head_ref or f"change-{number}",
                "shas": [_checked_sha(sha)],
                "labels": [_checked_label(label) for label in labels],
                "draft": draft,
                "state": "open",
                "merged_by": None,
                "created_at": 0,
                "updated_at": 0,
                "closed_at": None,
                "merged_at": None,
            }
            self._touch(pr)
            pr["created_at"] = pr["updated_at"]
            self._pulls[(full_name.lower(), number)] = pr
            return self._pull_change(pr, event, "opened", user)

    def push(self, repo: str, number: int, sha: str, *, event: bool = False) -> dict[str, Any]:
        """Push ``sha`` to an open PR's head branch, as its author; ``event=True``: the ``synchronize`` payload."""
        with self._lock:
            pr = self._open_pull(repo, number)
            before = pr["shas"][-1]
            if _checked_sha(sha) == before:
                raise ValueError(f"{pr['repo']}#{number} is already at {sha}")
            pr["shas"].append(sha)
            self._touch(pr)
            return self._pull_change(pr, event, "synchronize", pr["user"], before=before)

    def close_pr(
        self, repo: str, number: int, merged: bool = False, *, sender: str | None = None, event: bool = False
    ) -> dict[str, Any]:
        """Close an open PR, merging it when ``merged``; ``sender`` (the author by default) is who did it."""
        with self._lock:
            pr = self._open_pull(repo, number)
            sender = sender or pr["user"]
            self._touch(pr)
            pr.update(state="closed", closed_at=pr["updated_at"])
            if merged:
                pr.update(merged_at=pr["updated_at"], merged_by=sender)
            return self._pull_change(pr, event, "closed", sender)

    def reopen_pr(self, repo: str, number: int, *, sender: str | None = None, event: bool = False) -> dict[str, Any]:
        """Reopen a PR that was closed without being merged (GitHub cannot reopen a merged one)."""
        with self._lock:
            pr = self._find_pull(repo, number)
            if pr["state"] == "open" or pr["merged_at"] is not None:
                state = "open" if pr["state"] == "open" else "merged"
                raise ValueError(f"{pr['repo']}#{number} is {state}; only a closed, unmerged PR can be reopened")
            self._touch(pr)
            pr.update(state="open", closed_at=None)
            return self._pull_change(pr, event, "reopened", sender or pr["user"])

    def set_labels(
        self, repo: str, number: int, labels: Iterable[str], *, sender: str | None = None, event: bool = False
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Give a PR exactly ``labels``, one change at a time as GitHub records them: removals, then additions.

        Each change moves ``updated_at``. Returns the PR, or with ``event=True`` the list of ``unlabeled`` and
        ``labeled`` payloads, one per change, each showing the PR as it was right after that change.
        """
        with self._lock:
            pr = self._find_pull(repo, number)
            sender = sender or pr["user"]
            wanted = [_checked_label(label) for label in dict.fromkeys(labels)]
            payloads = []
            for name in [name for name in pr["labels"] if name not in wanted]:
                pr["labels"].remove(name)
                self._touch(pr)
                payloads.append(self._pull_change(pr, event, "unlabeled", sender, label=name))
            for name in [name for name in wanted if name not in pr["labels"]]:
                pr["labels"].append(name)
                self._touch(pr)
                payloads.append(self._pull_change(pr, event, "labeled", sender, label=name))
            return payloads if event else self._pull_view(pr)

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """A pull request as ``GET /repos/{owner}/{repo}/pulls/{pull_number}`` shows it."""
        with self._lock:
            return self._pull_view(self._find_pull(repo, number))

    def add_hook(
        self,
        repo: str,
        url: str,
        *,
        events: list[str] | None = None,
        secret: str | None = None,
        content_type: str = "json",
        active: bool = True,
    ) -> dict[str, Any]:
        """Store a webhook as if someone had created it; returns its server-side state (see ``hooks``)."""
        config = {"url": url, "content_type": content_type, "insecure_ssl": "0"}
        if secret:
            config["secret"] = secret
        with self._lock:
            hook = self._new_hook(self._repo(repo)["full_name"], config, events or ["push"], active)
            return self._hook_view(hook, reveal_secret=True)

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The comments of an issue or pull request, in API shape, ascending by ID."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            return [
                self._comment_view(comment)
                for comment in sorted(self._comments.values(), key=lambda item: item["id"])
                if comment["repo"] == full_name and comment["issue_number"] == number
            ]

    def hooks(self, repo: str) -> list[dict[str, Any]]:
        """The webhooks of a repository in API shape, except that ``config.secret`` is the real secret."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            return [
                self._hook_view(hook, reveal_secret=True)
                for hook in sorted(self._hooks.values(), key=lambda item: item["id"])
                if hook["repo"] == full_name
            ]

    def deliver(self, repo: str, event: str, payload: dict[str, Any], guid: str | None = None) -> list[dict[str, Any]]:
        """Send ``payload`` as GitHub would: to each active hook of ``repo`` subscribed to ``event`` (or ``*``).

        Synchronous: returns the recorded deliveries (``hook-delivery-item`` shape), one per hook, in hook order.
        ``guid`` is the ``X-GitHub-Delivery`` value; a new UUID when None.
        """
        body = json.dumps(payload).encode("utf-8")
        guid = guid or str(uuid.uuid4())
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            hooks = [
                copy.deepcopy(hook)
                for hook in sorted(self._hooks.values(), key=lambda item: item["id"])
                if hook["repo"] == full_name and hook["active"] and ({event, "*"} & set(hook["events"]))
            ]
        return [self._send_delivery(hook, guid, event, action, body, redelivery=False) for hook in hooks]

    def deliveries(self, repo: str, hook_id: int | None = None) -> list[dict[str, Any]]:
        """The recorded deliveries of the repository's hooks (or of one hook), newest first, in API shape."""
        with self._lock:
            full_name = self._repo(repo)["full_name"]
            return [
                self._delivery_view(record)
                for record in sorted(self._deliveries.values(), key=lambda item: -item["id"])
                if record["repo"] == full_name and hook_id in (None, record["hook_id"])
            ]

    def join_redeliveries(self, timeout: float = DELIVERY_TIMEOUT + 2) -> bool:
        """Wait for the redeliveries that ``POST .../attempts`` started; True when none is still sending."""
        deadline = time.monotonic() + timeout
        with self._lock:
            senders = list(self._senders)
        for sender in senders:
            sender.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._senders = [sender for sender in self._senders if sender.is_alive()]
            return not self._senders

    def writes(self) -> list[RecordedRequest]:
        """The recorded requests that could change state (anything but GET)."""
        with self._lock:
            return [request for request in self.requests if request.method != "GET"]

    # -- request handling ----------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            token = _bearer(request.headers.get("authorization", ""))
            known = token in self.tokens or token in self._installation_tokens
            bucket = self._bucket(token if known else None)
            try:
                reply = self._reply(request, token, bucket)
            except _ContractError as error:
                self.violations.append(f"{request.method} {request.path}: {error.violation}")
                reply = error.reply
            headers = {
                "content-type": "application/json; charset=utf-8",
                "x-github-api-version-selected": request.headers.get("x-github-api-version", "2022-11-28"),
                "x-github-media-type": "github.v3; format=json",
                "x-github-request-id": f"STANDIN:{len(self.requests)}",
                "x-ratelimit-limit": str(bucket.limit),
                "x-ratelimit-remaining": str(bucket.remaining),
                "x-ratelimit-used": str(bucket.used),
                "x-ratelimit-reset": str(bucket.reset),
                "x-ratelimit-resource": "core",
            }
            if token in self.tokens:
                headers["x-oauth-scopes"] = ", ".join(sorted(self.tokens[token]))
            headers.update(reply.headers)
            request.status = reply.status
            return Reply(reply.status, reply.body, headers)

    def _reply(self, request: RecordedRequest, token: str | None, bucket: _Bucket) -> Reply:
        operation = self._check_contract(request)
        for injection in self._injections:
            if injection.matches(request.method, request.path):
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                if operation.operation_id != "rate-limit/get":
                    bucket.used += 1
                return copy.deepcopy(injection.reply)
        if token is None:
            return Reply(401, {"message": "Requires authentication", "documentation_url": DOCS_URL})
        if operation.operation_id in APP_JWT_OPERATIONS:
            return self._app_reply(operation, request, token)
        denied = self._installation_denial(operation, token)
        if denied is not None:
            return denied
        if token not in self.tokens and token not in self._installation_tokens:
            return Reply(401, {"message": "Bad credentials", "documentation_url": DOCS_URL})
        if operation.operation_id != "rate-limit/get":
            if bucket.remaining == 0:
                return Reply(
                    403,
                    {
                        "message": "API rate limit exceeded for user ID 1001. If you reach out to GitHub "
                        "Support for help, please include the request ID.",
                        "documentation_url": f"{RATE_LIMIT_DOCS_URL}#about-primary-rate-limits",
                    },
                )
            bucket.used += 1
        handler = self._handlers.get(operation.operation_id)
        if handler is None:
            raise _ContractError(
                Reply(501, _basic_error(501, "Not implemented by the GitHub stand-in")),
                f"{operation.operation_id} is in the contract but the stand-in does not implement it",
            )
        accepted = ACCEPTED_SCOPES.get(operation.operation_id)
        extra_headers: dict[str, str] = {}
        if accepted is not None:
            extra_headers["x-accepted-oauth-scopes"] = ", ".join(sorted(accepted))
            if token in self.tokens and not accepted & self.tokens[token]:
                return Reply(404, _basic_error(404, "Not Found", operation.docs), extra_headers)
        reply = handler(operation, request)
        reply.headers = {**extra_headers, **reply.headers}
        if reply.status == 200 and "304" in operation.spec.get("responses", {}):
            reply = self._conditional(request, reply)
            if reply.status == 304 and operation.operation_id != "rate-limit/get":
                bucket.used -= 1
        return reply

    @staticmethod
    def _conditional(request: RecordedRequest, reply: Reply) -> Reply:
        """Tag a 200 with a weak ETag; answer 304 when ``If-None-Match`` already names it (weak comparison)."""
        digest = hashlib.sha256(json.dumps([reply.body, reply.headers.get("link", "")]).encode()).hexdigest()
        etag = f'W/"{digest}"'
        wanted = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
        if wanted & {"*", etag.removeprefix("W/")}:
            kept = {name: value for name, value in reply.headers.items() if name != "link"}
            return Reply(304, None, {**kept, "etag": etag})
        return Reply(reply.status, reply.body, {**reply.headers, "etag": etag})

    def _handler_table(self) -> dict[str, Callable[[_Operation, RecordedRequest], Reply]]:
        return {
            "issues/list-comments": self._list_comments,
            "issues/create-comment": self._create_comment,
            "issues/get-comment": self._get_comment,
            "issues/update-comment": self._update_comment,
            "issues/delete-comment": self._delete_comment,
            "reactions/list-for-issue-comment": self._list_reactions,
            "reactions/create-for-issue-comment": self._create_reaction,
            "repos/list-webhooks": self._list_hooks,
            "repos/create-webhook": self._create_hook,
            "repos/get-webhook": self._get_hook,
            "repos/update-webhook": self._update_hook,
            "repos/delete-webhook": self._delete_hook,
            "repos/list-webhook-deliveries": self._list_deliveries,
            "repos/redeliver-webhook-delivery": self._redeliver,
            "repos/get": self._get_repo,
            "pulls/list": self._list_pulls,
            "pulls/get": self._get_pull,
            "repos/get-collaborator-permission-level": self._get_collaborator_permission,
            "rate-limit/get": self._get_rate_limit,
            "apps/get-repo-installation": self._get_repo_installation,
            "apps/create-installation-access-token": self._create_installation_token,
            "repos/list-deployments": self._list_deployments,
            "repos/create-deployment": self._create_deployment,
            "repos/list-deployment-statuses": self._list_deployment_statuses,
            "repos/create-deployment-status": self._create_deployment_status,
            "repos/create-commit-status": self._create_commit_status,
        }

    # -- the contract --------------------------------------------------------------------------------------

    def _compile_routes(self) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
        path_items: dict[str, dict[str, Any]] = {
            template: dict(item) for template, item in self.document["paths"].items()
        }
        for (method, template), spec in EXTRA_OPERATIONS.items():
            path_items.setdefault(template, {})[method] = spec
        routes = []
        for template, item in path_items.items():
            multi_segment = {
                param["name"]
                for method in _HTTP_METHODS
                if method in item
                for param in map(self.schemas.resolve, self._parameters(item, item[method]))
                if param.get("x-multi-segment")
            }
            pattern = ""
            for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
                pattern += re.escape(literal)
                if name:
                    pattern += f"(?P<{name}>.+)" if name in multi_segment else f"(?P<{name}>[^/]+)"
            routes.append((re.compile(f"^{pattern}$"), template, item))
        # The most literal template wins, so /issues/comments/{id} never reads as /issues/{number}/comments.
        routes.sort(key=lambda route: -len(re.sub(r"\{\w+\}", "", route[1])))
        return routes

    @staticmethod
    def _parameters(path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        return list(path_item.get("parameters", [])) + list(operation.get("parameters", []))

    def _check_contract(self, request: RecordedRequest) -> _Operation:
        user_agent = request.headers.get("user-agent", "").strip()
        if not user_agent:
            raise _ContractError(
                Reply(
                    403,
                    {
                        "message": "Request forbidden by administrative rules. Please make sure your request "
                        "has a User-Agent header (https://docs.github.com/rest/overview/resources-in-the-rest-api"
                        "#user-agent-required). Check https://developer.github.com for other possible causes."
                    },
                ),
                "no User-Agent header",
            )
        version = request.headers.get("x-github-api-version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            raise _ContractError(
                Reply(400, _basic_error(400, f"Unsupported 'X-GitHub-Api-Version' header: {version!r}.")),
                f"unsupported X-GitHub-Api-Version {version!r}",
            )
        path = self._canonical_path(request.path)
        method = request.method.lower()
        not_found = Reply(404, _basic_error(404, "Not Found"))
        matches = [(pattern.match(path), template, item) for pattern, template, item in self._routes]
        matches = [(matched, template, item) for matched, template, item in matches if matched]
        if not matches:
            raise _ContractError(not_found, "no path template in the contract matches")
        for matched, template, item in matches:
            if method in _HTTP_METHODS and method in item:
                operation = _Operation(template, request.method, item[method], matched.groupdict())
                self._check_parameters(request, item, operation, not_found)
                self._check_body(request, operation)
                return operation
        templates = ", ".join(match[1] for match in matches)
        raise _ContractError(not_found, f"the contract has no {request.method} operation on {templates}")

    def _canonical_path(self, path: str) -> str:
        """Map GitHub's ``/repositories/{id}/...`` link form onto ``/repos/{owner}/{repo}/...``."""
        matched = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if not matched:
            return path
        for repo in self._repos.values():
            if repo["id"] == int(matched.group(1)):
                return f"/repos/{repo['full_name']}{matched.group(2) or ''}"
        return path

    def _check_parameters(
        self, request: RecordedRequest, item: dict[str, Any], operation: _Operation, not_found: Reply
    ) -> None:
        declared = {}
        for param in self._parameters(item, operation.spec):
            param = self.schemas.resolve(param)
            declared[(param["in"], param["name"])] = param.get("schema", {})
        for name, value in operation.params.items():
            schema = declared.get(("path", name), {})
            if schema.get("type") == "integer" and not value.isdigit():
                raise _ContractError(not_found, f"path parameter {name}={value!r} is not an integer")
        for name, values in request.query.items():
            schema = declared.get(("query", name))
            if schema is None:
                self.violations.append(
                    f"{request.method} {request.path}: query parameter {name!r} is not in the contract"
                )
                continue
            for value in values:
                if schema.get("type") == "integer" and not value.lstrip("-").isdigit():
                    self.violations.append(
                        f"{request.method} {request.path}: query parameter {name}={value!r} is not an integer"
                    )
                if "enum" in schema and value not in schema["enum"]:
                    self.violations.append(
                        f"{request.method} {request.path}: query parameter {name}={value!r} is not one of "
                        f"{schema['enum']}"
                    )

    def _check_body(self, request: RecordedRequest, operation: _Operation) -> None:
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if request.raw_body.strip():
                self.violations.append(f"{request.method} {request.path}: sends a body, but the operation takes none")
            return
        schema = request_body["content"]["application/json"]["schema"]
        if not request.raw_body.strip():
            value: Any = {}
        else:
            try:
                value = json.loads(request.raw_body)
            except ValueError:
                raise _ContractError(
                    Reply(400, _basic_error(400, "Problems parsing JSON", operation.docs)), "body is not JSON"
                ) from None
        if value is None and self.schemas.resolve(schema).get("nullable"):
            return
        if self.schemas.resolve(schema).get("type") == "object" and not isinstance(value, dict):
            raise _ContractError(
                Reply(400, _basic_error(400, "Body should be a JSON object", operation.docs)),
                "body is not a JSON object",
            )
        problems = self.schemas.problems(value, schema)
        if problems:
            raise _ContractError(
                self._validation_failed(operation, problems, "Invalid request.\n\n"),
                "; ".join(problem.message for problem in problems),
            )

    def _validation_failed(self, operation: _Operation, problems: list[Problem], prefix: str = "") -> Reply:
        resource = {"issues": "IssueComment", "repos": "Hook", "reactions": "Reaction"}.get(
            operation.operation_id.split("/")[0], ""
        )
        message = prefix + "\n".join(problem.message for problem in problems) if prefix else "Validation Failed"
        return Reply(
            422,
            {
                "message": message,
                "errors": [
                    {
                        "resource": resource,
                        "code": problem.code,
                        "field": problem.field,
                        "message": problem.message,
                    }
                    for problem in problems
                ],
                "documentation_url": operation.docs,
                "status": "422",
            },
        )

    # -- state ---------------------------------------------------------------------------------------------

    def _add_repo(self, full_name: str) -> None:
        owner, name = full_name.split("/", 1)
        if not owner or not name or "/" in name:
            raise ValueError(f"repository names look like owner/name, not {full_name!r}")
        self._repos[full_name.lower()] = {"id": 500000 + len(self._repos) + 1, "full_name": full_name}

    def _repo(self, full_name: str) -> dict[str, Any]:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"the stand-in does not know the repository {full_name!r}") from None

    def _bucket(self, token: str | None) -> _Bucket:
        key = token or ""
        if key not in self._buckets:
            limit = self.rate_limit if token else 60
            self._buckets[key] = _Bucket(limit=limit, reset=int(time.time()) + 3600)
        return self._buckets[key]

    def _new_comment(self, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        now = _timestamp()
        comment = {
            "id": next(self._ids),
            "repo": repo,
            "issue_number": number,
            "body": body,
            "login": login,
            "author_association": "OWNER",
            "created_at": now,
            "updated_at": now,
        }
        self._comments[comment["id"]] = comment
        return comment

    def _new_hook(self, repo: str, config: dict[str, Any], events: list[str], active: bool) -> dict[str, Any]:
        now = _timestamp()
        hook = {
            "id": next(self._ids),
            "repo": repo,
            "name": "web",
            "active": active,
            "events": list(events),
            "config": dict(config),
            "created_at": now,
            "updated_at": now,
        }
        self._hooks[hook["id"]] = hook
        return hook

    def _api_root(self) -> str:
        return self.base_url if self._server is not None else "https://api.github.com"

    def _user_view(self, login: str) -> dict[str, Any]:
        root = self._api_root()
        user_id = 1001 if login == self.login else 2000 + sum(login.encode())
        return {
            "login": login,
            "id": user_id,
            "node_id": base64.b64encode(f"04:User{user_id}".encode()).decode(),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
            "gravatar_id": "",
            "url": f"{root}/users/{login}",
            "html_url": f"https://github.com/{login}",
            "followers_url": f"{root}/users/{login}/followers",
            "following_url": f"{root}/users/{login}/following{{/other_user}}",
            "gists_url": f"{root}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{root}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{root}/users/{login}/subscriptions",
            "organizations_url": f"{root}/users/{login}/orgs",
            "repos_url": f"{root}/users/{login}/repos",
            "events_url": f"{root}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{root}/users/{login}/received_events",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def _comment_view(self, comment: dict[str, Any]) -> dict[str, Any]:
        repo, number, comment_id = comment["repo"], comment["issue_number"], comment["id"]
        root = self._api_root()
        return {
            "id": comment_id,
            "node_id": base64.b64encode(f"012:IssueComment{comment_id}".encode()).decode(),
            "url": f"{root}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
            "body": comment["body"],
            "user": self._user_view(comment["login"]),
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "issue_url": f"{root}/repos/{repo}/issues/{number}",
            "author_association": comment["author_association"],
            "performed_via_github_app": None,
        }

    def _hook_view(self, hook: dict[str, Any], *, reveal_secret: bool = False) -> dict[str, Any]:
        url = f"{self._api_root()}/repos/{hook['repo']}/hooks/{hook['id']}"
        config = {key: value for key, value in hook["config"].items() if key != "secret"}
        if hook["config"].get("secret"):
            config["secret"] = hook["config"]["secret"] if reveal_secret else SECRET_MASK
        return {
            "type": "Repository",
            "id": hook["id"],
            "name": hook["name"],
            "active": hook["active"],
            "events": list(hook["events"]),
            "config": config,
            "updated_at": hook["updated_at"],
            "created_at": hook["created_at"],
            "url": url,
            "test_url": f"{url}/test",
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "last_response": {"code": None, "status": "unused", "message": None},
        }

    def _page(self, operation: _Operation, request: RecordedRequest, items: list[Any], repo: dict[str, Any]) -> Reply:
        def number(name: str, default: int) -> int:
            values = request.query.get(name)
            try:
                return int(values[-1]) if values else default
            except ValueError:
                return default

        per_page = number("per_page", 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(number("page", 1), 1)
        last = max(math.ceil(len(items) / per_page), 1)
        kept = [(name, value) for name, values in request.query.items() if name != "page" for value in values]
        suffix = operation.template.replace("/repos/{owner}/{repo}", "", 1).format(**operation.params)

        def link(target: int, rel: str) -> str:
            query = urlencode([*kept, ("page", target)])
            return f'<{self.base_url}/repositories/{repo["id"]}{suffix}?{query}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(min(page - 1, last), "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        headers = {"link": ", ".join(links)} if links else {}
        return Reply(200, items[(page - 1) * per_page : page * per_page], headers)

    def _repo_or_404(self, operation: _Operation) -> dict[str, Any] | None:
        return self._repos.get(f"{operation.params['owner']}/{operation.params['repo']}".lower())

    @staticmethod
    def _not_found(operation: _Operation) -> Reply:
        return Reply(404, _basic_error(404, "Not Found", operation.docs))

    # -- issue comments ------------------------------------------------------------------------------------

    def _list_comments(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        number = int(operation.params["issue_number"])
        if repo is None or number < 1:
            return self._not_found(operation)
        since = (request.query.get("since") or [""])[-1]
        comments = [
            self._comment_view(comment)
            for comment in sorted(self._comments.values(), key=lambda item: item["id"])
            if comment["repo"] == repo["full_name"]
            and comment["issue_number"] == number
            and comment["updated_at"] >= since
        ]
        return self._page(operation, request, comments, repo)

    def _create_comment(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        number = int(operation.params["issue_number"])
        if repo is None or number < 1:
            return self._not_found(operation)
        problem = self._comment_body_problem(request.json["body"])
        if problem:
            return self._validation_failed(operation, [problem])
        comment = self._new_comment(repo["full_name"], number, request.json["body"], self.login)
        view = self._comment_view(comment)
        return Reply(201, view, {"location": view["url"]})

    @staticmethod
    def _comment_body_problem(body: str) -> Problem | None:
        if not body.strip():
            return Problem("body", "missing_field", "body cannot be blank")
        if len(body) > MAX_COMMENT_LENGTH:
            return Problem("body", "custom", f"body is too long (maximum is {MAX_COMMENT_LENGTH} characters)")
        return None

    def _find_comment(self, operation: _Operation) -> dict[str, Any] | None:
        repo = self._repo_or_404(operation)
        comment = self._comments.get(int(operation.params["comment_id"]))
        if repo is None or comment is None or comment["repo"] != repo["full_name"]:
            return None
        return comment

    def _get_comment(self, operation: _Operation, request: RecordedRequest) -> Reply:
        comment = self._find_comment(operation)
        return Reply(200, self._comment_view(comment)) if comment else self._not_found(operation)

    def _update_comment(self, operation: _Operation, request: RecordedRequest) -> Reply:
        comment = self._find_comment(operation)
        if comment is None:
            return self._not_found(operation)
        problem = self._comment_body_problem(request.json["body"])
        if problem:
            return self._validation_failed(operation, [problem])
        comment["body"] = request.json["body"]
        comment["updated_at"] = _timestamp()
        return Reply(200, self._comment_view(comment))

    def _delete_comment(self, operation: _Operation, request: RecordedRequest) -> Reply:
        comment = self._find_comment(operation)
        if comment is None:
            return self._not_found(operation)
        del self._comments[comment["id"]]
        self._reactions.pop(comment["id"], None)
        return Reply(204)

    # -- reactions -----------------------------------------------------------------------------------------

    def _list_reactions(self, operation: _Operation, request: RecordedRequest) -> Reply:
        comment = self._find_comment(operation)
        if comment is None:
            return self._not_found(operation)
        content = (request.query.get("content") or [""])[-1]
        items = [item for item in self._reactions.get(comment["id"], []) if content in ("", item["content"])]
        return self._page(operation, request, copy.deepcopy(items), self._repo_or_404(operation))

    def _create_reaction(self, operation: _Operation, request: RecordedRequest) -> Reply:
        comment = self._find_comment(operation)
        if comment is None:
            return self._not_found(operation)
        content = request.json["content"]
        reactions = self._reactions.setdefault(comment["id"], [])
        for reaction in reactions:
            if reaction["user"]["login"] == self.login and reaction["content"] == content:
                return Reply(200, copy.deepcopy(reaction))
        reaction_id = next(self._ids)
        reaction = {
            "id": reaction_id,
            "node_id": base64.b64encode(f"08:Reaction{reaction_id}".encode()).decode(),
            "user": self._user_view(self.login),
            "content": content,
            "created_at": _timestamp(),
        }
        reactions.append(reaction)
        return Reply(201, copy.deepcopy(reaction))

    # -- webhooks ------------------------------------------------------------------------------------------

    def _list_hooks(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        hooks = [
            self._hook_view(hook)
            for hook in sorted(self._hooks.values(), key=lambda item: item["id"])
            if hook["repo"] == repo["full_name"]
        ]
        return self._page(operation, request, hooks, repo)

    def _hook_config_problems(self, config: dict[str, Any]) -> list[Problem]:
        problems = []
        if not config.get("url"):
            problems.append(Problem("config.url", "custom", "Config must have a url"))
        if config.get("insecure_ssl") not in ("0", "1"):
            problems.append(Problem("config.insecure_ssl", "invalid", "insecure_ssl must be 0 or 1"))
        if config.get("content_type") not in ("json", "form"):
            problems.append(Problem("config.content_type", "invalid", "content_type must be json or form"))
        return problems

    @staticmethod
    def _merge_config(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        merged = {key: value for key, value in current.items() if key != "secret"}
        for key in ("url", "content_type", "insecure_ssl"):
            if key in given:
                value = given[key]
                merged[key] = str(int(value)) if key == "insecure_ssl" and isinstance(value, int | float) else value
        if given.get("secret"):
            merged["secret"] = given["secret"]
        return merged

    def _duplicate_hook(self, repo: str, config: dict[str, Any], events: list[str], exclude: int = 0) -> bool:
        return any(
            hook["repo"] == repo
            and hook["id"] != exclude
            and hook["config"].get("url") == config.get("url")
            and set(hook["events"]) & set(events)
            for hook in self._hooks.values()
        )

    def _create_hook(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        body = request.json or {}
        problems = []
        if body.get("name", "web") != "web":
            problems.append(Problem("name", "invalid", "name only accepts the value web"))
        config = self._merge_config({"content_type": "form", "insecure_ssl": "0"}, body.get("config") or {})
        problems += self._hook_config_problems(config)
        if problems:
            reply = self._validation_failed(operation, problems)
            self.violations.append(
                f"{request.method} {request.path}: " + "; ".join(problem.message for problem in problems)
            )
            return reply
        events = list(dict.fromkeys(body.get("events", ["push"])))
        if self._duplicate_hook(repo["full_name"], config, events):
            return self._validation_failed(operation, [Problem("", "custom", "Hook already exists on this repository")])
        hook = self._new_hook(repo["full_name"], config, events, body.get("active", True))
        view = self._hook_view(hook)
        return Reply(201, view, {"location": view["url"]})

    def _find_hook(self, operation: _Operation) -> dict[str, Any] | None:
        repo = self._repo_or_404(operation)
        hook = self._hooks.get(int(operation.params["hook_id"]))
        if repo is None or hook is None or hook["repo"] != repo["full_name"]:
            return None
        return hook

    def _get_hook(self, operation: _Operation, request: RecordedRequest) -> Reply:
        hook = self._find_hook(operation)
        return Reply(200, self._hook_view(hook)) if hook else self._not_found(operation)

    def _update_hook(self, operation: _Operation, request: RecordedRequest) -> Reply:
        hook = self._find_hook(operation)
        if hook is None:
            return self._not_found(operation)
        body = request.json or {}
        # As documented: without config.secret in the request, the stored secret is removed.
        config = self._merge_config(hook["config"], body.get("config") or {})
        problems = self._hook_config_problems(config)
        if problems:
            self.violations.append(
                f"{request.method} {request.path}: " + "; ".join(problem.message for problem in problems)
            )
            return self._validation_failed(operation, problems)
        events = list(body["events"]) if "events" in body else list(hook["events"])
        events += [event for event in body.get("add_events", []) if event not in events]
        events = [event for event in dict.fromkeys(events) if event not in body.get("remove_events", [])]
        hook.update(config=config, events=events, active=body.get("active", hook["active"]), updated_at=_timestamp())
        return Reply(200, self._hook_view(hook))

    def _delete_hook(self, operation: _Operation, request: RecordedRequest) -> Reply:
        hook = self._find_hook(operation)
        if hook is None:
            return self._not_found(operation)
        del self._hooks[hook["id"]]
        return Reply(204)

    # -- webhook deliveries --------------------------------------------------------------------------------

    def _list_deliveries(self, operation: _Operation, request: RecordedRequest) -> Reply:
        hook = self._find_hook(operation)
        if hook is None:
            return self._not_found(operation)
        records = sorted(
            (record for record in self._deliveries.values() if record["hook_id"] == hook["id"]),
            key=lambda item: -item["id"],
        )
        # As documented: success is a status_code of 200-399, failure 400-599; "failed to connect" (0) is neither.
        wanted = (request.query.get("status") or [""])[-1]
        if wanted == "success":
            records = [record for record in records if 200 <= record["status_code"] <= 399]
        elif wanted == "failure":
            records = [record for record in records if 400 <= record["status_code"] <= 599]
        try:
            per_page = int((request.query.get("per_page") or ["30"])[-1])
        except ValueError:
            per_page = 30
        per_page = 30 if per_page < 1 else min(per_page, 100)
        start = 0
        cursor = (request.query.get("cursor") or [""])[-1]
        if cursor:
            matched = re.fullmatch(r"v1_(\d+)", cursor)
            if matched is None:
                self.violations.append(
                    f"{request.method} {request.path}: cursor {cursor!r} is not one the link header gave"
                )
                return Reply(400, _basic_error(400, "Invalid cursor", operation.docs))
            # The cursor names the first delivery of the page: everything from it on, in list order.
            start = next(
                (index for index, record in enumerate(records) if record["id"] <= int(matched.group(1))),
                len(records),
            )
        page = records[start : start + per_page]
        kept = [(name, value) for name, values in request.query.items() if name != "cursor" for value in values]
        repo = self._repos[hook["repo"].lower()]

        def link(first: dict[str, Any], rel: str) -> str:
            query = urlencode([*kept, ("cursor", f"v1_{first['id']}")])
            return f'<{self.base_url}/repositories/{repo["id"]}/hooks/{hook["id"]}/deliveries?{query}>; rel="{rel}"'

        links = []
        if start + per_page < len(records):
            links.append(link(records[start + per_page], "next"))
        if start > 0:
            links.append(link(records[max(start - per_page, 0)], "prev"))
        headers = {"link": ", ".join(links)} if links else {}
        return Reply(200, [self._delivery_view(record) for record in page], headers)

    def _redeliver(self, operation: _Operation, request: RecordedRequest) -> Reply:
        hook = self._find_hook(operation)
        record = self._deliveries.get(int(operation.params["delivery_id"]))
        if hook is None or record is None or record["hook_id"] != hook["id"]:
            return self._not_found(operation)
        # GitHub answers at once and redelivers afterwards, to the hook as it is configured now.
        sender = threading.Thread(
            target=self._send_delivery,
            args=(copy.deepcopy(hook), record["guid"], record["event"], record["action"], record["body"]),
            kwargs={"redelivery": True},
            name=f"github-standin-redeliver-{record['id']}",
            daemon=True,
        )
        self._senders = [thread for thread in self._senders if thread.is_alive()] + [sender]
        sender.start()
        return Reply(202, {})

    def _send_delivery(
        self, hook: dict[str, Any], guid: str, event: str, action: str | None, body: bytes, *, redelivery: bool
    ) -> dict[str, Any]:
        """POST one delivery to the hook's URL, as GitHub does, and record the attempt."""
        with self._lock:
            delivery_id = next(self._delivery_ids)
            repository_id = self._repo(hook["repo"])["id"]
        config = hook["config"]
        headers = {
            "Accept": "*/*",
            "User-Agent": HOOKSHOT_USER_AGENT,
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": str(hook["id"]),
            "X-GitHub-Hook-Installation-Target-ID": str(repository_id),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
        }
        if config.get("content_type") == "form":
            data = urlencode({"payload": body.decode("utf-8")}).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = body
            headers["Content-Type"] = "application/json"
        if config.get("secret"):
            secret = config["secret"].encode("utf-8")
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(secret, data, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret, data, hashlib.sha256).hexdigest()
        delivered_at = _timestamp()
        started = time.monotonic()
        status_code, status = _post_webhook(
            config.get("url", ""), data, headers, insecure=config.get("insecure_ssl") == "1"
        )
        record = {
            "id": delivery_id,
            "hook_id": hook["id"],
            "repo": hook["repo"],
            "guid": guid,
            "delivered_at": delivered_at,
            "redelivery": redelivery,
            "duration": round(time.monotonic() - started, 3),
            "status": status,
            "status_code": status_code,
            "event": event,
            "action": action,
            "repository_id": repository_id,
            "body": body,
        }
        with self._lock:
            self._deliveries[delivery_id] = record
        return self._delivery_view(record)

    @staticmethod
    def _delivery_view(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": record["id"],
            "guid": record["guid"],
            "delivered_at": record["delivered_at"],
            "redelivery": record["redelivery"],
            "duration": record["duration"],
            "status": record["status"],
            "status_code": record["status_code"],
            "event": record["event"],
            "action": record["action"],
            "installation_id": None,
            "repository_id": record["repository_id"],
            "throttled_at": None,
        }

    # -- pull requests -------------------------------------------------------------------------------------

    def _find_pull(self, repo: str, number: int) -> dict[str, Any]:
        full_name = self._repo(repo)["full_name"]
        try:
            return self._pulls[(full_name.lower(), number)]
        except KeyError:
            raise KeyError(f"{full_name} has no pull request #{number}; open it with open_pr() first") from None

    def _open_pull(self, repo: str, number: int) -> dict[str, Any]:
        pr = self._find_pull(repo, number)
        if pr["state"] != "open":
            raise ValueError(f"{pr['repo']}#{number} is closed; reopen it first")
        return pr

    def _touch(self, pr: dict[str, Any]) -> None:
        """Move ``updated_at`` (epoch seconds) to now, or a second past its last value when that is not earlier."""
        pr["updated_at"] = max(int(self.clock()), pr["updated_at"] + 1)

    def _pull_change(
        self,
        pr: dict[str, Any],
        event: bool,
        action: str,
        sender: str,
        *,
        label: str | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        view = self._pull_view(pr)
        if not event:
            return view
        label_view = self._label_view(pr["repo"], label) if label is not None else None
        return pull_request_event(action, view, self._account_view(sender), label=label_view, before=before)

    def _list_pulls(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)

        def query(name: str, default: str, allowed: tuple[str, ...] = ()) -> str:
            value = (request.query.get(name) or [default])[-1]
            return default if allowed and value not in allowed else value

        state = query("state", "open", ("open", "closed", "all"))
        head = query("head", "").lower()
        base = query("base", "")
        sort = query("sort", "created", ("created", "updated", "popularity", "long-running"))
        # As documented: desc when sort is created (or not given), asc otherwise.
        direction = query("direction", "desc" if sort == "created" else "asc", ("asc", "desc"))
        now = int(self.clock())
        pulls = [
            pr
            for (full_name, _number), pr in self._pulls.items()
            if full_name == repo["full_name"].lower()
            and state in ("all", pr["state"])
            and (not head or self._head_label(pr).lower() == head)
            and (not base or base == BASE_BRANCH)
            and (
                sort != "long-running"
                or (now - pr["created_at"] > LONG_RUNNING_SECONDS and now - pr["updated_at"] < LONG_RUNNING_SECONDS)
            )
        ]
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "updated": lambda pr: (pr["updated_at"], pr["number"]),
            "popularity": lambda pr: (self._comment_count(pr), pr["number"]),
        }
        pulls.sort(key=keys.get(sort, lambda pr: (pr["created_at"], pr["number"])), reverse=direction == "desc")
        return self._page(operation, request, [self._pull_view(pr, simple=True) for pr in pulls], repo)

    def _get_pull(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        pr = self._pulls.get((repo["full_name"].lower(), int(operation.params["pull_number"]))) if repo else None
        return Reply(200, self._pull_view(pr)) if pr else self._not_found(operation)

    def _comment_count(self, pr: dict[str, Any]) -> int:
        return sum(
            1
            for comment in self._comments.values()
            if comment["repo"] == pr["repo"] and comment["issue_number"] == pr["number"]
        )

    @staticmethod
    def _head_label(pr: dict[str, Any]) -> str:
        return f"{pr['head_repo'].split('/')[0]}:{pr['head_ref']}"

    def _pull_view(self, pr: dict[str, Any], *, simple: bool = False) -> dict[str, Any]:
        """The PR as ``pulls/get`` shows it; ``simple``: as ``pulls/list`` does (the ``pull-request-simple`` keys)."""
        root = self._api_root()
        repo, number, sha = pr["repo"], pr["number"], pr["shas"][-1]
        url = f"{root}/repos/{repo}/pulls/{number}"
        html_url = f"https://github.com/{repo}/pull/{number}"
        issue_url = f"{root}/repos/{repo}/issues/{number}"
        statuses_url = f"{root}/repos/{repo}/statuses/{sha}"
        review_comment_url = f"{root}/repos/{repo}/pulls/comments{{/number}}"
        is_open = pr["state"] == "open"
        role = self._roles.get((repo.lower(), pr["user"].lower()))
        links = {
            "self": url,
            "html": html_url,
            "issue": issue_url,
            "comments": f"{issue_url}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": review_comment_url,
            "commits": f"{url}/commits",
            "statuses": statuses_url,
        }
        view = {
            "url": url,
            "id": pr["id"],
            "node_id": base64.b64encode(f"011:PullRequest{pr['id']}".encode()).decode(),
            "html_url": html_url,
            "diff_url": f"{html_url}.diff",
            "patch_url": f"{html_url}.patch",
            "issue_url": issue_url,
            "number": number,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": self._account_view(pr["user"]),
            "body": None,
            "labels": [self._label_view(repo, name) for name in pr["labels"]],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _iso(pr["created_at"]),
            "updated_at": _iso(pr["updated_at"]),
            "closed_at": _iso(pr["closed_at"]) if pr["closed_at"] else None,
            "merged_at": _iso(pr["merged_at"]) if pr["merged_at"] else None,
            "merge_commit_sha": hashlib.sha1(f"merge {repo} {number} {sha}".encode()).hexdigest(),
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": review_comment_url,
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses_url,
            "head": self._branch_view(pr["head_repo"], pr["head_ref"], sha),
            "base": self._branch_view(repo, BASE_BRANCH, hashlib.sha1(f"{repo} {BASE_BRANCH}".encode()).hexdigest()),
            "_links": {name: {"href": href} for name, href in links.items()},
            "author_association": "COLLABORATOR" if role else "CONTRIBUTOR",
            "auto_merge": None,
            "draft": pr["draft"],
            "merged": pr["merged_at"] is not None,
            "mergeable": True if is_open else None,
            "rebaseable": True if is_open else None,
            "mergeable_state": ("draft" if pr["draft"] else "clean") if is_open else "unknown",
            "merged_by": self._account_view(pr["merged_by"]) if pr["merged_by"] else None,
            "comments": self._comment_count(pr),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": len(pr["shas"]),
            "additions": len(pr["shas"]),
            "deletions": 0,
            "changed_files": 1,
        }
        if simple:
            return {
                name: view[name] for name in self.schemas.component("pull-request-simple")["properties"] if name in view
            }
        return view

    def _branch_view(self, full_name: str, ref: str, sha: str) -> dict[str, Any]:
        owner = full_name.split("/")[0]
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self._account_view(owner),
            "repo": self._repository_view(full_name),
        }

    def _label_view(self, repo: str, name: str) -> dict[str, Any]:
        label_id = self._label_ids.setdefault((repo.lower(), name), next(self._ids))
        return {
            "id": label_id,
            "node_id": base64.b64encode(f"05:Label{label_id}".encode()).decode(),
            "url": f"{self._api_root()}/repos/{repo}/labels/{quote(name, safe='')}",
            "name": name,
            "color": LABEL_COLOR,
            "default": False,
            # Not null: `pull-request-simple` declares a label's description a plain string.
            "description": "",
        }

    def _account_view(self, login: str) -> dict[str, Any]:
        """A ``simple-user``: the owners of the stand-in's repositories are organizations, anyone else a user."""
        view = self._user_view(login)
        if any(repo["full_name"].split("/")[0].lower() == login.lower() for repo in self._repos.values()):
            org_id = 3000 + sum(login.encode())
            view.update(
                id=org_id,
                node_id=base64.b64encode(f"012:Organization{org_id}".encode()).decode(),
                avatar_url=f"https://avatars.githubusercontent.com/u/{org_id}?v=4",
                type="Organization",
            )
        return view

    def _repository_view(self, full_name: str) -> dict[str, Any]:
        """A ``repository`` object; a name the stand-in does not serve is a fork of one of its repositories."""
        own = self._repos.get(full_name.lower())
        repo_id = own["id"] if own else self._fork_ids.setdefault(full_name.lower(), 600000 + len(self._fork_ids) + 1)
        open_count = sum(1 for pr in self._pulls.values() if pr["repo"] == full_name and pr["state"] == "open")
        url = f"{self._api_root()}/repos/{full_name}"
        view: dict[str, Any] = {
            "id": repo_id,
            "node_id": base64.b64encode(f"010:Repository{repo_id}".encode()).decode(),
            "name": full_name.split("/")[1],
            "full_name": full_name,
            "private": True,
            "owner": self._account_view(full_name.split("/")[0]),
            "html_url": f"https://github.com/{full_name}",
            "description": None,
            "fork": own is None,
            "url": url,
        }
        for name, suffix in _REPOSITORY_URLS.items():
            view[name] = url + suffix
        view.update(
            created_at=self._created,
            updated_at=self._created,
            pushed_at=self._created,
            git_url=f"git://github.com/{full_name}.git",
            ssh_url=f"git@github.com:{full_name}.git",
            clone_url=f"https://github.com/{full_name}.git",
            svn_url=f"https://github.com/{full_name}",
            homepage=None,
            size=0,
            stargazers_count=0,
            watchers_count=0,
            language=None,
            has_issues=True,
            has_projects=True,
            has_downloads=True,
            has_wiki=True,
            has_pages=False,
            forks_count=0,
            mirror_url=None,
            archived=False,
            disabled=False,
            open_issues_count=open_count,
            license=None,
            allow_forking=True,
            is_template=False,
            topics=[],
            visibility="private",
            web_commit_signoff_required=False,
            forks=0,
            open_issues=open_count,
            watchers=0,
            default_branch=BASE_BRANCH,
        )
        return view

    # -- repository and rate limit -------------------------------------------------------------------------

    def _get_repo(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        owner, name = repo["full_name"].split("/")
        owner_view = self._account_view(owner)
        root = self._api_root()
        return Reply(
            200,
            {
                "id": repo["id"],
                "node_id": base64.b64encode(f"010:Repository{repo['id']}".encode()).decode(),
                "name": name,
                "full_name": repo["full_name"],
                "private": True,
                "owner": {key: owner_view[key] for key in ("login", "id", "type")},
                "html_url": f"https://github.com/{repo['full_name']}",
                "url": f"{root}/repos/{repo['full_name']}",
                "hooks_url": f"{root}/repos/{repo['full_name']}/hooks",
                "default_branch": "main",
                "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
            },
        )

    # -- deployments and commit statuses ---------------------------------------------------------------------

    def _deployment_view(self, deployment: dict[str, Any]) -> dict[str, Any]:
        root = self._api_root()
        url = f"{root}/repos/{deployment['repo']}/deployments/{deployment['id']}"
        return {
            "url": url,
            "id": deployment["id"],
            "node_id": base64.b64encode(f"010:Deployment{deployment['id']}".encode()).decode(),
            "sha": deployment["sha"],
            "ref": deployment["ref"],
            "task": deployment["task"],
            "payload": copy.deepcopy(deployment["payload"]),
            "original_environment": deployment["environment"],
            "environment": deployment["environment"],
            "description": deployment["description"],
            "creator": self._user_view(self.login),
            "created_at": deployment["created_at"],
            "updated_at": deployment["updated_at"],
            "statuses_url": f"{url}/statuses",
            "repository_url": f"{root}/repos/{deployment['repo']}",
            "transient_environment": deployment["transient_environment"],
            "production_environment": deployment["production_environment"],
            "performed_via_github_app": None,
        }

    def _deployment_status_view(self, deployment: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        root = self._api_root()
        deployment_url = f"{root}/repos/{deployment['repo']}/deployments/{deployment['id']}"
        return {
            "url": f"{deployment_url}/statuses/{status['id']}",
            "id": status["id"],
            "node_id": base64.b64encode(f"016:DeploymentStatus{status['id']}".encode()).decode(),
            "state": status["state"],
            "creator": self._user_view(self.login),
            "description": status["description"],
            "environment": status["environment"],
            "target_url": status["log_url"],
            "log_url": status["log_url"],
            "environment_url": status["environment_url"],
            "created_at": status["created_at"],
            "updated_at": status["created_at"],
            "deployment_url": deployment_url,
            "repository_url": f"{root}/repos/{deployment['repo']}",
            "performed_via_github_app": None,
        }

    def _commit_status_view(self, status: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{self._api_root()}/repos/{status['repo']}/statuses/{status['sha']}",
            "avatar_url": "https://avatars.githubusercontent.com/u/1001?v=4",
            "id": status["id"],
            "node_id": base64.b64encode(f"013:StatusContext{status['id']}".encode()).decode(),
            "state": status["state"],
            "description": status["description"],
            "target_url": status["target_url"],
            "context": status["context"],
            "created_at": status["created_at"],
            "updated_at": status["created_at"],
            "creator": self._user_view(self.login),
        }

    @staticmethod
    def _description_problem(description: Any) -> Problem | None:
        # GitHub's limit on a deployment status's and a commit status's description.
        if isinstance(description, str) and len(description) > MAX_STATUS_DESCRIPTION:
            return Problem(
                "description", "custom", f"description is too long (maximum is {MAX_STATUS_DESCRIPTION} characters)"
            )
        return None

    def _find_deployment(self, operation: _Operation) -> dict[str, Any] | None:
        repo = self._repo_or_404(operation)
        deployment = self._deployments.get(int(operation.params["deployment_id"]))
        if repo is None or deployment is None or deployment["repo"] != repo["full_name"]:
            return None
        return deployment

    def _list_deployments(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        wanted = {name: (request.query.get(name) or [""])[-1] for name in ("sha", "ref", "task", "environment")}
        # GitHub lists deployments newest first; "none" is the documented default of sha, ref, task and environment.
        items = [
            self._deployment_view(item)
            for item in sorted(self._deployments.values(), key=lambda item: -item["id"])
            if item["repo"] == repo["full_name"]
            and all(value in ("", "none") or item[name] == value for name, value in wanted.items())
        ]
        return self._page(operation, request, items, repo)

    def _create_deployment(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        body = request.json
        ref = body["ref"]
        sha = ref if SHA_PATTERN.fullmatch(ref) else self._branch_head(repo["full_name"], ref)
        if sha is None:
            return self._validation_failed(operation, [Problem("ref", "custom", f"No ref found for: {ref}")])
        required = body.get("required_contexts")
        # As documented: without required_contexts GitHub verifies every context set on the commit.
        latest: dict[str, str] = {}
        for status in self._commit_statuses:
            if status["repo"] == repo["full_name"] and status["sha"] == sha:
                latest[status["context"].lower()] = status["state"]
        checked = latest if required is None else {name.lower(): latest.get(name.lower()) for name in required}
        failing = sorted(name for name, state in checked.items() if state != "success")
        if failing:
            return Reply(
                409,
                {
                    "message": f"Conflict: Commit status checks failed for {ref}.",
                    "errors": [{"contexts": [{"context": name, "state": latest.get(name)} for name in failing]}],
                    "documentation_url": operation.docs,
                    "status": "409",
                },
            )
        environment = body.get("environment", "production")
        now = _timestamp()
        deployment = {
            "id": next(self._ids),
            "repo": repo["full_name"],
            "sha": sha,
            "ref": ref,
            "task": body.get("task", "deploy"),
            "payload": body.get("payload", {}) or {},
            "environment": environment,
            "description": body.get("description"),
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(body.get("production_environment", environment == "production")),
            "created_at": now,
            "updated_at": now,
            "statuses": [],
        }
        self._deployments[deployment["id"]] = deployment
        return Reply(201, self._deployment_view(deployment))

    def _branch_head(self, full_name: str, ref: str) -> str | None:
        for pull in self._pulls.values():
            if pull["head_repo"].lower() == full_name.lower() and pull["head_ref"] == ref:
                return pull["shas"][-1]
        return None

    def _list_deployment_statuses(self, operation: _Operation, request: RecordedRequest) -> Reply:
        deployment = self._find_deployment(operation)
        if deployment is None:
            return self._not_found(operation)
        items = [self._deployment_status_view(deployment, status) for status in reversed(deployment["statuses"])]
        return self._page(operation, request, items, self._repo_or_404(operation))

    def _create_deployment_status(self, operation: _Operation, request: RecordedRequest) -> Reply:
        deployment = self._find_deployment(operation)
        if deployment is None:
            return self._not_found(operation)
        body = request.json
        problem = self._description_problem(body.get("description"))
        if problem:
            return self._validation_failed(operation, [problem])
        previous = deployment["statuses"][-1] if deployment["statuses"] else None
        log_url = body.get("log_url", body.get("target_url", ""))
        status = {
            "id": next(self._ids),
            "state": body["state"],
            "description": body.get("description", ""),
            "environment": body.get("environment") or (previous or deployment)["environment"],
            "log_url": log_url or "",
            "environment_url": body.get("environment_url", ""),
            "created_at": _timestamp(),
        }
        deployment["statuses"].append(status)
        deployment["updated_at"] = status["created_at"]
        if body.get("auto_inactive", True) and status["state"] == "success":
            self._auto_inactivate(deployment)
        return Reply(201, self._deployment_status_view(deployment, status))

    def _auto_inactivate(self, deployment: dict[str, Any]) -> None:
        # As documented for auto_inactive: earlier non-transient, non-production deployments of the same repository
        # and environment that had a success state get an inactive status. Transient ones are left as they are.
        for other in self._deployments.values():
            if (
                other["id"] < deployment["id"]
                and other["repo"] == deployment["repo"]
                and other["environment"] == deployment["environment"]
                and not other["transient_environment"]
                and not other["production_environment"]
                and any(status["state"] == "success" for status in other["statuses"])
                and other["statuses"][-1]["state"] != "inactive"
            ):
                other["statuses"].append(
                    dict(other["statuses"][-1], id=next(self._ids), state="inactive", created_at=_timestamp())
                )

    def _create_commit_status(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        sha = operation.params["sha"]
        if repo is None:
            return self._not_found(operation)
        if not SHA_PATTERN.fullmatch(sha):
            return self._validation_failed(operation, [Problem("sha", "custom", f"No commit found for SHA: {sha}")])
        body = request.json
        problem = self._description_problem(body.get("description"))
        if problem:
            return self._validation_failed(operation, [problem])
        status = {
            "id": next(self._ids),
            "repo": repo["full_name"],
            "sha": sha,
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": _timestamp(),
        }
        self._commit_statuses.append(status)
        return Reply(201, self._commit_status_view(status))

    def _get_collaborator_permission(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        login = operation.params["username"]
        role = self._roles.get((repo["full_name"].lower(), login.lower())) if repo is not None else None
        if role is None:
            return self._not_found(operation)
        permission = ROLE_PERMISSIONS[role]
        user = self._user_view(login)
        user["role_name"] = role
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": permission in ("admin", "write"),
            "triage": role != "read",
            "pull": True,
        }
        return Reply(200, {"permission": permission, "role_name": role, "user": user})

    def _get_rate_limit(self, operation: _Operation, request: RecordedRequest) -> Reply:
        bucket = self._bucket(_bearer(request.headers.get("authorization", "")))
        core = {
            "limit": bucket.limit,
            "used": bucket.used,
            "remaining": bucket.remaining,
            "reset": bucket.reset,
        }
        idle = {"limit": 30, "used": 0, "remaining": 30, "reset": bucket.reset}
        return Reply(
            200,
            {"resources": {"core": core, "search": idle, "graphql": dict(core, used=0)}, "rate": dict(core)},
        )

    # -- GitHub Apps ---------------------------------------------------------------------------------------

    def add_app(
        self,
        app_id: int,
        public_key: Any,
        *,
        permissions: dict[str, str] | None = None,
        slug: str = "preview-envs",
        client_id: str | None = None,
        token_lifetime: float = APP_TOKEN_LIFETIME,
    ) -> None:
        """Register the GitHub App whose JWTs the stand-in accepts: ``public_key`` (a ``cryptography`` RSA
        public key, or its PEM) verifies their RS256 signature. ``permissions`` are the App's (default
        ``APP_DEFAULT_PERMISSIONS``); ``token_lifetime`` is how long an installation token lasts (GitHub: an
        hour), which a test may shorten, here or later through ``app_token_lifetime``."""
        with self._lock:
            self._app = {
                "id": int(app_id),
                "slug": slug,
                "client_id": client_id or f"Iv23li{int(app_id):014d}",
                "public_key": public_key,
                "permissions": dict(permissions if permissions is not None else APP_DEFAULT_PERMISSIONS),
                "created_at": _iso(self.clock()),
            }
            self.app_token_lifetime = float(token_lifetime)

    def install_app(self, repos: Iterable[str], *, permissions: dict[str, str] | None = None) -> int:
        """Install the App on ``repos`` (one owner's, as one installation covers one account); returns the
        installation's id. ``permissions`` default to the App's."""
        with self._lock:
            if self._app is None:
                raise RuntimeError("add_app() first: there is no GitHub App to install")
            names = [self._repo(repo)["full_name"] for repo in repos]
            owners = {name.split("/")[0].lower() for name in names}
            if len(owners) != 1:
                raise ValueError(f"an installation covers one account's repositories, not {names}")
            installation_id = next(self._ids)
            self._installations[installation_id] = {
                "id": installation_id,
                "account": names[0].split("/")[0],
                "repos": {name.lower(): name for name in names},
                "permissions": dict(permissions if permissions is not None else self._app["permissions"]),
                "created_at": _iso(self.clock()),
            }
            return installation_id

    def uninstall_app(self, installation_id: int) -> None:
        """Remove an installation; its tokens stop working, as GitHub revokes them."""
        with self._lock:
            self._installations.pop(installation_id, None)
            for record in self._installation_tokens.values():
                if record["installation"] == installation_id:
                    record["revoked"] = True

    def installation_tokens(self) -> list[dict[str, Any]]:
        """Every installation token issued, oldest first: ``token``, ``installation``, ``expires_at`` (epoch
        seconds), ``repositories`` (full names) and ``permissions``."""
        with self._lock:
            return [dict(record, token=token) for token, record in self._installation_tokens.items()]

    def _app_reply(self, operation: _Operation, request: RecordedRequest, token: str) -> Reply:
        """An operation that takes the App's JWT: verified as GitHub does, then answered."""
        problem = self._jwt_problem(token)
        if problem:
            return Reply(401, {"message": problem, "documentation_url": DOCS_URL})
        return self._handlers[operation.operation_id](operation, request)

    def _jwt_problem(self, token: str) -> str:
        """Why GitHub would refuse ``token`` as the App's JWT (its messages), or "" when it is good."""
        undecodable = "A JSON web token could not be decoded"
        if self._app is None:
            return undecodable
        try:
            claims = jwt.decode(
                token,
                self._app["public_key"],
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return undecodable
        if str(claims.get("iss")) not in {str(self._app["id"]), self._app["client_id"]}:
            return undecodable
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or isinstance(iat, bool) or iat > now + APP_JWT_SKEW:
            return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
            return (
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
                "the assertion expires"
            )
        if exp > now + APP_JWT_MAX_LIFETIME:
            return "'Expiration time' claim ('exp') is too far in the future"
        return ""

    def _installation_denial(self, operation: _Operation, token: str) -> Reply | None:
        """None unless ``token`` is an installation token that may not do ``operation``: expired or revoked
        (401), outside the repositories it was given (404), or without the permission (403)."""
        record = self._installation_tokens.get(token)
        if record is None:
            return None
        if record.get("revoked") or record["expires_at"] <= self.clock():
            return Reply(401, {"message": "Bad credentials", "documentation_url": DOCS_URL})
        if "owner" in operation.params and "repo" in operation.params:
            full_name = f"{operation.params['owner']}/{operation.params['repo']}".lower()
            if full_name not in record["repositories"]:
                return self._not_found(operation)
        if operation.operation_id == "rate-limit/get":
            return None
        accepted = APP_PERMISSIONS.get(operation.operation_id, {})
        granted = record["permissions"]
        if not any(_LEVELS.get(granted.get(name, ""), 0) >= _LEVELS[level] for name, level in accepted.items()):
            wanted = "; ".join(f"{name}={level}" for name, level in accepted.items())
            return Reply(
                403,
                _basic_error(403, "Resource not accessible by integration", operation.docs),
                {"x-accepted-github-permissions": wanted} if wanted else {},
            )
        return None

    def _installation_view(self, installation: dict[str, Any]) -> dict[str, Any]:
        root = self._api_root()
        app = self._app or {}
        account = self._account_view(installation["account"])
        return {
            "id": installation["id"],
            "account": account,
            "repository_selection": "selected",
            "access_tokens_url": f"{root}/app/installations/{installation['id']}/access_tokens",
            "repositories_url": f"{root}/installation/repositories",
            "html_url": f"https://github.com/settings/installations/{installation['id']}",
            "app_id": app.get("id", 0),
            "client_id": app.get("client_id", ""),
            "app_slug": app.get("slug", ""),
            "target_id": account["id"],
            "target_type": account.get("type", "User"),
            "permissions": dict(installation["permissions"]),
            "events": ["issue_comment", "pull_request"],
            "created_at": installation["created_at"],
            "updated_at": installation["created_at"],
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    def _get_repo_installation(self, operation: _Operation, request: RecordedRequest) -> Reply:
        repo = self._repo_or_404(operation)
        if repo is None:
            return self._not_found(operation)
        for installation in self._installations.values():
            if repo["full_name"].lower() in installation["repos"]:
                return Reply(200, self._installation_view(installation))
        return self._not_found(operation)

    def _create_installation_token(self, operation: _Operation, request: RecordedRequest) -> Reply:
        installation = self._installations.get(int(operation.params["installation_id"]))
        if installation is None:
            return self._not_found(operation)
        body = request.json or {}
        covered = installation["repos"]
        if "repositories" in body or "repository_ids" in body:
            ids = {self._repo(name)["id"]: name for name in covered.values()}
            asked = [covered.get(f"{installation['account']}/{name}".lower()) for name in body.get("repositories", [])]
            asked += [ids.get(number) for number in body.get("repository_ids", [])]
            if not all(asked):
                return Reply(
                    422,
                    _basic_error(
                        422,
                        "There is at least one repository that does not exist or is not accessible to the parent "
                        "installation.",
                        operation.docs,
                    ),
                )
            repositories = {name.lower(): name for name in asked}
        else:
            repositories = dict(covered)
        permissions = dict(installation["permissions"])
        if "permissions" in body:
            for name, level in body["permissions"].items():
                if _LEVELS.get(permissions.get(name, ""), 0) < _LEVELS.get(level, 99):
                    return Reply(
                        422,
                        _basic_error(
                            422, "The permissions requested are not granted to this installation.", operation.docs
                        ),
                    )
            permissions = dict(body["permissions"])
        token = f"ghs_{uuid.uuid4().hex}{uuid.uuid4().hex[:4]}"
        expires_at = self.clock() + self.app_token_lifetime
        self._installation_tokens[token] = {
            "installation": installation["id"],
            "expires_at": expires_at,
            "repositories": repositories,
            "permissions": permissions,
        }
        return Reply(
            201,
            {
                "token": token,
                "expires_at": _iso(expires_at),
                "permissions": permissions,
                "repository_selection": "selected",
                "repositories": [self._repository_view(name) for name in repositories.values()],
            },
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHubStandIn/1"
    # Headers and body go out in separate writes; with Nagle on, each answer would wait for a delayed ACK.
    disable_nagle_algorithm = True
    standin: GitHubStandIn

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = None
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=query,
            json=parsed,
            headers={name.lower(): value for name, value in self.headers.items()},
            raw_body=raw,
        )
        reply = self.standin.handle(request)
        bodiless = reply.status in (204, 304)
        if reply.body is None or bodiless:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            if not bodiless or name != "content-type":
                self.send_header(name, value)
        if reply.status != 304:
            self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        """Keep test output quiet; ``GitHubStandIn.requests`` has the record."""


def _post_webhook(url: str, data: bytes, headers: dict[str, str], *, insecure: bool = False) -> tuple[int, str]:
    """One webhook POST; returns ``(status_code, status)`` in the terms of a ``hook-delivery-item``."""
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        return 0, "Invalid URL"
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    if target.scheme == "https":
        context = ssl.create_default_context()
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.hostname, target.port, timeout=DELIVERY_TIMEOUT, context=context
        )
    else:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=DELIVERY_TIMEOUT)
    try:
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        code = response.status
    except TimeoutError:
        return 0, "timed out"
    except (OSError, http.client.HTTPException):
        return 0, "failed to connect to host"
    finally:
        connection.close()
    return code, "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"


class WebhookReceiver:
    """A local HTTP endpoint for the stand-in's deliveries: records each request and answers ``status``.

    ``status`` and ``delay`` (seconds before answering) can be changed while it runs.
    """

    def __init__(self, status: int = 202, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the base class names it so
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                split = urlsplit(self.path)
                try:
                    parsed = json.loads(raw) if raw.strip() else None
                except ValueError:
                    parsed = None
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.record(RecordedRequest("POST", split.path, {}, parsed, headers, raw))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/webhook/github"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _bearer(authorization: str) -> str | None:
    scheme, _sep, credentials = authorization.strip().partition(" ")
    if scheme.lower() in ("bearer", "token") and credentials.strip():
        return credentials.strip()
    return None


def _basic_error(status: int, message: str, documentation_url: str = DOCS_URL) -> dict[str, str]:
    return {"message": message, "documentation_url": documentation_url, "status": str(status)}


def _timestamp() -> str:
    return _iso(time.time())


def _iso(epoch: float) -> str:
    """GitHub's timestamp form: ISO 8601 in UTC, whole seconds, ``Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _checked_sha(sha: str) -> str:
    if not isinstance(sha, str) or not SHA_PATTERN.fullmatch(sha):
        raise ValueError(f"a head SHA is 40 lowercase hex characters, not {sha!r}")
    return sha


def _checked_label(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a label name is a non-empty string, not {name!r}")
    return name


__all__ = ["GitHubStandIn", "Problem", "RecordedRequest", "Reply", "Schemas", "WebhookReceiver"]
