"""The status page and the API for people: every preview the shim knows, a run's log, redeploy and remove.

    GET    /previews/                                          HTML (templates/status.html.j2)
    GET    /previews/{owner}/{repo}/{pr}/runs/{id}/log         text/plain: the tail of the run's output it keeps
    GET    /api/previews                                       JSON, described by openapi/previews.json
    GET    /api/previews/{owner}/{repo}/{pr}
    POST   /api/previews/{owner}/{repo}/{pr}/redeploy          as the PR comment `/preview redeploy`
    DELETE /api/previews/{owner}/{repo}/{pr}                   as the PR comment `/preview destroy`
    GET    /api/openapi.json

Everything answers 404 unless the configuration names a credential file (status_page.credential_file), and
401 without its user:password in HTTP basic auth: the one scheme a browser speaks without JavaScript or a
login form of ours, and that curl and every HTTP library speak too. The credential is compared in constant
time (hmac over digests of equal length) and never logged. What the page shows comes from the shim's own
tables (Store.previews): the playbooks' deployment records live on the preview host and are not read here.

The text is hostile: a run's log is a PR's build output, and everything else is escaped as well (jinja2 with
autoescape; the log is text/plain, nosniff, in a sandbox). The links are relative, so the pages work under
whatever path nginx gives them (nginx_status_location maps `<path>previews/` and `<path>api/` here).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import quote

import falcon
import jinja2

from .config import Config, collection_module
from .store import Store
from .vocabulary import Command, CommandOutcome, DesiredState, RunStatus

log = logging.getLogger("preview.shim.status")

REALM = 'Basic realm="previews", charset="UTF-8"'
HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOG_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"

# The role's defaults of what naming.url reads (roles/preview_pr/defaults/main.yml).
URL_DEFAULTS = {"domain": "", "public_url": "http://localhost", "url_scheme": "http"}


@functools.cache
def openapi_document() -> dict:
    """The API's OpenAPI 3.1 document, as the repository ships it."""
    return json.loads(resources.files("shim").joinpath("openapi/previews.json").read_text(encoding="utf-8"))


@functools.cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    text = resources.files("shim").joinpath("templates/status.html.j2").read_text(encoding="utf-8")
    return environment.from_string(text)


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """A short human duration: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def status_of(row: dict) -> str:
    """Where a preview stands: a run under way or due, else what its last run made of the wanted state."""
    run = row["last_run"]
    if run and run["status"] == RunStatus.RUNNING:
        return "running"
    if row["generation"] > row["applied_generation"]:
        return "pending"
    if row["state"] == DesiredState.HELD:
        return "held"
    if row["state"] == DesiredState.ABSENT:
        return "removed"
    return "live" if run and run["status"] == RunStatus.SUCCESSFUL else "failed"


def log_path(repo: str, pr: int, run_id: int) -> str:
    """The log's path relative to the status root (the page itself is at `previews/`)."""
    owner, name = repo.split("/", 1)
    return f"previews/{quote(owner, safe='')}/{quote(name, safe='')}/{int(pr)}/runs/{int(run_id)}/log"


class StatusView:
    """The data of the page and the API, shaped from the store's rows (pure, apart from reading the store)."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], float] = time.time):
        self.config = config
        self.store = store
        self.clock = clock

    def previews(self, repo: str | None = None, pr: int | None = None) -> list[dict]:
        now = self.clock()
        return [self._preview(row, now) for row in self.store.previews(repo, pr)]

    def _preview(self, row: dict, now: float) -> dict:
        naming = collection_module("", "_naming")
        repo_config = self.config.repository(row["repo"])
        slug = repo_config.slug if repo_config else naming.default_slug(row["repo"])
        url = None
        if row["state"] == DesiredState.PRESENT and repo_config is not None:
            settings = {key: self.config.preview.get(key, default) for key, default in URL_DEFAULTS.items()}
            url = naming.url(slug, row["pr"], settings["domain"], settings["public_url"], settings["url_scheme"])
        pinned = bool(row["pinned"] or row["pinned_by_command"])
        expires = None
        if row["state"] != DesiredState.ABSENT and not pinned:
            expires = _time(row["activity"] + self.config.ttl_hours * 3600)
        run = row["last_run"]
        return {
            "repo": row["repo"],
            "pr": row["pr"],
            "label": naming.label(slug, row["pr"]),
            "state": row["state"],
            "status": status_of(row),
            "reason": row["reason"],
            "sha": row["sha"],
            "deployed_sha": row["deployed_sha"] or None,
            "url": url,
            "pinned": pinned,
            "generation": row["generation"],
            "applied_generation": row["applied_generation"],
            "created": _time(row["created"]),
            "changed": _time(row["changed"]),
            "activity": _time(row["activity"]),
            "age_seconds": max(0, int(now - row["created"])),
            "expires": expires,
            "last_run": None
            if run is None
            else {
                "id": run["id"],
                "kind": run["kind"],
                "sha": run["sha"],
                "status": run["status"],
                "rc": run["rc"],
                "queued": _time(run["queued"]),
                "started": _time(run["started"]),
                "finished": _time(run["finished"]),
                "message": run["message"],
                "log_path": log_path(row["repo"], row["pr"], run["id"]) if run["has_log"] else None,
            },
        }

    def render(self) -> str:
        now = self.clock()
        previews = self.previews()
        for preview in previews:
            preview["age"] = duration(preview["age_seconds"])
            expires = preview["expires"]
            preview["expires_in"] = (
                duration(datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() - now)
                if expires
                else ""
            )
        return _template().render(previews=previews, generated=_time(now), ttl_hours=f"{self.config.ttl_hours:g}")


class Credential:
    """HTTP basic auth against the configured user:password; off (404) without one."""

    def __init__(self, expected: str):
        self._digest = hashlib.sha256(expected.encode("utf-8")).digest() if expected else b""

    @property
    def enabled(self) -> bool:
        return bool(self._digest)

    def check(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The headers every answer carries, then 404 when off, 401 when not let in."""
        resp.set_headers(HEADERS)
        if not self._digest:
            raise falcon.HTTPNotFound()
        if not hmac.compare_digest(hashlib.sha256(self._given(req)).digest(), self._digest):
            raise falcon.HTTPUnauthorized(
                title="Authentication required",
                description="give the status page's user and password (HTTP basic auth)",
                challenges=[REALM],
            )

    @staticmethod
    def _given(req: falcon.Request) -> bytes:
        scheme, _sep, value = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return b""
        try:
            return base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return b""


