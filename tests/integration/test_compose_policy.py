"""The preview policy, the scrubbed environment and the limits of compose_project, against the real engine.

A refused project must leave nothing behind: no container, network, volume or image of the project.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration import test_compose_project as lifecycle
from tests.integration.test_compose_project import NOTHING, _docker, free_port, run_module
from tests.support.leftovers import project_resources

# The lifecycle tests' fixtures: the engine is there, and each project is torn down even when a test fails.
_require_engine = lifecycle._require_engine
project = lifecycle.project

HOSTILE = """\
services:
  web:
    build: .
    privileged: true
    pid: host
    cap_add: [SYS_ADMIN]
    env_file: ../outside/app.env
    volumes:
      - /:/host
      - /var/run/docker.sock:/var/run/docker.sock
"""

HOSTILE_VIOLATIONS = [
    ("env_file", "service web: env_file {outside}/app.env is outside the checkout"),
    ("privileged", "service web: privileged is refused"),
    ("pid", "service web: pid host shares the host's namespace"),
    ("cap_add", "service web: cap_add SYS_ADMIN is beyond Docker's default capabilities"),
    ("docker_socket", "service web: volumes: bind mount of / exposes the docker socket"),
    ("bind_mounts", "service web: volumes: bind mount of / is outside the checkout"),
    ("docker_socket", "service web: volumes: bind mount of /var/run/docker.sock exposes the docker socket"),
    ("bind_mounts", "service web: volumes: bind mount of /var/run/docker.sock is outside the checkout"),
]

SLEEPER = 'FROM preview-base/busybox:1\nCMD ["sleep", "3600"]\n'


def checkout(root: Path, compose_file: str, dockerfile: str = SLEEPER) -> Path:
    app = root / "app"
    app.mkdir(parents=True)
    (app / "compose.yaml").write_text(compose_file)
    (app / "Dockerfile").write_text(dockerfile)
    return app


def inspect(project_name: str) -> dict:
    """`docker inspect` of the project's containers, by compose service."""
    ids = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project_name}").stdout.split()
    assert ids, f"no container of {project_name}"
    containers = json.loads(_docker("inspect", *ids).stdout)
    return {container["Config"]["Labels"]["com.docker.compose.service"]: container for container in containers}


def test_a_hostile_compose_file_is_refused_before_anything_is_built(tmp_path, project):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "app.env").write_text("FROM_OUTSIDE=1\n")
    (outside / "more.yaml").write_text("services:\n  more:\n    image: preview-base/busybox:1\n")
    app = checkout(tmp_path, HOSTILE)
    args = {"project_src": str(app), "project_name": project, "build": True, "wait_timeout": 10}
    expected = [(check, message.format(outside=outside)) for check, message in HOSTILE_VIOLATIONS]

    for check in (True, False):
        result = run_module(tmp_path, args, check=check)

        assert result["failed"] is True and result["changed"] is False
        assert result["msg"] == "compose file refused by the preview policy: " + "; ".join(m for c, m in expected)
        assert [(v["check"], f"{v['subject']}: {v['reason']}") for v in result["violations"]] == expected
        assert project_resources(project) == NOTHING

    # What the server configuration lifts is let through; the rest is still named.
    lifted = {**args, "allow": ["privileged", "pid", "cap_add", "bind_mounts", "env_file"]}
    result = run_module(tmp_path, lifted, check=True)
    assert [v["check"] for v in result["violations"]] == ["docker_socket", "docker_socket"]
    assert project_resources(project) == NOTHING

    # An include outside the checkout is refused before compose reads either file.
    (app / "compose.yaml").write_text(f"include:\n  - ../outside/more.yaml\n{HOSTILE}")
    result = run_module(tmp_path, args)
    assert result["failed"] is True
    assert result["msg"] == (
        "compose file refused by the preview policy: include: path ../outside/more.yaml is outside the checkout"
    )
    assert "rc" not in result  # compose never ran on it
    assert project_resources(project) == NOTHING

    assert run_module(tmp_path, {**args, "state": "absent"})["failed"] is False


LEAKY = """\
services:
  web:
    build:
      context: .
      args: [GITHUB_TOKEN, PREVIEW_WEBHOOK_SECRET, PREVIEW_PR]
    environment: [GITHUB_TOKEN, PREVIEW_WEBHOOK_SECRET, PREVIEW_PR]
    labels:
      leak: "${GITHUB_TOKEN:-unset}"
"""

