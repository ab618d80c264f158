"""preview.envs.compose_project against the real engine, run through ansible-playbook.

Every project gets a unique name and is torn down in a fixture even when a test fails; the engine may
hold leftovers of older runs, so nothing here assumes it is clean.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support import modules
from tests.support.leftovers import project_resources

BASE_IMAGE = "preview-base/busybox:1"
NOTHING = {"containers": [], "volumes": [], "networks": [], "images": []}

COMPOSE_FILE = """\
services:
  web:
    build: ./web
    init: true
    ports:
      - "127.0.0.1:${APP_PORT}:8080"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 2s
      retries: 10
    volumes:
      - data:/data
    depends_on:
      - db
  db:
    image: preview-base/busybox:1
    init: true
    command: ["sh", "-c", "echo db ready; mkdir -p /var/db; while true; do sleep 1; done"]
    volumes:
      - dbdata:/var/db
volumes:
  data:
  dbdata:
"""

WEB_DOCKERFILE = """\
FROM preview-base/busybox:1
COPY www /www
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", autouse=True)
def _require_engine():
    if _docker("info").returncode != 0:
        pytest.fail("these tests need a running Docker engine: run scripts/bootstrap first")
    if _docker("compose", "version").returncode != 0:
        pytest.fail("these tests need the docker compose v2 plugin: run scripts/bootstrap first")
    if _docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pytest.fail(f"these tests need the local image {BASE_IMAGE}: run scripts/bootstrap first")


def _remove_everything(project: str) -> None:
    _docker("compose", "--project-name", project, "down", "--volumes", "--rmi", "local", "--timeout", "1")
    label = f"label=com.docker.compose.project={project}"
    for kind, remove in (("container", ["rm", "-f", "-v"]), ("network", ["network", "rm"])):
        listing = ["ps", "-aq"] if kind == "container" else ["network", "ls", "-q"]
        ids = _docker(*listing, "--filter", label).stdout.split()
        if ids:
            _docker(*remove, *ids)
    volumes = _docker("volume", "ls", "-q", "--filter", label).stdout.split()
    if volumes:
        _docker("volume", "rm", "-f", *volumes)
    images = _docker("images", "-q", "--filter", label).stdout.split()
    if images:
        _docker("image", "rm", "-f", *sorted(set(images)))


@pytest.fixture
def project():
    name = f"ptest-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        _remove_everything(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_app(root: Path, content: str, dockerfile: str = WEB_DOCKERFILE, compose_file: str = COMPOSE_FILE) -> Path:
    (root / "web" / "www").mkdir(parents=True, exist_ok=True)
    (root / "web" / "www" / "health").write_text("ok\n")
    (root / "web" / "www" / "index.html").write_text(content + "\n")
    (root / "web" / "Dockerfile").write_text(dockerfile)
    (root / "compose.yaml").write_text(compose_file)
    return root


def run_module(tmp_path: Path, args: dict, check: bool = False) -> dict:
    """One ansible-playbook run of one compose_project task; its result as the module returned it."""
    return modules.run_module(tmp_path, "compose_project", args, check)


def fetch(port: int, path: str = "/") -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.status, response.read().decode()


def by_service(result: dict) -> dict:
    return {container["service"]: container for container in result["containers"]}


def container_ids(project: str) -> list[str]:
    return _docker("ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}").stdout.split()


