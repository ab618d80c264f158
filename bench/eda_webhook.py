"""Event-Driven Ansible's webhook event source (`ansible.eda.webhook`) on its own, for bench/intake_servers.py.

The plugin file is imported from a checkout of ansible/event-driven-ansible (never copied into this
repository) and its `main(queue, args)` runs as ansible-rulebook would start it: aiohttp on one asyncio loop,
HMAC-SHA256 of the body checked against `X-Hub-Signature-256` (hex), each event put on an in-memory queue.
A consumer task drains the queue, so nothing is stored: the intake side of EDA only, without rule matching.

    BENCH_WEBHOOK_SECRET=... python bench/eda_webhook.py --eda-webhook PATH --port 18081

PATH is the checkout, or the plugin file itself (extensions/eda/plugins/event_source/webhook.py), or comes
from BENCH_EDA_WEBHOOK. SIGINT or SIGTERM stops it; it then prints how many events the consumer drained.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import os
import signal
import sys
from pathlib import Path
from types import ModuleType

PLUGIN_IN_CHECKOUT = Path("extensions/eda/plugins/event_source/webhook.py")


def plugin_path(given: str) -> Path:
    """The plugin file named by `given` (a checkout of event-driven-ansible or the file); ValueError if none."""
    path = Path(given).expanduser()
    if path.is_dir():
        path = path / PLUGIN_IN_CHECKOUT
    if not path.is_file():
        raise ValueError(
            f"no EDA webhook plugin at {path} (give a checkout of ansible/event-driven-ansible "
            f"or its {PLUGIN_IN_CHECKOUT})"
        )
    return path.resolve()


def plugin_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_plugin(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("eda_event_source_webhook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def serve(plugin: ModuleType, args: dict) -> int:
    queue: asyncio.Queue = asyncio.Queue()
    drained = 0

    async def consume() -> None:
        nonlocal drained
        while True:
            await queue.get()
            drained += 1

    source = asyncio.create_task(plugin.main(queue, args))
    consumer = asyncio.create_task(consume())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, source.cancel)
    try:
        await source  # the plugin catches its own cancellation and closes its server
    except asyncio.CancelledError:
        pass
    consumer.cancel()
    return drained


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--eda-webhook",
        default=os.environ.get("BENCH_EDA_WEBHOOK", ""),
        help="checkout of ansible/event-driven-ansible, or its webhook.py (env BENCH_EDA_WEBHOOK)",
    )
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ.get("BENCH_WEBHOOK_SECRET", "")
    if len(secret) < 16:
        parser.error("set BENCH_WEBHOOK_SECRET (at least 16 characters)")
    try:
        path = plugin_path(args.eda_webhook)
    except ValueError as exc:
        parser.error(str(exc))
    plugin = load_plugin(path)
    # The plugin reads each of these itself; they are its documented defaults, given explicitly.
    source_args = {
        "host": "127.0.0.1",
        "port": args.port,
        "hmac_secret": secret,
        "hmac_algo": "sha256",
        "hmac_header": "x-hub-signature-256",
        "hmac_format": "hex",
    }
    drained = asyncio.run(serve(plugin, source_args))
    print(f"eda webhook: drained {drained} events", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
