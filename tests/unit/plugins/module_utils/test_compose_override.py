"""Pure logic of plugins/module_utils/_compose_override.py: the routed service and the preview-safe override,
decided on compose's normalized model.

ORDINARY and ORDINARY_SAFE (tests/fixtures/compose/) are verbatim outputs of compose 2.26.1
(`docker compose -p preview-app-pr-7 config --format json`) for examples/ordinary in /srv/preview/app-pr-7/src,
the second with the override that `preview_safe_lines` writes for it (service web, leased ports 18007 and
19007) passed last. CLEAN is examples/hello, a file written for a preview
(tests/unit/plugins/module_utils/test_compose_policy.py).
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from ansible_collections.preview.envs.plugins.module_utils._compose import Limits, limits_lines, override_file
from ansible_collections.preview.envs.plugins.module_utils._compose_override import (
    PORT_SETTING,
    SERVICE_SETTING,
    Route,
    RouteError,
    check_port,
    check_service_name,
    decide_route,
    preview_safe_lines,
)
from ansible_collections.preview.envs.plugins.module_utils._compose_policy import Policy, check_model
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.unit.plugins.module_utils.test_compose_policy import CLEAN

CHECKOUT = "/srv/preview/app-pr-7/src"
PROJECT = "preview-app-pr-7"
APP_PORT, DB_PORT = 18007, 19007
LEASED = (APP_PORT, DB_PORT)
FIXTURES = ALL_FIXTURES / "compose"

ORDINARY = json.loads((FIXTURES / "ordinary.config.json").read_text())

ORDINARY_SAFE = json.loads((FIXTURES / "ordinary-safe.config.json").read_text())

ROUTED_WEB = '{"target": 3000, "published": "18007", "host_ip": "127.0.0.1", "protocol": "tcp"}'


def port(published: str, target: int, host_ip: str | None = None, protocol: str = "tcp") -> dict:
    entry = {"mode": "ingress", "target": target, "published": published, "protocol": protocol}
    if host_ip is not None:
        entry["host_ip"] = host_ip
    return entry


def model(**services: dict) -> dict:
    return {"name": PROJECT, "services": services}


def policy() -> Policy:
    return Policy.create(CHECKOUT, PROJECT, (), LEASED)


# --- which service, which port ------------------------------------------------------------------------


def test_a_file_written_for_a_preview_is_routed_and_left_as_it_is():
    route = decide_route(CLEAN, APP_PORT)

    assert route == Route("web", 8080, APP_PORT)
    assert preview_safe_lines(CLEAN, route, LEASED) == {"web": []}


def test_a_generated_stack_keeps_both_of_its_leased_ports():
    stack = model(
        app={"ports": [port(str(APP_PORT), 3000, "127.0.0.1")]},
        db={"ports": [port(str(DB_PORT), 5432, "127.0.0.1")]},
    )

    route = decide_route(stack, APP_PORT)

    assert route == Route("app", 3000, APP_PORT)
    assert preview_safe_lines(stack, route, LEASED) == {"app": [], "db": []}


def test_the_only_service_that_publishes_a_port_is_routed():
    only_web = copy.deepcopy(ORDINARY)
    del only_web["services"]["db"]["ports"]

    assert decide_route(only_web, APP_PORT) == Route("web", 3000, APP_PORT)
    assert decide_route(only_web, APP_PORT, port=3001) == Route("web", 3001, APP_PORT)


def test_two_services_that_publish_ports_need_the_setting_that_names_one():
    with pytest.raises(RouteError) as error:
        decide_route(ORDINARY, APP_PORT)

    message = str(error.value)
    assert "db and web publish ports" in message
    assert SERVICE_SETTING in message and PORT_SETTING in message
    assert SERVICE_SETTING == "repositories.<owner/name>.service" and PORT_SETTING == "repositories.<owner/name>.port"


def test_two_services_on_the_leased_port_are_ambiguous_too():
    both = model(web={"ports": [port(str(APP_PORT), 80)]}, api={"ports": [port(str(APP_PORT), 81)]})

    with pytest.raises(RouteError, match="api and web publish ports"):
        decide_route(both, APP_PORT)


def test_no_published_port_needs_both_settings():
    quiet = model(web={"expose": ["3000"]}, db={})

    with pytest.raises(RouteError) as error:
        decide_route(quiet, APP_PORT)

    assert "no service publishes a port (services: db, web)" in str(error.value)
    assert SERVICE_SETTING in str(error.value) and PORT_SETTING in str(error.value)


@pytest.mark.parametrize(
    ("service", "port_", "expected"),
    [
        ("web", 0, Route("web", 3000, APP_PORT)),
        ("web", 8081, Route("web", 8081, APP_PORT)),
        ("db", 0, Route("db", 5432, APP_PORT)),
    ],
)
def test_the_configured_service_and_port_win(service, port_, expected):
    assert decide_route(ORDINARY, APP_PORT, service, port_) == expected


def test_the_configured_service_prefers_its_port_on_the_lease():
    web = model(web={"ports": [port("9229", 9229), port(str(APP_PORT), 8080, "127.0.0.1")]})

    assert decide_route(web, APP_PORT, "web") == Route("web", 8080, APP_PORT)


def test_an_unknown_configured_service_is_named():
    with pytest.raises(RouteError) as error:
        decide_route(ORDINARY, APP_PORT, "api")

    message = str(error.value)
    assert "the configured service api is not a service of the compose files (they have db, web)" in message
    assert SERVICE_SETTING in message


def test_a_configured_service_without_a_published_port_needs_the_port():
    quiet = model(web={"expose": ["3000"]})

    with pytest.raises(RouteError) as error:
        decide_route(quiet, APP_PORT, "web")

    assert "service web publishes no port" in str(error.value) and PORT_SETTING in str(error.value)
    assert decide_route(quiet, APP_PORT, "web", 3000) == Route("web", 3000, APP_PORT)


# --- the override -------------------------------------------------------------------------------------


def test_an_ordinary_file_loses_its_host_ports_and_container_name():
    route = decide_route(ORDINARY, APP_PORT, "web")

    assert preview_safe_lines(ORDINARY, route, LEASED) == {
        "db": ["ports: !reset []", "container_name: !reset null"],
        "web": [f"ports: !override [{ROUTED_WEB}]"],
    }


def test_the_override_is_what_the_policy_then_lets_through():
    # ORDINARY_SAFE is compose's own model of ORDINARY with this very override passed last.
    text = override_file(preview_safe_lines(ORDINARY, Route("web", 3000, APP_PORT), LEASED), "test")
    assert text == (
        "# Generated by preview.envs.compose_project: test.\n"
        "services:\n"
        '  "db":\n'
        "    ports: !reset []\n"
        "    container_name: !reset null\n"
        '  "web":\n'
        f"    ports: !override [{ROUTED_WEB}]\n"
    )
    assert {v.check for v in check_model(ORDINARY, policy())} == {"ports", "container_name"}
    assert check_model(ORDINARY_SAFE, policy()) == []


def test_the_container_name_of_the_routed_service_goes_too():
    named = model(web={"container_name": "app", "ports": [port(str(APP_PORT), 8080, "127.0.0.1")]})

    assert preview_safe_lines(named, decide_route(named, APP_PORT), LEASED) == {"web": ["container_name: !reset null"]}


def test_only_the_preview_s_own_bindings_on_127_0_0_1_are_kept():
    service = model(
        web={
            "ports": [
                port(str(APP_PORT), 8080),  # the lease, but on every address: republished on 127.0.0.1
                port(str(DB_PORT), 9229, "127.0.0.1"),  # the db lease on 127.0.0.1: kept
                port(str(DB_PORT), 9230, "::1"),
                port("", 3000),  # a random host port
                port("8000-8001", 8000),
            ]
        },
        db={"ports": [port(str(APP_PORT), 5432, "127.0.0.1")]},  # the app's port in another service: goes
    )

    lines = preview_safe_lines(service, Route("web", 8080, APP_PORT), LEASED)

    kept = json.dumps(port(str(DB_PORT), 9229, "127.0.0.1"))
    routed = '{"target": 8080, "published": "18007", "host_ip": "127.0.0.1", "protocol": "tcp"}'
    assert lines == {"db": ["ports: !reset []"], "web": [f"ports: !override [{kept}, {routed}]"]}


def test_the_routed_binding_replaces_another_target_on_the_leased_port():
    service = model(web={"ports": [port(str(APP_PORT), 8080, "127.0.0.1")]})

    lines = preview_safe_lines(service, decide_route(service, APP_PORT, "web", 3000), LEASED)

    assert lines == {"web": [f"ports: !override [{ROUTED_WEB}]"]}


def test_without_leases_only_the_routed_binding_stays():
    lines = preview_safe_lines(CLEAN, Route("web", 8080, APP_PORT))

    assert lines == {"web": []}
    assert preview_safe_lines(CLEAN, Route("web", 8080, 18010)) == {
        "web": ['ports: !override [{"target": 8080, "published": "18010", "host_ip": "127.0.0.1", "protocol": "tcp"}]']
    }


def test_one_file_holds_the_override_and_the_limits_and_reads_as_yaml():
    safe = preview_safe_lines(ORDINARY, Route("web", 3000, APP_PORT), LEASED)
    limits = limits_lines(Limits.create("64m"))
    text = override_file({name: safe[name] + limits for name in safe}, "both")

    parsed = yaml.load(text, Loader=TagsAsData)  # noqa: S506 - a SafeLoader subclass

    assert parsed["services"]["db"] == {
        "ports": ("reset", []),
        "container_name": ("reset", None),
        "mem_limit": "64m",
        "memswap_limit": ("reset", None),
        "deploy": {"resources": {"limits": {"memory": "64m"}}},
    }
    assert parsed["services"]["web"]["ports"] == ("override", [json.loads(ROUTED_WEB)])


class TagsAsData(yaml.SafeLoader):
    """Reads ``!tag value`` as ``(tag, value)``."""


def _tagged(loader, tag, node):
    if isinstance(node, yaml.SequenceNode):
        return tag, loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return tag, loader.construct_mapping(node, deep=True)
    return tag, loader.construct_yaml_null(node) if node.value == "null" else loader.construct_scalar(node)


TagsAsData.add_multi_constructor("!", _tagged)


# --- settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 3000, 65535])
def test_a_port_number(value):
    assert check_port(value, "port") == value


@pytest.mark.parametrize("value", [0, 65536, -1, "3000", True, None])
def test_not_a_port_number(value):
    with pytest.raises(ValueError, match="port must be a port number from 1 to 65535"):
        check_port(value, "port")


@pytest.mark.parametrize("value", ["web", "my_app.v2", "API-1"])
def test_a_service_name(value):
    assert check_service_name(value, "service") == value


@pytest.mark.parametrize("value", ["", "web app", "web/1", "${X}", 3, None])
def test_not_a_service_name(value):
    with pytest.raises(ValueError, match="service must be a compose service name"):
        check_service_name(value, "service")
