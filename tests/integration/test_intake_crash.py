"""Durable intake under a burst: the real shim is killed with SIGKILL in the middle of a burst of signed
deliveries, and every delivery that was answered 2xx is in its state file afterwards (group commit answers a
request only after the transaction holding its delivery is committed)."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import uuid

import requests

from tests.support.noop_collection import noop_collection
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, signed_headers

REPO = "octo/burst"
SHA = "0123456789abcdef0123456789abcdef01234567"
CONNECTIONS = 16
PER_CONNECTION = 60
KILL_AFTER = 300  # answers


def test_every_delivery_answered_2xx_survives_a_sigkill_mid_burst(tmp_path):
    config = shim_config(tmp_path, {REPO: {"clone_url": "/nonexistent"}}, {})
    config["collections_path"] = noop_collection(tmp_path / "collections")
    shim = ShimProcess(tmp_path, config).start()
    answered: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def burst(first_pr: int) -> None:
        with requests.Session() as session:  # keep-alive, as GitHub's senders reuse connections
            for pr in range(first_pr, first_pr + PER_CONNECTION):
                body = json.dumps(pull_request_payload("opened", REPO, pr, SHA, "2026-12-01T10:00:00Z")).encode()
                guid = str(uuid.uuid4())
                try:
                    resp = session.post(
                        shim.webhook_url,
                        data=body,
                        timeout=10,
                        headers=signed_headers(SECRET, body, "pull_request", guid),
                    )
                    ok = 200 <= resp.status_code < 300
                except requests.RequestException:
                    ok = False
                with lock:
                    (answered if ok else failed).append(guid)
                    if len(answered) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        shim.stop(signal.SIGKILL)
                if killed.is_set() and not ok:
                    return

    threads = [threading.Thread(target=burst, args=(1 + i * PER_CONNECTION,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    shim.stop(signal.SIGKILL)

    assert killed.is_set(), f"the burst ended before the kill: {len(answered)} answered"
    assert failed, "the kill came after the last delivery: not mid-burst"
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        stored = {row[0] for row in conn.execute("SELECT guid FROM deliveries")}
    lost = [guid for guid in answered if guid not in stored]
    assert lost == [], f"{len(lost)} of {len(answered)} deliveries answered 2xx are not in the state file"