def test_lifecycle(tmp_path, project):
    port = free_port()
    marker = uuid.uuid4().hex
    app = make_app(tmp_path / "app", f"v1 {marker}")
    args = {
        "project_src": str(app),
        "project_name": project,
        "files": ["compose.yaml"],
        "stop_timeout": 1,
        "wait_timeout": 30,
        "env": {"APP_PORT": port},
    }

    # 1. check mode: would create everything, creates nothing (no container, network, volume or image)
    result = run_module(tmp_path, args, check=True)
    assert result["changed"] is True
    assert {"resource_type": "container", "name": f"{project}-web-1", "status": "Created"} in result["actions"]
    assert "--dry-run" in result["cmd"] and "--file" in result["cmd"]
    assert result["containers"] == []
    assert project_resources(project) == NOTHING

    # 2. real: built, created, running and healthy, serving on the published port
    result = run_module(tmp_path, args)
    assert result["changed"] is True, result
    assert result["rc"] == 0
    services = by_service(result)
    assert set(services) == {"web", "db"}
    assert services["web"]["state"] == "running" and services["web"]["health"] == "healthy"
    assert services["db"]["state"] == "running" and services["db"]["health"] is None
    assert services["web"]["name"] == f"{project}-web-1"
    assert services["web"]["ports"] == [
        {"url": "127.0.0.1", "target_port": 8080, "published_port": port, "protocol": "tcp"}
    ]
    assert fetch(port) == (200, f"v1 {marker}\n")
    first_ids = container_ids(project)
    assert len(first_ids) == 2

    # 3. idempotent check, 4. idempotent
    result = run_module(tmp_path, args, check=True)
    assert result["changed"] is False, result["actions"]
    result = run_module(tmp_path, args)
    assert result["changed"] is False, result["actions"]
    assert {a["status"] for a in result["actions"] if a["resource_type"] == "container"} <= {
        "Running",
        "Waiting",
        "Healthy",
    }
    assert container_ids(project) == first_ids

    # A change of the app: check mode leaves the old one serving, build=true rolls the new one out.
    (app / "web" / "www" / "index.html").write_text(f"v2 {marker}\n")
    rebuild = {**args, "build": True}
    result = run_module(tmp_path, rebuild, check=True)
    assert result["changed"] is True
    assert fetch(port) == (200, f"v1 {marker}\n")
    assert container_ids(project) == first_ids

    result = run_module(tmp_path, rebuild)
    assert result["changed"] is True
    assert {"resource_type": "container", "name": f"{project}-web-1", "status": "Recreated"} in result["actions"]
    assert {"resource_type": "container", "name": f"{project}-db-1", "status": "Running"} in result["actions"]
    assert by_service(result)["web"]["health"] == "healthy"
    assert fetch(port) == (200, f"v2 {marker}\n")

    # Rebuilding unchanged sources comes from cache and touches no container.
    second_ids = container_ids(project)
    result = run_module(tmp_path, rebuild)
    assert result["changed"] is False, result["actions"]
    assert container_ids(project) == second_ids

    # Teardown, with a stray labelled network that no compose file knows: the sweep removes it.
    stray = f"{project}_stray"
    assert _docker("network", "create", "--label", f"com.docker.compose.project={project}", stray).returncode == 0
    absent = {**args, "state": "absent", "remove_images": "local"}

    result = run_module(tmp_path, absent, check=True)
    assert result["changed"] is True
    assert len(container_ids(project)) == 2
    assert fetch(port)[0] == 200

    result = run_module(tmp_path, absent)
    assert result["changed"] is True, result
    assert result["containers"] == []
    assert {"resource_type": "network", "name": stray, "status": "Removed"} in result["actions"]
    assert {"resource_type": "volume", "name": f"{project}_data", "status": "Removed"} in result["actions"]
    # Also the v1 image that the rebuild left dangling: no image labelled with the project is left.
    assert project_resources(project) == NOTHING

    result = run_module(tmp_path, absent, check=True)
    assert result["changed"] is False, result
    result = run_module(tmp_path, absent)
    assert result["changed"] is False, result


def test_absent_of_unknown_project_is_not_a_change(tmp_path, project):
    args = {"project_src": str(tmp_path / "gone"), "project_name": project, "state": "absent"}
    for check in (True, False):
        result = run_module(tmp_path, args, check=check)
        assert result["failed"] is False
        assert result["changed"] is False, result
        assert result["containers"] == []


