"""The shim's runs of the collection's playbooks: what crosses into them, and how each is run.

ansible-runner itself is driven by shim/playbook_run.py (shared with the CLI); this module adds the shim's
part: the extravars contract, the environment allow-list, the deadline, the run's priority.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import github_auth, playbook_run
from .config import Config, RepoConfig
from .run_log import LogTail
from .vocabulary import Reason, RunKind, RunStatus

log = logging.getLogger("preview.shim.runner")

# Codes the playbooks turn into text; nothing else is passed (see shim/policy.py).
REASONS = frozenset(Reason)

# The role's default limits (roles/preview_pr/defaults/main.yml); a repository's `limits` are laid over the
# server's `preview.limits`, or over these.
DEFAULT_LIMITS = {"memory": "512m", "cpus": 1.0, "pids": 256}


@dataclass
class RunResult:
    status: str  # a RunStatus
    rc: int | None
    message: str
    duration: float
    log: str = ""  # the tail of the run's output, redacted (shim/run_log.py), for the status page


def extravars(
    config: Config, repo: RepoConfig, pr: int, sha: str, run_id: int, reason: str = "", fork: bool = False
) -> dict:
    """The whole contract with the playbooks: validated PR identity plus our own configuration."""
    values = {f"preview_pr_{key}": value for key, value in config.preview.items()}
    if repo.limits:
        values["preview_pr_limits"] = {**config.preview.get("limits", DEFAULT_LIMITS), **repo.limits}
    token_file = github_token_file(config, repo)
    values.update(
        preview_pr_repo=repo.full_name,
        preview_pr_number=int(pr),
        preview_pr_clone_url=repo.clone_url,
        preview_pr_slug=repo.slug,
        preview_pr_compose_file=repo.compose_file,
        preview_pr_dockerfile=repo.dockerfile,
        preview_pr_health_path=repo.health_path,
        preview_pr_service=repo.service,
        preview_pr_port=int(repo.port),
        preview_pr_state_db=config.state_db,
        preview_pr_github_api_url=config.github_api_url,
        preview_pr_approve_label=config.policy.approve_label,
        preview_run_id=int(run_id),
        preview_pr_github_token_file=token_file,
        preview_pr_github_deployments=repo.github_deployments and bool(token_file),
        # The status page's view of this run's log, for the deployment status (it needs the page's credential).
        preview_pr_log_url=(
            f"{config.status_url}previews/{repo.full_name}/{int(pr)}/runs/{int(run_id)}/log"
            if config.status_url and config.status_credential
            else ""
        ),
        preview_pr_env=dict(repo.env),
        # Paths only: the values are read on the preview host, into compose's environment.
        preview_pr_secret_files={} if fork and not repo.secrets_for_forks else dict(repo.secrets),
        preview_pr_sibling_slugs=sorted(
            other.slug for other in config.repositories.values() if other.slug != repo.slug
        ),
        # Git reads the same file, on the preview host, when the repository is private.
        preview_pr_clone_token_file=token_file if repo.private else "",
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
    kind: RunKind,
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
        RunKind(kind).playbook,
        extravars(config, repo, pr, sha, run_id, reason, fork),
        cancelled,
        f"run-{run_id}-",
        f"{kind} for {repo.full_name}#{pr}",
    )
    if result.status == RunStatus.TIMEOUT and kind == RunKind.DEPLOY:
        report, _stats = _run(
            config,
            RunKind.REPORT.playbook,
            extravars(config, repo, pr, sha, run_id, Reason.DEADLINE, fork),
            cancelled,
            f"run-{run_id}-report-",
            f"deadline report for {repo.full_name}#{pr}",
        )
        if report.status != RunStatus.SUCCESSFUL:
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
    return _run(config, RunKind.RECONCILE.playbook, values, cancelled, "run-reconcile-", "reconcile")


def lower_priority(nice: int) -> None:
    """Give this thread, and so every process it starts, the nice value `nice`.

    On Linux the nice value belongs to a thread and a forked child inherits its thread's: set on the
    worker thread of one run (a new thread per run), it reaches ansible-playbook, its workers, the
    modules and docker compose, and leaves the threads that answer webhooks as they are. Builds then
    yield the CPU to everything else on the host when it runs short. (No priority keeps a busy core from
    costing the webhook answers their tail latency: docs/benchmarks.md, intake.)
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


