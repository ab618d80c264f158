"""Configuration of the shim: a YAML file plus environment overrides.

The webhook secret and the GitHub token may live in the file or, better, in the
environment (`PREVIEW_WEBHOOK_SECRET`, `GITHUB_TOKEN`); neither is ever logged. Instead of the token, the
shim can authenticate as a GitHub App: `github.app_id` and `github.private_key_file` (docs/github-app.md).
"""

from __future__ import annotations

import importlib
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import yaml

from .collection import default_collections_path
from .github_auth import KeyFileError, load_private_key
from .logs import FORMATS as LOG_FORMATS
from .policy import Policy
from .store import REDELIVERY_MEMORY

# Settings of the preview_pr role the configuration may set (under `preview:`, without the prefix).
ROLE_SETTINGS = {
    "deployments_dir": str,
    "port_range": list,
    "domain": str,
    "public_url": str,
    "url_scheme": str,
    "health_timeout": int,
    "stop_timeout": int,
    "nginx_configs_dir": str,
    "nginx_listen_port": int,
    "nginx_listen_address": str,
    "nginx_test_command": list,
    "nginx_reload_command": list,
    "docker_cli": str,
    "comment_marker": str,
    "log_lines": int,
    "node_image": str,
    "go_image": str,
    "db_image": str,
    # What a preview may take of the host (docs/security.md).
    "limits": dict,
    "max_previews": int,
    "max_previews_per_repo": int,
    "min_free_disk_mb": int,
}

LIMIT_KEYS = ("memory", "cpus", "pids")

# What `repositories.<owner/name>` may set.
REPO_KEYS = frozenset(
    {
        "clone_url",
        "slug",
        "compose_file",
        "dockerfile",
        "health_path",
        "compose_allow",
        "limits",
        "service",
        "port",
        "private",
        "github_deployments",
        "env",
        "secrets",
        "secrets_for_forks",
    }
)


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RepoConfig:
    full_name: str
    clone_url: str
    slug: str
    compose_file: str = ""
    # The Dockerfile its previews build when it has no compose file; "" is `Dockerfile` at its root.
    dockerfile: str = ""
    health_path: str = "/health"
    # Checks of the compose policy lifted for this repository's own PRs; never for a fork's.
    compose_allow: tuple[str, ...] = ()
    # Resource limits of every service of its previews; {} means the server's (preview.limits).
    limits: dict = field(default_factory=dict)
    # The compose service its previews route to and that service's port inside its container; ""/0 leave it
    # to the rule of compose_project's `route` (docs/roles.md).
    service: str = ""
    port: int = 0
    # A private repository: git fetches it over HTTPS with the GitHub token (preview_source's token_file).
    private: bool = False
    # Its previews reported as GitHub Deployments and commit statuses (with a token).
    github_deployments: bool = True
    # Variables of every service of its previews: plain values, and secret ones as name -> a file of the preview
    # host readable by its owner only; a fork's PR gets the secret ones only with secrets_for_forks.
    env: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict, repr=False)
    secrets_for_forks: bool = False


@dataclass(frozen=True)
class Config:
    webhook_secret: str = field(repr=False)
    repositories: dict[str, RepoConfig]
    github_token: str = field(default="", repr=False)
    # A GitHub App instead of the token (shim/github_auth.py): its id and its private key's file (mode 0600).
    github_app_id: int | str = 0
    github_private_key_file: str = ""
    github_api_url: str = "https://api.github.com"
    listen_host: str = "127.0.0.1"
    listen_port: int = 3000
    state_db: str = "/var/lib/preview/state.db"
    runs_dir: str = "/var/lib/preview/runs"
    collections_path: str = ""
    inventory: str = ""
    concurrency: int = 2
    max_body_bytes: int = 26 * 1024 * 1024
    preview: dict = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    ttl_hours: float = 72.0
    reconcile_interval: float = 300.0
    # Deliveries, finished runs and long-closed PRs older than this are pruned from the state file.
    history_days: float = 30.0
    # The public URL GitHub delivers to (our hook's config.url); with a token, failed deliveries are redelivered.
    github_webhook_url: str = ""
    redeliver_interval: float = 300.0
    # The nice value of the playbook runs (0 to 19): webhooks are answered first when the CPU is short.
    run_nice: int = 10
    # Seconds a playbook run may take before it is ended and reported as failed.
    run_timeout: int = 1800
    # /healthz answers 503 when the state file's filesystem has less free space than this (MiB).
    health_min_free_mb: int = 100
    # `user:password` of the status page and its API (shim/status_page.py), from status_page.credential_file;
    # "" turns them off.
    status_credential: str = field(default="", repr=False)
    # The page's public URL (status_page.url), so that a GitHub deployment status can link a run's log.
    status_url: str = ""
    # How the shim logs (shim/logs.py): `text` lines, or `json`, one object per line.
    log_format: str = "text"

    def repository(self, full_name: str) -> RepoConfig | None:
        """The configured repository, matched case-insensitively as GitHub does."""
        return self.repositories.get(full_name.lower()) if isinstance(full_name, str) else None

    def warnings(self) -> list[str]:
        """Settings that work but that an operator should know the cost of; logged at start."""
        found = []
        if self.policy.forks != "deny" and not self.preview.get("domain"):
            found.append(
                "fork previews are enabled with path routing: every preview shares one browser origin, so a "
                "fork's page can read another preview's cookies and storage; set preview.domain to give each "
                "preview its own subdomain (docs/security.md)"
            )
        if self.github_app_id and self.run_timeout + 60 >= 3600:
            found.append(
                f"run_timeout is {self.run_timeout} s: a GitHub App's installation token lasts an hour, so a run "
                "this long can outlive the token it was handed (its last PR comment then fails)"
            )
        return found

    @property
    def playbooks_dir(self) -> Path:
        return Path(self.collections_path) / "ansible_collections" / "preview" / "envs" / "playbooks"


