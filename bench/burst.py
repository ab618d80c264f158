"""Burst: N pull requests opened within one second, with the default concurrency cap.

Reports whether every one goes live and none is lost, the time until the last is live, the time the first
one waited in the queue, the waits of all, and the time to clean all of them up afterwards (and whether
anything is left). Real shim, ansible-runner, Docker, nginx and git; GitHub is the stand-in.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _common import (
    leases,
    machine_info,
    median,
    percentile,
    preview_host,
    print_machine,
    records,
    shim_rows,
    workdir,
    write_json,
)

from tests.support.leftovers import project_resources
from tests.support.shim_process import SECRET
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=30)
    parser.add_argument("--within", type=float, default=1.0, help="seconds over which the opens are spread")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)

    tmp = workdir("burst")
    numbers = list(range(3001, 3001 + args.prs))
    figures: dict = {"prs": args.prs}
    try:
        with preview_host(tmp, REPO, numbers, "burst") as host:
            github, nginx, sha, shim, db = host.github, host.nginx, host.sha, host.shim, host.db
            payloads = [pull_request_payload("opened", REPO, n, sha, "2026-12-01T10:00:00Z") for n in numbers]
            t0 = time.time()

            def fire(indexed):
                index, payload = indexed
                time.sleep(max(0.0, t0 + index * args.within / args.prs - time.time()))
                return send(shim.webhook_url, SECRET, payload).status_code

            with ThreadPoolExecutor(max_workers=args.prs) as pool:
                statuses = list(pool.map(fire, enumerate(payloads)))
            sent_in = time.time() - t0
            live_at: dict[int, float] = {}
            deadline = time.monotonic() + args.timeout
            while len(live_at) < args.prs and time.monotonic() < deadline:
                for row in records(db):
                    if row["repo"] == REPO and row["status"] == "live" and row["pr"] not in live_at:
                        live_at[row["pr"]] = time.time() - t0
                time.sleep(0.2)
            shim.wait_idle(args.timeout)
            runs = shim_rows(db, "runs")
            waits = [r["started"] - r["queued"] for r in runs if r["kind"] == "deploy"]
            durations = [r["finished"] - r["started"] for r in runs if r["kind"] == "deploy" and r["finished"]]
            deliveries = len(shim_rows(db, "deliveries", REPO))
            figures.update(
                accepted=sum(1 for s in statuses if s == 202),
                sent_within_s=round(sent_in, 3),
                stored=deliveries,
                live=len(live_at),
                failed=sum(1 for r in runs if r["status"] != "successful"),
                last_live_s=round(max(live_at.values()), 2) if live_at else None,
                first_live_s=round(min(live_at.values()), 2) if live_at else None,
                first_wait_s=round(waits[0], 3) if waits else None,
                wait_median_s=round(median(waits), 2) if waits else None,
                wait_max_s=round(max(waits), 2) if waits else None,
                run_median_s=round(median(durations), 2) if durations else None,
                run_p90_s=round(percentile(durations, 90), 2) if durations else None,
                comments_live=sum(
                    1
                    for n in numbers
                    if github.comments(REPO, n) and "Preview live" in github.comments(REPO, n)[0]["body"]
                ),
            )

            started = time.time()
            closes = [pull_request_payload("closed", REPO, n, sha, "2026-12-01T11:00:00Z") for n in numbers]
            with ThreadPoolExecutor(max_workers=args.prs) as pool:
                list(pool.map(lambda p: send(shim.webhook_url, SECRET, p), closes))
            shim.wait_idle(args.timeout)
            figures["cleanup_all_s"] = round(time.time() - started, 2)
            left = [n for n in numbers if any(project_resources(f"preview-hello-pr-{n}").values())]
            left += [n for n in numbers if (tmp / "deployments" / f"hello-pr-{n}").exists()]
            figures["left_after_cleanup"] = sorted(set(left)) + nginx.files()
            figures["records_left"] = len(records(db)) + len(leases(db))
            figures["violations"] = len(github.violations)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    write_json(args.json, {"machine": info, "burst": figures})
    ok = figures.get("live") == args.prs and not figures.get("left_after_cleanup") and not figures.get("records_left")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