def github_token_file(config: Config, repo: RepoConfig | None = None) -> str:
    """The file the comment's action plugin (and git, for a private repository) reads `repo`'s token from;
    '' without a token.

    The token reaches the run through this path only: not its environment (every module and `docker compose`
    would inherit it), not extravars or argv (ansible-runner keeps those in its artifacts, and argv is
    public). The file sits in the shim's own state directory, mode 0600, outside every run's directory.
    A personal token has one file; a GitHub App's installation tokens differ per installation, so each
    repository has its own, holding a token that outlives the run's deadline (shim/github_auth.py). When
    the App has no token for the repository (the reason is logged once), the run goes without one.
    """
    state_dir = os.path.dirname(os.path.abspath(config.state_db))
    try:
        tokens = github_auth.source(config)
        if tokens is None:
            return ""
        if tokens.kind == "token":
            return _write_token(os.path.join(state_dir, "github-token"), tokens.token_for(""))
        if repo is None:
            return ""
        token = tokens.token_for(repo.full_name, valid_for=github_auth.run_valid_for(config))
    except github_auth.TokenUnavailable as exc:
        if repo is not None and repo.private:
            # git is run without a terminal and without a credential helper: it fails at once, not waits.
            log.warning(
                "repo=%s private repository without a GitHub token: its fetch will fail (%s)", repo.full_name, exc
            )
        return ""
    return _write_token(os.path.join(state_dir, f"github-token-{repo.slug}"), token)


def _write_token(path: str, token: str) -> str:
    with _token_lock:
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == token:
                    return path
        except OSError:
            pass
        os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        partial = f"{path}.{os.getpid()}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token)
        os.replace(partial, path)
    return path


def _run(
    config: Config, playbook: str, values: dict, cancelled: Callable[[], bool], prefix: str, what: str
) -> tuple[RunResult, dict]:
    lower_priority(config.run_nice)
    tail = LogTail(secrets=(config.github_token, config.webhook_secret))

    def on_event(event: dict) -> None:
        tail.add_event(event)
        data = event.get("event_data", {})
        if (
            event.get("event") == "runner_on_ok"
            and data.get("res", {}).get("failed_when_result") is False
            and data["res"].get("msg")
        ):
            # A best-effort step (the PR comment) failed without failing the run: say so.
            log.warning("%s: step %r did not work: %s", what, data.get("task", "?"), str(data["res"]["msg"])[:500])

    run = playbook_run.run(
        str(config.playbooks_dir / playbook),
        inventory=inventory(config),
        extravars=values,
        collections_path=config.collections_path,
        runs_dir=config.runs_dir,
        prefix=prefix,
        on_event=on_event,
        cancelled=cancelled,
        timeout=config.run_timeout,
        settings={"ANSIBLE_HOST_KEY_CHECKING": "False"},
        environment=run_environment,
        contained=True,
        local_hosts=not config.inventory,
    )
    failures = [f"{failure.task}: {failure.message}"[:1000] for failure in run.failures if not failure.unreachable]
    if run.error is not None:
        log.error("ansible-runner failed to run %s", what, exc_info=run.error)
        failures = [f"ansible-runner: {run.error}"]
    elif run.status == RunStatus.TIMEOUT:
        failures = [f"the run passed its deadline of {config.run_timeout} s (run_timeout) and was ended"]
    elif run.status == RunStatus.FAILED and not failures:
        # No task failed: ansible-playbook itself did (bad environment, syntax, a missing collection).
        failures = [f"ansible-playbook: {run.output or 'no output'}"]
    result = RunResult(run.status, run.rc, "\n".join(failures), run.duration, log=tail.text())
    return result, run.stats
