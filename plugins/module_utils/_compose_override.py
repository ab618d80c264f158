# Copyright: (c) 2026, preview maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A repository's own compose files made preview-safe: the service a preview routes to, and what an
override passed last changes so that two previews of one repository run side by side.

Private to the collection; stdlib only, since it runs inside AnsiballZ. Everything is decided on compose's
normalized model (``docker compose config --format json`` of the PR's files), where short and long port
syntax, ``extends`` and interpolation are already resolved.

What collides between two previews of the same files: fixed host ports and ``container_name``. Named
volumes and networks do not: compose prefixes them with the project name, one per preview.
"""

from __future__ import annotations

import json
import re
import typing as t

# Where the routed service is published: nginx and the health probe reach the app there, and nothing else can.
PUBLISH_ADDRESS = "127.0.0.1"

# The compose specification's pattern of a service name (its JSON schema, ``services`` patternProperties).
SERVICE_NAME_RE = re.compile(r"[a-zA-Z0-9._-]+")

# What to set when the rule cannot decide, as the server configuration spells it; the module's own options
# (route.service, route.port) are the same two settings.
SERVICE_SETTING = "repositories.<owner/name>.service"
PORT_SETTING = "repositories.<owner/name>.port"
WHERE = "in the preview server's configuration"


class RouteError(ValueError):
    """The routed service or its port cannot be decided; the message says what to set."""


class Route(t.NamedTuple):
    """The service a preview routes to, its port inside the container, and the leased host port."""

    service: str
    port: int
    host_port: int


def check_port(value: t.Any, what: str) -> int:
    """``value`` if it is a TCP port number (1-65535), else ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"{what} must be a port number from 1 to 65535, got {value!r}")
    return value


def check_service_name(value: t.Any, what: str) -> str:
    """``value`` if compose accepts it as a service name, else ValueError naming ``what``."""
    if not isinstance(value, str) or not SERVICE_NAME_RE.fullmatch(value):
        raise ValueError(f"{what} must be a compose service name (letters, digits, '.', '_', '-'), got {value!r}")
    return value


def _ports(service: t.Any) -> list[dict]:
    ports = service.get("ports") if isinstance(service, dict) else None
    return [entry for entry in ports or () if isinstance(entry, dict)]


def _published(entry: dict) -> str:
    return str(entry.get("published") or "")


def _target(service: dict, host_port: int) -> int | None:
    """The container port of ``service`` a preview routes to: the one already on the leased port, else the
    first one it publishes; None when it publishes none."""
    ports = _ports(service)
    on_lease = [entry for entry in ports if _published(entry) == str(host_port)]
    for entry in on_lease or ports:
        return int(entry["target"])
    return None


# --- the rule, when the configuration names no service ------------------------------------------------
#
# Each rule yields (service, container port) candidates; the first rule with any decides, and more than one
# candidate is ambiguous. The repository's `.preview.yml` would be read by the caller and passed like the
# server's settings (below them); a Dockerfile EXPOSE rule would come after the only-publisher rule.


def _publishes_the_lease(services: dict, host_port: int) -> list[tuple[str, int]]:
    """Files written for a preview already publish the leased port (``${PREVIEW_APP_PORT}``): keep that."""
    found = []
    for name, service in sorted(services.items()):
        for entry in _ports(service):
            if _published(entry) == str(host_port):
                found.append((name, int(entry["target"])))
                break
    return found


def _only_publisher(services: dict, host_port: int) -> list[tuple[str, int]]:
    """An ordinary app: the one service that publishes a port is the one people open in a browser."""
    return [(name, target) for name, service in sorted(services.items()) if (target := _target(service, host_port))]


RULES = (_publishes_the_lease, _only_publisher)


def decide_route(model: dict, host_port: int, service: str = "", port: int = 0) -> Route:
    """The routed service and its container port: ``service``/``port`` when set (the server's configuration
    for the repository), else the first of ``RULES`` that finds exactly one; RouteError otherwise."""
    services = model.get("services") or {}
    known = ", ".join(sorted(services)) or "none"
    if service:
        if service not in services:
            raise RouteError(
                f"the configured service {service} is not a service of the compose files (they have {known}); "
                f"set {SERVICE_SETTING} {WHERE} to one of them"
            )
        target = port or _target(services[service], host_port)
        if not target:
            raise RouteError(
                f"service {service} publishes no port, so the port the preview routes to is unknown; "
                f"set {PORT_SETTING} {WHERE} to the port it listens on inside its container"
            )
        return Route(service, target, host_port)
    for rule in RULES:
        found = rule(services, host_port)
        if len(found) == 1:
            name, target = found[0]
            return Route(name, port or target, host_port)
        if found:
            names = " and ".join(name for name, dummy in found)
            raise RouteError(
                f"cannot tell which service the preview routes to: {names} publish ports; set {SERVICE_SETTING} "
                f"(and {PORT_SETTING}, its port inside the container) {WHERE}"
            )
    raise RouteError(
        f"cannot tell which service the preview routes to: no service publishes a port (services: {known}); "
        f"set {SERVICE_SETTING} and {PORT_SETTING} {WHERE}"
    )


# --- the override -------------------------------------------------------------------------------------


def _leased(entry: dict, ports: t.Collection[str]) -> bool:
    """Whether ``entry`` publishes one of ``ports`` (the preview's own) on 127.0.0.1."""
    return entry.get("host_ip") == PUBLISH_ADDRESS and _published(entry) in ports


def _routes(entry: dict, route: Route) -> bool:
    """Whether ``entry`` is already the routed publication, as the override would write it."""
    return (
        entry.get("host_ip") == PUBLISH_ADDRESS
        and _published(entry) == str(route.host_port)
        and entry.get("target") == route.port
        and (entry.get("protocol") or "tcp") == "tcp"
    )


def preview_safe_lines(model: dict, route: Route, leased: t.Iterable[int] = ()) -> dict[str, list[str]]:
    """Per service, the lines of an override (``_compose.override_file``) that make the project preview-safe.

    Every host port binding goes (``ports: !reset []``) but those that publish exactly one of the ``leased``
    ports on 127.0.0.1, which are the preview's own; the routed service is published on
    127.0.0.1:<leased app port>:<its port> (``ports: !override``), and no other binding keeps that host port.
    ``container_name`` goes (``!reset null``): compose then names the container after the project.
    A service that needs no change has no lines.
    """
    kept = {str(port) for port in leased} - {str(route.host_port)}
    entries: dict[str, list[str]] = {}
    for name, service in sorted((model.get("services") or {}).items()):
        lines = []
        current = _ports(service)
        routed = name == route.service
        wanted = [entry for entry in current if _leased(entry, kept) or (routed and _routes(entry, route))]
        if routed and not any(_routes(entry, route) for entry in wanted):
            wanted.append(
                {"target": route.port, "published": str(route.host_port), "host_ip": PUBLISH_ADDRESS, "protocol": "tcp"}
            )
        if wanted != current:
            # JSON is YAML: the long syntax, as compose's model spells it, needs no quoting rules of its own.
            lines.append(f"ports: !override {json.dumps(wanted)}" if wanted else "ports: !reset []")
        if service.get("container_name"):
            lines.append("container_name: !reset null")
        entries[name] = lines
    return entries
