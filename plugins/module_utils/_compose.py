# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Driving the ``docker compose`` v2 CLI: argv, output parsing, the resources labelled with a project.

Private to the collection. The pure functions (argv building, parsing, the
``changed`` decision) are unit-tested; ``ComposeProject`` runs the commands
through ``module.run_command`` with argv lists only, never a shell string.
"""

from __future__ import annotations

import json
import os
import re
import stat
import typing as t

PROJECT_LABEL = "com.docker.compose.project"

# Compose's rule (used with fullmatch): "must consist only of lowercase alphanumeric characters, hyphens,
# and underscores as well as start with a letter or number".
PROJECT_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")

# The module needs up --wait/--wait-timeout and the global --dry-run; 2.18 is also the floor of
# community.docker's compose modules. Only 2.26 is exercised by this collection's tests.
MINIMUM_COMPOSE_VERSION = (2, 18, 0)
# The global --progress flag exists since 2.19 (docker/compose#10690).
PLAIN_PROGRESS_VERSION = (2, 19, 0)

# The only variables of the module's own environment that compose sees. The module inherits
# ansible-playbook's environment, which may hold GITHUB_TOKEN or the webhook secret, and compose copies
# from its environment into the project: ``environment: [NAME]``, build ``args: [NAME]``, secrets with
# ``environment:`` and every ``${NAME}``. These are what the docker CLI itself needs to find the engine
# and its configuration; the caller's ``env`` is added to each command on top.
COMPOSE_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)

# compose-go's own file names, in its order of preference: the first file found, plus the first override.
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
DEFAULT_OVERRIDE_FILES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)

# What compose takes as a memory size: bytes, or a number with a unit.
MEMORY_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?[bkmgBKMG]?")

# Event statuses that mean compose changed (or, in dry-run, would change) something.
# "Running", "Up-to-date", "Waiting", "Healthy", "Built", "Building", "Pulled" do not:
# a no-op ``up`` prints "Running", and a rebuild from cache reports "Built" without
# touching any container (a rebuild that matters shows up as "Recreate").
CHANGE_STATUSES = frozenset(
    {
        "Creating",
        "Created",
        "Recreate",
        "Recreated",
        "Starting",
        "Started",
        "Restarting",
        "Restarted",
        "Stopping",
        "Stopped",
        "Killing",
        "Killed",
        "Removing",
        "Removed",
    }
)

# Container states in which a container will never become ready without outside help.
DEAD_STATES = frozenset({"exited", "dead", "removing"})

DRY_RUN_MARKER = "DRY-RUN MODE -"

_EVENT_RE = re.compile(
    r"^(?P<kind>Container|Network|Volume|Image|Service)\s+"
    r'(?P<name>"[^"]*"|\S+)\s+'
    r"(?P<status>\S.*?)\s*$"
)
_BUILD_START_RE = re.compile(r"^build service\s+(?P<name>\S+)$")
_BUILD_PROGRESS_RE = re.compile(r"^==>")
_LOGFMT_WARNING_RE = re.compile(r'\blevel=warning\s+msg="(?P<msg>(?:[^"\\]|\\.)*)"')
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")

LOG_LINE_WIDTH = 400
LOG_MAX_CHARS = 24000
REASON_MAX_CHARS = 300


class Event(t.NamedTuple):
    """One progress line of compose: ``Container web-1  Started``."""

    resource_type: str
    name: str
    status: str


class ParsedOutput(t.NamedTuple):
    events: list
    warnings: list
    other: list


# --- names and versions -----------------------------------------------------------------------------


def check_project_name(name: str) -> str:
    """Return ``name`` if compose accepts it as a project name, else raise ValueError."""
    if not isinstance(name, str) or not PROJECT_NAME_RE.fullmatch(name):
        raise ValueError(
            f"invalid compose project name {name!r}: use lowercase letters, digits, dashes and "
            "underscores, starting with a letter or a digit"
        )
    return name


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``2.26.1-4`` / ``v2.29.0`` / ``{"version": "2.26.1"}`` -> (2, 26, 1); None when unknown (``dev``)."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("version", ""))
        except (ValueError, AttributeError):
            return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def scrubbed_environment(environ: t.Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` that compose may see (COMPOSE_ENVIRONMENT)."""
    return {name: environ[name] for name in COMPOSE_ENVIRONMENT if name in environ}


