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

from ansible_runner.interface import init_runner

from . import processes
from .config import Config, RepoConfig

log = logging.getLogger("preview.shim.runner")

PLAYBOOKS = {"deploy": "deploy.yml", "cleanup": "cleanup.yml", "hold": "hold.yml", "report": "report.yml"}


# Codes the playbooks turn into text; nothing else is passed (see shim/policy.py).
REASONS = {"deploy", "closed", "unlabeled", "ttl", "missing", "fork-needs-approval", "fork-denied", "deadline"}


# The role's default limits (roles/preview_pr/defaults/main.yml); a repository's `limits` are laid over the
# server's `preview.limits`, or over these.
DEFAULT_LIMITS = {"memory": "512m", "cpus": 1.0, "pids": 256}


@dataclass
class RunResult:
    status: str  # successful, failed, canceled, timeout, error
    rc: int | None
    message: str
    duration: float


def extravars(
    config: Config, repo: RepoConfig, pr: int, sha: str, run_id: int, reason: str = "", fork: bool = False
) -> dict:
    """The whole contract with the playbooks: validated PR identity plus our own configuration."""
    values = {f"preview_pr_{key}": value for key, value in config.preview.items()}
    if repo.limits:
        values["preview_pr_limits"] = {**config.preview.get("limits", DEFAULT_LIMITS), **repo.limits}
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
        preview_pr_github_token_file=github_token_file(config),
        preview_pr_run_timeout=int(config.run_timeout),
        # A fork's code never gets what the server lifts for the repository's own PRs.
        preview_pr_compose_allow=[] if fork else list(repo.compose_allow),
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


def run_playbook(
    config: Config,
    kind: str,
    repo: RepoConfig,
    pr: int,
    sha: str,
    run_id: int,
    cancelled: Callable[[], bool],
    reason: str = "",
    fork: bool = False,
) -> RunResult:
    """Run deploy, cleanup or hold for one PR.

    A deploy that passes its deadline is ended before its own rescue can run, so a short second play
    records the failure and says so in the PR comment.
    """
    result, _stats = _run(
        config,
        PLAYBOOKS[kind],
        extravars(config, repo, pr, sha, run_id, reason, fork),
        cancelled,
        f"run-{run_id}-",
        f"{kind} for {repo.full_name}#{pr}",
    )
    if result.status == "timeout" and kind == "deploy":
        report, _stats = _run(
            config,
            PLAYBOOKS["report"],
            extravars(config, repo, pr, sha, run_id, "deadline", fork),
            cancelled,
            f"run-{run_id}-report-",
            f"deadline report for {repo.full_name}#{pr}",
        )
        if report.status != "successful":
            log.warning("deadline report for %s#%d: %s %s", repo.full_name, pr, report.status, report.message)
    return result


def run_reconcile(
    config: Config,
    keep: list[dict],
    cancelled: Callable[[], bool] = lambda: False,
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


# What a run's processes may see of the shim's environment. ansible-runner seeds a run with the whole of
# os.environ, and from there it reaches every module, git and `docker compose`, which copies any variable a
# compose file names (`environment: [NAME]`, build `args: [NAME]`, `${NAME}`) into the PR's containers. So a
# run gets these names only, plus what the runner itself and `envvars` add; secrets never.
ENV_ALLOWLIST = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "SSH_AUTH_SOCK",  # remote inventories: the operator's agent, not a key on disk
        "DOCKER_HOST",
        "DOCKER_CONFIG",
        "DOCKER_CONTEXT",
        "DOCKER_CERT_PATH",
        "DOCKER_TLS_VERIFY",
    }
)
ENV_ALLOWED_PREFIXES = ("ANSIBLE_",)  # the operator's Ansible settings (config file, SSH arguments)
ENV_DENYLIST = frozenset({"GITHUB_TOKEN", "PREVIEW_WEBHOOK_SECRET"})


def run_environment(prepared: dict, envvars: dict, inherited: dict | None = None) -> dict:
    """The environment of a run: `prepared` (ansible-runner's, seeded from `inherited`) cut to the allow-list.

    Keys ansible-runner added or changed itself are kept (its callback plugin, artifact dir), as are our
    `envvars`; a key copied unchanged from the shim's own environment stays only when it is allowed.
    """
    inherited = os.environ if inherited is None else inherited
    env = {}
    for key, value in prepared.items():
        if key in ENV_DENYLIST and key not in envvars:
            continue
        from_shim = key in inherited and inherited[key] == value and key not in envvars
        if not from_shim or key in ENV_ALLOWLIST or key.startswith(ENV_ALLOWED_PREFIXES):
            env[key] = value
    return env


