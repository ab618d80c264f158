"""`preview-shim`: serve the webhook shim with waitress and run the converger.

SIGUSR1 asks GitHub for missed deliveries at once (see shim/redelivery.py), besides every redeliver_interval.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

import waitress

from . import config as config_mod
from . import logs
from .app import create_app
from .collection import CollectionCheck
from .converger import Converger
from .metrics import Metrics
from .redelivery import Redeliverer, RedeliveryLoop
from .store import Store

log = logging.getLogger("preview.shim")

# waitress request threads. bench/baseline_app.py serves through the same two functions, so the
# intake benchmark compares our app against a bare one on identical server settings.
THREADS = 8


def create_server(app, host: str, port: int, ident: str = "preview-shim"):
    """The waitress server the shim (and the benchmarks' bare apps) run: `THREADS` request threads."""
    return waitress.create_server(app, host=host, port=port, threads=THREADS, ident=ident)


def run_until_interrupted(server, *closers) -> None:
    """Serve until SIGINT (KeyboardInterrupt), then close the server and each of `closers`."""
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        for close in closers:
            close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preview-shim", description=__doc__)
    parser.add_argument("--config", help="config file (default: $PREVIEW_CONFIG or /etc/preview/config.yml)")
    parser.add_argument(
        "--drain-timeout", type=float, default=600.0, help="seconds SIGTERM waits for running playbooks (default 600)"
    )
    args = parser.parse_args(argv)
    logs.configure("text")
    try:
        config = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"preview-shim: {exc}", file=sys.stderr)
        return 2
    logs.configure(config.log_format)
    store = Store(config.state_db)
    metrics = Metrics(store, collections_path=config.collections_path)
    converger = Converger(config, store, metrics=metrics)
    converger.start()
    # Checked once here (logged) and then by every /healthz: a run without its playbook can only fail.
    collection = CollectionCheck(config.collections_path)
    for problem in collection.problems():
        log.error("%s: /healthz answers 503 until it is there", problem)
    app = create_app(
        config,
        store,
        converger,
        metrics,
        min_free_disk_bytes=config.health_min_free_mb * 1024 * 1024,
        collection=collection,
    )
    server = create_server(app, config.listen_host, config.listen_port)
    # The socket listens now: redeliveries GitHub sends right after the first check wait in its backlog.
    redelivery = RedeliveryLoop(Redeliverer(config, store), config.redeliver_interval)
    redelivery.start()
    signal.signal(signal.SIGUSR1, lambda signum, frame: redelivery.trigger())

    def drain_then_stop():
        finished = converger.drain(args.drain_timeout)
        log.info("drained=%s; stopping", finished)
        signal.raise_signal(signal.SIGINT)

    def on_term(signum, frame):
        log.info("SIGTERM: draining (deliveries are still accepted and stored)")
        redelivery.stop()
        threading.Thread(target=drain_then_stop, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    # drain_then_stop ends the server with SIGINT. A shim started as a background job of a shell (the
    # supervisor) inherits SIGINT ignored, and Python then installs no handler of its own: install it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for warning in config.warnings():
        log.warning("%s", warning)
    log.info(
        "listening on http://%s:%d repositories=%s concurrency=%d",
        config.listen_host,
        config.listen_port,
        ",".join(r.full_name for r in config.repositories.values()),
        config.concurrency,
    )
    run_until_interrupted(server, store.close)
    return 0


if __name__ == "__main__":
    sys.exit(main())