def default_files(names: t.Collection[str]) -> list[str]:
    """The compose files compose itself would pick among ``names`` (the project directory's entries).

    Passing them explicitly keeps compose from searching the parent directories, and lets a generated
    override follow them.
    """
    found = []
    for candidates in (DEFAULT_FILES, DEFAULT_OVERRIDE_FILES):
        found.extend([name for name in candidates if name in names][:1])
    return found if found and found[0] in DEFAULT_FILES else []


# --- resource limits ----------------------------------------------------------------------------------


class Limits(t.NamedTuple):
    """Per-service limits; None means no limit of that kind."""

    memory: str | None = None
    cpus: float | None = None
    pids: int | None = None

    @classmethod
    def create(cls, memory: t.Any = None, cpus: t.Any = None, pids: t.Any = None) -> Limits:
        if memory is not None and not MEMORY_RE.fullmatch(str(memory)):
            raise ValueError(f"limits.memory must be a size like 512m or 1g, got {memory!r}")
        if cpus is not None and float(cpus) <= 0:
            raise ValueError(f"limits.cpus must be more than 0, got {cpus!r}")
        if pids is not None and int(pids) <= 0:
            raise ValueError(f"limits.pids must be more than 0, got {pids!r}")
        return cls(
            None if memory is None else str(memory).lower(),
            None if cpus is None else float(cpus),
            None if pids is None else int(pids),
        )


def override_file(entries: t.Mapping[str, t.Sequence[str]], purpose: str) -> str:
    """A compose file, passed last, that sets ``entries`` (lines ``key: value`` of YAML) on their services.

    Services are written in sorted order, each name as a JSON string (JSON is YAML), so that a service
    name never reads as YAML syntax. Nothing to set: ``""``.
    """
    entries = {service: lines for service, lines in entries.items() if lines}
    if not entries:
        return ""
    lines = [f"# Generated by preview.envs.compose_project: {purpose}.", "services:"]
    for service in sorted(entries):
        lines.append(f"  {json.dumps(service)}:")
        lines.extend(f"    {line}" for line in entries[service])
    return "\n".join(lines) + "\n"


def limits_lines(limits: Limits, stop_grace_period: int | None = None) -> list[str]:
    """The keys that put ``limits`` on one service, as lines of an override file.

    Compose refuses distinct values in ``mem_limit``/``cpus``/``pids_limit`` and their
    ``deploy.resources.limits`` twins, so both are set to the same value, whatever the project's files
    say. ``memswap_limit`` is reset, so that a project cannot add unlimited swap to its memory limit.
    JSON is YAML; only the ``!reset`` tag needs YAML's own syntax. Nothing to set: ``[]``.
    """
    keys = {}
    deploy = {}
    if limits.memory is not None:
        keys["mem_limit"] = deploy["memory"] = limits.memory
    if limits.cpus is not None:
        keys["cpus"] = deploy["cpus"] = limits.cpus
    if limits.pids is not None:
        keys["pids_limit"] = deploy["pids"] = limits.pids
    if stop_grace_period is not None:
        keys["stop_grace_period"] = f"{stop_grace_period}s"
    if not keys:
        return []
    lines = [f"{key}: {json.dumps(value)}" for key, value in keys.items()]
    if limits.memory is not None:
        lines.append("memswap_limit: !reset null")
    if deploy:
        lines.append(f"deploy: {json.dumps({'resources': {'limits': deploy}})}")
    return lines


LIMITS_PURPOSE = "the limits of every service"


ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Names compose or the docker CLI read as their own settings: a service variable of that name would also be
# one of theirs, since the secret ones travel through compose's environment.
RESERVED_ENV_PREFIXES = ("COMPOSE_", "DOCKER_", "BUILDKIT_")
MAX_SECRET_BYTES = 64 * 1024


def check_environment_names(names: t.Iterable[str]) -> None:
    """Refuse a name a service variable cannot have; ValueError says which."""
    seen = set()
    for name in names:
        if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name):
            raise ValueError(f"{name!r} is not a variable name (letters, digits and _, not starting with a digit)")
        if name in COMPOSE_ENVIRONMENT or name.startswith(RESERVED_ENV_PREFIXES):
            raise ValueError(f"{name} is a variable compose or the docker CLI reads for itself; choose another name")
        if name in seen:
            raise ValueError(f"{name} is given both as a plain and as a secret variable")
        seen.add(name)