_token_lock = threading.Lock()


def github_token_file(config: Config) -> str:
    """The file the comment's action plugin reads the token from ('' without a token).

    The token reaches the run through this path only: not its environment (every module and `docker compose`
    would inherit it), not extravars or argv (ansible-runner keeps those in its artifacts, and argv is
    public). The file sits in the shim's own state directory, mode 0600, outside every run's directory.
    """
    if not config.github_token:
        return ""
    path = os.path.join(os.path.dirname(os.path.abspath(config.state_db)), "github-token")
    with _token_lock:
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == config.github_token:
                    return path
        except OSError:
            pass
        os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        partial = f"{path}.{os.getpid()}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(config.github_token)
        os.replace(partial, path)
    return path


def _run(
    config: Config, playbook: str, values: dict, cancelled: Callable[[], bool], prefix: str, what: str
) -> tuple[RunResult, dict]:
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
        elif (
            event.get("event") == "runner_on_ok"
            and data.get("res", {}).get("failed_when_result") is False
            and data["res"].get("msg")
        ):
            # A best-effort step (the PR comment) failed without failing the run: say so.
            log.warning("%s: step %r did not work: %s", what, data.get("task", "?"), str(data["res"]["msg"])[:500])
        elif event.get("event") == "playbook_on_stats":
            stats.update(data.get("artifact_data") or {})
        return False  # nothing to keep on disk

    # Module temp dirs (AnsiballZ payloads) go under the run's directory, so a cancelled run's are removed
    # with it instead of piling up in /tmp.
    scratch = os.path.join(private_dir, "tmp")
    os.makedirs(scratch, mode=0o700)
    bindir = os.path.dirname(sys.executable)
    envvars = {
        "PATH": bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_COLLECTIONS_PATH": config.collections_path,
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": scratch,
        "TMPDIR": scratch,
    }
    if not config.inventory:
        envvars["ANSIBLE_REMOTE_TMP"] = scratch  # localhost: the "remote" temp dir is on this machine too
    started = time.monotonic()
    deadline = started + config.run_timeout
    timed_out = [False]

    def stop() -> bool:
        # Our deadline rather than ansible-runner's: before ansible-runner kills its child, the run's whole
        # tree is ended here, while ansible-playbook still links it (shim/processes.py).
        timed_out[0] = timed_out[0] or time.monotonic() > deadline
        if timed_out[0] or cancelled():
            processes.end_run(private_dir)
            return True
        return False

    try:
        runner = init_runner(
            private_data_dir=private_dir,
            playbook=str(config.playbooks_dir / playbook),
            inventory=inventory(config),
            extravars=values,
            envvars=envvars,
            ident="run",
            quiet=True,
            event_handler=on_event,
            cancel_callback=stop,
            suppress_env_files=True,
        )
        runner.config.env = run_environment(runner.config.env, envvars)
        # ansible-playbook, started through the wrapper that records the run's pid (shim/processes.py).
        # Not ansible-runner's `binary`: that switches it to a raw command without the playbook argument.
        command = runner.config.command
        if not command or os.path.basename(command[0]) != "ansible-playbook":
            raise RuntimeError(f"unexpected ansible-runner command {command[:1]}")
        runner.config.command = [processes.write_wrapper(private_dir, os.path.join(bindir, command[0])), *command[1:]]
        runner.run()
        status, rc = ("timeout" if timed_out[0] else runner.status), runner.rc
        if status == "timeout":
            failures = [f"the run passed its deadline of {config.run_timeout} s (run_timeout) and was ended"]
        elif status == "failed" and not failures:
            # No task failed: ansible-playbook itself did (bad environment, syntax, a missing collection).
            failures = [f"ansible-playbook: {_tail(runner)}"]
    except Exception as exc:  # the runner itself broke: report, never crash the worker
        log.exception("ansible-runner failed to run %s", what)
        status, rc, failures = "error", None, [f"ansible-runner: {exc}"]
    finally:
        # A cancel or a timeout ends ansible-playbook only; its module processes and docker compose would go on.
        processes.end_run(private_dir)
        shutil.rmtree(private_dir, ignore_errors=True)
    result = RunResult(status=status, rc=rc, message="\n".join(failures), duration=time.monotonic() - started)
    return result, stats
