"""Prometheus metrics of the shim (prometheus-client, own registry).

Besides the shim's own counters: the process's (CPU, memory, open files, start time) and the Python
platform's, as the default registry would have them, `preview_build_info` (what runs), and the PRs the shim
knows by desired state, read from the state file when scraped rather than kept up to date on every request.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .version import collection_version, package_version
from .vocabulary import DesiredState


class DesiredStateCollector:
    """`preview_desired_prs{state}`: the PRs the shim knows, by desired state, counted when scraped."""

    def __init__(self, store):
        self.store = store

    def describe(self):
        # Without it, registering would call collect() (a query) at import time of the registry.
        return [GaugeMetricFamily("preview_desired_prs", "PRs the shim knows, by desired state", labels=["state"])]

    def collect(self):
        counts = self.store.desired_counts()
        family = GaugeMetricFamily("preview_desired_prs", "PRs the shim knows, by desired state", labels=["state"])
        for state in DesiredState:
            family.add_metric([state.value], counts.get(state.value, 0))
        yield family


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, store=None, collections_path: str = ""):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        Info("preview_build", "What runs: the package's and its collection's versions", registry=self.registry).info(
            {
                "version": package_version(),
                "collection": collection_version(collections_path) if collections_path else "unknown",
            }
        )
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
            self.registry.register(DesiredStateCollector(store))

    def observe_delivery(self, outcome: str) -> None:
        self.deliveries.labels(outcome=outcome).inc()

    def observe_run(self, kind: str, status: str, duration: float, waited: float) -> None:
        self.runs.labels(kind=kind, status=status).inc()
        self.run_seconds.labels(kind=kind).observe(duration)
        self.queue_wait.observe(max(0.0, waited))

    def render(self) -> bytes:
        return generate_latest(self.registry)
