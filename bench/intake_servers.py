"""Benchmark: webhook intake of three servers side by side, in one run, over keep-alive connections.

* eda: Event-Driven Ansible's webhook event source (`ansible.eda.webhook`: aiohttp, HMAC, an in-memory
  queue; nothing durable), run on its own by bench/eda_webhook.py from a checkout given by --eda-webhook /
  BENCH_EDA_WEBHOOK (skipped, with a message, without one).
* baseline: bench/baseline_app.py, Falcon on waitress (8 threads) checking the HMAC only.
* ours: the real `preview-shim` (tests.support ShimProcess), a fresh state database, concurrency 1, and the
  no-op stand-in collection (bench/_common.fake_collection): the converger really runs ansible-runner, one
  no-op run after the other in the background, while the load is on.

Every server gets the same signed `pull_request` `opened` deliveries (the octokit payload of tests/fixtures,
a unique GUID and a unique PR number each), in two modes, each after a warm-up that is not counted:

1. paced: `--rate` deliveries/s over `--paced-connections` persistent HTTP/1.1 connections, a thread per
   connection taking every n-th delivery of one shared schedule. Latency runs from the delivery's due time
   to the end of its response, so a late send counts (no coordinated omission).
2. unpaced: `--unpaced-connections` persistent connections sending as fast as they are answered until
   every delivery is; throughput over the whole burst, latency from the send to the end of the response.

For ours, a third burst (unpaced) is cut by SIGKILL of the shim's process group once `--kill-after`
deliveries got a 2xx; every delivery that got a 2xx must then be in the `deliveries` table: `lost`.

The servers run one after the other, never two at once, in an order rotating between rounds; each is
started fresh for its round. The load comes from this same file run as a separate process
(`--client ...`, http.client, one thread per connection). Only 127.0.0.1. Figures, never pass/fail.

    .venv/bin/python bench/intake_servers.py [--eda-webhook PATH] [--rounds 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import http.client
import importlib.metadata
import importlib.util
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from bench.eda_webhook import plugin_path, plugin_sha256
from bench.intake import cpu_seconds, stop_proc, wait_listening
from tests.support.nginx import free_port
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, signed_headers

REPO = "octo/bench"
HEAD_SHA = "0123456789abcdef0123456789abcdef01234567"
UPDATED_AT = "2026-12-01T10:00:00Z"
SERVERS = ("eda", "baseline", "ours")
KILL_POINT = "kill-point"  # the client's line on stdout once --notify-after deliveries got a 2xx
PACED = ("p50_ms", "p99_ms", "max_ms")
UNPACED = ("throughput", "p99_ms", "server_cpu_ms")


# --- the load process (--client) ----------------------------------------------------------------------


def build_deliveries(secret: str, first_pr: int, count: int) -> list[tuple[str, bytes, dict]]:
    """(guid, body, headers) of `count` signed `opened` deliveries of PRs first_pr, first_pr + 1, ..."""
    payload = pull_request_payload("opened", REPO, first_pr, HEAD_SHA, UPDATED_AT)
    out = []
    for number in range(first_pr, first_pr + count):
        payload["number"] = payload["pull_request"]["number"] = number
        body = json.dumps(payload).encode()
        guid = str(uuid.uuid4())
        out.append((guid, body, signed_headers(secret, body, "pull_request", guid)))
    return out


class Client:
    """One process's connections and the result of every delivery (filled in by the connection threads)."""

    def __init__(self, host: str, port: int, path: str, deliveries: list, timeout: float, notify_after: int = 0):
        self.host, self.port, self.path, self.timeout = host, port, path, timeout
        self.deliveries = deliveries
        self.results: list[dict | None] = [None] * len(deliveries)
        self.notify_after = notify_after
        self.acked = 0
        self.lock = threading.Lock()

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.connect()  # before the clock starts, so no delivery pays for a TCP handshake
        except OSError:
            pass  # the first request tries again and records the failure
        return conn

    def post(self, conn: http.client.HTTPConnection, i: int, due: float | None) -> None:
        """Send delivery i on `conn` and read its whole response; a late send counts from `due` when paced."""
        _guid, body, headers = self.deliveries[i]
        sent = time.perf_counter()
        result: dict = {"lag": sent - due} if due is not None else {}
        try:
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            result["status"] = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()  # http.client opens a new connection for the next request
            result["error"] = f"{exc.__class__.__name__}: {exc}"
        result["latency"] = time.perf_counter() - (sent if due is None else due)
        self.results[i] = result
        if 200 <= result.get("status", 0) < 300 and self.notify_after:
            with self.lock:
                self.acked += 1
                if self.acked == self.notify_after:
                    print(KILL_POINT, flush=True)

    def paced(self, indices: list[int], conns: list, rate: float) -> tuple[float, float]:
        """indices[j] is due at t0 + j / rate, sent on connection j % len(conns)."""
        t0 = time.perf_counter() + 0.1

        def run(k: int) -> None:
            for j in range(k, len(indices), len(conns)):
                due = t0 + j / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self.post(conns[k], indices[j], due)

        return t0, self._on_threads(run, len(conns))

    def unpaced(self, indices: list[int], conns: list) -> tuple[float, float]:
        """Every connection takes the next delivery as soon as its previous one is answered."""
        pending = iter(indices)

        def run(k: int) -> None:
            while True:
                with self.lock:
                    i = next(pending, None)
                if i is None:
                    return
                self.post(conns[k], i, None)

        t0 = time.perf_counter()
        return t0, self._on_threads(run, len(conns))

    @staticmethod
    def _on_threads(run: Callable[[int], None], n: int) -> float:
        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter()


