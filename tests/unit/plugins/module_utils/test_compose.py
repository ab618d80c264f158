"""Pure logic of plugins/module_utils/_compose.py: argv, parsing, the changed decision, names.

The sample outputs are what compose 2.26.1 printed against engine 20.10 on this project's machines.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.preview.envs.plugins.module_utils import _compose as compose
from ansible_collections.preview.envs.plugins.module_utils._compose import Event

UP_FIRST = """\
 Network ptest_default  Creating
 Network ptest_default  Created
 Volume "ptest_data"  Creating
 Volume "ptest_data"  Created
 Container ptest-db-1  Creating
 Container ptest-db-1  Created
 Container ptest-web-1  Creating
 Container ptest-web-1  Created
 Container ptest-db-1  Starting
 Container ptest-db-1  Started
 Container ptest-web-1  Starting
 Container ptest-web-1  Started
 Container ptest-db-1  Waiting
 Container ptest-web-1  Waiting
 Container ptest-db-1  Healthy
 Container ptest-web-1  Healthy
"""

UP_AGAIN = """\
 Container ptest-db-1  Running
 Container ptest-web-1  Running
 Container ptest-db-1  Waiting
 Container ptest-web-1  Waiting
 Container ptest-db-1  Healthy
 Container ptest-web-1  Healthy
"""

DRY_RUN_BUILD = """\
 DRY-RUN MODE -    build service web \n\
 DRY-RUN MODE -  ==> ==> writing image dryRun-ca84d1343b96baa8137c943ed1860e522cacb238 \n\
 DRY-RUN MODE -  ==> ==> naming to ptest-web \n\
 DRY-RUN MODE -  Container ptest-db-1  Running
 DRY-RUN MODE -  Container ptest-web-1  Recreate
 DRY-RUN MODE -  Container ptest-web-1  Recreated
 DRY-RUN MODE -  Container cac7b524a0b2_ptest-web-1  Starting
 DRY-RUN MODE -  Container cac7b524a0b2_ptest-web-1  Started
"""

DOWN = """\
 Container ptest-web-1  Stopping
 Container ptest-web-1  Stopped
 Container ptest-web-1  Removing
 Container ptest-web-1  Removed
 Volume ptest_data  Removing
 Image ptest-web:latest  Removing
 Network ptest_default  Removing
 Volume ptest_data  Removed
 Image ptest-web:latest  Removed
 Network ptest_default  Removed
"""

DOWN_NOTHING = 'Warning: No resource found to remove for project "ptest".\n'

UNHEALTHY = """\
 Container ptest-web-1  Started
 Container ptest-web-1  Waiting
