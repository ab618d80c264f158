"""compose_project's `route` against the real engine: a repository's own compose file (examples/ordinary: fixed
host ports, a container name, a named volume) made preview-safe by the generated override, and judged by the
policy with it."""

from __future__ import annotations

import json
import shutil

from tests.integration import test_compose_project as lifecycle
from tests.integration.test_compose_project import NOTHING, _docker, fetch, free_port, run_module
from tests.support.gitrepo import REPO_ROOT
from tests.support.leftovers import project_resources

# The lifecycle tests' fixtures: the engine is there, and each project is torn down even when a test fails.
_require_engine = lifecycle._require_engine
project = lifecycle.project


def ordinary(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(REPO_ROOT / "examples" / "ordinary", app)
    return app


def args(app, project_name: str, app_port: int, db_port: int, **route) -> dict:
    return {
        "project_src": str(app),
        "project_name": project_name,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 30,
        "published_ports": [app_port, db_port],
        "route": {"host_port": app_port, **route},
        "health_url": f"http://127.0.0.1:{app_port}/health",
    }


def host_bindings(project_name: str) -> dict:
    """Each container's name and its host port bindings, by compose service."""
    ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project_name}").stdout.split()
    found = {}
    for container in json.loads(_docker("inspect", *ids).stdout):
        bindings = {
            port: [(b["HostIp"], b["HostPort"]) for b in (bound or [])]
            for port, bound in (container["HostConfig"]["PortBindings"] or {}).items()
        }
        found[container["Config"]["Labels"]["com.docker.compose.service"]] = (container["Name"].lstrip("/"), bindings)
    return found


def test_an_ordinary_compose_file_runs_published_on_the_leased_port_only(tmp_path, project):
    app_port, db_port = free_port(), free_port()
    app = ordinary(tmp_path)
    module_args = args(app, project, app_port, db_port, service="web")

    check = run_module(tmp_path, module_args, check=True)
    assert check["failed"] is False, check
    assert check["route"] == {"service": "web", "port": 3000, "host_port": app_port}

    result = run_module(tmp_path, module_args)

    assert result["failed"] is False, result.get("msg")
    assert result["route"] == {"service": "web", "port": 3000, "host_port": app_port}
    assert result["health"]["status"] == 200
    assert any(part.endswith("/preview-override.yml") for part in result["cmd"])
    assert host_bindings(project) == {
        "web": (f"{project}-web-1", {"3000/tcp": [("127.0.0.1", str(app_port))]}),
        "db": (f"{project}-db-1", {}),
    }
    status, page = fetch(app_port)
    assert status == 200 and "db row: " in page and "unavailable" not in page
    assert project_resources(project)["volumes"] == [f"{project}_db-data"]
    assert (app / "compose.yaml").read_text() == (REPO_ROOT / "examples" / "ordinary" / "compose.yaml").read_text()

    again = run_module(tmp_path, module_args)
    assert again["failed"] is False and again["changed"] is False, again.get("actions")

    assert run_module(tmp_path, {**module_args, "state": "absent", "remove_images": "local"})["failed"] is False
    assert project_resources(project) == NOTHING


def test_two_publishing_services_and_no_setting_fail_before_anything_is_built(tmp_path, project):
    app_port, db_port = free_port(), free_port()
    module_args = args(ordinary(tmp_path), project, app_port, db_port)

    result = run_module(tmp_path, module_args)

    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == (
        f"compose project {project}: cannot tell which service the preview routes to: db and web publish ports; "
        "set repositories.<owner/name>.service (and repositories.<owner/name>.port, its port inside the "
        "container) in the preview server's configuration"
    )
    assert project_resources(project) == NOTHING

    unknown = run_module(tmp_path, {**module_args, "route": {"host_port": app_port, "service": "api"}})
    assert unknown["failed"] is True
    assert "the configured service api is not a service of the compose files (they have db, web)" in unknown["msg"]
    assert project_resources(project) == NOTHING


def test_the_policy_still_refuses_what_the_override_does_not_change(tmp_path, project):
    app_port, db_port = free_port(), free_port()
    app = ordinary(tmp_path)
    compose = (app / "compose.yaml").read_text()
    hostile = compose.replace("    container_name: app-db\n", "    container_name: app-db\n    privileged: true\n")
    hostile = hostile.replace("      - db-data:/data\n", "      - db-data:/data\n      - production:/production\n")
    (app / "compose.yaml").write_text(hostile + "  production:\n    external: true\n")
    module_args = args(app, project, app_port, db_port, service="web")

    result = run_module(tmp_path, module_args)

    assert result["failed"] is True
    assert [(v["check"], v["subject"]) for v in result["violations"]] == [
        ("privileged", "service db"),
        ("external", "volumes production"),
    ]
    assert project_resources(project) == NOTHING

    # Without `route` the files run as they are: their host ports and container name are refused, as before.
    plain = {key: value for key, value in module_args.items() if key != "route"}
    (app / "compose.yaml").write_text(compose)
    result = run_module(tmp_path, plain)
    assert result["failed"] is True
    assert {v["check"] for v in result["violations"]} == {"ports", "container_name"}
    assert project_resources(project) == NOTHING
