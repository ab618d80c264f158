# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The preview policy: what a pull request's compose file may ask of the host.

Private to the collection. A pull request's code is hostile, and whatever its compose file asks
for, compose grants on the host that runs every other preview. The checks read compose's own
model (``docker compose config --format json``, with and without ``--no-interpolate``) and,
before compose runs at all, the compose files themselves for ``include`` and ``extends.file``,
which compose would otherwise read wherever they point. Each check has a stable name in
``CHECKS``; the server configuration can lift one by that name.
"""

from __future__ import annotations

import os
import typing as t

try:
    import yaml
except ImportError:  # a managed host's Python may lack it; the module then fails with a clear message
    yaml = None

HAS_YAML = yaml is not None

# Every check, by the name an ``allow`` list lifts it with. The shim's configuration is validated
# against this tuple, so a name never changes once released.
CHECKS = (
    "privileged",
    "network_mode",
    "pid",
    "ipc",
    "userns_mode",
    "uts",
    "cgroup",
    "cap_add",
    "devices",
    "security_opt",
    "sysctls",
    "runtime",
    "bind_mounts",
    "docker_socket",
    "volumes_from",
    "volume_driver",
    "network_driver",
    "external",
    "build_context",
    "build_ssh",
    "build_secrets",
    "build_entitlements",
    "image_name",
    "secrets_files",
    "env_file",
    "label_file",
    "include",
    "ports",
    "container_name",
)

# Docker's default capability set: adding one of these back after a cap_drop grants nothing new.
SAFE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

# Where dockerd listens on Debian and most distributions; a bind of either, or of a directory
# above one, hands the container the whole host.
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")

LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1"})

# Only sysctls of the container's own network namespace: Docker refuses them with the host's
# network (which network_mode refuses anyway), and no other preview shares that namespace.
SYSCTL_PREFIXES = ("net.",)

# A chain of includes and extends this long is a loop or an attack, not an application.
MAX_SOURCE_FILES = 64


def inside(root: str, path: str) -> bool:
    """Whether ``path``, with the symlinks of its existing part resolved, is in ``root`` (a real path)."""
    real = os.path.realpath(path)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


class Violation(t.NamedTuple):
    """One refused setting: the check that refuses it, where it is, and why."""

    check: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.reason}"


class Policy(t.NamedTuple):
    """What the checks compare with: the checkout, the project and the caller's grants."""

    confine_to: str
    project_name: str
    allow: frozenset = frozenset()
    published_ports: frozenset = frozenset()

    @classmethod
    def create(
        cls,
        confine_to: str,
        project_name: str,
        allow: t.Iterable[str] = (),
        published_ports: t.Iterable[int] = (),
    ) -> Policy:
        unknown = sorted(set(allow) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown policy checks {', '.join(unknown)}; known: {', '.join(CHECKS)}")
        return cls(os.path.realpath(confine_to), project_name, frozenset(allow), frozenset(published_ports))

    def inside(self, path: str) -> bool:
        """Whether ``path``, with the symlinks of its existing part resolved, is in the checkout."""
        return inside(self.confine_to, path)

    def keep(self, violations: t.Iterable[Violation]) -> list[Violation]:
        return [violation for violation in violations if violation.check not in self.allow]


def refusal_message(violations: t.Sequence[Violation]) -> str:
    return "compose file refused by the preview policy: " + "; ".join(str(v) for v in violations)


# --- paths -----------------------------------------------------------------------------------------


def _path_violation(policy: Policy, check: str, subject: str, what: str, path: str, base: str = "") -> t.Iterator:
    """A path compose reads on the host must be in the checkout; one with a variable could be anywhere."""
    if "$" in path:
        yield Violation(check, subject, f"{what} {path} uses a variable, which could point it anywhere")
        return
    if not policy.inside(os.path.join(base, path)):
        yield Violation(check, subject, f"{what} {path} is outside the checkout")


def _as_list(value: t.Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- the compose files themselves: include and extends, before compose reads them -------------------


def _untagged(loader: t.Any, suffix: str, node: t.Any) -> t.Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


if HAS_YAML:

    class _SourceLoader(yaml.SafeLoader):
        """SafeLoader that reads compose's own tags (``!reset``, ``!override``) as untagged values."""

    _SourceLoader.add_multi_constructor("!", _untagged)


def _load_source(path: str) -> t.Any:
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_SourceLoader)  # a SafeLoader: builds plain data only


def _references(document: t.Any) -> t.Iterator[tuple[str, str, str, bool]]:
    """(subject, what, path, is a compose file) for every host path in ``include`` and ``extends``."""
    if not isinstance(document, dict):
        return
    for entry in _as_list(document.get("include")):
        if isinstance(entry, str):
            yield "include", "path", entry, True
        elif isinstance(entry, dict):
            for path in _as_list(entry.get("path")):
                yield "include", "path", str(path), True
            for path in _as_list(entry.get("env_file")):
                yield "include", "env_file", str(path), False
            if entry.get("project_directory") is not None:
                yield "include", "project_directory", str(entry["project_directory"]), False
    services = document.get("services")
    for name, service in services.items() if isinstance(services, dict) else ():
        extends = service.get("extends") if isinstance(service, dict) else None
        if isinstance(extends, dict) and extends.get("file") is not None:
            yield f"service {name}", "extends.file", str(extends["file"]), True


def check_sources(files: t.Sequence[str], policy: Policy) -> list[Violation]:
    """``include`` and ``extends.file`` of the compose files, and of every file they bring in.

    ``files`` are absolute. A file that does not parse, or does not exist, is left to compose,
    which fails on it before anything runs.
    """
    violations: list[Violation] = []
    queue = [os.path.realpath(path) for path in files]
    seen: set[str] = set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        if len(seen) > MAX_SOURCE_FILES:
            violations.append(Violation("include", "include", f"more than {MAX_SOURCE_FILES} compose files"))
            break
        try:
            document = _load_source(path)
        except (OSError, yaml.YAMLError):
            continue
        base = os.path.dirname(path)
        for subject, what, reference, is_compose_file in _references(document):
            found = list(_path_violation(policy, "include", subject, what, reference, base))
            violations.extend(found)
            if is_compose_file and not found:
                queue.append(os.path.realpath(os.path.join(base, reference)))
    return policy.keep(violations)


# --- compose's model without interpolation: the files it reads and then forgets -------------------


def check_uninterpolated(model: dict, policy: Policy) -> list[Violation]:
    """``env_file`` and ``label_file``, which the interpolated model has already read and dropped.

    Their paths are seen here before interpolation, so a variable in one is refused outright.
    """
    violations: list[Violation] = []
    for name, service in sorted((model.get("services") or {}).items()):
        subject = f"service {name}"
        for entry in _as_list(service.get("env_file")):
            path = entry.get("path", "") if isinstance(entry, dict) else str(entry)
            violations.extend(_path_violation(policy, "env_file", subject, "env_file", path))
        for path in _as_list(service.get("label_file")):
            violations.extend(_path_violation(policy, "label_file", subject, "label_file", str(path)))
    return policy.keep(violations)


# --- compose's normalized, interpolated model -----------------------------------------------------


def _namespace_mode(services: t.Collection[str], value: str) -> str | None:
    """Why a ``pid``/``ipc``/``network_mode`` value leaves the project's namespaces, or None."""
    if value == "host":
        return "shares the host's namespace"
    if value.startswith("container:"):
        return "joins a container outside the project"
    if value.startswith("service:") and value.partition(":")[2] not in services:
        return "joins a service outside the project"
    return None


def _host_namespaces(name: str, service: dict, services: t.Collection[str]) -> t.Iterator[Violation]:
    subject = f"service {name}"
    if service.get("privileged"):
        yield Violation("privileged", subject, "privileged is refused")
    network_mode = service.get("network_mode")
    if network_mode and network_mode != "none":
        why = _namespace_mode(services, network_mode)
        if why is None and not network_mode.startswith("service:"):
            why = "reaches a network outside the project"
        if why:
            yield Violation("network_mode", subject, f"network_mode {network_mode} {why}")
    for key in ("pid", "ipc"):
        why = _namespace_mode(services, service.get(key) or "")
        if why:
            yield Violation(key, subject, f"{key} {service[key]} {why}")
    for key in ("userns_mode", "uts", "cgroup"):
        if service.get(key) == "host":
            yield Violation(key, subject, f"{key} host shares the host's namespace")
    if service.get("cgroup_parent"):
        yield Violation("cgroup", subject, f"cgroup_parent {service['cgroup_parent']} leaves the daemon's cgroup")
    if service.get("runtime"):
        yield Violation("runtime", subject, f"runtime {service['runtime']} is refused")


def _privileges(name: str, service: dict) -> t.Iterator[Violation]:
    subject = f"service {name}"
    for capability in _as_list(service.get("cap_add")):
        normalized = str(capability).upper().removeprefix("CAP_")
        if normalized not in SAFE_CAPABILITIES:
            yield Violation("cap_add", subject, f"cap_add {capability} is beyond Docker's default capabilities")
    for key in ("devices", "device_cgroup_rules", "gpus"):
        if service.get(key):
            yield Violation("devices", subject, f"{key} gives the container host devices")
    reservations = ((service.get("deploy") or {}).get("resources") or {}).get("reservations") or {}
    if reservations.get("devices"):
        yield Violation("devices", subject, "deploy.resources.reservations.devices gives the container host devices")
    for option in _as_list(service.get("security_opt")):
        # Any other option can loosen confinement: seccomp/apparmor unconfined or a permissive profile,
        # label=disable or an unconfined SELinux type, systempaths=unconfined.
        if not str(option).startswith("no-new-privileges"):
            yield Violation("security_opt", subject, f"security_opt {option} can lift the container's confinement")
    sysctls = service.get("sysctls") or {}
    names = sysctls if isinstance(sysctls, dict) else [str(item).partition("=")[0] for item in sysctls]
    for sysctl in sorted(names):
        if not sysctl.startswith(SYSCTL_PREFIXES):
            yield Violation("sysctls", subject, f"sysctl {sysctl} is refused (only net.* are allowed)")
    if service.get("container_name"):
        yield Violation(
            "container_name",
            subject,
            f"container_name {service['container_name']} collides across previews; remove it",
        )


def _socket_exposed(source: str) -> bool:
    real = os.path.realpath(source)
    return any(
        real == socket or socket.startswith(real.rstrip("/") + "/")
        for socket in {*DOCKER_SOCKETS, *map(os.path.realpath, DOCKER_SOCKETS)}
    )


def _mounts(name: str, service: dict, policy: Policy, services: t.Collection[str]) -> t.Iterator[Violation]:
    subject = f"service {name}"
    for volume in _as_list(service.get("volumes")):
        kind, source = volume.get("type"), str(volume.get("source") or "")
        if kind in ("volume", "tmpfs"):
            continue
        if kind != "bind":
            yield Violation("bind_mounts", subject, f"volumes: {kind} mount of {source} is refused")
            continue
        if _socket_exposed(source):
            yield Violation("docker_socket", subject, f"volumes: bind mount of {source} exposes the docker socket")
        yield from _path_violation(policy, "bind_mounts", subject, "volumes: bind mount of", source)
    for source in _as_list(service.get("volumes_from")):
        source = str(source)
        if source.startswith("container:") or source.partition(":")[0] not in services:
            yield Violation("volumes_from", subject, f"volumes_from {source} reaches outside the project")


def _build(name: str, service: dict, policy: Policy, services: t.Collection[str]) -> t.Iterator[Violation]:
    build = service.get("build")
    if not isinstance(build, dict):
        return
    subject = f"service {name}"
    context = str(build.get("context") or "")
    if "://" in context or context.startswith("git@"):
        # BuildKit fetches a remote context from the host's network: the shim and other previews.
        yield Violation("build_context", subject, f"build context {context} is a remote URL")
    elif context:
        yield from _path_violation(policy, "build_context", subject, "build context", context)
    dockerfile = str(build.get("dockerfile") or "")
    if os.path.isabs(dockerfile):
        yield from _path_violation(policy, "build_context", subject, "build dockerfile", dockerfile)
    for key, value in sorted((build.get("additional_contexts") or {}).items()):
        value = str(value)
        what = f"build additional_contexts {key}"
        # An image is what FROM would fetch; a service of the project is built from its own checked context.
        if value.startswith("docker-image://"):
            continue
        if value.startswith("service:"):
            if value.partition(":")[2] not in services:
                yield Violation("build_context", subject, f"{what} {value} is outside the project")
        elif "://" in value or value.startswith("git@"):
            yield Violation("build_context", subject, f"{what} {value} is outside the project")
        else:
            yield from _path_violation(policy, "build_context", subject, what, value)
    if build.get("ssh"):
        yield Violation("build_ssh", subject, "build ssh forwards the host's SSH agent or keys")
    if build.get("secrets"):
        yield Violation("build_secrets", subject, "build secrets read host files or environment")
    if build.get("network") not in (None, "", "default", "none"):
        yield Violation("build_entitlements", subject, f"build network {build['network']} is refused")
    if build.get("privileged"):
        yield Violation("build_entitlements", subject, "build privileged is refused")
    if build.get("entitlements"):
        yield Violation("build_entitlements", subject, "build entitlements are refused")
    image = str(service.get("image") or "")
    if image and not image.startswith(f"{policy.project_name}-"):
        # The build would be tagged with a name other projects pull (a base image, another preview's app).
        yield Violation("image_name", subject, f"image {image} would be overwritten by this build; remove image:")


def _ports(name: str, service: dict, policy: Policy) -> t.Iterator[Violation]:
    subject = f"service {name}"
    leased = ", ".join(str(port) for port in sorted(policy.published_ports))
    for port in _as_list(service.get("ports")):
        published = str(port.get("published") or "")
        host_ip = port.get("host_ip") or "0.0.0.0"
        shown = f"{published or '(random)'}:{port.get('target')}"
        if not published:
            yield Violation("ports", subject, f"ports: {shown} publishes a random host port; give a leased port")
        elif not published.isdigit():
            yield Violation("ports", subject, f"ports: {shown} publishes a range; give one leased port")
        elif policy.published_ports and int(published) not in policy.published_ports:
            yield Violation("ports", subject, f"ports: {shown} is not one of the leased ports {leased}")
        if host_ip not in LOOPBACK_ADDRESSES:
            yield Violation("ports", subject, f"ports: {shown} is published on {host_ip}; publish on 127.0.0.1")


def _top_level(model: dict, policy: Policy) -> t.Iterator[Violation]:
    for section, drivers, driver_check in (
        ("volumes", ("", "local"), "volume_driver"),
        ("networks", ("", "bridge", "default"), "network_driver"),
    ):
        for key, item in sorted((model.get(section) or {}).items()):
            item = item or {}
            subject = f"{section} {key}"
            if item.get("external"):
                yield Violation("external", subject, "external is refused; it reaches outside the project")
                continue
            own_name = f"{policy.project_name}_{key}"
            if item.get("name") not in (None, own_name):
                yield Violation("external", subject, f"name {item['name']} is not the project's own ({own_name})")
            if (item.get("driver") or "") not in drivers:
                yield Violation(driver_check, subject, f"driver {item['driver']} is refused")
            if item.get("driver_opts"):
                opts = ", ".join(f"{k}={v}" for k, v in sorted(item["driver_opts"].items()))
                yield Violation(driver_check, subject, f"driver_opts ({opts}) can reach the host")
            ipam = item.get("ipam") or {}
            if section == "networks" and (ipam.get("config") or ipam.get("driver")):
                # A fixed subnet can take another preview's or the host's addresses.
                yield Violation("network_driver", subject, "ipam with a fixed configuration is refused")
    for section in ("secrets", "configs"):
        for key, item in sorted((model.get(section) or {}).items()):
            item = item or {}
            subject = f"{section} {key}"
            if item.get("external"):
                yield Violation("external", subject, "external is refused; it reaches outside the project")
            if item.get("environment"):
                reason = f"environment {item['environment']} reads compose's environment"
                yield Violation("secrets_files", subject, reason)
            if item.get("file"):
                yield from _path_violation(policy, "secrets_files", subject, "file", str(item["file"]))


def check_model(model: dict, policy: Policy) -> list[Violation]:
    """Every check on compose's normalized, interpolated model (``config --format json``)."""
    services_map = model.get("services") or {}
    services = frozenset(services_map)
    violations: list[Violation] = []
    for name, service in sorted(services_map.items()):
        violations.extend(_host_namespaces(name, service, services))
        violations.extend(_privileges(name, service))
        violations.extend(_mounts(name, service, policy, services))
        violations.extend(_build(name, service, policy, services))
        violations.extend(_ports(name, service, policy))
    violations.extend(_top_level(model, policy))
    return policy.keep(violations)