container ptest-web-1 is unhealthy
"""

BUILD_FAILED = "failed to solve: executor failed running [/bin/sh -c false]: exit code: 1\n"

UNSET_VARIABLE = (
    'time="2026-12-01T08:30:05Z" level=warning msg="The \\"APP_PORT\\" variable is not set. '
    'Defaulting to a blank string."\n'
)

PS_WEB = {
    "Command": '"httpd -f -p 8080 -h…"',
    "ExitCode": 0,
    "Health": "healthy",
    "ID": "cac7b524a0b2",
    "Image": "ptest-web",
    "Name": "ptest-web-1",
    "Names": "ptest-web-1",
    "Project": "ptest",
    "Publishers": [{"URL": "127.0.0.1", "TargetPort": 8080, "PublishedPort": 18123, "Protocol": "tcp"}],
    "Service": "web",
    "State": "running",
    "Status": "Up 15 seconds (healthy)",
}
PS_DB = {
    "Health": "",
    "ID": "80780354d511",
    "Image": "preview-base/busybox:1",
    "Name": "ptest-db-1",
    "Names": "ptest-db-1",
    "Publishers": None,
    "Service": "db",
    "State": "running",
}


# --- project names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "0", "ptest-1a2b", "preview-app-pr-5", "my_app", "x--y__z", "9lives"])
def test_accepts_compose_project_names(name):
    assert compose.check_project_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "-app", "_app", "App", "app.pr", "app pr", "app/pr", "ap$p", "äpp", "app\n", None, 5],
)
def test_rejects_invalid_project_names(name):
    with pytest.raises(ValueError, match="invalid compose project name"):
        compose.check_project_name(name)


# --- versions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"version":"2.26.1-4"}\n', (2, 26, 1)),
        ('{"version":"v2.29.7"}', (2, 29, 7)),
        ("2.26.1-4", (2, 26, 1)),
        ("Docker Compose version v2.30.0", (2, 30, 0)),
        ("2.40", (2, 40, 0)),
        ('{"version":"dev"}', None),
        ("dev", None),
        ("", None),
        ("{not json", None),
    ],
)
def test_parse_version(text, expected):
    assert compose.parse_version(text) == expected


# --- argv ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"compose_version": (2, 26, 1)},
            [
                "docker",
                "compose",
                "--ansi",
                "never",
                "--progress",
                "plain",
                "--project-name",
                "ptest",
                "--project-directory",
                "/src",
            ],
        ),
        (
            {"compose_version": (2, 18, 1)},
            [
                "docker",
                "compose",
                "--ansi",
                "never",
                "--project-name",
                "ptest",
                "--project-directory",
                "/src",
            ],
        ),
        (
            {"compose_version": None, "files": ["compose.yaml", "deploy/preview.yaml"], "dry_run": True},
            [
                "docker",
                "compose",
                "--ansi",
                "never",
                "--progress",
                "plain",
                "--project-name",
                "ptest",
                "--project-directory",
                "/src",
                "--file",
                "compose.yaml",
                "--file",
                "deploy/preview.yaml",
                "--dry-run",
            ],
        ),
        (
            {"compose_version": (2, 26, 1), "project_src": None},
            ["docker", "compose", "--ansi", "never", "--progress", "plain", "--project-name", "ptest"],
        ),
    ],
)
def test_base_argv(kwargs, expected):
    kwargs = {"project_src": "/src", **kwargs}
    assert compose.base_argv("docker", "ptest", **kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "tail"),
    [
        ({}, ["up", "--detach", "--remove-orphans", "--wait", "--wait-timeout", "60"]),
        ({"wait": False, "remove_orphans": False}, ["up", "--detach"]),
        (
            {"build": True, "stop_timeout": 2, "wait_timeout": 15},
            [
                "up",
                "--detach",
                "--build",
                "--remove-orphans",
                "--timeout",
                "2",
                "--wait",
                "--wait-timeout",
                "15",
            ],
        ),
        ({"stop_timeout": 0, "wait": False}, ["up", "--detach", "--remove-orphans", "--timeout", "0"]),
    ],
)
def test_up_argv(kwargs, tail):
    assert compose.up_argv(["B"], **kwargs) == ["B"] + tail


@pytest.mark.parametrize(
    ("kwargs", "tail"),
    [
        ({}, ["down", "--volumes", "--remove-orphans"]),
        ({"remove_volumes": False, "remove_orphans": False}, ["down"]),
        (
            {"remove_images": "local", "stop_timeout": 1},
            ["down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "1"],
        ),
        ({"remove_images": "all", "remove_volumes": False}, ["down", "--remove-orphans", "--rmi", "all"]),
        ({"remove_images": "none"}, ["down", "--volumes", "--remove-orphans"]),
    ],
)
def test_down_argv(kwargs, tail):
    assert compose.down_argv(["B"], **kwargs) == ["B"] + tail


def test_ps_logs_and_label_argv():
    assert compose.ps_argv(["B"]) == ["B", "ps", "--format", "json", "--all"]
    assert compose.logs_argv(["B"], 50) == ["B", "logs", "--no-color", "--tail", "50"]
    assert compose.label_filter("ptest") == "label=com.docker.compose.project=ptest"


def test_argv_builders_do_not_modify_the_base():
    base = ["docker", "compose"]
    compose.up_argv(base)
    compose.down_argv(base)
    assert base == ["docker", "compose"]


# --- ps JSON ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(PS_DB) + "\n" + json.dumps(PS_WEB) + "\n",  # compose >= 2.21, docker ps: one per line
        json.dumps([PS_DB, PS_WEB]),  # older and newer compose: one array
        "\n" + json.dumps(PS_DB) + "\n\n" + json.dumps(PS_WEB) + "\n\n",
        json.dumps([PS_DB]) + "\n" + json.dumps([PS_WEB]) + "\n",
        json.dumps([PS_DB, PS_WEB], indent=2),
    ],
    ids=["lines", "array", "blank-lines", "array-per-line", "indented-array"],
)
def test_parse_json_output_both_formats(text):
    assert compose.parse_json_output(text) == [PS_DB, PS_WEB]


@pytest.mark.parametrize("text", ["", "\n", "  ", "[]", "[]\n", None])
def test_parse_json_output_empty(text):
    assert compose.parse_json_output(text) == []


def test_parse_json_output_rejects_garbage():
    with pytest.raises(ValueError):
        compose.parse_json_output("no such service: web\n")


def test_summarize_container():
    assert compose.summarize_container(PS_WEB) == {
        "name": "ptest-web-1",
        "service": "web",
        "state": "running",
        "health": "healthy",
        "image": "ptest-web",
        "ports": [{"url": "127.0.0.1", "target_port": 8080, "published_port": 18123, "protocol": "tcp"}],
    }
    db = compose.summarize_container(PS_DB)
    assert db["health"] is None
    assert db["ports"] == []


def test_summarize_container_ports_skip_unpublished_and_duplicates():
    raw = dict(
        PS_WEB,
        Publishers=[
            {"URL": "", "TargetPort": 5432, "PublishedPort": 0, "Protocol": "tcp"},
            {"URL": "0.0.0.0", "TargetPort": 8080, "PublishedPort": 18000, "Protocol": "tcp"},
            {"URL": "0.0.0.0", "TargetPort": 8080, "PublishedPort": 18000, "Protocol": "tcp"},
            {"URL": "::", "TargetPort": 8080, "PublishedPort": 18000, "Protocol": "tcp"},
        ],
    )
    ports = compose.summarize_container(raw)["ports"]
    assert [(p["url"], p["published_port"]) for p in ports] == [("0.0.0.0", 18000), ("::", 18000)]


def test_summarize_container_from_names_only():
    assert compose.summarize_container({"Names": "a-1,alias", "State": "Exited"})["name"] == "a-1"
    assert compose.summarize_container({"Names": "a-1", "State": "Exited"})["state"] == "exited"


# --- events and changed -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (" Container ptest-web-1  Started", Event("container", "ptest-web-1", "Started")),
        (" Network ptest_default  Created", Event("network", "ptest_default", "Created")),
        (' Volume "ptest_data"  Creating', Event("volume", "ptest_data", "Creating")),
        (" Volume ptest_data  Removed", Event("volume", "ptest_data", "Removed")),
        (" Image ptest-web:latest  Removed", Event("image", "ptest-web:latest", "Removed")),
        (" Image ptest-web  Built", Event("image", "ptest-web", "Built")),
        (" Service web  Building", Event("service", "web", "Building")),
        (" Container ptest-db-1  Up-to-date", Event("container", "ptest-db-1", "Up-to-date")),
        (" DRY-RUN MODE -  Container ptest-web-1  Recreate", Event("container", "ptest-web-1", "Recreate")),
        (" DRY-RUN MODE -    build service web ", Event("service", "web", "Building")),
        (
            " DRY-RUN MODE -  Network ptest_default  Resource is still in use",
            Event("network", "ptest_default", "Resource is still in use"),
        ),
        ("\x1b[2K Container ptest-web-1  Running", Event("container", "ptest-web-1", "Running")),
    ],
)
def test_parse_event_line(line, event):
    parsed = compose.parse_events(line + "\n")
    assert parsed.events == [event]
    assert parsed.other == []


def test_parse_events_separates_warnings_and_errors():
    parsed = compose.parse_events(UNSET_VARIABLE + UNHEALTHY + DOWN_NOTHING)
    assert parsed.warnings == ['The "APP_PORT" variable is not set. Defaulting to a blank string.']
    assert parsed.other == ["container ptest-web-1 is unhealthy", DOWN_NOTHING.strip()]
    assert [e.status for e in parsed.events] == ["Started", "Waiting"]


def test_parse_events_skips_build_progress():
    parsed = compose.parse_events(DRY_RUN_BUILD)
    assert parsed.other == []
    assert parsed.events[0] == Event("service", "web", "Building")
    assert Event("container", "ptest-web-1", "Recreated") in parsed.events


@pytest.mark.parametrize(
    ("stderr", "changed"),
    [
        (UP_FIRST, True),
        (UP_AGAIN, False),
        (DRY_RUN_BUILD, True),
        (DOWN, True),
        (DOWN_NOTHING, False),
        ("", False),
        (" Container ptest-db-1  Up-to-date\n Container ptest-web-1  Running\n", False),
        (" Image ptest-web  Built\n Container ptest-web-1  Running\n", False),  # rebuild from cache
        (" Service web  Building\n Image ptest-web  Built\n Container ptest-web-1  Recreated\n", True),
        (
            " Container ptest-db-1  Running\n Container ptest-db-1  Starting\n",
            True,
        ),  # a stopped one restarted
        (" Network ptest_default  Resource is still in use\n", False),
        (" Image ptest-web:latest  Removed\n", True),
        (UNHEALTHY, True),
        (BUILD_FAILED, False),
    ],
)
def test_has_changes(stderr, changed):
    assert compose.has_changes(compose.parse_events(stderr).events) is changed


# compose 2.26, `down --volumes --file compose.yaml` of a project that does not exist (any more)
DOWN_PHANTOM_VOLUMES = """\
 Volume ptest_data  Removing
 Volume ptest_data  Removed
