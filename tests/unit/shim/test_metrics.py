"""/metrics: the process's own metrics, what runs (build info), and the PRs by desired state when scraped."""

from __future__ import annotations

import json
import os
import tomllib

import falcon.testing
from prometheus_client.parser import text_string_to_metric_families

from shim.app import create_app
from shim.config import Config, RepoConfig
from shim.metrics import Metrics
from shim.policy import Decision
from shim.store import Store
from shim.version import collection_version
from tests.conftest import REPO_ROOT

REPO = "octo/app"
SHA = "a" * 40


def samples(metrics: Metrics) -> dict[tuple, float]:
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def want(store: Store, pr: int, state: str) -> None:
    decision = Decision(state=state, sha=SHA, approved_sha="", pinned=False, reason="deploy")
    store.accept(f"g-{pr}-{state}", "pull_request", "opened", REPO, pr, lambda row: decision, "2026-01-01T00:00:00Z")


def test_process_and_platform_metrics_are_in_the_shims_registry():
    found = samples(Metrics())
    assert found[("process_open_fds", ())] > 0
    assert found[("process_resident_memory_bytes", ())] > 0
    assert ("process_start_time_seconds", ()) in found
    assert any(name == "python_info" for name, _labels in found)


def test_build_info_names_the_package_and_the_collection(tmp_path):
    package = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    installed = tmp_path / "ansible_collections" / "preview" / "envs"
    installed.mkdir(parents=True)
    (installed / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": "9.8.7"}}))
    found = samples(Metrics(collections_path=str(tmp_path)))
    assert found[("preview_build_info", (("collection", "9.8.7"), ("version", package)))] == 1.0
    assert samples(Metrics())[("preview_build_info", (("collection", "unknown"), ("version", package)))] == 1.0


def test_collection_version_from_a_manifest_a_checkout_or_nothing(tmp_path):
    root = tmp_path / "ansible_collections" / "preview" / "envs"
    assert collection_version(tmp_path) == "unknown"
    root.parent.mkdir(parents=True)
    os.symlink(REPO_ROOT, root)  # a checkout, as bootstrap links it: galaxy.yml
    galaxy = (REPO_ROOT / "galaxy.yml").read_text()
    assert f"version: {collection_version(tmp_path)}\n" in galaxy
    other = tmp_path / "other"
    (other / "ansible_collections" / "preview" / "envs").mkdir(parents=True)
    (other / "ansible_collections" / "preview" / "envs" / "MANIFEST.json").write_text("{not json")
    assert collection_version(other) == "unknown"


def test_desired_state_gauge_is_read_when_scraped(tmp_path):
    store = Store(str(tmp_path / "state.db"))
    metrics = Metrics(store)
    by_state = {state: ("preview_desired_prs", (("state", state),)) for state in ("present", "held", "absent")}
    assert [samples(metrics)[key] for key in by_state.values()] == [0, 0, 0]
    want(store, 1, "present")
    want(store, 2, "present")
    want(store, 3, "held")
    found = samples(metrics)
    assert [found[key] for key in by_state.values()] == [2, 1, 0]
    want(store, 1, "absent")  # the PR was closed: its row moves, the gauge follows at the next scrape
    found = samples(metrics)
    assert [found[key] for key in by_state.values()] == [1, 1, 1]


def test_metrics_endpoint_serves_them(tmp_path):
    store = Store(str(tmp_path / "state.db"))
    want(store, 4, "present")
    config = Config(webhook_secret="s" * 32, repositories={REPO: RepoConfig(REPO, "/srv/app", "app")})
    client = falcon.testing.TestClient(create_app(config, store, None, Metrics(store)))
    body = client.simulate_get("/metrics").text
    assert 'preview_desired_prs{state="present"} 1.0' in body
    assert "preview_build_info{" in body and "process_cpu_seconds_total" in body
