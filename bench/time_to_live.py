"""Benchmark: time from the webhook to a live preview of examples/hello, ours against a shell floor.

Ours is the whole real loop: a signed `pull_request` delivery to the real `preview-shim` (waitress,
SQLite, converger, ansible-runner, playbooks/deploy.yml, docker compose, the private nginx of
tests.support, the sticky comment on tests.support's GitHubStandIn). The floor is bench/floor.sh: the
same real work as plain shell (git fetch, docker compose up -d --build --wait, the nginx file,
nginx -s reload, curl until 200). Each iteration runs both sides, the order alternating, through:

* first     a PR never seen (a fresh compose project), whose commit changes www/ (nothing of it can
            come from BuildKit's cache; the base image is cached);
* changed   a push to that PR changing www/ again (the COPY layer is rebuilt, the container recreated);
* cached    a push changing a file outside the build's inputs (every build step is a cache hit and
            compose leaves the container running).

A watcher polls the preview's URL through nginx every 20 ms for the commit's own page ("to live") and,
for ours, the stand-in for the sticky "Preview live" comment naming the new SHA ("to comment"). The
phases of ours come from an Ansible callback (bench/callback/bench_timing.py, enabled through the
environment the shim passes to ansible-runner) and from the shim's runs table; the floor prints its
own phase marks. Every project both sides create is removed again (and checked) at the end of each
iteration.

    .venv/bin/python bench/time_to_live.py [-n 5] [--json FILE] [--profile DIR]
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BENCH_DIR,
    fmt,
    link_collection,
    load_average,
    machine_info,
    median,
    print_machine,
    ratio,
    shim_store,
    table,
    wait_for_log,
    wait_quiet,
    workdir,
    write_json,
)
from tests.support.github_standin import GitHubStandIn
from tests.support.gitrepo import AppRepo
from tests.support.leftovers import project_resources
from tests.support.nginx import PrivateNginx, free_port
from tests.support.shim_process import SECRET, ShimProcess, shim_config
from tests.support.webhooks import pull_request_payload, send

REPO = "octo/hello"
SCENARIOS = ("first", "changed", "cached")
OURS_PR_BASE = 600  # PR 600+slot: ports 8600+slot / 9600+slot, project preview-hello-pr-<600+slot>
FLOOR_PR_BASE = 900

# Task names of roles/preview_pr/tasks/deploy.yml, grouped into the phases we report.
PHASE_STARTS = [
    ("preamble", "Check what identifies the preview"),
    ("fetch+detect", "Fetch the PR's head commit and detect how it runs"),
    # Build, start, and compose_project's own probe of the health URL (one task since the probe moved there).
    ("build+start+healthy", "Render the compose file of a generated stack"),
    ("nginx", "Route the preview through nginx"),
    ("comment", "Record the preview as live"),
]


class Watcher(threading.Thread):
    """Polls the preview's page through nginx (and the stand-in's comments) until both are seen."""

    def __init__(self, port: int, path: str, marker: str | None, comment_check=None, timeout: float = 180):
        super().__init__(daemon=True)
        self.port, self.path, self.marker = port, path, marker
        self.comment_check = comment_check
        self.timeout = timeout
        self.page_at: float | None = None
        self.comment_at: float | None = None
        self.ready = threading.Event()
        self.halt = threading.Event()

    def _page_ok(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace")
            return resp.status == 200 and (self.marker is None or self.marker in body)
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        self.ready.set()
        while time.monotonic() < deadline and not self.halt.is_set():
            if self.marker is not None and self.page_at is None and self._page_ok():
                self.page_at = time.time()
            if self.comment_check is not None and self.comment_at is None and self.comment_check():
                self.comment_at = time.time()
            if (self.marker is None or self.page_at) and (self.comment_check is None or self.comment_at):
                return
            time.sleep(0.02)


class Bench:
    def __init__(self, root: Path, iterations: int):
        self.root = root
        self.iterations = iterations
        self.nonce = uuid.uuid4().hex[:8]
        self.clock = datetime.datetime(2026, 12, 1, 10, 0, 0, tzinfo=datetime.UTC)
        self.timing_file = root / "timing.jsonl"
        self.projects: set[str] = set()
        self.floor_state: dict[int, dict] = {}
        self.next_slot = 0
        self.discarded: list[dict] = []

    # --- setup ------------------------------------------------------------------------------------
    def start(self) -> None:
        collections = link_collection(self.root / "collections")
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = collections
        # Inherited by the shim and, through ansible-runner, by ansible-playbook.
        os.environ["ANSIBLE_CALLBACK_PLUGINS"] = str(BENCH_DIR / "callback")
        os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "bench_timing"
        # An ANSIBLE_ name: the shim passes its runs no other variable of its own environment.
        os.environ["ANSIBLE_BENCH_TIMING_FILE"] = str(self.timing_file)
        self.app = AppRepo(self.root / "hello")
        self.github = GitHubStandIn(repos={REPO}).start()
        self.nginx = PrivateNginx(self.root / "nginx").start()
        config = shim_config(
            self.root,
            {REPO: {"clone_url": self.app.clone_url}},
            self.nginx.role_settings(),
            github_api_url=self.github.base_url,
            token="test-token",
            reconcile_interval=3600,
        )
        # Containers that die or go while we run: evidence when a measurement is spoilt from outside.
        self.events_log = open(self.root / "docker-events.txt", "w")
        self.events = subprocess.Popen(
            [
                "docker",
                "events",
                "--filter",
                "type=container",
                "--filter",
                "event=die",
                "--filter",
                "event=kill",
                "--filter",
                "event=destroy",
                "--format",
                '{{.Time}} {{.Action}} {{index .Actor.Attributes "com.docker.compose.project"}}',
            ],
            stdout=self.events_log,
            stderr=subprocess.DEVNULL,
        )
        self.shim = ShimProcess(self.root, config).start()
        # The shim's start-up reconcile pass is a whole playbook run: let it finish before measuring.
        wait_for_log(self.shim.log_text, "reconcile", timeout=60)
        self.db = Path(config["state_db"])
        self.deployments = Path(config["preview"]["deployments_dir"])

    def stop(self) -> None:
        if getattr(self, "events", None) is not None:
            self.events.terminate()
            self.events.wait(10)
            self.events_log.close()
        for name in ("shim", "nginx", "github"):
            part = getattr(self, name, None)
            if part is not None:
                try:
                    part.stop()
                except Exception as exc:  # noqa: BLE001 - keep tearing down the rest
                    print(f"stopping {name}: {exc}", file=sys.stderr)
        for project in sorted(self.projects):  # anything a failed iteration left behind
            if any(project_resources(project).values()):
                subprocess.run(
                    ["docker", "compose", "-p", project, "down", "-v", "--rmi", "local", "-t", "2"],
                    capture_output=True,
                    check=False,
                )

    # --- commits ----------------------------------------------------------------------------------
    def _stamp(self) -> str:
        self.clock += datetime.timedelta(minutes=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def commit(self, pr: int, page: str, scenario: str) -> str:
        self.app.write("www/index.html", f"<h1>{page}</h1>\n")
        self.app.write("NOTES.md", f"{scenario} {uuid.uuid4().hex}\n")
        sha = self.app.commit(f"{scenario} for #{pr}")
        self.app.push_pr(pr, sha)
        return sha

    # --- ours -------------------------------------------------------------------------------------
    def ours(self, i: int, scenario: str, page: str) -> dict:
        pr = OURS_PR_BASE + i
        label = f"hello-pr-{pr}"
        self.projects.add(f"preview-{label}")
        sha = self.commit(pr, page, scenario)

        def commented() -> bool:
            return any("Preview live" in c["body"] and sha[:7] in c["body"] for c in self.github.comments(REPO, pr))

        offset = self.timing_file.stat().st_size if self.timing_file.exists() else 0
        watcher = Watcher(self.nginx.port, f"/{label}/", None if scenario == "cached" else page, commented)
        watcher.start()
        watcher.ready.wait()
        action = "opened" if scenario == "first" else "synchronize"
        t0 = time.time()
        resp = send(self.shim.webhook_url, SECRET, pull_request_payload(action, REPO, pr, sha, self._stamp()))
        t_ack = time.time()
        if resp.status_code != 202:
            watcher.halt.set()
            raise RuntimeError(f"webhook answered {resp.status_code}: {resp.text}")
        try:
            self.shim.wait_idle(timeout=180)
        finally:
            watcher.join(10)  # the comment is posted before the run ends; the page before that
            watcher.halt.set()
        run = self._run_row(pr, sha)
        if run["status"] != "successful":
            raise RuntimeError(f"run {run} failed:\n{self.shim.log_text()[-3000:]}")
        events = self._events(offset, run["id"])
        return self._ours_phases(t0, t_ack, run, events, watcher)

    def _run_row(self, pr: int, sha: str) -> dict:
        with shim_store(self.db) as store:
            runs = [run for run in store.runs(REPO, pr) if run["sha"] == sha]
        if not runs:
            raise RuntimeError(f"no run recorded for #{pr} at {sha}")
        return runs[-1]

    def _events(self, offset: int, run_id: int) -> list[dict]:
        with open(self.timing_file, encoding="utf-8") as handle:
            handle.seek(offset)
            events = [json.loads(line) for line in handle if line.strip()]
        return [e for e in events if e.get("run") == run_id]

    @staticmethod
    def _ours_phases(t0: float, t_ack: float, run: dict, events: list[dict], watcher: Watcher) -> dict:
        starts: dict[str, float] = {}
        ends: dict[str, float] = {}
        order: list[str] = []
        marks: dict[str, float] = {}
        for e in events:
            if e["event"] == "task_start" and e["task"] not in starts:
                starts[e["task"]] = e["t"]
                order.append(e["task"])
            elif e["event"] == "task_end":
                ends[e["task"]] = e["t"]
            elif e["event"] == "playbook_start":
                marks["playbook_start"] = e["t"]
                if e.get("process_start"):
                    marks["process_start"] = e["process_start"]
            elif e["event"] == "playbook_end":
                marks["playbook_end"] = e["t"]
        missing = [task for _phase, task in PHASE_STARTS if task not in starts]
        if missing or "playbook_end" not in marks:
            raise RuntimeError(f"timing events incomplete (missing {missing}); is the callback loaded?")
        first_task = starts[order[0]]
        bounds = [starts[task] for _phase, task in PHASE_STARTS] + [marks["playbook_end"]]
        phases = {
            "webhook": t_ack - t0,
            "pickup": run["started"] - t_ack,
            "runner+ansible start": first_task - run["started"],
        }
        if "process_start" in marks:
            phases["  runner setup (in the shim)"] = marks["process_start"] - run["started"]
            phases["  ansible-playbook start"] = marks["playbook_start"] - marks["process_start"]
            phases["  play load"] = first_task - marks["playbook_start"]
        for (name, _task), begin, end in zip(PHASE_STARTS, bounds, bounds[1:], strict=False):
            phases[name] = end - begin
        phases["run teardown"] = run["finished"] - marks["playbook_end"]
        tasks = {}
        for idx, task in enumerate(order):
            nxt = starts[order[idx + 1]] if idx + 1 < len(order) else marks["playbook_end"]
            tasks[task] = {"run": ends.get(task, nxt) - starts[task], "gap": nxt - ends.get(task, nxt)}
        return {
            "to_live": (watcher.page_at - t0) if watcher.page_at else float("nan"),
            "to_comment": (watcher.comment_at - t0) if watcher.comment_at else float("nan"),
            "to_routed": (starts[PHASE_STARTS[-1][1]] - t0),
            "to_run_finished": run["finished"] - t0,
            "phases": phases,
            "tasks": tasks,
        }

    def ours_cleanup(self, i: int) -> None:
        pr = OURS_PR_BASE + i
        if f"preview-hello-pr-{pr}" not in self.projects:
            return
        sha = self._last_sha(pr)
        resp = send(self.shim.webhook_url, SECRET, pull_request_payload("closed", REPO, pr, sha, self._stamp()))
        if resp.status_code != 202:
            raise RuntimeError(f"closed answered {resp.status_code}: {resp.text}")
        self.shim.wait_idle(timeout=180)
        self._check_gone(f"preview-hello-pr-{pr}")

    def _last_sha(self, pr: int) -> str:
        with shim_store(self.db) as store:
            return store.desired(REPO, pr)["sha"]

    # --- the floor --------------------------------------------------------------------------------
    def floor(self, i: int, scenario: str, page: str) -> dict:
        pr = FLOOR_PR_BASE + i
        label = f"floor-pr-{pr}"
        state = self.floor_state.setdefault(
            i,
            {
                "project": f"benchfloor-{self.nonce}-{i}",
                "port": free_port(),
                "workdir": str(self.root / "floor" / label),
            },
        )
        self.projects.add(state["project"])
        (self.root / "floor").mkdir(exist_ok=True)
        sha = self.commit(pr, page, scenario)
        env = self._floor_env(state, label, pr, sha)
        watcher = Watcher(self.nginx.port, f"/{label}/", None if scenario == "cached" else page)
        watcher.start()
        watcher.ready.wait()
        t0 = time.time()
        proc = subprocess.run(
            ["bash", str(BENCH_DIR / "floor.sh"), "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        t_end = time.time()
        watcher.join(5)
        watcher.halt.set()
        if proc.returncode != 0:
            raise RuntimeError(f"floor.sh up failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        marks = {}
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "phase":
                marks[parts[1]] = float(parts[2])
        phases = {
            "bash start": marks["start"] - t0,
            "fetch": marks["fetched"] - marks["start"],
            "build+start (compose --wait)": marks["started"] - marks["fetched"],
            "nginx": marks["routed"] - marks["started"],
            "curl 200": marks["live"] - marks["routed"],
        }
        return {
            "to_live": (watcher.page_at - t0) if watcher.page_at else float("nan"),
            "to_done": t_end - t0,
            "phases": phases,
        }

    def _floor_env(self, state: dict, label: str, pr: int, sha: str) -> dict:
        return dict(
            os.environ,
            FLOOR_REPO=self.app.clone_url,
            FLOOR_REF=f"refs/pull/{pr}/head",
            FLOOR_SHA=sha,
            FLOOR_WORKDIR=state["workdir"],
            FLOOR_PROJECT=state["project"],
            FLOOR_PORT=str(state["port"]),
            FLOOR_LABEL=label,
            FLOOR_NGINX_DIR=str(self.nginx.configs_dir),
            FLOOR_NGINX_PREFIX=str(self.nginx.root),
            FLOOR_NGINX_CONF=str(self.nginx.conf),
            FLOOR_URL=f"{self.nginx.base_url}/{label}/",
        )

    def floor_cleanup(self, i: int) -> None:
        if i not in self.floor_state:
            return
        state = self.floor_state.pop(i)
        env = self._floor_env(state, f"floor-pr-{FLOOR_PR_BASE + i}", FLOOR_PR_BASE + i, "")
        subprocess.run(
            ["bash", str(BENCH_DIR / "floor.sh"), "down"], env=env, capture_output=True, timeout=120, check=True
        )
        self._check_gone(state["project"])

    @staticmethod
    def _check_gone(project: str) -> None:
        left = project_resources(project)
        if any(left.values()):
            raise RuntimeError(f"{project} left {left}")

    # --- the run ----------------------------------------------------------------------------------
    def iterate(self, i: int, results: dict, attempts: int = 3) -> None:
        """One iteration: both sides through every scenario, then both cleaned up.

        An attempt that fails (the machine is shared: another shim's reconcile pass may remove our
        preview, another job may starve it) is discarded whole, cleaned up, recorded in `discarded`
        with its reason and the container events of our projects, and run again on fresh projects.
        """
        for attempt in range(attempts):
            slot = self.next_slot
            self.next_slot += 1
            since = time.time()
            got: dict[str, dict[str, dict]] = {scenario: {} for scenario in SCENARIOS}
            try:
                self._attempt(i, slot, got)
            except Exception as exc:  # noqa: BLE001 - recorded, cleaned up and retried
                events = self._our_events(since)
                self.discarded.append(
                    {"iteration": i + 1, "attempt": attempt + 1, "reason": str(exc)[:2000], "container_events": events}
                )
                print(f"iteration {i + 1} attempt {attempt + 1} DISCARDED: {str(exc)[:400]}", flush=True)
                for line in events[-20:]:
                    print(f"    docker event: {line}", flush=True)
                self._cleanup_slot(slot)
                continue
            self._cleanup_slot(slot, strict=True)
            for scenario, by_side in got.items():
                for side, res in by_side.items():
                    results[scenario][side].append(res)
            return
        raise RuntimeError(f"iteration {i + 1} failed {attempts} times; see the discarded attempts above")

    def _attempt(self, i: int, slot: int, got: dict) -> None:
        order = ["ours", "floor"] if i % 2 == 0 else ["floor", "ours"]
        pages = {}
        for scenario in SCENARIOS:
            for side in order:
                if scenario != "cached":
                    pages[side] = f"{side} {scenario} {self.nonce} {slot} {uuid.uuid4().hex[:8]}"
                busy, waited = wait_quiet()
                measure = self.ours if side == "ours" else self.floor
                res = measure(slot, scenario, pages[side])
                res["cpu_busy_before"] = busy
                res["waited_for_quiet"] = waited
                got[scenario][side] = res
                shown = res["to_comment"] if side == "ours" else res["to_done"]
                print(
                    f"iteration {i + 1} {scenario:7s} {side:5s} to_live={fmt(res['to_live'])}s "
                    f"done={fmt(shown)}s busy_before={busy:.0f}% (waited {waited:.0f}s) load={load_average()}",
                    flush=True,
                )
                time.sleep(1)

    def _cleanup_slot(self, slot: int, strict: bool = False) -> None:
        for name, step in (("ours", self.ours_cleanup), ("floor", self.floor_cleanup)):
            try:
                step(slot)
            except Exception as exc:  # noqa: BLE001 - a failed attempt's cleanup must go on
                if strict:
                    raise
                print(f"    cleanup of {name} slot {slot}: {exc}", flush=True)

    def _our_events(self, since: float) -> list[str]:
        self.events_log.flush()
        try:
            lines = (self.root / "docker-events.txt").read_text().splitlines()
        except OSError:
            return []
        mine = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 3 and parts[2] in self.projects:
                try:
                    if int(parts[0]) >= int(since):
                        mine.append(line)
                except ValueError:
                    mine.append(line)
        return mine

    def profile(self, out_dir: Path) -> Path:
        """One more first deploy of ours under py-spy (shim and every child process); not measured."""
        py_spy = Path(sys.executable).parent / "py-spy"
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / "time_to_live.first.pyspy.txt"
        slot = self.next_slot
        self.next_slot += 1
        wait_quiet()
        prof = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(self.shim.proc.pid),
                "--subprocesses",
                "--rate",
                "200",
                "--format",
                "raw",
                "--full-filenames",
                "--output",
                str(raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        try:
            res = self.ours(slot, "first", f"profiled {self.nonce}")
        finally:
            prof.send_signal(signal.SIGINT)
            prof.wait(60)
            self._cleanup_slot(slot)
        (out_dir / "time_to_live.first.phases.json").write_text(json.dumps(res, indent=2))
        return raw


def report(results: dict, iterations: int) -> list[str]:
    lines = []
    rows = []
    for scenario in SCENARIOS:
        ours, floor = results[scenario]["ours"], results[scenario]["floor"]
        if not ours or not floor:
            continue
        if scenario == "cached":
            o = median([r["to_comment"] for r in ours])
            f = median([r["to_done"] for r in floor])
            what = "done: ours = live comment at the new SHA, floor = floor.sh exit"
        else:
            o = median([r["to_live"] for r in ours])
            f = median([r["to_live"] for r in floor])
            what = "first 200 through nginx with the commit's page"
        rows.append(
            [
                scenario,
                what,
                fmt(o),
                fmt(f),
                fmt(o - f),
                fmt(ratio(o, f)),
                fmt(median([r["to_comment"] for r in ours])),
                fmt(median([r["to_done"] for r in floor])),
                "met" if (o - f) <= 2 and ratio(o, f) <= 1.5 else "MISSED",
            ]
        )
    lines.append(f"time to a live preview, medians of {iterations} (seconds)")
    lines.append(
        table(
            [
                "scenario",
                "measured to",
                "ours",
                "floor",
                "overhead",
                "ratio",
                "ours to comment",
                "floor to exit",
                "target (≤ 2 s, ≤ 1.5×)",
            ],
            rows,
        )
    )
    for scenario in SCENARIOS:
        ours, floor = results[scenario]["ours"], results[scenario]["floor"]
        if not ours:
            continue
        lines.append("")
        lines.append(f"phases, {scenario} (medians, seconds)")
        names = list(ours[0]["phases"])
        rows = [[name, fmt(median([r["phases"][name] for r in ours]))] for name in names]
        rows.append(["to the first 200 (watcher)", fmt(median([r["to_live"] for r in ours]))])
        rows.append(["to the live comment (watcher)", fmt(median([r["to_comment"] for r in ours]))])
        rows.append(["to the run's end (runs.finished)", fmt(median([r["to_run_finished"] for r in ours]))])
        frows = [[name, fmt(median([r["phases"][name] for r in floor]))] for name in floor[0]["phases"]]
        frows.append(["to the first 200 (watcher)", fmt(median([r["to_live"] for r in floor]))])
        frows.append(["to exit", fmt(median([r["to_done"] for r in floor]))])
        lines.append(table(["ours", "s"], rows))
        lines.append("")
        lines.append(table(["floor", "s"], frows))
        lines.append("")
        lines.append(f"tasks, {scenario} (medians: the task's own time / the gap to the next task)")
        task_rows = [
            [
                task,
                fmt(median([r["tasks"][task]["run"] for r in ours if task in r["tasks"]])),
                fmt(median([r["tasks"][task]["gap"] for r in ours if task in r["tasks"]])),
            ]
            for task in ours[0]["tasks"]
        ]
        lines.append(table(["task", "run", "gap"], task_rows))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--iterations", type=int, default=5)
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--profile", help="after the measured runs, profile one more first deploy into this dir")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs) for inspection")
    parser.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="what-if: an environment variable for the shim and its playbooks (e.g. "
        "ANSIBLE_PIPELINING=True); the figures are then not the shipped configuration",
    )
    args = parser.parse_args()
    if not 1 <= args.iterations <= 20:
        parser.error("--iterations must be within 1..20")
    for item in args.ours_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("ANSIBLE_"):
            parser.error("--ours-env takes ANSIBLE_NAME=VALUE")
        os.environ[name] = value
        print(f"what-if: {name}={value} for the shim and its playbooks", flush=True)
    info = machine_info()
    info["what_if_env"] = args.ours_env
    print_machine(info)
    root = workdir("ttl")
    bench = Bench(root, args.iterations)
    results = {scenario: {"ours": [], "floor": []} for scenario in SCENARIOS}
    try:
        bench.start()
        for i in range(args.iterations):
            bench.iterate(i, results)
        if args.profile:
            raw = bench.profile(Path(args.profile))
            print(f"profile of one more first deploy (not measured): {raw}", flush=True)
    finally:
        bench.stop()
        if args.keep:
            print(f"work dir kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print("\n".join(report(results, args.iterations)))
    print(f"\ndiscarded attempts: {len(bench.discarded)}")
    for item in bench.discarded:
        print(f"  iteration {item['iteration']} attempt {item['attempt']}: {item['reason'][:300]}")
    info["loadavg_end"] = load_average()
    write_json(args.json, {"machine": info, "results": results, "discarded": bench.discarded})
    return 0


if __name__ == "__main__":
    sys.exit(main())
