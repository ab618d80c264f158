"""One playbook run through ansible-runner: the adapter the shim's runs and the CLI's `setup` share.

One private_data_dir per run, removed afterwards, and no env files written into it (ansible-runner issues
1143, 1440, 493); a cancel goes through ansible-runner's `cancel_callback`; a run that breaks ansible-runner
itself is reported in the result, never raised. What a caller adds is its own: the shim its environment
allow-list and a deadline, the CLI its progress lines (an `on_event` callback).

A `contained` run (the shim's; Linux) also keeps its temp files under its directory and is started through
the wrapper of shim/processes.py, so that a cancel, the deadline and the end of the run end its whole
process tree, and a crashed shim's runs can be found again.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ansible_runner.interface import init_runner

from . import processes
from .vocabulary import RunStatus

# ansible-playbook's last words, when no task said what went wrong (a syntax error, a missing collection).
TAIL_LINES = 15
TAIL_CHARS = 1500


@dataclass(frozen=True)
class TaskFailure:
    """A task that failed (not one with ignore_errors), or a host it could not reach."""

    task: str
    host: str
    result: dict  # the module's result
    unreachable: bool = False

    @property
    def message(self) -> str:
        """What the result says went wrong ('' when it says nothing)."""
        return str(self.result.get("msg") or self.result.get("stderr") or self.result.get("reason") or "")


@dataclass
class PlaybookRun:
    status: str  # a RunStatus: ansible-runner's, or timeout at our deadline, or error when ansible-runner broke
    rc: int | None
    duration: float
    failures: list[TaskFailure] = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # what the play reported with set_stats
    output: str = ""  # the end of ansible-playbook's output, when the run did not succeed
    error: Exception | None = None  # what broke ansible-runner itself


def never() -> bool:
    return False


def run(
    playbook: str,
    *,
    inventory: str | dict,
    extravars: dict,
    collections_path: str,
    runs_dir: str | None = None,
    prefix: str = "run-",
    ident: str = "run",
    on_event: Callable[[dict], object] | None = None,
    cancelled: Callable[[], bool] = never,
    timeout: float | None = None,
    settings: Mapping[str, str] | None = None,
    environment: Callable[[dict, dict], dict] | None = None,
    contained: bool = False,
    local_hosts: bool = False,
) -> PlaybookRun:
    """Run `playbook` in a new directory under `runs_dir` (the system's temp dir when None), then remove it.

    `on_event` sees every ansible-runner event; `cancelled` is asked while the run goes on; past `timeout`
    seconds the run is ended with status timeout. `settings` are more environment variables of the run;
    `environment(prepared, envvars)` returns the environment the run gets out of the one ansible-runner
    prepared. `contained` as the module docstring says; with `local_hosts` (the hosts are this machine) the
    modules' temp files go under the run's directory too.
    """
    if runs_dir is not None:
        os.makedirs(runs_dir, mode=0o700, exist_ok=True)
    private_dir = tempfile.mkdtemp(prefix=prefix, dir=runs_dir)
    failures: list[TaskFailure] = []
    stats: dict = {}

    def handle(event: dict) -> bool:
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            task, host, res = data.get("task", "?"), data.get("host", "?"), data.get("res") or {}
            failures.append(TaskFailure(task, host, res, unreachable=kind == "runner_on_unreachable"))
        elif kind == "playbook_on_stats":
            stats.update(data.get("artifact_data") or {})
        if on_event is not None:
            on_event(event)
        return False  # nothing to keep on disk

    bindir = os.path.dirname(sys.executable)
    envvars = {
        "PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        **(settings or {}),
    }
    if contained:
        # Module temp dirs (AnsiballZ payloads) go under the run's directory, so a cancelled run's are removed
        # with it instead of piling up in /tmp.
        scratch = os.path.join(private_dir, "tmp")
        os.makedirs(scratch, mode=0o700)
        envvars.update(ANSIBLE_LOCAL_TEMP=scratch, TMPDIR=scratch)
        if local_hosts:
            envvars["ANSIBLE_REMOTE_TMP"] = scratch  # the "remote" temp dir is on this machine too
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    timed_out = False

    def stop() -> bool:
        # Our deadline rather than ansible-runner's: before ansible-runner kills its child, a contained run's
        # whole tree is ended here, while ansible-playbook still links it (shim/processes.py).
        nonlocal timed_out
        timed_out = timed_out or (deadline is not None and time.monotonic() > deadline)
        if timed_out or cancelled():
            if contained:
                processes.end_run(private_dir)
            return True
        return False

    result = PlaybookRun(RunStatus.ERROR, None, 0.0, failures, stats)
    try:
        runner = init_runner(
            private_data_dir=private_dir,
            playbook=playbook,
            inventory=inventory,
            extravars=extravars,
            envvars=envvars,
            ident=ident,
            quiet=True,
            event_handler=handle,
            cancel_callback=stop,
            suppress_env_files=True,
        )
        if environment is not None:
            runner.config.env = environment(runner.config.env, envvars)
        if contained:
            # ansible-playbook, started through the wrapper that records the run's pid (shim/processes.py).
            # Not ansible-runner's `binary`: that switches it to a raw command without the playbook argument.
            command = runner.config.command
            if not command or os.path.basename(command[0]) != "ansible-playbook":
                raise RuntimeError(f"unexpected ansible-runner command {command[:1]}")
            wrapper = processes.write_wrapper(private_dir, os.path.join(bindir, command[0]))
            runner.config.command = [wrapper, *command[1:]]
        runner.run()
        result.status = RunStatus.TIMEOUT if timed_out else runner.status
        result.rc = runner.rc
        if result.status != RunStatus.SUCCESSFUL:
            result.output = _tail(runner.config.artifact_dir)
    except Exception as exc:  # ansible-runner itself broke: report it, never crash the caller
        result.status, result.rc, result.error = RunStatus.ERROR, None, exc
    finally:
        if contained:
            # A cancel or a timeout ends ansible-playbook only; its module processes and docker compose would go on.
            processes.end_run(private_dir)
        shutil.rmtree(private_dir, ignore_errors=True)
    result.duration = time.monotonic() - started
    return result


def _tail(artifact_dir: str) -> str:
    """The last non-blank lines of the run's output: all there is of an error ansible-playbook reports before
    any task ('' when there is no output)."""
    try:
        with open(os.path.join(artifact_dir, "stdout"), encoding="utf-8", errors="replace") as out:
            lines = [line for line in out.read().splitlines() if line.strip()]
    except OSError:
        return ""
    return "\n".join(lines[-TAIL_LINES:])[-TAIL_CHARS:]