def _repositories(
    raw,
    checks: tuple[str, ...],
    create_limits: Callable[..., object],
    naming: ModuleType,
    override: ModuleType,
    stack: ModuleType,
    compose: ModuleType | None = None,
) -> dict[str, RepoConfig]:
    """The `repositories:` mapping; ``naming``, ``override`` and ``stack`` are the collection's _naming,
    _compose_override and _stack, the one home of the rules of a name, a service name, a port and a path in
    the repository."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("repositories: give at least one 'owner/name' with its clone_url")
    repos: dict[str, RepoConfig] = {}
    slugs: dict[str, str] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not naming.REPO_RE.match(name):
            raise ConfigError(f"repositories: {name!r} is not an owner/name")
        spec = spec or {}
        if not isinstance(spec, dict) or not spec.get("clone_url"):
            raise ConfigError(f"repositories.{name}: clone_url is required")
        slug = spec.get("slug") or naming.default_slug(name)
        if not isinstance(slug, str) or not naming.SLUG_RE.match(slug):
            raise ConfigError(f"repositories.{name}: slug {slug!r} must be lowercase letters, digits, dashes")
        if slug in slugs:
            raise ConfigError(f"repositories.{name}: slug {slug!r} is already used by {slugs[slug]}; set slug:")
        slugs[slug] = name
        health = spec.get("health_path", "/health")
        if not isinstance(health, str) or not re.match(r"^/[A-Za-z0-9._~/-]*$", health):
            raise ConfigError(f"repositories.{name}: health_path must be an absolute URL path")
        unknown = set(spec) - REPO_KEYS
        if unknown:
            raise ConfigError(f"repositories.{name}: unknown keys {sorted(unknown)}")
        private = spec.get("private", False)
        if not isinstance(private, bool):
            raise ConfigError(f"repositories.{name}.private must be true or false")
        github_deployments = spec.get("github_deployments", True)
        if not isinstance(github_deployments, bool):
            raise ConfigError(f"repositories.{name}.github_deployments must be true or false")
        if private and not str(spec["clone_url"]).startswith("https://"):
            raise ConfigError(
                f"repositories.{name}: a private repository is fetched with the token over HTTPS; "
                "its clone_url must start with https://"
            )
        repos[name.lower()] = RepoConfig(
            full_name=name,
            clone_url=str(spec["clone_url"]),
            slug=slug,
            compose_file=str(spec.get("compose_file", "") or ""),
            dockerfile=_repo_path(spec.get("dockerfile"), f"repositories.{name}.dockerfile", stack),
            health_path=health,
            compose_allow=_compose_allow(spec.get("compose_allow"), f"repositories.{name}.compose_allow", checks),
            limits=_limits(spec.get("limits"), f"repositories.{name}.limits", create_limits),
            private=private,
            github_deployments=github_deployments,
            **_environment(spec, f"repositories.{name}", compose),
            **_route(spec, f"repositories.{name}", override),
        )
    return repos


def collection_module(collections_path: str, name: str) -> ModuleType:
    """A module_utils module of the collection (`_github`, `_naming`), from the collections path
    (the dir holding `ansible_collections/preview/envs`)."""
    if collections_path and collections_path not in sys.path:
        sys.path.insert(0, collections_path)
        importlib.invalidate_caches()
    return importlib.import_module(f"ansible_collections.preview.envs.plugins.module_utils.{name}")


def _compose_allow(raw, where: str, checks: tuple[str, ...]) -> tuple[str, ...]:
    raw = raw or []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{where} must be a list of policy check names")
    unknown = sorted(set(raw) - set(checks))
    if unknown:
        raise ConfigError(f"{where}: unknown checks {unknown} (known: {', '.join(checks)})")
    return tuple(raw)


def _environment(spec: dict, where: str, compose: ModuleType | None) -> dict:
    """`env`, `secrets` and `secrets_for_forks` of a repository, by the collection's rules of a service variable
    (its _compose). Each secret file is read once now, so that a missing or open one stops the start; its value
    is not kept."""
    env, secrets, for_forks = spec.get("env") or {}, spec.get("secrets") or {}, spec.get("secrets_for_forks", False)
    if not isinstance(env, dict) or not all(isinstance(value, (str, int, float, bool)) for value in env.values()):
        raise ConfigError(f"{where}.env must map variable names to plain values (strings, numbers, true/false)")
    if not isinstance(secrets, dict) or not all(
        isinstance(path, str) and path.startswith("/") for path in secrets.values()
    ):
        raise ConfigError(f"{where}.secrets must map variable names to absolute paths of files")
    if not isinstance(for_forks, bool):
        raise ConfigError(f"{where}.secrets_for_forks must be true or false")
    names = [*env, *secrets]
    ours = sorted(name for name in names if isinstance(name, str) and name.startswith("PREVIEW_"))
    if ours:
        raise ConfigError(f"{where}: {', '.join(ours)}: PREVIEW_ variables are set by preview.envs itself")
    if compose is not None:
        try:
            compose.check_environment_names(names)
        except ValueError as exc:
            raise ConfigError(f"{where}.env/secrets: {exc}") from None
        for name, path in secrets.items():
            try:
                compose.read_secret(path)
            except OSError as exc:
                raise ConfigError(f"{where}.secrets.{name}: cannot read {path} ({exc.strerror})") from None
            except ValueError as exc:
                raise ConfigError(f"{where}.secrets.{name}: {path}: {exc}") from None
    plain = {name: (str(value).lower() if isinstance(value, bool) else str(value)) for name, value in env.items()}
    return {"env": plain, "secrets": dict(secrets), "secrets_for_forks": for_forks}


def _route(spec: dict, where: str, override: ModuleType) -> dict:
    """`service` and `port` of a repository, checked by the collection's rules (its _compose_override).

    Left out, null, "" and 0 are unset, as the role's defaults spell it."""
    service, port = spec.get("service"), spec.get("port")
    route = {}
    try:
        if service not in (None, ""):
            route["service"] = override.check_service_name(service, f"{where}.service")
        if port is not None and not (isinstance(port, int) and not isinstance(port, bool) and port == 0):
            route["port"] = override.check_port(port, f"{where}.port")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return route


