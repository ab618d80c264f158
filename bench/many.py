"""Many previews on one host: N previews of the tiny example app, then the TTL removes them all.

Reports nginx's reload time with 0, 1 and N previews routed (and with `--synthetic` route files in all:
copies of a real preview's file under other labels, when there is no time for that many real previews);
the shim's memory at start, with 1 and with N previews (the same process) and, restarted, after the
cleanup; the host memory and disk each preview takes; the time the TTL takes to remove all of them; and
whatever is left afterwards (must be nothing). Real shim, ansible-runner, Docker, nginx and git; GitHub
is the stand-in.

Reload time is measured as nginx serves it: from `nginx -s reload` until a location that only the new
configuration has answers (the old workers still serve the old one until then). `nginx -t`, which every
deploy runs before its reload, is timed beside it.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
import uuid

import requests
from _common import (
    cpu_busy,
    deliver,
    leases,
    load_average,
    machine_info,
    median,
    preview_host,
    print_machine,
    records,
    rss_mib,
    shim_rows,
    workdir,
    write_json,
)

from tests.support.leftovers import project_resources
from tests.support.nginx import PrivateNginx
from tests.support.shim_process import ShimProcess

REPO = "octo/hello"


def mem_available_mib() -> float:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def du_mib(path: str) -> float:
    done = subprocess.run(["du", "-sxm", path], capture_output=True, text=True, check=False)
    return float(done.stdout.split()[0]) if done.returncode == 0 and done.stdout else 0.0


def docker_root() -> str:
    return subprocess.run(
        ["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True, text=True, check=True
    ).stdout.strip()


def container_memory_mib(project_prefix: str) -> float:
    """The cgroup memory of every container of our previews, summed (docker stats)."""
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = 0.0
    units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}
    for line in out.splitlines():
        name, usage = line.split(" ", 1)
        if not name.startswith(project_prefix):
            continue
        value = usage.split("/")[0].strip()
        for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
            if value.endswith(unit):
                total += float(value[: -len(unit)]) * factor
                break
    return total


def reload_times(nginx: PrivateNginx, repeat: int = 5) -> dict:
    """Medians over `repeat` reloads: nginx -t, and reload until the new configuration answers."""
    tests, reloads = [], []
    probe = nginx.configs_dir / "zz-bench-probe.location.conf"
    try:
        for _attempt in range(repeat):
            token = uuid.uuid4().hex
            probe.write_text(f'location = /__bench_probe {{ return 200 "{token}"; }}\n')
            started = time.perf_counter()
            subprocess.run(nginx.test_command, check=True, capture_output=True)
            tests.append(time.perf_counter() - started)
            started = time.perf_counter()
            subprocess.run(nginx.reload_command, check=True, capture_output=True)
            deadline = started + 30
            while time.perf_counter() < deadline:
                try:
                    if requests.get(nginx.base_url + "/__bench_probe", timeout=2).text == token:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.002)
            reloads.append(time.perf_counter() - started)
    finally:
        probe.unlink(missing_ok=True)
        subprocess.run(nginx.reload_command, check=False, capture_output=True)
    return {
        "nginx_t_ms": round(median(tests) * 1000, 1),
        "reload_ms": round(median(reloads) * 1000, 1),
        "reload_max_ms": round(max(reloads) * 1000, 1),
        "files": len(nginx.files()),
    }


def wait_live(db: str, numbers: list[int], timeout: float) -> float:
    started = time.monotonic()
    deadline = started + timeout
    wanted = set(numbers)
    while time.monotonic() < deadline:
        live = {r["pr"] for r in records(db) if r["repo"] == REPO and r["status"] == "live"}
        if wanted <= live:
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"not all live within {timeout:.0f} s: {sorted(wanted - live)[:10]} ...")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previews", type=int, default=100)
    parser.add_argument(
        "--synthetic",
        type=int,
        default=300,
        help="also time a reload with this many route files (real previews plus ones pointing nowhere)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)

    tmp = workdir("many")
    numbers = list(range(4001, 4001 + args.previews))
    figures: dict = {"previews": args.previews}
    docker_dir = docker_root()
    try:
        with preview_host(tmp, REPO, numbers, "many") as host:
            github, nginx, sha, db = host.github, host.nginx, host.sha, host.db
            figures["reload_0"] = reload_times(nginx)
            time.sleep(2)
            figures["shim_rss_start_mib"] = round(rss_mib(host.shim.proc.pid), 1)
            mem_before = mem_available_mib()
            disk_before = du_mib(docker_dir) + du_mib(str(tmp / "deployments"))

            def opened(batch: list[int], workers: int) -> list[int]:
                return deliver(host.shim.webhook_url, REPO, "opened", batch, sha, "2026-12-01T10:00:00Z", workers)

            assert opened(numbers[:1], 1) == [202]
            figures["first_live_s"] = round(wait_live(db, numbers[:1], args.timeout), 2)
            host.shim.wait_idle(args.timeout)
            figures["reload_1"] = reload_times(nginx)
            figures["shim_rss_1_mib"] = round(rss_mib(host.shim.proc.pid), 1)

            started = time.monotonic()
            statuses = opened(numbers[1:], 8)
            figures["accepted"] = 1 + sum(1 for s in statuses if s == 202)
            wait_live(db, numbers, args.timeout)
            host.shim.wait_idle(args.timeout)
            figures["all_live_s"] = round(time.monotonic() - started, 1)
            time.sleep(5)  # let the last containers settle before memory is read
            # Idle previews still cost CPU: each container's healthcheck is an exec every interval.
            figures["cpu_busy_idle_at_n_pct"] = round(cpu_busy(5.0), 1)
            figures["loadavg_at_n"] = load_average()
            figures["reload_n"] = reload_times(nginx)
            figures["shim_rss_n_mib"] = round(rss_mib(host.shim.proc.pid), 1)
            figures["memory_per_preview_mib"] = round((mem_before - mem_available_mib()) / args.previews, 2)
            figures["container_memory_per_preview_mib"] = round(
                container_memory_mib("preview-hello-pr-") / args.previews, 2
            )
            disk_after = du_mib(docker_dir) + du_mib(str(tmp / "deployments"))
            figures["disk_per_preview_mib"] = round((disk_after - disk_before) / args.previews, 2)
            figures["work_dir_per_preview_kib"] = round(du_mib(str(tmp / "deployments")) * 1024 / args.previews)
            pages = [requests.get(f"{nginx.base_url}/hello-pr-{n}/", timeout=5).status_code for n in numbers]
            figures["serving_200"] = sum(1 for status in pages if status == 200)

            if args.synthetic > args.previews:
                # Copies of a real preview's route file under other labels: nginx parses them all.
                template = (nginx.configs_dir / f"hello-pr-{numbers[0]}.location.conf").read_text()
                extra = []
                for index in range(args.synthetic - args.previews):
                    path = nginx.configs_dir / f"synthetic-{index}.location.conf"
                    path.write_text(template.replace(f"hello-pr-{numbers[0]}", f"synthetic-pr-{index}"))
                    extra.append(path)
                try:
                    figures["reload_synthetic"] = reload_times(nginx)
                finally:
                    for path in extra:
                        path.unlink()
                    subprocess.run(nginx.reload_command, check=False, capture_output=True)

            # The TTL: the same shim restarted with a TTL every preview is already past.
            host.shim.stop(signal.SIGTERM)
            host.shim.config["ttl_hours"] = 1 / 3600
            started = time.monotonic()
            host.shim = ShimProcess(tmp, host.shim.config).start()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and (records(db) or nginx.files()):
                time.sleep(0.5)
            host.shim.wait_idle(args.timeout)
            figures["ttl_cleanup_all_s"] = round(time.monotonic() - started, 1)
            figures["shim_rss_restarted_after_cleanup_mib"] = round(rss_mib(host.shim.proc.pid), 1)
            left = [n for n in numbers if any(project_resources(f"preview-hello-pr-{n}").values())]
            left += [n for n in numbers if (tmp / "deployments" / f"hello-pr-{n}").exists()]
            figures["left_after_cleanup"] = sorted(set(left)) + nginx.files()
            figures["records_left"] = len(records(db)) + len(leases(db))
            runs = shim_rows(db, "runs")
            figures["runs_failed"] = sum(1 for r in runs if r["status"] != "successful")
            figures["runs_failed_messages"] = [
                f"{r['kind']}: {r['message'][:300]}" for r in runs if r["status"] != "successful"
            ][:3]
            figures["cleanup_runs"] = sum(1 for r in runs if r["kind"] == "cleanup")
            figures["violations"] = len(github.violations)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    for key, value in figures.items():
        print(f"{key:>34}: {value}")
    write_json(args.json, {"machine": info, "many": figures})
    ok = (
        figures.get("serving_200") == args.previews
        and not figures.get("left_after_cleanup")
        and not figures.get("records_left")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