def _not_from_a_page(req: falcon.Request) -> None:
    """A browser attaches cached basic-auth credentials to a form another site posts here; such a request
    carries Origin (or Sec-Fetch-Site), which the clients of this API (curl, scripts) never send."""
    site = req.get_header("Sec-Fetch-Site")
    if req.get_header("Origin") is not None or (site is not None and site != "none"):
        raise falcon.HTTPForbidden(
            title="Not from a web page",
            description="redeploy and remove take requests without an Origin header (curl, a script), not from pages",
        )


class _Resource:
    def __init__(self, view: StatusView, credential: Credential, notify: Callable[[], None] = lambda: None):
        self.view = view
        self.credential = credential
        self.notify = notify

    def _repo(self, owner: str, repo: str) -> str:
        configured = self.view.config.repository(f"{owner}/{repo}")
        if configured is None:
            raise falcon.HTTPNotFound(title="No such preview", description="this repository is not configured")
        return configured.full_name

    def _one(self, owner: str, repo: str, pr: int) -> dict:
        found = self.view.previews(self._repo(owner, repo), pr)
        if not found:
            raise falcon.HTTPNotFound(title="No such preview", description="the shim knows no such pull request")
        return found[0]

    def _command(self, req: falcon.Request, resp: falcon.Response, owner: str, repo: str, pr: int, command: Command):
        """The PR comment's own path (Store.run_command): the credential stands for GitHub's word on a sender."""
        self.credential.check(req, resp)
        _not_from_a_page(req)
        full_name = self._repo(owner, repo)
        before = self._one(owner, repo, pr)
        outcome, moved = self.view.store.run_command(full_name, pr, command)
        log.info("repo=%s pr=%d command=%s outcome=%s via=status_api", full_name, pr, command, outcome)
        if outcome != CommandOutcome.APPLIED:
            raise falcon.HTTPConflict(
                title="Not applicable",
                description=f"{command.line} does not apply to this pull request as it is ({before['status']})",
            )
        if moved:
            self.notify()
        resp.status = falcon.HTTP_202 if moved else falcon.HTTP_200
        resp.media = {"outcome": str(outcome), "preview": self._one(owner, repo, pr)}


class PageResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.credential.check(req, resp)
        resp.set_header("Content-Security-Policy", PAGE_POLICY)
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.view.render()


class PageRedirect(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.credential.check(req, resp)
        # Relative: the page's relative links need the trailing slash, under whatever path nginx serves it.
        resp.status = falcon.HTTP_301
        resp.set_header("Location", "previews/")


class LogResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, owner: str, repo: str, pr: int, run: int) -> None:
        self.credential.check(req, resp)
        text = self.view.store.run_log(self._repo(owner, repo), pr, run)
        if text is None:
            raise falcon.HTTPNotFound(title="No log", description="the shim keeps no log of this run")
        resp.set_header("Content-Security-Policy", LOG_POLICY)
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = text


class ListResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.credential.check(req, resp)
        resp.media = {"previews": self.view.previews()}


class PreviewResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, owner: str, repo: str, pr: int) -> None:
        self.credential.check(req, resp)
        resp.media = self._one(owner, repo, pr)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, owner: str, repo: str, pr: int) -> None:
        self._command(req, resp, owner, repo, pr, Command.DESTROY)


class RedeployResource(_Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, owner: str, repo: str, pr: int) -> None:
        self._command(req, resp, owner, repo, pr, Command.REDEPLOY)


class OpenApiResource(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.credential.check(req, resp)
        resp.media = openapi_document()


def add_routes(app: falcon.App, config: Config, store: Store, notify: Callable[[], None]) -> None:
    """The status page's routes on the shim's app (all of them 404 while no credential is configured)."""
    args = (StatusView(config, store), Credential(config.status_credential), notify)
    app.add_route("/previews", PageRedirect(*args))
    app.add_route("/previews/", PageResource(*args))
    app.add_route("/previews/{owner}/{repo}/{pr:int(min=1)}/runs/{run:int(min=1)}/log", LogResource(*args))
    app.add_route("/api/previews", ListResource(*args))
    app.add_route("/api/previews/{owner}/{repo}/{pr:int(min=1)}", PreviewResource(*args))
    app.add_route("/api/previews/{owner}/{repo}/{pr:int(min=1)}/redeploy", RedeployResource(*args))
    app.add_route("/api/openapi.json", OpenApiResource(*args))
