"""The webhook shim: a Falcon app that verifies, stores and acknowledges.

Nothing here runs a playbook. A delivery that passes every check is committed
to SQLite (with the PR's new desired state) before the 2xx goes back; the
converger picks it up from there.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re

import falcon

from . import events, signature, status_page
from .collection import CollectionCheck
from .config import Config
from .intake import GroupCommit, IntakeError
from .metrics import Metrics
from .policy import approval_of, decide
from .store import MIN_FREE_DISK_BYTES, Delivery, Store

log = logging.getLogger("preview.shim.webhook")

# GitHub's delivery ids are GUIDs. A header that is not one is never logged (it could carry newlines or
# kilobytes of junk): `-` stands for it.
DELIVERY_RE = re.compile(r"[A-Za-z0-9-]{1,100}", re.ASCII)


def _reject(outcome: str, status, title: str, description: str, delivery: str, metrics: Metrics, **extra):
    fields = " ".join(f"{key}={value}" for key, value in extra.items())
    log.warning(
        "delivery=%s outcome=%s status=%s reason=%r %s",
        delivery or "-",
        outcome,
        status.split()[0] if isinstance(status, str) else status,
        description,
        fields,
    )
    metrics.observe_delivery(outcome)
    raise falcon.HTTPError(status, title=title, description=description)


class GitHubWebhook:
    def __init__(self, config: Config, intake: GroupCommit, notify, metrics: Metrics):
        self.config = config
        self.intake = intake
        self.notify = notify
        self.metrics = metrics

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw_delivery = req.get_header("X-GitHub-Delivery") or ""
        delivery = raw_delivery if DELIVERY_RE.fullmatch(raw_delivery) else ""
        m = self.metrics
        cap = self.config.max_body_bytes
        if req.content_length is not None and req.content_length > cap:
            _reject(
                "too_large",
                falcon.HTTP_413,
                "Payload too large",
                f"body of {req.content_length} bytes exceeds the cap of {cap}",
                delivery,
                m,
            )
        body = req.bounded_stream.read(cap + 1)
        if len(body) > cap:
            _reject("too_large", falcon.HTTP_413, "Payload too large", f"body exceeds the cap of {cap}", delivery, m)
        if not signature.verify(self.config.webhook_secret, body, req.get_header("X-Hub-Signature-256")):
            reason = (
                "X-Hub-Signature-256 is missing"
                if not req.get_header("X-Hub-Signature-256")
                else "X-Hub-Signature-256 does not match the body (wrong secret or altered payload)"
            )
            _reject("bad_signature", falcon.HTTP_401, "Invalid signature", reason, delivery, m)
        event = req.get_header("X-GitHub-Event")
        if not event or not raw_delivery:
            _reject(
                "bad_headers",
                falcon.HTTP_400,
                "Missing headers",
                "X-GitHub-Event and X-GitHub-Delivery are required",
                delivery,
                m,
            )
        if not delivery:
            _reject("bad_headers", falcon.HTTP_400, "Bad delivery id", "X-GitHub-Delivery is not a GUID", "", m)
        content_type = (req.content_type or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            _reject(
                "bad_content_type",
                falcon.HTTP_415,
                "Unsupported content type",
                "the webhook must use content type application/json",
                delivery,
                m,
            )
        try:
            payload = json.loads(body)
        except ValueError as exc:
            _reject("bad_json", falcon.HTTP_400, "Malformed JSON", f"body is not valid JSON: {exc}", delivery, m)
        except RecursionError:
            _reject(
                "bad_json",
                falcon.HTTP_400,
                "Malformed JSON",
                "body is nested deeper than a webhook payload ever is",
                delivery,
                m,
            )

        if event == "issue_comment":
            self._command(resp, payload, delivery)
            return
        if event != "pull_request":
            self._store(
                resp,
                Delivery(delivery, event, ""),
                "ping received" if event == "ping" else f"event {event} is not handled",
            )
            return
        try:
            pr_event = events.parse_pull_request(payload)
        except events.PayloadError as exc:
            _reject("bad_payload", falcon.HTTP_422, "Unexpected payload", str(exc), delivery, m)
        action = payload.get("action", "")
        if pr_event is None:
            self._store(resp, Delivery(delivery, event, str(action)[:50]), f"action {action} is not handled")
            return
        repo = self.config.repository(pr_event.repo)
        if repo is None:
            _reject(
                "repo_not_allowed",
                falcon.HTTP_403,
                "Repository not allowed",
                "this repository is not in the shim's configuration",
                delivery,
                m,
            )
        policy = self.config.policy
        self._store(
            resp,
            Delivery(
                delivery,
                event,
                action,
                repo.full_name,
                pr_event.pr,
                lambda row: decide(pr_event, policy, **approval_of(row)),
                pr_event.updated_at,
            ),
            "",
            repo=repo.full_name,
            pr=pr_event.pr,
            action=action,
        )

    def _command(self, resp, payload, delivery: str) -> None:
        """A `/preview <command>` comment is stored for the converger, which asks GitHub about its sender."""
        try:
            command = events.parse_issue_comment(payload)
        except events.PayloadError as exc:
            _reject("bad_payload", falcon.HTTP_422, "Unexpected payload", str(exc), delivery, self.metrics)
        action = str(payload.get("action", ""))[:50]
        if command is None:
            self._store(resp, Delivery(delivery, "issue_comment", action), "not a /preview command")
            return
        repo = self.config.repository(command.repo)
        if repo is None:
            _reject(
                "repo_not_allowed",
                falcon.HTTP_403,
                "Repository not allowed",
                "this repository is not in the shim's configuration",
                delivery,
                self.metrics,
            )
        command = dataclasses.replace(command, repo=repo.full_name)
        self._store(
            resp,
            Delivery(delivery, "issue_comment", action, repo.full_name, command.pr, command=command),
            f"command {command.command} waits for GitHub's word on its sender",
            repo=repo.full_name,
            pr=command.pr,
            command=str(command.command),
        )

    def _store(self, resp, delivery: Delivery, detail: str, **fields) -> None:
        """Commit the delivery (with the deliveries that arrive with it), then answer with its own outcome."""
        try:
            stored = self.intake.submit(delivery)
        except IntakeError as exc:
            _reject(
                "not_stored",
                falcon.HTTP_500,
                "Not stored",
                f"the delivery could not be stored ({exc}); GitHub may redeliver it",
                delivery.guid,
                self.metrics,
            )
        outcome = stored.outcome
        if outcome == "accepted":
            self.notify()
        if outcome == "duplicate":
            detail = "delivery already received"
        elif delivery.event == "ping":
            outcome = "pong"
        elif delivery.decide is not None:
            detail = f"{stored.state or 'nothing'} at generation {stored.generation} ({stored.reason})"
        status = falcon.HTTP_202 if outcome == "accepted" else falcon.HTTP_200
        self._answer(resp, status, outcome, delivery.guid, detail, **fields)

    def _answer(self, resp, status, outcome: str, delivery: str, detail: str, **fields) -> None:
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        log.info("delivery=%s outcome=%s %s", delivery, outcome, extra)
        self.metrics.observe_delivery(outcome)
        resp.status = status
        resp.media = {"outcome": outcome, "delivery": delivery, "detail": detail, **fields}


class Health:
    """503 unless a row can be committed, the converger lives, the state file's disk has room and, with a
    `collection` check, the collection's playbooks are on disk (`collection` then says which are not)."""

    def __init__(
        self,
        store: Store,
        converger,
        min_free_disk_bytes: int = MIN_FREE_DISK_BYTES,
        collection: CollectionCheck | None = None,
    ):
        self.store = store
        self.converger = converger
        self.min_free_disk_bytes = min_free_disk_bytes
        self.collection = collection

    def on_get(self, req, resp):
        writable = self.store.writable()
        alive = self.converger.alive() if self.converger else False
        disk_free = self.store.disk_free_bytes()
        resp.media = {
            "database_writable": writable,
            "worker_alive": alive,
            "queue_depth": self.store.pending_count(),
            "running": len(self.converger.running()) if self.converger else 0,
            "disk_free_bytes": disk_free,
        }
        problems = self.collection.problems() if self.collection else []
        if self.collection:
            resp.media["collection"] = "; ".join(problems) or "ok"
        healthy = writable and alive and disk_free >= self.min_free_disk_bytes and not problems
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503


class MetricsResource:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def on_get(self, req, resp):
        resp.content_type = self.metrics.content_type
        resp.data = self.metrics.render()


def create_app(
    config: Config,
    store: Store,
    converger=None,
    metrics: Metrics | None = None,
    min_free_disk_bytes: int = MIN_FREE_DISK_BYTES,
    intake: GroupCommit | None = None,
    collection: CollectionCheck | None = None,
) -> falcon.App:
    metrics = metrics or Metrics(store)
    app = falcon.App()
    notify = converger.notify if converger else (lambda: None)
    app.add_route("/webhook/github", GitHubWebhook(config, intake or GroupCommit(store), notify, metrics))
    app.add_route("/healthz", Health(store, converger, min_free_disk_bytes, collection))
    app.add_route("/metrics", MetricsResource(metrics))
    status_page.add_routes(app, config, store, notify)
    return app