def read_secret(path: str) -> str:
    """The value a secret file holds, less one trailing newline; ValueError unless only its owner may read or
    write it (not a symlink, a regular file, at most MAX_SECRET_BYTES, text)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise ValueError("not a regular file")
        if status.st_mode & 0o077:
            raise ValueError(f"mode {stat.S_IMODE(status.st_mode):04o} lets others read or write it; chmod 600 it")
        data = handle.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise ValueError(f"larger than {MAX_SECRET_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if "\0" in text:
        raise ValueError("holds a NUL character")
    return text[:-1] if text.endswith("\n") else text


def environment_lines(values: t.Mapping[str, str], secret_names: t.Iterable[str] = ()) -> list[str]:
    """The ``environment`` key that sets ``values`` on one service and names ``secret_names`` without a value
    (compose then takes each from its own environment), as lines of an override file; compose merges it over
    the service's own variables. Nothing to set: ``[]``."""
    entries: dict[str, str | None] = dict(values)
    entries.update((name, None) for name in secret_names)
    return [f"environment: {json.dumps(entries, sort_keys=True)}"] if entries else []


def limits_override(services: t.Iterable[str], limits: Limits, stop_grace_period: int | None = None) -> str:
    """A compose file, passed last, that puts ``limits`` on every service (``limits_lines``)."""
    lines = limits_lines(limits, stop_grace_period)
    return override_file({service: lines for service in services}, LIMITS_PURPOSE)


# --- argv ---------------------------------------------------------------------------------------------


def base_argv(
    docker_cli: str,
    project_name: str,
    project_src: str | None,
    files: t.Sequence[str] | None = None,
    compose_version: tuple[int, int, int] | None = None,
    dry_run: bool = False,
) -> list[str]:
    """The ``docker compose`` prefix shared by every subcommand of one project.

    ``compose_version`` None means "unknown, assume current" (a ``dev`` build).
    """
    argv = [docker_cli, "compose", "--ansi", "never"]
    if compose_version is None or compose_version >= PLAIN_PROGRESS_VERSION:
        argv += ["--progress", "plain"]
    argv += ["--project-name", project_name]
    if project_src:
        argv += ["--project-directory", project_src]
    for compose_file in files or ():
        argv += ["--file", compose_file]
    if dry_run:
        argv.append("--dry-run")
    return argv


def up_argv(
    base: t.Sequence[str],
    build: bool = False,
    wait: bool = True,
    wait_timeout: int = 60,
    stop_timeout: int | None = None,
    remove_orphans: bool = True,
) -> list[str]:
    argv = list(base) + ["up", "--detach"]
    if build:
        argv.append("--build")
    if remove_orphans:
        argv.append("--remove-orphans")
    if stop_timeout is not None:
        argv += ["--timeout", str(stop_timeout)]
    if wait:
        argv += ["--wait", "--wait-timeout", str(wait_timeout)]
    return argv


def down_argv(
    base: t.Sequence[str],
    remove_volumes: bool = True,
    remove_orphans: bool = True,
    remove_images: str = "none",
    stop_timeout: int | None = None,
) -> list[str]:
    argv = list(base) + ["down"]
    if remove_volumes:
        argv.append("--volumes")
    if remove_orphans:
        argv.append("--remove-orphans")
    if remove_images and remove_images != "none":
        argv += ["--rmi", remove_images]
    if stop_timeout is not None:
        argv += ["--timeout", str(stop_timeout)]
    return argv


def config_argv(base: t.Sequence[str], interpolate: bool = True) -> list[str]:
    """``compose config`` as JSON: normalized, paths absolute; without interpolation ``env_file`` stays."""
    return list(base) + ["config", "--format", "json"] + ([] if interpolate else ["--no-interpolate"])


def logs_argv(base: t.Sequence[str], lines: int) -> list[str]:
    return list(base) + ["logs", "--no-color", "--tail", str(lines)]


def ps_argv(base: t.Sequence[str]) -> list[str]:
    return list(base) + ["ps", "--format", "json", "--all"]


def label_filter(project_name: str) -> str:
    return f"label={PROJECT_LABEL}={project_name}"


def resource_id(item: dict) -> str:
    """The handle ``docker rm`` / ``network rm`` / ``volume rm`` take: the ID, or a volume's name."""
    return item.get("ID") or item.get("Name") or ""


# --- parsing ------------------------------------------------------------------------------------------


