"""Benchmark: does the shim's memory grow per preview? Many PRs opened and closed through the real shim.

Part 3 of docs/benchmarks.md asks that the shim's memory not grow per preview. bench/many.py reads the
shim's RSS around 100 real previews, but 100 is too few to tell a per-preview cost from warm-up. This
script puts many more PRs through the real `preview-shim` (waitress, SQLite, converger, ansible-runner) with
the no-op collection of bench/intake.py: each PR is opened (a deploy run) and closed (a cleanup run), in
rounds of --per-round PRs, and after every round, when the shim is idle, it reads the shim's RSS, threads
and open files. It then fits a line through the rounds after the first (the first holds the warm-up:
imports, SQLite's page cache, waitress's buffers) and reports the growth per preview.

    .venv/bin/python bench/shim_memory.py [--rounds 6] [--per-round 50] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    deliver,
    fake_collection,
    fmt,
    load_average,
    machine_info,
    print_machine,
    proc_status,
    shim_rows,
    table,
    wait_for_log,
    workdir,
    write_json,
)
from tests.support.shim_process import ShimProcess, shim_config

REPO = "octo/bench"
SHA = "0123456789abcdef0123456789abcdef01234567"


def sample(pid: int, db: str) -> dict:
    return {
        "rss_kib": proc_status(pid, "VmRSS"),
        "threads": proc_status(pid, "Threads"),
        "open_files": len(os.listdir(f"/proc/{pid}/fd")),
        "db_kib": os.path.getsize(db) // 1024,
        "wal_kib": os.path.getsize(db + "-wal") // 1024 if os.path.exists(db + "-wal") else 0,
        "runs": len(shim_rows(db, "runs")),
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _y in points) / n
    mean_y = sum(y for _x, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _y in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else float("nan")


def accepted(url: str, action: str, numbers: range, when: str) -> int:
    return deliver(url, REPO, action, numbers, SHA, when, workers=4).count(202)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    if not 2 <= args.rounds <= 20 or not 1 <= args.per_round <= 200:
        parser.error("--rounds within 2..20, --per-round within 1..200")
    info = machine_info()
    print_machine(info)
    root = workdir("shim-memory")
    collections = fake_collection(root / "collections")
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections  # shim_config reads it
    config = shim_config(
        root,
        {REPO: {"clone_url": str(root / "unused-clone-url")}},
        {},
        collections_path=collections,
        reconcile_interval=3600,
    )
    shim = ShimProcess(root, config).start()
    db = config["state_db"]
    samples = []
    try:
        wait_for_log(shim.log_text, "reconcile", timeout=60)
        shim.wait_idle()
        samples.append({"previews": 0, **sample(shim.proc.pid, db)})
        started = time.monotonic()
        for rnd in range(args.rounds):
            numbers = range(1 + rnd * args.per_round, 1 + (rnd + 1) * args.per_round)
            opened = accepted(shim.webhook_url, "opened", numbers, "2026-12-01T10:00:00Z")
            shim.wait_idle(timeout=600)
            closed = accepted(shim.webhook_url, "closed", numbers, "2026-12-01T10:01:00Z")
            shim.wait_idle(timeout=600)
            point = {"previews": (rnd + 1) * args.per_round, **sample(shim.proc.pid, db)}
            samples.append(point)
            print(
                f"round {rnd + 1}: opened {opened} closed {closed}, {point['runs']} runs, "
                f"rss {point['rss_kib'] / 1024:.1f} MiB, threads {point['threads']}, "
                f"open files {point['open_files']}, db {point['db_kib']} KiB + wal {point['wal_kib']} KiB "
                f"({time.monotonic() - started:.0f} s)",
                flush=True,
            )
        failed = sum(1 for run in shim_rows(db, "runs") if run["status"] != "successful")
    finally:
        shim.stop()
    after_warmup = [(s["previews"], s["rss_kib"]) for s in samples[1:]]
    per_preview = slope(after_warmup)
    figures = {
        "samples": samples,
        "failed_runs": failed,
        "rss_growth_kib_per_preview_after_round_1": per_preview,
        "rss_first_round_kib": samples[1]["rss_kib"] - samples[0]["rss_kib"],
    }
    print()
    print(
        f"shim memory over {args.rounds} rounds of {args.per_round} PRs opened and closed "
        f"(no-op playbooks; {samples[-1]['runs']} runs, {failed} not successful)"
    )
    print(
        table(
            ["previews so far", "runs", "RSS MiB", "threads", "open files", "state db KiB", "its WAL KiB"],
            [
                [
                    s["previews"],
                    s["runs"],
                    f"{s['rss_kib'] / 1024:.1f}",
                    s["threads"],
                    s["open_files"],
                    s["db_kib"],
                    s["wal_kib"],
                ]
                for s in samples
            ],
        )
    )
    print()
    print(
        f"first round: {figures['rss_first_round_kib'] / 1024:+.1f} MiB (warm-up); after it: "
        f"{fmt(per_preview)} KiB per preview (least squares over rounds 1..{args.rounds}), "
        f"{fmt(per_preview * 100 / 1024)} MiB per 100 previews"
    )
    info["loadavg_end"] = load_average()
    write_json(args.json, {"machine": info, "figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
