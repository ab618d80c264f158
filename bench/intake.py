"""Benchmark: webhook intake of the shim against a bare HMAC-checking Falcon endpoint.

For each rate (default 50, 200 and 500 deliveries/s) and each round, every side is measured once,
one after the other, the order rotating between rounds:

* ours: the real `preview-shim` under waitress (tests.support.ShimProcess), a fresh state database,
  concurrency 1, and a collections path holding a tiny fake preview.envs whose deploy/cleanup
  playbooks are one `ansible.builtin.meta: noop`. The converger therefore really wakes up, scans the
  pending PRs and runs ansible-runner (one no-op run after the other, in the background) while the
  load is on, but nothing is deployed. Right after the load the shim is killed with SIGKILL (a crash,
  no graceful drain) and every delivery that got a 2xx is looked up in its SQLite database: lost
  must be 0.
* baseline: bench/baseline_app.py, Falcon + waitress (8 threads, as the shim) verifying the HMAC only.
* baseline-runs (a control, in the main comparison by default): the same baseline, while a separate
  process runs the same no-op playbook one run after the other, at the shim's run_nice (10). It
  shows what runs beside a server cost any server on this host: the ratio ours/baseline-runs is
  the cost of our intake itself.

Diagnostics (`--sides`, not part of the comparison): `busy-slot` is the real shim whose one converger
slot is held by a deploy that sleeps, so the converger wakes and scans but starts no run;
`app-only` is the shim's own app and store on waitress without a converger (bench/intake_app_only.py).

The load comes from a separate process (bench/loadgen.py): open loop, one new connection per delivery,
unique GUIDs and PR numbers, latency counted from each delivery's due time to its status line.

    .venv/bin/python bench/intake.py [--rates 50,200,500] [--duration 10] [--rounds 3]
        [--sides ours,baseline,baseline-runs[,busy-slot,app-only]] [--json FILE] [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
import yaml

from bench._common import (
    BENCH_DIR,
    fake_collection,
    fmt,
    load_average,
    machine_info,
    median,
    percentile,
    print_machine,
    ratio,
    shim_rows,
    table,
    wait_for_log,
    wait_quiet,
    workdir,
    write_json,
)
from tests.support.nginx import free_port
from tests.support.shim_process import SECRET, ShimProcess, shim_config

REPO = "octo/bench"
TICK = os.sysconf("SC_CLK_TCK")
SIDES = ("ours", "baseline", "baseline-runs", "busy-slot", "app-only")
RUN_NICE = 10  # the shim's default run_nice (shim/config.py)
STATS = ("p50_ms", "p99_ms", "max_ms", "cpu_ms_per_delivery", "lag_p99_ms")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (not its children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICK


def run_load(url: str, rate: int, duration: float, warmup: float, first_pr: int, out: Path) -> dict:
    env = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
    argv = [
        sys.executable,
        str(BENCH_DIR / "loadgen.py"),
        "--url",
        url,
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--repo",
        REPO,
        "--first-pr",
        str(first_pr),
        "--out",
        str(out),
    ]
    subprocess.run(argv, check=True, env=env, timeout=duration + warmup + 120)
    return json.loads(out.read_text())


def summarize(load: dict) -> dict:
    measured = [r for r in load["results"] if not r["warmup"]]
    ok = [r for r in measured if 200 <= r.get("status", 0) < 300]
    lat = [r["latency"] * 1000 for r in ok]
    lags = [max(0.0, r["lag"]) * 1000 for r in measured]
    statuses: dict[str, int] = {}
    for r in measured:
        key = str(r.get("status") or r.get("error", "?"))
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "sent": len(measured),
        "ok": len(ok),
        "failed": len(measured) - len(ok),
        "statuses": statuses,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "lag_p99_ms": percentile(lags, 99),
        "achieved_rate": len(load["results"]) / load["sent_for"] if load["sent_for"] else float("nan"),
    }


def wait_listening(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url}")


def stop_proc(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def start_profiler(pid: int, out: Path) -> subprocess.Popen:
    prof = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--rate",
            "200",
            "--format",
            "raw",
            "--full-filenames",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    return prof


def measure(
    side: str, root: Path, rate: int, duration: float, warmup: float, first_pr: int, profile: Path | None = None
) -> dict:
    """Start the side's server, put the load on it, stop it, and check its database."""
    tmp = root / f"{side}-{rate}-{first_pr}"
    tmp.mkdir()
    config = None
    runs_loop = None
    if side == "baseline-runs":
        collections = fake_collection(tmp / "collections")
        playbook = Path(collections) / "ansible_collections" / "preview" / "envs" / "playbooks" / "deploy.yml"
        ansible_playbook = Path(sys.executable).parent / "ansible-playbook"
        loop = (
            f"while :; do nice -n {RUN_NICE} '{ansible_playbook}' -i localhost, -c local "
            f"-e ansible_python_interpreter='{sys.executable}' '{playbook}' >/dev/null 2>&1; done"
        )
        runs_loop = subprocess.Popen(["bash", "-c", loop], start_new_session=True, stdin=subprocess.DEVNULL)
    elif side != "baseline":
        collections = fake_collection(tmp / "collections", hold_slot=(side == "busy-slot"))
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections  # shim_config reads it
        config = shim_config(
            tmp,
            {REPO: {"clone_url": str(tmp / "unused-clone-url")}},
            {},
            collections_path=collections,
            concurrency=1,
            reconcile_interval=3600,
        )
    if side in ("ours", "busy-slot"):
        shim = ShimProcess(tmp, config).start()
        pid, url = shim.proc.pid, shim.webhook_url
        wait_for_log(shim.log_text, "reconcile", timeout=30)  # the start-up pass (a no-op run) is over

        def stop():
            shim.stop(signal.SIGKILL)  # a crash right after the load: what was acknowledged must be stored
    else:
        env = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
        if side in ("baseline", "baseline-runs"):
            port = free_port()
            argv = [sys.executable, str(BENCH_DIR / "baseline_app.py"), "--port", str(port)]
        else:
            port = config["listen"]["port"]
            (tmp / "shim.yml").write_text(yaml.safe_dump(config))
            argv = [sys.executable, str(BENCH_DIR / "intake_app_only.py"), "--config", str(tmp / "shim.yml")]
        log = open(tmp / "server.log", "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        pid, url = proc.pid, f"http://127.0.0.1:{port}/webhook/github"

        def stop():
            if runs_loop is not None:
                os.killpg(runs_loop.pid, signal.SIGKILL)
                runs_loop.wait(10)
            stop_proc(proc, signal.SIGKILL if side == "app-only" else signal.SIGINT)
            log.close()

        try:
            wait_listening(f"http://127.0.0.1:{port}/healthz", proc)
            if runs_loop is not None:
                time.sleep(1.0)  # the first run under way, as the shim's would be
        except Exception:
            stop()
            raise
    prof = None
    try:
        if profile is not None:
            prof = start_profiler(pid, profile)
        cpu0 = cpu_seconds(pid)
        load = run_load(url, rate, duration, warmup, first_pr, tmp / "load.json")
        cpu1 = cpu_seconds(pid)
    finally:
        if prof is not None:
            prof.send_signal(signal.SIGINT)
            prof.wait(60)
        stop()
    summary = summarize(load)
    summary["cpu_ms_per_delivery"] = (cpu1 - cpu0) * 1000 / max(1, len(load["results"]))
    if config is not None:
        stored = {row["guid"] for row in shim_rows(config["state_db"], "deliveries")}
        runs = len(shim_rows(config["state_db"], "runs"))
        acked = [r["guid"] for r in load["results"] if 200 <= r.get("status", 0) < 300]
        summary.update(acked_total=len(acked), lost=sum(1 for guid in acked if guid not in stored), runs_started=runs)
    return summary


def medians(runs: list[dict]) -> dict:
    return {key: median([r[key] for r in runs]) for key in STATS}


def report(results: dict, sides: list[str], rounds: int, duration: float) -> list[str]:
    lines = [
        f"intake, medians of {rounds} rounds of {duration:g} s per rate and side "
        "(ms from a delivery's due time to its status line)"
    ]
    rows, verdicts = [], []
    for rate, by_side in results.items():
        ours, base = medians(by_side["ours"]), medians(by_side["baseline"])
        lost = sum(r["lost"] for r in by_side["ours"])
        p99_ratio = ratio(ours["p99_ms"], base["p99_ms"])
        non2xx = f"{sum(r['failed'] for r in by_side['ours'])}/{sum(r['failed'] for r in by_side['baseline'])}"
        rows.append(
            [
                rate,
                fmt(ours["p50_ms"]),
                fmt(ours["p99_ms"]),
                fmt(ours["max_ms"]),
                fmt(base["p50_ms"]),
                fmt(base["p99_ms"]),
                fmt(base["max_ms"]),
                fmt(p99_ratio),
                lost,
                non2xx,
                f"{fmt(ours['cpu_ms_per_delivery'])} / {fmt(base['cpu_ms_per_delivery'])}",
            ]
        )
        control = medians(by_side["baseline-runs"]) if "baseline-runs" in by_side else None
        verdicts.append((rate, ours, p99_ratio, lost, control))
    lines.append(
        table(
            [
                "rate/s",
                "ours p50",
                "ours p99",
                "ours max",
                "base p50",
                "base p99",
                "base max",
                "p99 ours/base",
                "lost",
                "non-2xx ours/base",
                "CPU ms/delivery ours / base",
            ],
            rows,
        )
    )
    lines.append("")
    for rate, ours, p99_ratio, lost, control in verdicts:
        checks = [
            f"p99 ours/baseline {fmt(p99_ratio)} {'<=' if p99_ratio <= 2 else '>'} 2",
            f"lost {lost} {'==' if lost == 0 else '!='} 0",
        ]
        ok = lost == 0 and p99_ratio <= 2
        if rate == 200:
            checks.insert(0, f"p99 {fmt(ours['p99_ms'])} ms {'<=' if ours['p99_ms'] <= 20 else '>'} 20")
            ok = ok and ours["p99_ms"] <= 20
        line = f"target at {rate}/s: {'met' if ok else 'MISSED'} ({'; '.join(checks)})"
        if control is not None:
            line += (
                f"; control: baseline with the same runs beside it p99 {fmt(control['p99_ms'])} ms, "
                f"ours/that {fmt(ratio(ours['p99_ms'], control['p99_ms']))}"
            )
        lines.append(line)
    extra = [s for s in sides if s not in ("ours", "baseline")]
    if extra:
        lines.append("")
        lines.append("diagnostics (medians; ms)")
        rows = []
        for rate, by_side in results.items():
            for side in sides:
                m = medians(by_side[side])
                shim = side not in ("baseline", "baseline-runs")
                lost = sum(r.get("lost", 0) for r in by_side[side]) if shim else "n/a"
                runs = median([r["runs_started"] for r in by_side[side]]) if shim else "n/a"
                rows.append(
                    [
                        rate,
                        side,
                        fmt(m["p50_ms"]),
                        fmt(m["p99_ms"]),
                        fmt(m["max_ms"]),
                        fmt(m["cpu_ms_per_delivery"]),
                        lost,
                        runs,
                    ]
                )
        lines.append(table(["rate/s", "side", "p50", "p99", "max", "CPU ms/delivery", "lost", "runs started"], rows))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,200,500")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sides", default="ours,baseline,baseline-runs")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument(
        "--profile",
        help="after the measured rounds, profile one more window of ours "
        "(at --profile-rate) with py-spy into this directory",
    )
    parser.add_argument("--profile-rate", type=int, default=200)
    args = parser.parse_args()
    rates = [int(x) for x in args.rates.split(",") if x]
    sides = [s for s in args.sides.split(",") if s]
    if not {"ours", "baseline"} <= set(sides) or not set(sides) <= set(SIDES):
        parser.error(f"--sides must hold ours and baseline, and only {', '.join(SIDES)}")
    if not 1 <= args.rounds <= 10 or any(not 1 <= r <= 1000 for r in rates):
        parser.error("--rounds within 1..10, rates within 1..1000/s")
    info = machine_info()
    print_machine(info)
    root = workdir("intake")
    results: dict[int, dict[str, list[dict]]] = {}
    first_pr = 1
    try:
        for rate in rates:
            results[rate] = {side: [] for side in sides}
            for rnd in range(args.rounds):
                order = sides[rnd % len(sides) :] + sides[: rnd % len(sides)]
                for side in order:
                    busy, waited = wait_quiet()
                    res = measure(side, root, rate, args.duration, args.warmup, first_pr)
                    first_pr += int(rate * (args.duration + args.warmup)) + 1
                    res["cpu_busy_before"] = busy
                    res["waited_for_quiet"] = waited
                    res["loadavg_after"] = load_average()
                    results[rate][side].append(res)
                    extra = (
                        f" lost={res['lost']}/{res['acked_total']} runs={res['runs_started']}" if "lost" in res else ""
                    )
                    print(
                        f"rate={rate}/s round={rnd + 1} {side:9s} sent={res['sent']} ok={res['ok']} "
                        f"p50={fmt(res['p50_ms'])} p99={fmt(res['p99_ms'])} max={fmt(res['max_ms'])} ms "
                        f"lag_p99={fmt(res['lag_p99_ms'])} ms cpu/delivery={fmt(res['cpu_ms_per_delivery'])} ms "
                        f"busy_before={busy:.0f}%{extra}",
                        flush=True,
                    )
                    time.sleep(1)
        if args.profile:
            out = Path(args.profile)
            out.mkdir(parents=True, exist_ok=True)
            raw = out / f"intake.{args.profile_rate}.pyspy.txt"
            res = measure("ours", root, args.profile_rate, args.duration, args.warmup, first_pr, profile=raw)
            print(
                f"profiled window of ours (not counted) rate={args.profile_rate}/s p50={fmt(res['p50_ms'])} "
                f"p99={fmt(res['p99_ms'])} ms lost={res['lost']}: {raw}",
                flush=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print("\n".join(report(results, sides, args.rounds, args.duration)))
    info["loadavg_end"] = load_average()
    write_json(args.json, {"machine": info, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