def _repo_path(raw, where: str, stack: ModuleType) -> str:
    """A path inside the repository (left out, null and "" are unset), checked by the collection's _stack; that
    it stays in the checkout once symlinks are resolved is checked on the checkout itself."""
    if raw in (None, ""):
        return ""
    try:
        return stack.check_repo_path(raw, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _limits(raw, where: str, create_limits: Callable[..., object]) -> dict:
    """`limits:` as the compose module reads them: its `Limits.create` is the one judge of a valid value."""
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - set(LIMIT_KEYS):
        raise ConfigError(f"{where} must be a mapping of {', '.join(LIMIT_KEYS)}")
    if any(isinstance(value, bool) for value in raw.values()):
        raise ConfigError(f"{where}: a limit is a size or a number, not true or false")
    try:
        create_limits(**raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return dict(raw)


def _preview_settings(raw, create_limits: Callable[..., object]) -> dict:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("preview: must be a mapping of role settings")
    settings = {}
    for key, value in raw.items():
        kind = ROLE_SETTINGS.get(key)
        if kind is None:
            raise ConfigError(f"preview.{key}: unknown setting (known: {', '.join(sorted(ROLE_SETTINGS))})")
        if not isinstance(value, kind):
            raise ConfigError(f"preview.{key}: must be a {kind.__name__}")
        settings[key] = value
    if "limits" in settings:
        settings["limits"] = _limits(settings["limits"], "preview.limits", create_limits)
    return settings


def _policy(raw) -> Policy:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("policy: must be a mapping")
    unknown = set(raw) - {"forks", "approve_label", "trusted_authors", "require_label", "pin_label"}
    if unknown:
        raise ConfigError(f"policy: unknown keys {sorted(unknown)}")
    forks = raw.get("forks", "label")
    if forks not in ("deny", "label", "allow"):
        raise ConfigError("policy.forks must be deny, label or allow")
    label_re = re.compile(r"^[A-Za-z0-9 ._:/-]{0,50}$")
    for key in ("approve_label", "require_label", "pin_label"):
        if not isinstance(raw.get(key, ""), str) or not label_re.match(raw.get(key, "")):
            raise ConfigError(f"policy.{key} must be a label name (letters, digits, space, . _ : / -)")
    authors = raw.get("trusted_authors", []) or []
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise ConfigError("policy.trusted_authors must be a list of GitHub logins")
    return Policy(
        forks=forks,
        approve_label=raw.get("approve_label", "preview-approved"),
        trusted_authors=frozenset(authors),
        require_label=raw.get("require_label", ""),
        pin_label=raw.get("pin_label", "preview-pinned"),
    )


def load(path: str | os.PathLike | None = None, environ: dict | None = None) -> Config:
    """Read the config file (PREVIEW_CONFIG or /etc/preview/config.yml) and apply the environment."""
    env = os.environ if environ is None else environ
    path = path or env.get("PREVIEW_CONFIG") or "/etc/preview/config.yml"
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path} (set PREVIEW_CONFIG or pass --config)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping")
    github = data.get("github") or {}
    listen = data.get("listen") or {}
    secret = env.get("PREVIEW_WEBHOOK_SECRET") or data.get("webhook_secret") or ""
    if len(secret) < 16:
        raise ConfigError("webhook_secret (or PREVIEW_WEBHOOK_SECRET) must be set, at least 16 characters")
    try:
        port = int(env.get("PREVIEW_LISTEN_PORT") or listen.get("port", 3000))
        concurrency = int(data.get("concurrency", 2))
        max_body = int(data.get("max_body_bytes", 26 * 1024 * 1024))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"listen.port, concurrency and max_body_bytes must be integers: {exc}") from None
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1")
    collections_path = str(data.get("collections_path") or default_collections_path())
    try:
        # The names of the policy's checks, the rule of a valid limit and the naming rules have one home:
        # the collection.
        checks = tuple(collection_module(collections_path, "_compose_policy").CHECKS)
        compose_rules = collection_module(collections_path, "_compose")
        create_limits = compose_rules.Limits.create
        naming = collection_module(collections_path, "_naming")
        override = collection_module(collections_path, "_compose_override")
        stack = collection_module(collections_path, "_stack")
    except ImportError as exc:
        raise ConfigError(f"collections_path {collections_path}: no preview.envs collection there ({exc})") from None
    config = Config(
        webhook_secret=secret,
        repositories=_repositories(
            data.get("repositories"), checks, create_limits, naming, override, stack, compose_rules
        ),
        github_token=env.get("GITHUB_TOKEN") or github.get("token", "") or "",
        **_github_app(github),
        github_api_url=str(env.get("GITHUB_API_URL") or github.get("api_url", "https://api.github.com")),
        listen_host=str(listen.get("host", "127.0.0.1")),
        listen_port=port,
        state_db=str(data.get("state_db", "/var/lib/preview/state.db")),
        runs_dir=str(data.get("runs_dir", "/var/lib/preview/runs")),
        collections_path=collections_path,
        inventory=str(data.get("inventory", "") or ""),
        concurrency=concurrency,
        max_body_bytes=max_body,
        preview=_preview_settings(data.get("preview"), create_limits),
        policy=_policy(data.get("policy")),
        ttl_hours=_positive(data, "ttl_hours", 72.0),
        reconcile_interval=_positive(data, "reconcile_interval", 300.0),
        history_days=_history_days(data),
        github_webhook_url=_webhook_url(github.get("webhook_url")),
        redeliver_interval=_positive(data, "redeliver_interval", 300.0),
        run_nice=_nice(data.get("run_nice", 10)),
        run_timeout=int(_positive(data, "run_timeout", 1800)),
        health_min_free_mb=int(_positive(data, "health_min_free_mb", 100)),
        status_credential=_status_credential(data.get("status_page")),
        status_url=_status_url(data.get("status_page")),
        log_format=_log_format(env.get("PREVIEW_LOG_FORMAT") or data.get("log_format", "text")),
    )
    if config.github_token and config.github_app_id:
        raise ConfigError(
            "github.token (or GITHUB_TOKEN) and github.app_id are both set: the shim authenticates either with a "
            "token or as a GitHub App; remove one (docs/github-app.md)"
        )
    private = [repo.full_name for repo in config.repositories.values() if repo.private]
    if private and not config.github_token and not config.github_app_id:
        raise ConfigError(
            f"repositories {', '.join(private)} are private: set github.token (or GITHUB_TOKEN), or github.app_id"
        )
    return config


