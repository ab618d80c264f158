"""Run the collection's playbooks through ansible-runner, one private_data_dir per run."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import ansible_runner

from . import processes
from .config import Config, RepoConfig

log = logging.getLogger("preview.shim.runner")

PLAYBOOKS = {"deploy": "deploy.yml", "cleanup": "cleanup.yml", "hold": "hold.yml"}


# Codes the playbooks turn into text; nothing else is passed (see shim/policy.py).
REASONS = {"deploy", "closed", "unlabeled", "ttl", "missing", "fork-needs-approval", "fork-denied"}


@dataclass
class RunResult:
    status: str  # successful, failed, canceled, timeout, error
    rc: int | None
    message: str
    duration: float


def extravars(config: Config, repo: RepoConfig, pr: int, sha: str, run_id: int, reason: str = "") -> dict:
    """The whole contract with the playbooks: validated PR identity plus our own configuration."""
    values = {f"preview_pr_{key}": value for key, value in config.preview.items()}
    values.update(
        preview_pr_repo=repo.full_name,
        preview_pr_number=int(pr),
        preview_pr_clone_url=repo.clone_url,
        preview_pr_slug=repo.slug,
        preview_pr_compose_file=repo.compose_file,
        preview_pr_health_path=repo.health_path,
        preview_pr_state_db=config.state_db,
        preview_pr_github_api_url=config.github_api_url,
        preview_pr_approve_label=config.policy.approve_label,
        preview_run_id=int(run_id),
    )
    if reason in REASONS:
        values["preview_pr_reason"] = reason
    if sha:
        values["preview_pr_sha"] = sha
    return values


def inventory(config: Config) -> str:
    if config.inventory:
        return config.inventory
    # Interpreter discovery on localhost can pick a python without our packages; name ours.
    return f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"


def run_playbook(config: Config, kind: str, repo: RepoConfig, pr: int, sha: str, run_id: int,
                 cancelled: Callable[[], bool], reason: str = "") -> RunResult:
    """Run deploy, cleanup or hold for one PR."""
    result, _stats = _run(config, PLAYBOOKS[kind], extravars(config, repo, pr, sha, run_id, reason),
                          cancelled, f"run-{run_id}-", f"{kind} for {repo.full_name}#{pr}")
    return result


def run_reconcile(config: Config, keep: list[dict], cancelled: Callable[[], bool] = lambda: False,
                  ) -> tuple[RunResult, dict]:
    """Run the reconcile play: orphans removed; returns what it reported (preview_missing, preview_orphans)."""
    values = {f"preview_pr_{key}": value for key, value in config.preview.items()}
    values.update(preview_pr_state_db=config.state_db, preview_pr_keep=keep)
    return _run(config, "reconcile.yml", values, cancelled, "run-reconcile-", "reconcile")


def _tail(runner, chars: int = 1500) -> str:
    """The end of a run's output, the only trace of an error ansible-playbook reports before any task."""
    try:
        with open(os.path.join(runner.config.artifact_dir, "stdout"), encoding="utf-8", errors="replace") as out:
            text = out.read()
    except (OSError, AttributeError):
        return "no output"
    return text.strip()[-chars:] or "no output"


def lower_priority(nice: int) -> None:
    """Give this thread, and so every process it starts, the nice value `nice`.

    On Linux the nice value belongs to a thread and a forked child inherits its thread's: set on the
    worker thread of one run (a new thread per run), it reaches ansible-playbook, its workers, the
    modules and docker compose, and leaves the threads that answer webhooks as they are. Builds then
    yield the CPU to everything else on the host. (It did not change the intake benchmark's p99 on an
    otherwise idle machine: docs/benchmarks.md.)
    """
    if nice <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed: run at the shim's priority
        log.debug("cannot lower the run's priority: %s", exc)


def _run(config: Config, playbook: str, values: dict, cancelled: Callable[[], bool], prefix: str,
         what: str) -> tuple[RunResult, dict]:
    lower_priority(config.run_nice)
    os.makedirs(config.runs_dir, mode=0o700, exist_ok=True)
    private_dir = tempfile.mkdtemp(prefix=prefix, dir=config.runs_dir)
    failures: list[str] = []
    stats: dict = {}

    def on_event(event: dict) -> bool:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_failed" and not data.get("ignore_errors"):
            msg = str(data.get("res", {}).get("msg", ""))
            failures.append(f"{data.get('task', '?')}: {msg}"[:1000])
        elif event.get("event") == "runner_on_ok" and data.get("res", {}).get("failed_when_result") is False \
                and data["res"].get("msg"):
            # A best-effort step (the PR comment) failed without failing the run: say so.
            log.warning("%s: step %r did not work: %s", what, data.get("task", "?"), str(data["res"]["msg"])[:500])
        elif event.get("event") == "playbook_on_stats":
            stats.update(data.get("artifact_data") or {})
        return False  # nothing to keep on disk

    envvars = {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_COLLECTIONS_PATH": config.collections_path,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
    }
    if config.github_token:
        envvars["GITHUB_TOKEN"] = config.github_token
    started = time.monotonic()
    try:
        runner = ansible_runner.run(
            private_data_dir=private_dir,
            playbook=str(config.playbooks_dir / playbook),
            inventory=inventory(config),
            extravars=values,
            envvars=envvars,
            ident="run",
            quiet=True,
            event_handler=on_event,
            cancel_callback=cancelled,
            suppress_env_files=True,
        )
        status, rc = runner.status, runner.rc
        if status == "failed" and not failures:
            # No task failed: ansible-playbook itself did (bad environment, syntax, a missing collection).
            failures = [f"ansible-playbook: {_tail(runner)}"]
    except Exception as exc:  # the runner itself broke: report, never crash the worker
        log.exception("ansible-runner failed to run %s", what)
        status, rc, failures = "error", None, [f"ansible-runner: {exc}"]
    finally:
        # A cancel ends ansible-playbook only; its module processes and docker compose would go on.
        processes.end_runs_under(private_dir)
        shutil.rmtree(private_dir, ignore_errors=True)
    result = RunResult(status=status, rc=rc, message="\n".join(failures), duration=time.monotonic() - started)
    return result, stats
