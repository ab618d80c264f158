"""Intake diagnostic: the shim's own Falcon app and SQLite store on waitress, without a converger.

Built from the shim's real parts (shim.config.load, shim.store.Store, shim.app.create_app, the same
waitress settings and log format as shim/serve.py) but with no converger thread, so bench/intake.py
can tell the cost of verify + parse + store + log (this) from the cost of the converger's work while
the load is on (the real `preview-shim`). Not a replacement for the shim; only bench/intake.py runs it.

    python bench/intake_app_only.py --config shim.yml
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from shim import config as config_mod
from shim.app import create_app
from shim.metrics import Metrics
from shim.serve import create_server, run_until_interrupted
from shim.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = config_mod.load(args.config)
    store = Store(config.state_db)
    app = create_app(config, store, None, Metrics(store))
    run_until_interrupted(create_server(app, config.listen_host, config.listen_port), store.close)
    return 0


if __name__ == "__main__":
    sys.exit(main())