def _history_days(data: dict) -> float:
    days = _positive(data, "history_days", 30.0)
    # A delivery's GUID must outlive GitHub's redelivery window, or a redelivered event would run twice.
    least = REDELIVERY_MEMORY / 86400
    if days < least:
        raise ConfigError(f"history_days must be at least {least:g}: GitHub can redeliver a delivery for 7 days")
    return days


def _nice(raw) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 19:
        raise ConfigError("run_nice must be a whole number from 0 (as the shim) to 19 (lowest priority)")
    return raw


def _github_app(github: dict) -> dict:
    """`github.app_id` and `github.private_key_file`: both or neither; the key file is checked now (mode,
    owner, an RSA key), so a bad one stops the start instead of every later call to GitHub."""
    app_id, key_file = github.get("app_id"), github.get("private_key_file")
    if app_id in (None, "", 0) and key_file in (None, ""):
        return {}
    if app_id in (None, "", 0):
        raise ConfigError("github.private_key_file is set without github.app_id: give the GitHub App's id too")
    if key_file in (None, ""):
        raise ConfigError("github.app_id is set without github.private_key_file: give the App's private key (.pem)")
    if isinstance(app_id, str) and app_id.isdigit():
        app_id = int(app_id)
    client_id = isinstance(app_id, str) and re.match(r"^Iv[0-9A-Za-z.]{4,40}$", app_id)
    if not client_id and (isinstance(app_id, bool) or not isinstance(app_id, int) or app_id < 1):
        raise ConfigError("github.app_id must be the GitHub App's id (a number) or its client ID (Iv...)")
    if not isinstance(key_file, str):
        raise ConfigError("github.private_key_file must be a path")
    path = os.path.expanduser(key_file)
    try:
        load_private_key(path)
    except KeyFileError as exc:
        raise ConfigError(f"github.private_key_file: {exc}") from None
    return {"github_app_id": app_id, "github_private_key_file": path}