"""


@pytest.mark.parametrize(
    ("before", "after", "stderr", "changed"),
    [
        (set(), set(), DOWN_PHANTOM_VOLUMES, False),
        (set(), set(), DOWN_NOTHING, False),
        ({("volume", "ptest_data")}, set(), DOWN_PHANTOM_VOLUMES, True),
        ({("container", "c1"), ("network", "n1")}, set(), DOWN, True),
        (set(), set(), " Image ptest-web:latest  Removing\n Image ptest-web:latest  Removed\n", True),
        ({("volume", "ptest_data")}, {("volume", "ptest_data")}, "", False),  # kept, not removed
        ({("network", "n1")}, {("network", "n1")}, " Network n1  Resource is still in use\n", False),
    ],
)
def test_down_changed(before, after, stderr, changed):
    assert compose.down_changed(before, after, compose.parse_events(stderr).events) is changed


# --- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "rc", "reason"),
    [
        (["container ptest-web-1 is unhealthy"], 1, "container ptest-web-1 is unhealthy"),
        ([BUILD_FAILED.strip()], 17, BUILD_FAILED.strip()),
        (["Warning: No resource found to remove"], 1, "exit code 1"),
        (["application not healthy after 3s", "Warning: something"], 1, "application not healthy after 3s"),
        ([], 14, "exit code 14"),
    ],
)
def test_short_reason(other, rc, reason):
    assert compose.short_reason(other, rc) == reason


def test_short_reason_is_bounded():
    reason = compose.short_reason(["x" * 5000], 1)
    assert len(reason) == compose.REASON_MAX_CHARS
    assert reason.endswith("…")


@pytest.mark.parametrize(
    ("state", "health", "problem"),
    [
        ("running", None, None),
        ("running", "healthy", None),
        ("running", "starting", "starting"),
        ("running", "unhealthy", "unhealthy"),
        ("exited", None, "exited"),
        ("created", "starting", "created"),
        ("restarting", None, "restarting"),
        ("", None, "unknown state"),
    ],
)
def test_readiness_problem(state, health, problem):
    container = {"name": "ptest-web-1", "service": "web", "state": state, "health": health}
    assert compose.readiness_problem(container) == problem


def test_not_ready_names_each_container():
    containers = [
        compose.summarize_container(PS_DB),
        compose.summarize_container(dict(PS_WEB, Health="unhealthy")),
        compose.summarize_container(dict(PS_WEB, Name="ptest-worker-1", Service="worker", State="exited")),
    ]
    pending = compose.not_ready(containers)
    assert compose.describe_not_ready(pending) == (
        "container ptest-web-1 (service web) is unhealthy, container ptest-worker-1 (service worker) is exited"
    )


# --- bounded failure reports --------------------------------------------------------------------------


def test_tail_lines_bounds_count_and_width_and_strips_ansi():
    text = "\n".join(f"line {i}" for i in range(100)) + "\n\x1b[2K" + "y" * 1000 + "\n\n"
    lines = compose.tail_lines(text, 3)
    assert lines[:2] == ["line 98", "line 99"]
    assert len(lines[2]) == compose.LOG_LINE_WIDTH
    assert lines[2].startswith("yyy") and lines[2].endswith("…")
    assert compose.tail_lines(text, 0) == []


def test_group_logs_by_container_keeps_each_tail_together():
    text = "\n".join(["web-1  | a1", "db-1  | b1", "web-1  | a2", "db-1  | b2", "web-1  | a3", "db-1  | b3"])
    assert compose.group_logs_by_container(text, 2) == [
        "web-1  | a2",
        "web-1  | a3",
        "db-1  | b2",
        "db-1  | b3",
    ]
    assert compose.group_logs_by_container("", 5) == []


def test_bound_text_keeps_the_end():
    text = compose.bound_text([("one", ["a" * 50] * 10), ("empty", []), ("two", ["the error"])], max_chars=200)
    assert len(text) <= 200
    assert text.startswith("[…]\n")
    assert text.endswith("--- two ---\nthe error")
    assert "--- empty ---" not in compose.bound_text([("empty", []), ("x", ["y"])])


def test_health_summary():
    health = {
        "Status": "unhealthy",
        "FailingStreak": 3,
        "Log": [
            {"ExitCode": 1, "Output": "old"},
            {
                "ExitCode": 1,
                "Output": "wget: can't connect to remote host\n(127.0.0.1): Connection refused\n",
            },
        ],
    }
    out = "/ptest-web-1 " + json.dumps(health) + "\n/ptest-db-1 null\n"
    assert compose.health_summary(out) == [
        "ptest-web-1: unhealthy, failing streak 3, last probe exit 1: "
        "wget: can't connect to remote host (127.0.0.1): Connection refused"
    ]


@pytest.mark.parametrize(
    ("item", "expected"),
    [({"ID": "abc", "Name": "n"}, "abc"), ({"Name": "ptest_data"}, "ptest_data"), ({}, "")],
)
def test_resource_id(item, expected):
    assert compose.resource_id(item) == expected


def test_host_hint_names_the_daemon_setting_for_exhausted_address_pools():
    # The daemon's words when its address pools are used up (seen at the 31st preview on a default engine).
    reason = (
        "failed to create network preview-hello-pr-4029_default: Error response from daemon: could not find "
        "an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )

    hint = compose.host_hint(reason)

    assert "default-address-pools" in hint and "/etc/docker/daemon.json" in hint
    assert compose.host_hint('failed to solve: process "/bin/sh -c exit 3" did not complete') == ""


def test_scrubbed_environment_keeps_only_what_the_docker_cli_needs():
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "DOCKER_HOST": "unix:///run/docker.sock",
        "GITHUB_TOKEN": "ghp_x",
        "PREVIEW_WEBHOOK_SECRET": "s",
        "COMPOSE_FILE": "/etc/x.yml",
        "ANSIBLE_MODULE_ARGS": "{}",
    }

    assert compose.scrubbed_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "DOCKER_HOST": "unix:///run/docker.sock",
    }


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["docker-compose.yaml", "compose.yml", "README.md"], ["compose.yml"]),
        (
            ["compose.yaml", "compose.yml", "docker-compose.override.yml", "compose.override.yaml"],
            ["compose.yaml", "compose.override.yaml"],
        ),
        (["docker-compose.yml", "docker-compose.yaml"], ["docker-compose.yml"]),
        (["compose.override.yml"], []),
        ([], []),
    ],
)
def test_default_files_are_the_ones_compose_would_pick(names, expected):
    assert compose.default_files(names) == expected


def test_config_argv():
    assert compose.config_argv(["docker", "compose"]) == ["docker", "compose", "config", "--format", "json"]
    assert compose.config_argv(["docker", "compose"], interpolate=False)[-1] == "--no-interpolate"


def test_limits_override_sets_both_spellings_of_every_limit():
    text = compose.limits_override(["web", "db"], compose.Limits.create("512M", "1", 256), stop_grace_period=5)

    every_service = (
        '    mem_limit: "512m"\n'
        "    cpus: 1.0\n"
        "    pids_limit: 256\n"
        '    stop_grace_period: "5s"\n'
        "    memswap_limit: !reset null\n"
        '    deploy: {"resources": {"limits": {"memory": "512m", "cpus": 1.0, "pids": 256}}}\n'
    )
    assert text == (
        "# Generated by preview.envs.compose_project: the limits of every service.\n"
        f'services:\n  "db":\n{every_service}  "web":\n{every_service}'
    )


def test_limits_override_leaves_out_what_is_not_limited():
    only_pids = compose.limits_override(["web"], compose.Limits.create(pids=10))
    assert "mem_limit" not in only_pids and "memswap_limit" not in only_pids and "cpus" not in only_pids
    assert 'deploy: {"resources": {"limits": {"pids": 10}}}' in only_pids
    assert compose.limits_override(["web"], compose.Limits.create()) == ""
    assert "stop_grace_period" in compose.limits_override(["web"], compose.Limits.create(), stop_grace_period=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory": "512 MB"}, "limits.memory must be a size"),
        ({"memory": "1g; rm -rf /"}, "limits.memory must be a size"),
        ({"cpus": 0}, "limits.cpus must be more than 0"),
        ({"pids": -1}, "limits.pids must be more than 0"),
    ],
)
def test_limits_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compose.Limits.create(**kwargs)