LEAKY_DOCKERFILE = """\
FROM preview-base/busybox:1
ARG GITHUB_TOKEN
ARG PREVIEW_WEBHOOK_SECRET
ARG PREVIEW_PR
RUN echo "token=$GITHUB_TOKEN secret=$PREVIEW_WEBHOOK_SECRET pr=$PREVIEW_PR" > /leak
CMD ["sleep", "3600"]
"""


def test_compose_never_sees_the_environment_of_ansible_playbook(tmp_path, project, monkeypatch):
    token, secret = f"ghp_{uuid.uuid4().hex}", f"whsec-{uuid.uuid4().hex}"
    monkeypatch.setenv("GITHUB_TOKEN", token)  # run_module passes os.environ to ansible-playbook
    monkeypatch.setenv("PREVIEW_WEBHOOK_SECRET", secret)
    app = checkout(tmp_path, LEAKY, LEAKY_DOCKERFILE)
    args = {
        "project_src": str(app),
        "project_name": project,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 20,
        "env": {"PREVIEW_PR": "7"},
    }

    result = run_module(tmp_path, args)

    assert result["failed"] is False, result
    web = inspect(project)["web"]
    environment = web["Config"]["Env"]
    assert "PREVIEW_PR=7" in environment  # the module's own env does reach compose
    assert not any(token in entry or secret in entry for entry in environment), environment
    assert web["Config"]["Labels"]["leak"] == "unset"
    leak = _docker("run", "--rm", web["Config"]["Image"], "cat", "/leak")
    assert leak.returncode == 0, leak.stderr
    assert leak.stdout == "token= secret= pr=7\n"

    assert run_module(tmp_path, {**args, "state": "absent", "remove_images": "local"})["failed"] is False
    assert project_resources(project) == NOTHING


LIMITED = """\
services:
  app:
    build: .
    ports:
      - "127.0.0.1:${PREVIEW_APP_PORT}:8080"
  db:
    image: preview-base/busybox:1
    command: ["sleep", "3600"]
    mem_limit: 2g
    deploy:
      resources:
        limits: {memory: 2g, cpus: "2", pids: 4096}
"""


def test_every_service_gets_the_limits(tmp_path, project):
    port = free_port()
    app = checkout(tmp_path, LIMITED)
    args = {
        "project_src": str(app),
        "project_name": project,
        "build": True,
        "stop_timeout": 1,
        "wait_timeout": 20,
        "env": {"PREVIEW_APP_PORT": port},
        "published_ports": [port],
        "limits": {"memory": "64m", "cpus": 0.5, "pids": 64},
    }

    result = run_module(tmp_path, args)

    assert result["failed"] is False, result
    assert any(part.endswith("/preview-override.yml") for part in result["cmd"])
    for service, container in inspect(project).items():
        host = container["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (64 * 2**20, 500_000_000, 64), service
        assert container["Config"]["StopTimeout"] == 1

    # Unchanged limits change nothing; the default limits replace the explicit ones.
    assert run_module(tmp_path, args)["changed"] is False
    result = run_module(tmp_path, {key: value for key, value in args.items() if key != "limits"})
    assert result["changed"] is True
    host = inspect(project)["app"]["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (512 * 2**20, 1_000_000_000, 256)

    # No limits of ours: the project's own stand.
    result = run_module(tmp_path, {**args, "limits": {}})
    assert result["failed"] is False, result
    containers = inspect(project)
    assert (containers["app"]["HostConfig"]["Memory"], containers["app"]["HostConfig"]["PidsLimit"]) in (
        (0, None),
        (0, 0),
    )
    assert containers["db"]["HostConfig"]["Memory"] == 2 * 2**30

    assert run_module(tmp_path, {**args, "state": "absent", "remove_images": "local"})["failed"] is False
    assert project_resources(project) == NOTHING


def test_a_port_outside_the_lease_is_refused(tmp_path, project):
    leased, other = free_port(), free_port()
    app = checkout(tmp_path, LIMITED)
    args = {
        "project_src": str(app),
        "project_name": project,
        "env": {"PREVIEW_APP_PORT": other},
        "published_ports": [leased],
    }

    result = run_module(tmp_path, args)

    assert result["failed"] is True
    assert result["msg"] == (
        f"compose file refused by the preview policy: service app: ports: {other}:8080 is not one of the "
        f"leased ports {leased}"
    )
    assert project_resources(project) == NOTHING
