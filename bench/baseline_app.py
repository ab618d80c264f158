"""The intake baseline: a bare Falcon app on waitress that only checks the webhook's HMAC.

Same server as `preview-shim` (shim.serve.create_server: waitress, 8 threads) and the same signature check
(shim.signature.verify over the raw body), and nothing else: no parsing, no database, no log line.

    BENCH_WEBHOOK_SECRET=... python bench/baseline_app.py --port 18080
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import falcon

from shim import signature
from shim.serve import create_server, run_until_interrupted


class Webhook:
    def __init__(self, secret: str, cap: int):
        self.secret = secret
        self.cap = cap

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.bounded_stream.read(self.cap + 1)
        if not signature.verify(self.secret, body, req.get_header("X-Hub-Signature-256")):
            raise falcon.HTTPUnauthorized(title="Invalid signature")
        resp.status = falcon.HTTP_202
        resp.media = {"outcome": "accepted"}


class Healthz:
    def on_get(self, req, resp):
        resp.media = {"ok": True}


def create_app(secret: str, cap: int = 26 * 1024 * 1024) -> falcon.App:
    app = falcon.App()
    app.add_route("/webhook/github", Webhook(secret, cap))
    app.add_route("/healthz", Healthz())
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ.get("BENCH_WEBHOOK_SECRET", "")
    if len(secret) < 16:
        parser.error("set BENCH_WEBHOOK_SECRET (at least 16 characters)")
    run_until_interrupted(create_server(create_app(secret), args.host, args.port, ident="bench-baseline"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
