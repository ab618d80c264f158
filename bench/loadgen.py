"""The intake load process: signed `pull_request` deliveries at a fixed rate, open loop.

Every request is built, signed and serialised before the clock starts. Request i is due at
t0 + i / rate and is sent at that time whatever happened to the earlier ones (asyncio, one new
TCP connection per delivery, as GitHub sends them); its latency is counted from the time it was
due, not from when it went out, so a server (or a generator) that falls behind cannot hide it
(no coordinated omission). Each delivery has a unique GUID and a unique PR number, so each one is
a new desired state for the shim (the heaviest intake path: a write and a converger wake-up).

    python bench/loadgen.py --url http://127.0.0.1:PORT/webhook/github --rate 200 --duration 10 \
        --warmup 1 --repo octo/bench --first-pr 1 --out results.json

The secret comes from BENCH_WEBHOOK_SECRET. Only 127.0.0.1 is accepted as a target.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.webhooks import pull_request_payload, signed_headers

SHA = "0123456789abcdef0123456789abcdef01234567"


def build_requests(
    host: str, port: int, path: str, secret: str, repo: str, first_pr: int, count: int
) -> list[tuple[str, bytes]]:
    payload = pull_request_payload("opened", repo, 1, SHA, "2026-12-01T10:00:00Z")
    out = []
    for i in range(count):
        number = first_pr + i
        payload["number"] = number
        payload["pull_request"]["number"] = number
        body = json.dumps(payload).encode()
        guid = str(uuid.uuid4())
        headers = signed_headers(secret, body, "pull_request", guid)
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {host}:{port}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            "Accept: */*",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        out.append((guid, ("\r\n".join(head) + "\r\n\r\n").encode() + body))
    return out


async def one(host: str, port: int, raw: bytes, due: float, timeout: float) -> dict:
    started = time.perf_counter()
    result = {"lag": started - due}
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(raw)
                await writer.drain()
                status_line = await reader.readline()
                result["latency"] = time.perf_counter() - due
                parts = status_line.split()
                result["status"] = int(parts[1]) if len(parts) >= 2 else 0
                await reader.read()  # the rest, until the server closes (Connection: close)
            finally:
                writer.close()
    except TimeoutError:
        result["error"] = "timeout"
    except OSError as exc:
        result["error"] = f"{exc.__class__.__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a benchmark records every failure, it never stops on one
        result["error"] = f"{exc.__class__.__name__}: {exc}"
    return result


async def drive(
    host: str, port: int, reqs: list[tuple[str, bytes]], rate: float, timeout: float, max_in_flight: int
) -> tuple[list[dict], float]:
    results: list[dict | None] = [None] * len(reqs)
    in_flight = 0
    tasks = []

    async def run(i: int, due: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            res = await one(host, port, reqs[i][1], due, timeout)
        finally:
            in_flight -= 1
        res["due"] = due - t0
        results[i] = res

    loop_start = time.perf_counter()
    t0 = loop_start + 0.2
    for i in range(len(reqs)):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            results[i] = {"due": due - t0, "lag": time.perf_counter() - due, "error": "in-flight cap"}
            continue
        tasks.append(asyncio.create_task(run(i, due)))
    sent_for = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    return [dict(r, guid=reqs[i][0]) for i, r in enumerate(results)], sent_for


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="deliveries per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (after the warm-up)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds at the same rate, not counted")
    parser.add_argument("--repo", default="octo/bench")
    parser.add_argument("--first-pr", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0, help="per delivery, seconds")
    parser.add_argument("--max-in-flight", type=int, default=2000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    url = urlsplit(args.url)
    if url.hostname != "127.0.0.1" or url.scheme != "http":
        parser.error("the load goes to http://127.0.0.1 only")
    secret = os.environ.get("BENCH_WEBHOOK_SECRET", "")
    if not secret:
        parser.error("set BENCH_WEBHOOK_SECRET")
    if args.rate <= 0 or args.duration <= 0 or args.duration > 60 or args.rate > 2000:
        parser.error("rate must be in (0, 2000] per second and duration in (0, 60] seconds")
    warm = int(round(args.rate * args.warmup))
    count = warm + int(round(args.rate * args.duration))
    reqs = build_requests(url.hostname, url.port or 80, url.path or "/", secret, args.repo, args.first_pr, count)
    gc.collect()
    gc.freeze()
    gc.disable()
    results, sent_for = asyncio.run(
        drive(url.hostname, url.port or 80, reqs, args.rate, args.timeout, args.max_in_flight)
    )
    gc.enable()
    for i, res in enumerate(results):
        res["warmup"] = i < warm
    Path(args.out).write_text(
        json.dumps(
            {
                "rate": args.rate,
                "duration": args.duration,
                "warmup_count": warm,
                "sent_for": sent_for,
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