def _status_url(raw) -> str:
    """`status_page.url`: where people reach the page (through nginx), or empty."""
    url = (raw or {}).get("url") if isinstance(raw, dict) else None
    if url in (None, ""):
        return ""
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", url):
        raise ConfigError(
            "status_page.url must be an http:// or https:// URL, e.g. https://previews.example.com/_previews/"
        )
    return url.rstrip("/") + "/"


def _status_credential(raw) -> str:
    """`status_page.credential_file`: the page and its API are off without it. The file holds one line
    `user:password` and is readable by its owner only; what it holds never appears in an error."""
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - {"credential_file", "url"}:
        raise ConfigError("status_page: must be a mapping with credential_file and url (docs/status-page.md)")
    path = raw.get("credential_file")
    if path in (None, ""):
        return ""
    if not isinstance(path, str):
        raise ConfigError("status_page.credential_file must be a path")
    where = f"status_page.credential_file {path}"
    try:
        fd = os.open(os.path.expanduser(path), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{where}: not a regular file")
        if mode & 0o077:
            raise ConfigError(f"{where}: mode {stat.S_IMODE(mode):04o} lets others read it; chmod 600 it")
        data = handle.read(4097)
    lines = data.decode("utf-8", errors="replace").splitlines()
    user, colon, password = (lines[0] if len(lines) == 1 else "").partition(":")
    if len(data) > 4096 or not colon or not re.match(r"^[A-Za-z0-9._-]{1,64}$", user) or len(password) < 16:
        raise ConfigError(
            f"{where}: must hold one line user:password (user of letters, digits, . _ -; password of at least"
            " 16 characters)"
        )
    return f"{user}:{password}"


def _log_format(raw) -> str:
    if raw not in LOG_FORMATS:
        raise ConfigError(f"log_format (or PREVIEW_LOG_FORMAT) must be one of {', '.join(LOG_FORMATS)}, not {raw!r}")
    return raw


def _webhook_url(raw) -> str:
    """`github.webhook_url`: an absolute http(s) URL, or empty (then failed deliveries are not redelivered)."""
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or not re.match(r"^https?://[^/\s?#]+(/\S*)?$", raw):
        raise ConfigError("github.webhook_url must be an http:// or https:// URL, e.g. http://<server>/webhook/github")
    return raw


def _positive(data: dict, key: str, default: float) -> float:
    try:
        value = float(data.get(key, default))
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number") from None
    if value <= 0:
        raise ConfigError(f"{key} must be greater than 0")
    return value
