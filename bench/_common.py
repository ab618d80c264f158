"""Shared helpers of the benchmarks: paths, the collections tree, statistics, machine facts, tables.

Every benchmark is a script that prints figures; none of this is a test. The scripts put the repository
root on sys.path and import the test suite's real helpers from tests.support (they are not copied).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from cli._collection import module_util  # noqa: E402  (needs the path above)
from shim.store import Store  # noqa: E402
from tests.support.noop_collection import noop_collection  # noqa: E402

_state = module_util("_state")


def workdir(prefix: str) -> Path:
    """A fresh temporary directory for one benchmark run (removed by the caller)."""
    return Path(tempfile.mkdtemp(prefix=f"preview-bench-{prefix}-"))


def link_collection(root: Path) -> str:
    """A collections path whose ansible_collections/preview/envs is this checkout (as tests/conftest.py does)."""
    ns = root / "ansible_collections" / "preview"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "envs"
    if not link.exists():
        link.symlink_to(REPO_ROOT)
    return str(root)


# The no-op collection lives with the test support (the intake durability test uses it too).
fake_collection = noop_collection


# --- statistics ---------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _column in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- the machine --------------------------------------------------------------------------------------


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc.__class__.__name__})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unavailable"


def cpu_busy(seconds: float = 0.5) -> float:
    """Share of all CPUs busy over `seconds` (everything on the machine), from /proc/stat."""

    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 100.0 * (1 - (idle1 - idle0) / max(1, total1 - total0))


def wait_quiet(threshold: float = 35.0, max_wait: float = 30.0) -> tuple[float, float]:
    """Wait (at most `max_wait` s) until the whole machine is less than `threshold` % busy over a second.

    The machine is shared: other work on it is noise in every figure. Both sides of a comparison pass
    the same gate. Returns (busy % of the last second, seconds waited).
    """
    started = time.monotonic()
    busy = cpu_busy(1.0)
    while busy >= threshold and time.monotonic() - started < max_wait:
        busy = cpu_busy(1.0)
    return busy, time.monotonic() - started


def wait_for_log(read_log, needle: str, timeout: float = 60.0) -> bool:
    """Wait until `needle` is in the text `read_log()` returns (e.g. the shim's start-up reconcile pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in read_log():
            return True
        time.sleep(0.2)
    return False


def git_state() -> str:
    """The commit of the checkout and how many paths differ from it (read-only: no index refresh)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(REPO_ROOT), "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head or 'unknown'} (+{len(dirty)} paths changed in the work tree)"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict:
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    cpu = ""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match.group(1) if match else ""
    except OSError:
        pass
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "compose": _first_line(["docker", "compose", "version", "--short"]),
        "nginx": _first_line([nginx, "-v"]).replace("nginx version: ", ""),
        "loadavg": load_average(),
        "checkout": git_state(),
    }


def print_machine(info: dict) -> None:
    print("machine: " + ", ".join(f"{key}={value}" for key, value in info.items()), flush=True)


def proc_status(pid: int, field: str) -> int:
    """One number of /proc/<pid>/status (VmRSS in KiB, Threads, ...); 0 when missing."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mib(pid: int) -> float:
    return proc_status(pid, "VmRSS") / 1024


def write_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"results written to {path}", flush=True)


def records(db: str) -> list[dict]:
    """Every deployment record in the state file, read-only through its owner ([] before the first)."""
    return _state.read_records(str(db))


def leases(db: str) -> list[dict]:
    """Every port lease in the state file, read-only through its owner ([] before the first)."""
    return _state.read_leases(str(db))


@contextmanager
def shim_store(db: str):
    """The shim's Store on the state file, read-only (the benchmark watches; the shim writes)."""
    store = Store(str(db), readonly=True)
    try:
        yield store
    finally:
        store.close()


def shim_rows(db: str, what: str, repo: str | None = None) -> list[dict]:
    """The shim's `runs` or `deliveries` (of `repo`), oldest first ([] before the shim has written the file)."""
    if not os.path.isfile(db):
        return []
    with shim_store(db) as store:
        return {"runs": store.runs, "deliveries": store.deliveries}[what](repo) if store.has_tables() else []


@dataclass
class PreviewHost:
    """The real parts of a many-preview benchmark, as `preview_host` starts them."""

    nginx: object
    github: object
    sha: str
    shim: object
    db: str


@contextmanager
def preview_host(tmp: Path, repo: str, numbers: list[int], message: str):
    """A private nginx, the GitHub stand-in, the example app's repository with refs/pull/<n>/head at one commit
    for every number, and the real shim on them. `host.shim` may be replaced (a restart); the one there at
    the end is stopped."""
    from tests.support.github_standin import GitHubStandIn
    from tests.support.gitrepo import AppRepo
    from tests.support.nginx import PrivateNginx
    from tests.support.shim_process import ShimProcess, shim_config

    os.environ["ANSIBLE_COLLECTIONS_PATH"] = link_collection(tmp / "collections")
    nginx = PrivateNginx(tmp / "nginx").start()
    try:
        with GitHubStandIn(repos={repo}) as github:
            app = AppRepo(tmp / "hello")
            sha = app.commit(message)
            for number in numbers:
                app.push_pr(number, sha)
            config = shim_config(
                tmp,
                {repo: {"clone_url": app.clone_url}},
                nginx.role_settings(),
                github_api_url=github.base_url,
                token="test-token",
            )
            config["preview"]["health_timeout"] = 120
            config["reconcile_interval"] = 3600
            host = PreviewHost(
                nginx=nginx,
                github=github,
                sha=sha,
                shim=ShimProcess(tmp, config).start(),
                db=str(tmp / "state" / "state.db"),
            )
            try:
                yield host
            finally:
                host.shim.stop()
    finally:
        nginx.stop()


def deliver(url: str, repo: str, action: str, numbers, sha: str, updated_at: str, workers: int) -> list[int]:
    """Send one signed `pull_request` `action` for each PR number, `workers` at a time; the HTTP statuses."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.shim_process import SECRET
    from tests.support.webhooks import pull_request_payload, send

    def one(number: int) -> int:
        return send(url, SECRET, pull_request_payload(action, repo, number, sha, updated_at)).status_code

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, numbers))