def parse_json_output(text: str) -> list[dict]:
    """Parse ``--format json`` output: one object per line (compose >= 2.21, docker ps) or one array."""
    text = (text or "").strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return [item for item in json.loads(text) if isinstance(item, dict)]
        except ValueError:
            pass  # several arrays, one per line
    items = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        item = json.loads(line)
        if isinstance(item, list):
            items.extend(entry for entry in item if isinstance(entry, dict))
        elif isinstance(item, dict):
            items.append(item)
    return items


def parse_events(stderr: str) -> ParsedOutput:
    """Split compose's stderr into progress events, warnings and everything else (errors, messages)."""
    events: list[Event] = []
    warnings: list[str] = []
    other: list[str] = []
    for raw in (stderr or "").splitlines():
        line = _ANSI_RE.sub("", raw).strip()
        if line.startswith(DRY_RUN_MARKER):
            line = line[len(DRY_RUN_MARKER) :].strip()
        if not line:
            continue
        match = _EVENT_RE.match(line)
        if match:
            kind, name = match.group("kind").lower(), match.group("name").strip('"')
            events.append(Event(kind, name, match.group("status")))
            continue
        match = _BUILD_START_RE.match(line)
        if match:
            events.append(Event("service", match.group("name"), "Building"))
            continue
        if _BUILD_PROGRESS_RE.match(line):
            continue
        match = _LOGFMT_WARNING_RE.search(line)
        if match:
            warnings.append(match.group("msg").replace('\\"', '"'))
            continue
        other.append(line)
    return ParsedOutput(events, warnings, other)


def has_changes(events: t.Iterable[Event]) -> bool:
    return any(event.status in CHANGE_STATUSES for event in events)


def down_changed(before: set, after: set, events: t.Iterable[Event]) -> bool:
    """Whether a teardown changed anything: labelled resources gone, or images removed.

    Other ``down`` events are not evidence: compose 2.26 with ``--file`` reports the volumes the file
    declares as "Removing"/"Removed" even when they never existed.
    """
    return bool(before - after) or has_changes(event for event in events if event.resource_type == "image")


def short_reason(other_lines: t.Sequence[str], rc: int) -> str:
    """The line of compose's stderr that best says why it failed."""
    candidates = [line for line in other_lines if not line.lower().startswith("warning:")]
    if not candidates:
        return f"exit code {rc}"
    reason = candidates[-1]
    if len(reason) > REASON_MAX_CHARS:
        reason = reason[: REASON_MAX_CHARS - 1] + "…"
    return reason


# --- containers ---------------------------------------------------------------------------------------


# Daemon errors that no change to the app fixes: the host's configuration does, and the hint says how.
HOST_HINTS = (
    (
        "could not find an available, non-overlapping IPv4 address pool",
        "Docker has no address pool left for another network (its defaults hold about 30, and every preview "
        "has one): set default-address-pools in /etc/docker/daemon.json, as the preview.envs.docker role "
        "does, and restart dockerd",
    ),
)


def host_hint(reason: str) -> str:
    """What to change on the host for a failure caused by the daemon's configuration, else ''."""
    for needle, hint in HOST_HINTS:
        if needle in reason:
            return hint
    return ""


def _ports(publishers: t.Any) -> list[dict]:
    ports = []
    for publisher in publishers or ():
        if not isinstance(publisher, dict) or not publisher.get("PublishedPort"):
            continue  # exposed but not published
        port = {
            "url": publisher.get("URL") or "",
            "target_port": publisher.get("TargetPort"),
            "published_port": publisher.get("PublishedPort"),
            "protocol": publisher.get("Protocol") or "tcp",
        }
        if port not in ports:
            ports.append(port)
    return ports


def summarize_container(raw: dict) -> dict:
    """One entry of ``compose ps --format json`` -> the module's ``containers`` element."""
    name = raw.get("Name") or str(raw.get("Names") or "").split(",", maxsplit=1)[0]
    return {
        "name": name,
        "service": raw.get("Service") or "",
        "state": (raw.get("State") or "").lower(),
        "health": (raw.get("Health") or "").lower() or None,
        "image": raw.get("Image") or "",
        "ports": _ports(raw.get("Publishers")),
    }


def readiness_problem(container: dict) -> str | None:
    """None when the container is running and, if it has a healthcheck, healthy; else what is wrong."""
    if container["state"] != "running":
        return container["state"] or "unknown state"
    if container["health"] not in (None, "healthy"):
        return container["health"]
    return None


def not_ready(containers: t.Iterable[dict]) -> list[tuple[dict, str]]:
    return [(c, problem) for c in containers if (problem := readiness_problem(c)) is not None]