def test_failed_build(tmp_path, project):
    failing = "FROM preview-base/busybox:1\nRUN echo 'build step about to fail' && false\n"
    app = make_app(tmp_path / "app", "never served", dockerfile=failing)
    args = {
        "project_src": str(app),
        "project_name": project,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 10,
        "env": {"APP_PORT": free_port()},
    }

    result = run_module(tmp_path, args)
    assert result["failed"] is True
    assert result["msg"].startswith(f"compose up failed for project {project}: ")
    assert "exit code: 1" in result["msg"]
    assert result["rc"] != 0
    assert "failed to solve" in result["stderr"] and "exit code: 1" in result["stderr"]
    assert "--build" in result["cmd"]
    # The bounded report for the PR comment carries the failing step's own output.
    assert "build step about to fail" in result["logs"]
    assert len(result["logs"].splitlines()) <= 60

    result = run_module(tmp_path, {**args, "state": "absent"})
    assert result["failed"] is False
    assert container_ids(project) == []
    assert project_resources(project)["containers"] == []
    assert project_resources(project)["networks"] == []


def test_never_healthy(tmp_path, project):
    compose_file = COMPOSE_FILE.replace(
        'test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]',
        'test: ["CMD-SHELL", "echo probe refused; exit 1"]',
    ).replace("retries: 10", "retries: 1")
    app = make_app(tmp_path / "app", "unhealthy", compose_file=compose_file)
    args = {
        "project_src": str(app),
        "project_name": project,
        "stop_timeout": 1,
        "wait_timeout": 5,
        "logs_on_failure": 20,
        "env": {"APP_PORT": free_port()},
    }

    result = run_module(tmp_path, args)
    assert result["failed"] is True
    assert result["msg"].startswith(f"compose up failed for project {project}: ")
    assert f"{project}-web-1" in result["msg"] and "unhealthy" in result["msg"]
    assert f"{project}-db-1" not in result["msg"]
    assert by_service(result)["web"]["health"] == "unhealthy"
    assert "probe refused" in result["logs"]  # the health check's own output
    assert "db-1  | db ready" in result["logs"]  # and the containers' logs

    result = run_module(tmp_path, {**args, "state": "absent"})
    assert result["changed"] is True
    left = project_resources(project)
    assert (left["containers"], left["networks"], left["volumes"]) == ([], [], [])


# A stack without a healthcheck: compose calls it ready once it runs, and only health_url sees the app.
NO_HEALTHCHECK = """\
services:
  web:
    build: ./web
    init: true
    ports:
      - "127.0.0.1:${APP_PORT}:8080"
"""


def test_health_url_waits_for_the_app_itself(tmp_path, project):
    app = make_app(tmp_path / "app", "served", compose_file=NO_HEALTHCHECK)
    port = free_port()
    args = {
        "project_src": str(app),
        "project_name": project,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 20,
        "env": {"APP_PORT": port},
        "health_url": f"http://127.0.0.1:{port}/health",
    }

    result = run_module(tmp_path, args)

    assert result["failed"] is False, result
    assert result["health"]["status"] == 200 and result["health"]["url"] == args["health_url"]
    assert result["health"]["attempts"] >= 1
    assert fetch(port) == (200, "served\n")
    assert run_module(tmp_path, {**args, "state": "absent"})["failed"] is False


def test_health_url_that_never_answers_200_fails_with_the_logs(tmp_path, project):
    app = make_app(tmp_path / "app", "no health endpoint", compose_file=NO_HEALTHCHECK)
    (app / "web" / "www" / "health").unlink()  # busybox httpd answers 404
    port = free_port()
    args = {
        "project_src": str(app),
        "project_name": project,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 3,
        "logs_on_failure": 20,
        "env": {"APP_PORT": port},
        "health_url": f"http://127.0.0.1:{port}/health",
    }

    result = run_module(tmp_path, args)

    assert result["failed"] is True
    assert result["msg"].startswith(f"compose up failed for project {project}: the app did not answer 200 on ")
    assert "within 3s (last: HTTP 404" in result["msg"]
    assert "docker compose up output" in result["logs"]  # httpd logs nothing of its own here
    assert run_module(tmp_path, {**args, "state": "absent", "remove_images": "local"})["failed"] is False
    assert project_resources(project) == NOTHING


def test_health_url_must_be_plain_http(tmp_path, project):
    result = run_module(
        tmp_path, {"project_src": str(tmp_path), "project_name": project, "health_url": "file:///etc/passwd"}
    )

    assert result["failed"] is True
    assert "health_url must be an http:// URL" in result["msg"]