def client_main(args: argparse.Namespace) -> int:
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname != "127.0.0.1":
        sys.exit("the load goes to http://127.0.0.1 only")
    secret = os.environ.get("BENCH_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("set BENCH_WEBHOOK_SECRET")
    deliveries = build_deliveries(secret, args.first_pr, args.warmup + args.count)
    client = Client(url.hostname, url.port or 80, url.path or "/", deliveries, args.timeout, args.notify_after)
    conns = [client.connect() for dummy in range(args.connections)]
    warm, measured = list(range(args.warmup)), list(range(args.warmup, len(deliveries)))
    # The collector would stop every thread at random; the garbage of a few thousand requests is small.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if args.mode == "paced":
        if warm:
            client.paced(warm, conns, args.rate)
        started, ended = client.paced(measured, conns, args.rate)
    else:
        if warm:
            client.unpaced(warm, conns)
        started, ended = client.unpaced(measured, conns)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    gc.enable()
    for conn in conns:
        conn.close()
    results = [dict(r, guid=deliveries[i][0], warmup=i < args.warmup) for i, r in enumerate(client.results)]
    client_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    Path(args.out).write_text(
        json.dumps({"mode": args.mode, "elapsed": ended - started, "client_cpu_s": client_cpu, "results": results})
    )
    return 0


# --- the servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pid: int
    stop: Callable[[], None]
    db: str = ""  # ours: its state file (the crash burst runs when there is one)
    log: Path | None = None


def start_script(argv: list[str], tmp: Path, port: int) -> Server:
    """A bench server script in its own session, answering on 127.0.0.1:port; stopped with SIGINT."""
    log_path = tmp / "server.log"
    log = open(log_path, "ab")
    env = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def stop() -> None:
        stop_proc(proc, signal.SIGINT)
        log.close()

    try:
        # Any HTTP answer will do: the EDA plugin has POST routes only (a GET gets 405).
        wait_listening(f"http://127.0.0.1:{port}/healthz", proc)
    except Exception:
        stop()
        raise RuntimeError(f"{argv[1]} did not start:\n{log_path.read_text(errors='replace')[-2000:]}") from None
    return Server(url=f"http://127.0.0.1:{port}/webhook/github", pid=proc.pid, stop=stop, log=log_path)


def start_server(name: str, tmp: Path, eda_plugin: Path | None) -> Server:
    if name == "ours":
        collections = fake_collection(tmp / "collections")
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections  # shim_config reads it
        config = shim_config(
            tmp,
            {REPO: {"clone_url": str(tmp / "unused-clone-url")}},
            {},
            collections_path=collections,
            concurrency=1,
            reconcile_interval=3600,
        )
        shim = ShimProcess(tmp, config).start()
        wait_for_log(shim.log_text, "reconcile", timeout=30)  # the start-up pass (a no-op run) is over
        # Always a crash, never a graceful drain: what was acknowledged must be stored already.
        return Server(
            url=shim.webhook_url,
            pid=shim.proc.pid,
            stop=lambda: shim.stop(signal.SIGKILL),
            db=config["state_db"],
            log=shim.log_path,
        )
    port = free_port()
    if name == "baseline":
        return start_script([sys.executable, str(BENCH_DIR / "baseline_app.py"), "--port", str(port)], tmp, port)
    return start_script(
        [sys.executable, str(BENCH_DIR / "eda_webhook.py"), "--eda-webhook", str(eda_plugin), "--port", str(port)],
        tmp,
        port,
    )


# --- one measurement ----------------------------------------------------------------------------------


def run_client(
    server: Server,
    out: Path,
    mode: str,
    count: int,
    warmup: int,
    connections: int,
    rate: float,
    first_pr: int,
    kill_after: int = 0,
) -> dict:
    """Run the load process; with `kill_after`, SIGKILL the server once that many deliveries got a 2xx."""
    argv = [
        sys.executable,
        __file__,
        "--client",
        "--url",
        server.url,
        "--mode",
        mode,
        "--count",
        str(count),
        "--warmup",
        str(warmup),
        "--connections",
        str(connections),
        "--rate",
        str(rate),
        "--first-pr",
        str(first_pr),
        "--notify-after",
        str(kill_after),
        "--out",
        str(out),
    ]
    env = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    killed = False
    try:
        if kill_after and proc.stdout.readline().strip() == KILL_POINT:
            server.stop()
            killed = True
        proc.stdout.read()
        if proc.wait(timeout=180) != 0:
            raise RuntimeError(f"the load process exited with {proc.returncode}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    load = json.loads(out.read_text())
    load["killed"] = killed
    return load


def summarize(load: dict) -> dict:
    measured = [r for r in load["results"] if not r["warmup"]]
    ok = [r for r in measured if 200 <= r.get("status", 0) < 300]
    lat = [r["latency"] * 1000 for r in ok]
    statuses: dict[str, int] = {}
    for r in measured:
        key = str(r.get("status") or r.get("error", "?").split(":")[0])
        statuses[key] = statuses.get(key, 0) + 1
    summary = {
        "sent": len(measured),
        "ok": len(ok),
        "failed": len(measured) - len(ok),
        "statuses": statuses,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat) if lat else float("nan"),
        "elapsed_s": load["elapsed"],
        "throughput": len(ok) / load["elapsed"] if load["elapsed"] else float("nan"),
        "client_cpu_ms": load["client_cpu_s"] * 1000 / max(1, len(load["results"])),
    }
    if load["mode"] == "paced":
        summary["send_lag_p99_ms"] = percentile([max(0.0, r["lag"]) * 1000 for r in measured], 99)
    return summary


def crash_check(server: Server, load: dict) -> dict:
    """Every delivery that got a 2xx before (or as) the shim was killed must be in its deliveries table."""
    stored = {row["guid"] for row in shim_rows(server.db, "deliveries")}
    acked = [r["guid"] for r in load["results"] if 200 <= r.get("status", 0) < 300]
    return {
        "killed": load["killed"],
        "sent": len(load["results"]),
        "acked": len(acked),
        "lost": sum(1 for guid in acked if guid not in stored),
        "unanswered": sum(1 for r in load["results"] if "error" in r),
    }


def measure(name: str, root: Path, args: argparse.Namespace, eda_plugin: Path | None, first_pr: int) -> dict:
    """Start the server, run paced and unpaced (and, for ours, the crash burst), stop it."""
    tmp = root / f"{name}-{first_pr}"
    tmp.mkdir()
    server = start_server(name, tmp, eda_plugin)
    result: dict = {}
    try:
        per_mode = args.warmup + args.count
        for mode, connections in (("paced", args.paced_connections), ("unpaced", args.unpaced_connections)):
            cpu0 = cpu_seconds(server.pid)
            load = run_client(
                server, tmp / f"{mode}.json", mode, args.count, args.warmup, connections, args.rate, first_pr
            )
            result[mode] = summarize(load)
            result[mode]["server_cpu_ms"] = (cpu_seconds(server.pid) - cpu0) * 1000 / per_mode
            first_pr += per_mode
            time.sleep(0.5)
        if server.db:
            load = run_client(
                server,
                tmp / "crash.json",
                "unpaced",
                args.count,
                0,
                args.unpaced_connections,
                args.rate,
                first_pr,
                kill_after=args.kill_after,
            )
            result["crash"] = crash_check(server, load)
    finally:
        server.stop()
    if name == "eda" and server.log is not None:
        tail = server.log.read_text(errors="replace").strip().splitlines()
        result["eda_drained"] = tail[-1] if tail else ""
    return result


# --- the report ---------------------------------------------------------------------------------------


def medians(runs: list[dict], mode: str, keys: tuple[str, ...]) -> dict:
    return {key: median([r[mode][key] for r in runs]) for key in keys}


def report(results: dict[str, list[dict]], args: argparse.Namespace, eda_note: str) -> list[str]:
    lines = [
        f"intake of three servers: {args.count} deliveries per server and mode after {args.warmup} not "
        f"counted; medians of {args.rounds} round(s); ms"
    ]
    body = []
    for name, runs in results.items():
        p, u = medians(runs, "paced", PACED), medians(runs, "unpaced", UNPACED)
        non2xx = f"{sum(r['paced']['failed'] for r in runs)} / {sum(r['unpaced']['failed'] for r in runs)}"
        body.append(
            [
                name,
                f"{fmt(p['p50_ms'])} / {fmt(p['p99_ms'])} / {fmt(p['max_ms'])}",
                f"{fmt(u['throughput'], 0)}, {fmt(u['p99_ms'])}",
                non2xx,
                fmt(u["server_cpu_ms"]),
            ]
        )
    lines.append(
        table(
            [
                "server",
                f"{args.rate:g}/s, {args.paced_connections} connections: p50 / p99 / max (ms)",
                f"unpaced, {args.unpaced_connections} connections: throughput (/s), p99 (ms)",
                "non-2xx paced / unpaced",
                "server CPU ms/delivery (unpaced)",
            ],
            body,
        )
    )
    if eda_note:
        lines.append(f"eda: {eda_note}")
    lines.append("")
    ours = results.get("ours")
    eda, base = results.get("eda"), results.get("baseline")
    if ours and eda:
        o, e = medians(ours, "paced", PACED)["p99_ms"], medians(eda, "paced", PACED)["p99_ms"]
        lines.append(
            f"target: ours p99 at {args.rate:g}/s <= eda p99: {fmt(o)} ms "
            f"{'<=' if o <= e else '>'} {fmt(e)} ms (ours/eda {fmt(ratio(o, e))})"
        )
    elif ours:
        lines.append("target: ours p99 <= eda p99: n/a (eda not measured)")
    if ours and base:
        o, b = medians(ours, "unpaced", UNPACED)["throughput"], medians(base, "unpaced", UNPACED)["throughput"]
        lines.append(
            f"target: ours unpaced throughput >= 0.75 x baseline: {fmt(o, 0)}/s "
            f"{'>=' if o >= 0.75 * b else '<'} {fmt(0.75 * b, 0)}/s (ours/baseline {fmt(ratio(o, b))})"
        )
    if ours:
        crashes = [r["crash"] for r in ours]
        lost, acked = sum(c["lost"] for c in crashes), sum(c["acked"] for c in crashes)
        kills = sum(1 for c in crashes if c["killed"])
        lines.append(
            f"target: lost = 0 after SIGKILL mid-burst: lost {lost} of {acked} acknowledged "
            f"({kills} of {len(crashes)} bursts cut by the kill; "
            f"{sum(c['unanswered'] for c in crashes)} deliveries unanswered)"
        )
    return lines


def eda_setup(given: str) -> tuple[Path | None, str]:
    """The plugin file and a line about it, or None and why eda is skipped."""
    if not given:
        return None, (
            "skipped: no checkout of ansible/event-driven-ansible given (--eda-webhook PATH or BENCH_EDA_WEBHOOK)"
        )
    try:
        path = plugin_path(given)
    except ValueError as exc:
        return None, f"skipped: {exc}"
    if importlib.util.find_spec("aiohttp") is None:
        return None, f"skipped: aiohttp is not installed ({sys.executable} -m pip install aiohttp; bench/run does it)"
    return path, (f"plugin {path} sha256={plugin_sha256(path)[:16]}, aiohttp {importlib.metadata.version('aiohttp')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--eda-webhook",
        default=os.environ.get("BENCH_EDA_WEBHOOK", ""),
        help="checkout of ansible/event-driven-ansible, or its webhook.py (env BENCH_EDA_WEBHOOK)",
    )
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--count", type=int, default=2000, help="measured deliveries per server and mode")
    parser.add_argument("--warmup", type=int, default=200, help="deliveries before each mode, not counted")
    parser.add_argument("--rate", type=float, default=200.0, help="paced: deliveries per second")
    parser.add_argument("--paced-connections", type=int, default=8)
    parser.add_argument("--unpaced-connections", type=int, default=20)
    parser.add_argument("--kill-after", type=int, default=1000, help="ours: 2xx answers before the SIGKILL")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", help="write every figure to this file")
    client = parser.add_argument_group("the load process (run by the benchmark itself)")
    client.add_argument("--client", action="store_true")
    client.add_argument("--url")
    client.add_argument("--mode", choices=("paced", "unpaced"))
    client.add_argument("--connections", type=int)
    client.add_argument("--first-pr", type=int, default=1)
    client.add_argument("--notify-after", type=int, default=0)
    client.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    client.add_argument("--out")
    args = parser.parse_args()
    if not 1 <= args.count <= 20000 or not 0 <= args.warmup <= 5000 or not 0 < args.rate <= 1000:
        parser.error("--count within 1..20000, --warmup within 0..5000, --rate within (0, 1000]")
    if args.client:
        if not (args.url and args.mode and args.out and args.connections and 1 <= args.connections <= 64):
            parser.error("--client needs --url, --mode, --out and --connections (1..64)")
        return client_main(args)
    servers = [s for s in args.servers.split(",") if s]
    if not servers or not set(servers) <= set(SERVERS) or not 1 <= args.rounds <= 5:
        parser.error(f"--servers from {', '.join(SERVERS)}; --rounds within 1..5")
    if not (
        1 <= args.paced_connections <= 64 and 1 <= args.unpaced_connections <= 64 and 1 <= args.kill_after < args.count
    ):
        parser.error("connections within 1..64, --kill-after within 1..count-1")
    eda_plugin, eda_note = eda_setup(args.eda_webhook) if "eda" in servers else (None, "")
    if "eda" in servers and eda_plugin is None:
        print(f"eda: {eda_note}", flush=True)
        servers.remove("eda")
    info = machine_info()
    print_machine(info)
    if eda_plugin is not None:
        print(f"eda: {eda_note}", flush=True)  # which plugin file (and aiohttp) the figures belong to
    root = workdir("intake-servers")
    results: dict[str, list[dict]] = {name: [] for name in servers}
    first_pr = 1
    try:
        for rnd in range(args.rounds):
            for name in servers[rnd % len(servers) :] + servers[: rnd % len(servers)]:
                busy, waited = wait_quiet()
                res = measure(name, root, args, eda_plugin, first_pr)
                first_pr += 3 * (args.warmup + args.count)
                res.update(cpu_busy_before=busy, waited_for_quiet=waited, loadavg_after=load_average())
                results[name].append(res)
                p, u = res["paced"], res["unpaced"]
                crash = res.get("crash")
                extra = f" crash: acked={crash['acked']} lost={crash['lost']} killed={crash['killed']}" if crash else ""
                print(
                    f"round={rnd + 1} {name:8s} paced ok={p['ok']}/{p['sent']} p50={fmt(p['p50_ms'])} "
                    f"p99={fmt(p['p99_ms'])} max={fmt(p['max_ms'])} ms send_lag_p99={fmt(p['send_lag_p99_ms'])} ms"
                    f" | unpaced ok={u['ok']}/{u['sent']} {fmt(u['throughput'], 0)}/s p99={fmt(u['p99_ms'])} ms "
                    f"client_cpu={fmt(u['client_cpu_ms'])} ms/delivery | busy_before={busy:.0f}%{extra}",
                    flush=True,
                )
                time.sleep(1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print("\n".join(report(results, args, eda_note)))
    info["loadavg_end"] = load_average()
    write_json(
        args.json,
        {
            "machine": info,
            "eda": eda_note,
            "settings": {
                key: getattr(args, key)
                for key in (
                    "count",
                    "warmup",
                    "rate",
                    "paced_connections",
                    "unpaced_connections",
                    "kill_after",
                    "rounds",
                )
            },
            "results": results,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