def describe_not_ready(pending: t.Iterable[tuple[dict, str]]) -> str:
    return ", ".join(f"container {c['name']} (service {c['service']}) is {problem}" for c, problem in pending)


# --- bounded text for failure reports -----------------------------------------------------------------


def clean_line(line: str, width: int = LOG_LINE_WIDTH) -> str:
    line = _ANSI_RE.sub("", line).rstrip()
    if len(line) > width:
        line = line[: width - 1] + "…"
    return line


def tail_lines(text: str, lines: int) -> list[str]:
    if lines <= 0:
        return []
    cleaned = [clean_line(line) for line in (text or "").splitlines()]
    cleaned = [line for line in cleaned if line.strip()]
    return cleaned[-lines:]


def group_logs_by_container(text: str, lines: int) -> list[str]:
    """``compose logs`` interleaves containers arbitrarily; keep each container's tail together."""
    groups: dict[str, list[str]] = {}
    for line in tail_lines(text, len((text or "").splitlines())):
        prefix = line.split("|", 1)[0].strip() if "|" in line else ""
        groups.setdefault(prefix, []).append(line)
    result = []
    for group in groups.values():
        result.extend(group[-lines:])
    return result


def bound_text(sections: t.Sequence[tuple[str, t.Sequence[str]]], max_chars: int = LOG_MAX_CHARS) -> str:
    """Join titled sections; past ``max_chars`` keep the end, which is where errors are."""
    parts = []
    for title, lines in sections:
        if lines:
            parts.append(f"--- {title} ---")
            parts.extend(lines)
    text = "\n".join(parts)
    if len(text) > max_chars:
        text = "[…]\n" + text[-(max_chars - 4) :].split("\n", 1)[-1]
    return text


def health_summary(inspect_output: str) -> list[str]:
    """Lines from ``docker inspect --format '{{.Name}} {{json .State.Health}}'``: last probe per container."""
    lines = []
    for raw in (inspect_output or "").splitlines():
        name, dummy, health_json = raw.strip().partition(" ")
        try:
            health = json.loads(health_json)
        except ValueError:
            continue
        if not isinstance(health, dict) or not health.get("Log"):
            continue
        probe = health["Log"][-1]
        output = " ".join(str(probe.get("Output") or "").split()) or "(no output)"
        lines.append(
            clean_line(
                f"{name.lstrip('/')}: {health.get('Status')}, failing streak {health.get('FailingStreak')}, "
                f"last probe exit {probe.get('ExitCode')}: {output}"
            )
        )
    return lines


# --- running compose ----------------------------------------------------------------------------------


# How to list, and remove, each kind of resource that carries the project label. Images: only the
# dangling ones (older builds of the project's images), which ``down --rmi`` never removes.
_LIST_COMMANDS = {
    "container": ["ps", "--all", "--no-trunc"],
    "network": ["network", "ls"],
    "volume": ["volume", "ls"],
    "image": ["images", "--no-trunc", "--filter", "dangling=true"],
}
_REMOVE_COMMANDS = {
    "container": ["rm", "--force", "--volumes"],
    "network": ["network", "rm"],
    "volume": ["volume", "rm", "--force"],
    "image": ["image", "rm"],
}


class CommandResult(t.NamedTuple):
    argv: list
    rc: int
    stdout: str
    stderr: str


def command_fields(result: CommandResult) -> dict:
    """What a task's result says of a command it ran: the argv, the exit status and the output."""
    return dict(cmd=result.argv, rc=result.rc, stdout=result.stdout, stderr=result.stderr)


def fail_command(module: t.Any, msg: str, result: CommandResult, **fields: t.Any) -> t.NoReturn:
    """Fail the task over ``result``'s command, with its argv, exit status and output; ``fields`` add or
    replace keys of the result (``stdout=""`` where the output holds secrets)."""
    module.fail_json(msg=msg, **dict(command_fields(result), **fields))


