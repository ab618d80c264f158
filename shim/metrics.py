"""Prometheus metrics of the shim (prometheus-client, own registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, store=None):
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "preview_deliveries", "Webhook deliveries by outcome", ["outcome"], registry=self.registry
        )
        self.runs = Counter(
            "preview_runs", "Playbook runs by kind and status", ["kind", "status"], registry=self.registry
        )
        self.run_seconds = Histogram(
            "preview_run_duration_seconds",
            "Duration of playbook runs",
            ["kind"],
            registry=self.registry,
            buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
        )
        self.queue_wait = Histogram(
            "preview_queue_wait_seconds",
            "Time from the desired-state change to the run's start",
            registry=self.registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300),
        )
        self.pending = Gauge(
            "preview_pending_prs",
            "PRs with work left: a desired state not applied yet, or an approval to confirm",
            registry=self.registry,
        )
        if store is not None:
            self.pending.set_function(store.pending_count)

    def observe_delivery(self, outcome: str) -> None:
        self.deliveries.labels(outcome=outcome).inc()

    def observe_run(self, kind: str, status: str, duration: float, waited: float) -> None:
        self.runs.labels(kind=kind, status=status).inc()
        self.run_seconds.labels(kind=kind).observe(duration)
        self.queue_wait.observe(max(0.0, waited))

    def render(self) -> bytes:
        return generate_latest(self.registry)
