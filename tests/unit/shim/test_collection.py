"""shim/collection.py: where the collection is, and /healthz when it or one of its playbooks is not there."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import falcon.testing
import pytest

from shim import collection
from shim.app import create_app
from shim.collection import COLLECTION_DIR, CollectionCheck, default_collections_path
from shim.config import Config
from shim.store import Store
from shim.vocabulary import RunKind

PLAYBOOKS = ("cleanup.yml", "deploy.yml", "hold.yml", "reconcile.yml", "report.yml")


def a_collection(root, playbooks=PLAYBOOKS):
    (root / COLLECTION_DIR / "playbooks").mkdir(parents=True)
    for name in playbooks:
        (root / COLLECTION_DIR / "playbooks" / name).write_text("---\n")
    return str(root)


def test_every_run_kind_has_its_playbook_checked(tmp_path):
    assert sorted(kind.playbook for kind in RunKind) == list(PLAYBOOKS)
    assert CollectionCheck(a_collection(tmp_path)).problems() == []


def test_a_missing_collection_or_playbook_is_named(tmp_path):
    assert CollectionCheck(str(tmp_path / "nowhere")).problems() == [
        f"no preview.envs collection at {tmp_path / 'nowhere' / COLLECTION_DIR} (collections_path)"
    ]
    root = a_collection(tmp_path, [name for name in PLAYBOOKS if name not in ("hold.yml", "report.yml")])
    playbooks = tmp_path / COLLECTION_DIR / "playbooks"
    assert CollectionCheck(root).problems() == [
        f"playbook missing: {playbooks / 'hold.yml'}",
        f"playbook missing: {playbooks / 'report.yml'}",
    ]


class Converger:
    def notify(self):
        pass

    def alive(self):
        return True

    def running(self):
        return []


@pytest.fixture
def health(tmp_path):
    store = Store(str(tmp_path / "state.db"))
    root = a_collection(tmp_path / "collections")
    app = create_app(
        Config(webhook_secret="x" * 16, repositories={}), store, Converger(), collection=CollectionCheck(root)
    )
    yield falcon.testing.TestClient(app), tmp_path / "collections" / COLLECTION_DIR
    store.close()


def test_healthz_says_the_collection_is_there(health):
    client, _root = health
    answer = client.simulate_get("/healthz")
    assert answer.status_code == 200 and answer.json["collection"] == "ok"


def test_healthz_answers_503_naming_a_playbook_that_went_away(health):
    client, root = health
    (root / "playbooks" / "deploy.yml").unlink()
    answer = client.simulate_get("/healthz")
    assert answer.status_code == 503
    assert answer.json["collection"] == f"playbook missing: {root / 'playbooks' / 'deploy.yml'}"
    assert answer.json["database_writable"] is True and answer.json["worker_alive"] is True


def test_the_default_collections_path_prefers_the_venvs_then_what_python_imports(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setattr(collection, "importable_collections_path", lambda: "/site-packages")
    assert default_collections_path() == "/site-packages"  # the wheel's copy
    a_collection(tmp_path / "venv" / "collections")
    assert default_collections_path() == str(tmp_path / "venv" / "collections")  # the shim role's layout
    (tmp_path / "venv" / "collections" / COLLECTION_DIR / "playbooks" / "deploy.yml").unlink()
    assert default_collections_path() == str(tmp_path / "venv" / "collections")  # there, if incomplete: /healthz
    monkeypatch.setattr(collection, "importable_collections_path", lambda: None)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "other"))
    assert default_collections_path() == str(tmp_path / "other" / "collections")  # nowhere: load() says so


def test_the_checkouts_collection_is_found_where_python_imports_it():
    found = collection.importable_collections_path()
    imported = importlib.import_module(collection.PACKAGE)
    assert found is not None and list(imported.__path__)[0] == str(Path(found) / COLLECTION_DIR)