class ComposeProject:
    """One compose project, run through an AnsibleModule's ``run_command``."""

    def __init__(
        self,
        module: t.Any,
        docker_cli: str,
        project_name: str,
        project_src: str | None,
        files: t.Sequence[str] | None = None,
        env: dict | None = None,
    ) -> None:
        self.module = module
        self.docker_cli = docker_cli
        self.project_name = check_project_name(project_name)
        self.project_src = project_src
        self.files = list(files or ())
        self.env = dict(env or {})
        self.compose_version: tuple[int, int, int] | None = None

    def run(self, argv: t.Sequence[str], check: bool = False, what: str = "") -> CommandResult:
        rc, stdout, stderr = self.module.run_command(
            list(argv), cwd=self.project_src, environ_update=self.env, check_rc=False
        )
        result = CommandResult(list(argv), rc, stdout or "", stderr or "")
        if check and rc != 0:
            reason = short_reason(parse_events(result.stderr).other, rc)
            fail_command(self.module, f"{what or argv[1]} failed for project {self.project_name}: {reason}", result)
        return result

    def detect_version(self) -> tuple[int, int, int] | None:
        result = self.run([self.docker_cli, "compose", "version", "--format", "json"])
        if result.rc != 0:
            reason = short_reason(result.stderr.splitlines() or result.stdout.splitlines(), result.rc)
            fail_command(
                self.module,
                f"the docker compose v2 plugin is not available through {self.docker_cli}: {reason}",
                result,
            )
        version = parse_version(result.stdout)
        if version is not None and version < MINIMUM_COMPOSE_VERSION:
            wanted = ".".join(map(str, MINIMUM_COMPOSE_VERSION))
            fail_command(
                self.module, f"docker compose {'.'.join(map(str, version))} is too old; need {wanted} or later", result
            )
        self.compose_version = version
        return version

    def base(self, dry_run: bool = False) -> list[str]:
        return base_argv(
            self.docker_cli, self.project_name, self.project_src, self.files, self.compose_version, dry_run
        )

    def config(self, interpolate: bool = True) -> CommandResult:
        """``compose config`` of the project; its model is ``json.loads(result.stdout)`` when rc is 0."""
        return self.run(config_argv(self.base(), interpolate))

    def ps(self, check: bool = True) -> list[dict]:
        """``compose ps --all``, summarized; with check=False an error yields [] (for failure reports)."""
        result = self.run(ps_argv(self.base()), check=check, what="compose ps")
        if result.rc != 0:
            return []
        try:
            return [summarize_container(raw) for raw in parse_json_output(result.stdout)]
        except ValueError as exc:
            if not check:
                return []
            fail_command(self.module, f"cannot parse compose ps output for project {self.project_name}: {exc}", result)

    def labelled(self, kind: str) -> list[dict]:
        """Resources of ``kind`` carrying the project label, whatever compose file made them."""
        argv = [self.docker_cli] + _LIST_COMMANDS[kind]
        argv += ["--filter", label_filter(self.project_name), "--format", "{{json .}}"]
        result = self.run(argv, check=True, what=f"listing {kind}s")
        return parse_json_output(result.stdout)

    def resource_ids(self, kinds: t.Sequence[str]) -> set[tuple[str, str]]:
        """(kind, id) of every labelled resource of ``kinds``: the before/after state for ``changed``."""
        return {(kind, resource_id(item)) for kind in kinds for item in self.labelled(kind)}

    def sweep(self, kinds: t.Sequence[str]) -> list[Event]:
        """Remove the labelled resources of ``kinds`` (containers first); return what is gone."""
        removed = []
        for kind in kinds:
            items = self.labelled(kind)
            if not items:
                continue
            self.run([self.docker_cli] + _REMOVE_COMMANDS[kind] + [resource_id(item) for item in items])
            # What could not be removed (in use, daemon error) shows up in this recount.
            remaining = {resource_id(item) for item in self.labelled(kind)}
            for item in items:
                if resource_id(item) not in remaining:
                    name = item.get("Names") or item.get("Name") or resource_id(item)
                    removed.append(Event(kind, name, "Removed"))
        return removed

    def container_states(self) -> set[tuple[str, str]]:
        return {(item.get("ID", ""), item.get("State", "")) for item in self.labelled("container")}

    def logs_tail(self, lines: int) -> list[str]:
        """The last ``lines`` lines of each container's log, grouped by container, bounded in width."""
        if lines <= 0:
            return []
        result = self.run(logs_argv(self.base(), lines))
        text = result.stdout + "\n" + result.stderr if result.rc else result.stdout
        return group_logs_by_container(text, lines)

    def health_logs(self, names: t.Sequence[str]) -> list[str]:
        if not names:
            return []
        argv = [self.docker_cli, "inspect", "--format", "{{.Name}} {{json .State.Health}}"] + list(names)
        return health_summary(self.run(argv).stdout)
