"""Pure logic of plugins/module_utils/_compose_policy.py: the preview policy over compose's own models.

CLEAN, HOSTILE and HOSTILE_RAW are verbatim outputs of compose 2.26.1 (`docker compose -p preview-app-pr-7
config --format json`, the last with `--no-interpolate`) in /srv/preview/app-pr-7/src: CLEAN for
examples/hello/compose.yaml with PREVIEW_APP_PORT=18007, the HOSTILE ones for HOSTILE_SOURCE.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.preview.envs.plugins.module_utils import _compose_policy as policy_mod
from ansible_collections.preview.envs.plugins.module_utils._compose_policy import (
    CHECKS,
    Policy,
    Violation,
    check_model,
    check_sources,
    check_uninterpolated,
    refusal_message,
)
from ansible_collections.preview.envs.plugins.modules import compose_project

CHECKOUT = "/srv/preview/app-pr-7/src"
PROJECT = "preview-app-pr-7"
APP_PORT, DB_PORT = 18007, 19007

HOSTILE_SOURCE = """\
services:
  web:
    build:
      context: .
      args: [GITHUB_TOKEN]
      ssh: [default]
    privileged: true
    pid: host
    cap_add: [SYS_ADMIN]
    security_opt: ["apparmor=unconfined"]
    env_file: ../secrets/app.env
    environment: [GITHUB_TOKEN]
    ports:
      - "${PREVIEW_APP_PORT}:8080"
    volumes:
      - /:/host
      - /var/run/docker.sock:/var/run/docker.sock
      - ./data:/data
    container_name: app
  sidecar:
    image: preview-base/busybox:1
    network_mode: host
    devices: ["/dev/kmsg:/dev/kmsg"]
volumes:
  cache:
    driver_opts: {type: none, o: bind, device: /root}
"""

CLEAN = json.loads("""\
{
  "name": "preview-app-pr-7",
  "networks": {
    "default": {
      "name": "preview-app-pr-7_default",
      "ipam": {}
    }
  },
  "services": {
    "web": {
      "build": {
        "context": "/srv/preview/app-pr-7/src",
        "dockerfile": "Dockerfile"
      },
      "command": null,
      "entrypoint": null,
      "init": true,
      "networks": {
        "default": null
      },
      "ports": [
        {
          "mode": "ingress",
          "host_ip": "127.0.0.1",
          "target": 8080,
          "published": "18007",
          "protocol": "tcp"
        }
      ]
    }
  }
}""")

HOSTILE = json.loads("""\
{
  "name": "preview-app-pr-7",
  "networks": {
    "default": {
      "name": "preview-app-pr-7_default",
      "ipam": {}
    }
  },
  "services": {
    "sidecar": {
      "command": null,
      "devices": [
        {
          "source": "/dev/kmsg",
          "target": "/dev/kmsg",
          "permissions": "rwm"
        }
      ],
      "entrypoint": null,
      "image": "preview-base/busybox:1",
      "network_mode": "host"
    },
    "web": {
      "build": {
        "context": "/srv/preview/app-pr-7/src",
        "dockerfile": "Dockerfile",
        "ssh": [
          "default"
        ]
      },
      "cap_add": [
        "SYS_ADMIN"
      ],
      "command": null,
      "container_name": "app",
      "entrypoint": null,
      "environment": {
        "A": "1",
        "GITHUB_TOKEN": null
      },
      "networks": {
        "default": null
      },
      "pid": "host",
      "ports": [
        {
          "mode": "ingress",
          "target": 8080,
          "published": "18007",
          "protocol": "tcp"
        }
      ],
      "privileged": true,
      "security_opt": [
        "apparmor=unconfined"
      ],
      "volumes": [
        {
          "type": "bind",
          "source": "/",
          "target": "/host",
          "bind": {
            "create_host_path": true
          }
        },
        {
          "type": "bind",
          "source": "/var/run/docker.sock",
          "target": "/var/run/docker.sock",
          "bind": {
            "create_host_path": true
          }
        },
        {
          "type": "bind",
          "source": "/srv/preview/app-pr-7/src/data",
          "target": "/data",
          "bind": {
            "create_host_path": true
          }
        }
      ]
    }
  }
}""")

HOSTILE_RAW = json.loads("""\
{
  "name": "preview-app-pr-7",
  "networks": {
    "default": {
      "name": "preview-app-pr-7_default"
    }
  },
  "services": {
    "sidecar": {
      "devices": [
        {
          "permissions": "rwm",
          "source": "/dev/kmsg",
          "target": "/dev/kmsg"
        }
      ],
      "image": "preview-base/busybox:1",
      "network_mode": "host"
    },
    "web": {
      "build": {
        "args": null,
        "context": "/srv/preview/app-pr-7/src",
        "dockerfile": "Dockerfile",
        "ssh": {
          "default": null
        }
      },
      "cap_add": [
        "SYS_ADMIN"
      ],
      "container_name": "app",
      "env_file": [
        {
          "path": "/srv/preview/app-pr-7/secrets/app.env",
          "required": true
        }
      ],
      "environment": [
        "GITHUB_TOKEN"
      ],
      "networks": {
        "default": null
      },
      "pid": "host",
      "ports": [
        "${PREVIEW_APP_PORT}:8080"
      ],
      "privileged": true,
      "security_opt": [
        "apparmor=unconfined"
      ],
      "volumes": [
        {
          "bind": {
            "create_host_path": true
          },
          "source": "/",
          "target": "/host",
          "type": "bind"
        },
        {
          "bind": {
            "create_host_path": true
          },
          "source": "/var/run/docker.sock",
          "target": "/var/run/docker.sock",
          "type": "bind"
        },
        {
          "bind": {
            "create_host_path": true
          },
          "source": "/srv/preview/app-pr-7/src/data",
          "target": "/data",
          "type": "bind"
        }
      ]
    }
  },
  "volumes": {
    "cache": {
      "driver_opts": {
        "device": "/root",
        "o": "bind",
        "type": "none"
      },
      "name": "preview-app-pr-7_cache"
    }
  }
}""")


def policy(allow=(), ports=(APP_PORT, DB_PORT), confine_to=CHECKOUT) -> Policy:
    return Policy.create(confine_to, PROJECT, allow, ports)


def messages(violations) -> list[str]:
    return [str(violation) for violation in violations]


def with_web(**settings) -> dict:
    """CLEAN with the web service's settings changed (None removes one)."""
    model = copy.deepcopy(CLEAN)
    web = model["services"]["web"]
    for key, value in settings.items():
        if value is None:
            web.pop(key, None)
        else:
            web[key] = value
    return model


def with_section(section: str, key: str, item: dict) -> dict:
    model = copy.deepcopy(CLEAN)
    model.setdefault(section, {})[key] = item
    return model


def bind(source: str) -> dict:
    return {"type": "bind", "source": source, "target": "/mnt", "bind": {"create_host_path": True}}


def test_the_example_app_passes():
    assert check_model(CLEAN, policy()) == []
    assert check_uninterpolated(CLEAN, policy()) == []


def test_hostile_model_names_every_refused_setting():
    assert messages(check_model(HOSTILE, policy())) == [
        "service sidecar: network_mode host shares the host's namespace",
        "service sidecar: devices gives the container host devices",
        "service web: privileged is refused",
        "service web: pid host shares the host's namespace",
        "service web: cap_add SYS_ADMIN is beyond Docker's default capabilities",
        "service web: security_opt apparmor=unconfined can lift the container's confinement",
        "service web: container_name app collides across previews; remove it",
        "service web: volumes: bind mount of / exposes the docker socket",
        "service web: volumes: bind mount of / is outside the checkout",
        "service web: volumes: bind mount of /var/run/docker.sock exposes the docker socket",
        "service web: volumes: bind mount of /var/run/docker.sock is outside the checkout",
        "service web: build ssh forwards the host's SSH agent or keys",
        "service web: ports: 18007:8080 is published on 0.0.0.0; publish on 127.0.0.1",
    ]


def test_uninterpolated_model_shows_the_env_file_the_interpolated_one_inlined():
    assert "env_file" not in HOSTILE["services"]["web"]
    assert messages(check_uninterpolated(HOSTILE_RAW, policy())) == [
        "service web: env_file /srv/preview/app-pr-7/secrets/app.env is outside the checkout"
    ]
    # Unused top-level resources are only in this model; compose creates none of them.
    assert "volumes" not in HOSTILE
    assert messages(check_model({"volumes": HOSTILE_RAW["volumes"]}, policy())) == [
        "volumes cache: driver_opts (device=/root, o=bind, type=none) can reach the host"
    ]


# (check, settings of the web service, the reason in the message)
SERVICE_CASES = [
    ("privileged", {"privileged": True}, "privileged is refused"),
    ("network_mode", {"network_mode": "host"}, "network_mode host shares the host's namespace"),
    ("network_mode", {"network_mode": "container:other"}, "joins a container outside the project"),
    ("network_mode", {"network_mode": "service:elsewhere"}, "joins a service outside the project"),
    ("network_mode", {"network_mode": "bridge"}, "network_mode bridge reaches a network outside the project"),
    ("network_mode", {"network_mode": "preview-app-pr-8_default"}, "reaches a network outside the project"),
    ("pid", {"pid": "host"}, "pid host shares the host's namespace"),
    ("pid", {"pid": "container:abc"}, "pid container:abc joins a container outside the project"),
    ("ipc", {"ipc": "host"}, "ipc host shares the host's namespace"),
    ("ipc", {"ipc": "container:abc"}, "joins a container outside the project"),
    ("userns_mode", {"userns_mode": "host"}, "userns_mode host shares the host's namespace"),
    ("uts", {"uts": "host"}, "uts host shares the host's namespace"),
    ("cgroup", {"cgroup": "host"}, "cgroup host shares the host's namespace"),
    ("cgroup", {"cgroup_parent": "/system.slice"}, "cgroup_parent /system.slice leaves the daemon's cgroup"),
    ("runtime", {"runtime": "runc"}, "runtime runc is refused"),
    ("cap_add", {"cap_add": ["SYS_ADMIN"]}, "cap_add SYS_ADMIN is beyond Docker's default capabilities"),
    ("cap_add", {"cap_add": ["ALL"]}, "cap_add ALL is beyond"),
    ("cap_add", {"cap_add": ["CAP_NET_ADMIN"]}, "cap_add CAP_NET_ADMIN is beyond"),
    ("devices", {"devices": [{"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"}]}, "devices gives"),
    ("devices", {"device_cgroup_rules": ["c 1:3 mr"]}, "device_cgroup_rules gives the container host devices"),
    ("devices", {"gpus": [{"count": -1}]}, "gpus gives the container host devices"),
    (
        "devices",
        {"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["gpu"], "count": -1}]}}}},
        "deploy.resources.reservations.devices gives the container host devices",
    ),
    ("security_opt", {"security_opt": ["seccomp:unconfined"]}, "security_opt seccomp:unconfined can lift"),
    ("security_opt", {"security_opt": ["seccomp=unconfined"]}, "security_opt seccomp=unconfined can lift"),
    ("security_opt", {"security_opt": ["apparmor:unconfined"]}, "security_opt apparmor:unconfined can lift"),
    ("security_opt", {"security_opt": ["label=disable"]}, "security_opt label=disable can lift"),
    ("security_opt", {"security_opt": ["label:disable"]}, "security_opt label:disable can lift"),
    ("security_opt", {"security_opt": ["systempaths=unconfined"]}, "security_opt systempaths=unconfined can lift"),
    ("sysctls", {"sysctls": {"kernel.shmmax": "1"}}, "sysctl kernel.shmmax is refused (only net.* are allowed)"),
    ("container_name", {"container_name": "app"}, "container_name app collides across previews; remove it"),
    ("bind_mounts", {"volumes": [bind("/etc")]}, "volumes: bind mount of /etc is outside the checkout"),
    ("bind_mounts", {"volumes": [{"type": "npipe", "source": "x", "target": "/x"}]}, "npipe mount of x is refused"),
    ("volumes_from", {"volumes_from": ["container:db"]}, "volumes_from container:db reaches outside the project"),
    ("volumes_from", {"volumes_from": ["other:ro"]}, "volumes_from other:ro reaches outside the project"),
    ("build_context", {"build": {"context": "/srv/preview/app-pr-8/src"}}, "build context /srv/preview/app-pr-8/src"),
    ("build_context", {"build": {"context": "https://github.com/x/y.git"}}, "is a remote URL"),
    ("build_context", {"build": {"context": CHECKOUT, "dockerfile": "/etc/shadow"}}, "build dockerfile /etc/shadow"),
    (
        "build_context",
        {"build": {"context": CHECKOUT, "additional_contexts": {"etc": "/etc"}}},
        "build additional_contexts etc /etc is outside the checkout",
    ),
    (
        "build_context",
        {"build": {"context": CHECKOUT, "additional_contexts": {"meta": "http://169.254.169.254/"}}},
        "build additional_contexts meta http://169.254.169.254/ is outside the project",
    ),
    (
        "build_context",
        {"build": {"context": CHECKOUT, "additional_contexts": {"x": "service:elsewhere"}}},
        "build additional_contexts x service:elsewhere is outside the project",
    ),
    ("build_ssh", {"build": {"context": CHECKOUT, "ssh": ["default"]}}, "build ssh forwards"),
    ("build_secrets", {"build": {"context": CHECKOUT, "secrets": [{"source": "s"}]}}, "build secrets read host"),
    ("build_entitlements", {"build": {"context": CHECKOUT, "network": "host"}}, "build network host is refused"),
    ("build_entitlements", {"build": {"context": CHECKOUT, "privileged": True}}, "build privileged is refused"),
    ("build_entitlements", {"build": {"context": CHECKOUT, "entitlements": ["security.insecure"]}}, "entitlements"),
    ("image_name", {"image": "preview-base/busybox:1"}, "image preview-base/busybox:1 would be overwritten"),
    ("image_name", {"image": "preview-app-pr-70-web"}, "image preview-app-pr-70-web would be overwritten"),
]


@pytest.mark.parametrize(("check", "settings", "reason"), SERVICE_CASES, ids=lambda value: str(value)[:40])
def test_each_service_setting_is_refused_and_its_check_alone_lifts_it(check, settings, reason):
    model = with_web(**settings)
    found = check_model(model, policy())
    assert [violation.check for violation in found] == [check]
    assert found[0].subject == "service web"
    assert reason in found[0].reason
    assert check_model(model, policy(allow=[check])) == []
    assert check_model(model, policy(allow=[name for name in CHECKS if name != check])) == found


@pytest.mark.parametrize(
    "settings",
    [
        {"network_mode": "none"},
        {"network_mode": "service:db", "ports": None},
        {"pid": "service:db", "ipc": "shareable"},
        {"cap_add": ["chown", "CAP_NET_BIND_SERVICE", "SETFCAP"], "cap_drop": ["ALL"]},
        {"security_opt": ["no-new-privileges:true", "no-new-privileges"]},
        {"sysctls": {"net.core.somaxconn": "1024"}},
        {"extra_hosts": ["host.docker.internal=host-gateway"], "expose": ["9000"]},
        {"volumes": [bind(CHECKOUT + "/data"), {"type": "volume", "source": "data", "target": "/v"}]},
        {"volumes": [{"type": "tmpfs", "target": "/tmp"}], "volumes_from": ["db:ro"]},
        {"image": "preview-app-pr-7-web"},
        {
            "build": {
                "context": CHECKOUT + "/web",
                "dockerfile": "Dockerfile.preview",
                "additional_contexts": {"base": "docker-image://preview-base/busybox:1", "db": "service:db"},
                "network": "default",
                "args": {"GITHUB_TOKEN": None},
            }
        },
    ],
    ids=",".join,
)
def test_settings_within_the_project_pass(settings):
    model = with_web(**settings)
    model["services"]["db"] = {"image": "preview-base/busybox:1"}
    assert check_model(model, policy()) == []


# (check, section, key, item, the reason in the message)
SECTION_CASES = [
    ("external", "volumes", "shared", {"external": True, "name": "shared"}, "external is refused"),
    ("external", "networks", "shared", {"external": True, "name": "shared"}, "external is refused"),
    ("external", "secrets", "token", {"external": True, "name": "token"}, "external is refused"),
    ("external", "volumes", "db", {"name": "preview-app-pr-8_db"}, "name preview-app-pr-8_db is not the project's own"),
    ("external", "networks", "net", {"name": "bridge"}, "name bridge is not the project's own (preview-app-pr-7_net)"),
    ("volume_driver", "volumes", "nfs", {"name": f"{PROJECT}_nfs", "driver": "nfs"}, "driver nfs is refused"),
    (
        "volume_driver",
        "volumes",
        "etc",
        {"name": f"{PROJECT}_etc", "driver_opts": {"type": "none", "o": "bind", "device": "/etc"}},
        "driver_opts (device=/etc, o=bind, type=none) can reach the host",
    ),
    ("network_driver", "networks", "lan", {"name": f"{PROJECT}_lan", "driver": "macvlan"}, "driver macvlan"),
    (
        "network_driver",
        "networks",
        "br",
        {"name": f"{PROJECT}_br", "driver_opts": {"com.docker.network.bridge.name": "docker0"}},
        "driver_opts (com.docker.network.bridge.name=docker0) can reach the host",
    ),
    (
        "network_driver",
        "networks",
        "fixed",
        {"name": f"{PROJECT}_fixed", "ipam": {"config": [{"subnet": "10.0.0.0/8"}]}},
        "ipam with a fixed configuration is refused",
    ),
    ("secrets_files", "secrets", "key", {"name": f"{PROJECT}_key", "file": "/root/.ssh/id_rsa"}, "outside"),
    ("secrets_files", "configs", "pw", {"name": f"{PROJECT}_pw", "file": "/etc/passwd"}, "file /etc/passwd is"),
    ("secrets_files", "secrets", "gh", {"name": f"{PROJECT}_gh", "environment": "GITHUB_TOKEN"}, "environment"),
]


@pytest.mark.parametrize(("check", "section", "key", "item", "reason"), SECTION_CASES, ids=lambda v: str(v)[:30])
def test_each_top_level_setting_is_refused_and_its_check_alone_lifts_it(check, section, key, item, reason):
    model = with_section(section, key, item)
    found = check_model(model, policy())
    assert [violation.check for violation in found] == [check]
    assert found[0].subject == f"{section} {key}"
    assert reason in found[0].reason
    assert check_model(model, policy(allow=[check])) == []


def test_own_top_level_resources_pass():
    model = copy.deepcopy(CLEAN)
    model["volumes"] = {"data": {"name": f"{PROJECT}_data", "driver": "local"}}
    model["networks"]["back"] = {"name": f"{PROJECT}_back", "driver": "bridge", "ipam": {}, "internal": True}
    model["secrets"] = {"seed": {"name": f"{PROJECT}_seed", "file": CHECKOUT + "/seed.txt"}}
    model["configs"] = {"conf": {"name": f"{PROJECT}_conf", "content": "x"}}
    assert check_model(model, policy()) == []


def port(published=None, host_ip=None, target=8080) -> dict:
    entry = {"mode": "ingress", "target": target, "protocol": "tcp"}
    if host_ip is not None:
        entry["host_ip"] = host_ip
    if published is not None:
        entry["published"] = published
    return entry


@pytest.mark.parametrize(
    ("ports", "leased", "reasons"),
    [
        ([port("18007", "127.0.0.1"), port("19007", "127.0.0.1", 5432)], (APP_PORT, DB_PORT), []),
        ([port("18007", "::1")], (APP_PORT,), []),
        ([port("18007", "127.0.0.1")], (), []),
        (
            [port(None, None)],
            (APP_PORT,),
            ["(random):8080 publishes a random host port", "(random):8080 is published on 0.0.0.0"],
        ),
        ([port(None, "127.0.0.1")], (APP_PORT,), ["(random):8080 publishes a random host port"]),
        ([port("18007", None)], (APP_PORT,), ["18007:8080 is published on 0.0.0.0; publish on 127.0.0.1"]),
        ([port("18007", "0.0.0.0")], (APP_PORT,), ["18007:8080 is published on 0.0.0.0"]),
        ([port("18007", "::")], (APP_PORT,), ["18007:8080 is published on ::"]),
        ([port("22", "127.0.0.1")], (APP_PORT, DB_PORT), ["22:8080 is not one of the leased ports 18007, 19007"]),
        ([port("18007-18010", "127.0.0.1")], (APP_PORT,), ["18007-18010:8080 publishes a range"]),
        ([port("18007-18010", "127.0.0.1")], (), ["18007-18010:8080 publishes a range"]),
    ],
)
def test_ports(ports, leased, reasons):
    found = check_model(with_web(ports=ports), policy(ports=leased))
    assert {violation.check for violation in found} <= {"ports"}
    assert len(found) == len(reasons), messages(found)
    for violation, reason in zip(found, reasons, strict=True):
        assert violation.reason.startswith(f"ports: {reason}")
    assert check_model(with_web(ports=ports), policy(ports=leased, allow=["ports"])) == []


def test_expose_is_not_publishing():
    assert check_model(with_web(ports=None, expose=["8080"]), policy()) == []


@pytest.mark.parametrize(
    ("source", "inside"),
    [
        (CHECKOUT, True),
        (CHECKOUT + "/data", True),
        (CHECKOUT + "/data/../web", True),
        (CHECKOUT + "/../secrets", False),
        (CHECKOUT + "/data/../../../app-pr-8/src", False),
        (CHECKOUT + "-evil/data", False),
        ("/srv/preview/app-pr-7", False),
        (CHECKOUT + "/${HOME}", False),
    ],
)
def test_paths_are_confined_to_the_checkout(source, inside):
    found = check_model(with_web(volumes=[bind(source)]), policy())
    assert (found == []) is inside, messages(found)


def test_symlinks_are_resolved_before_comparing(tmp_path):
    checkout, outside = tmp_path / "src", tmp_path / "outside"
    (checkout / "data").mkdir(parents=True)
    outside.mkdir()
    (checkout / "escape").symlink_to(outside)
    (checkout / "etc").symlink_to("/etc")
    (checkout / "inner").symlink_to(checkout / "data")
    (tmp_path / "link-to-src").symlink_to(checkout)
    confined = policy(confine_to=str(tmp_path / "link-to-src"))

    def refused(path: str) -> bool:
        return bool(check_model(with_web(build=None, volumes=[bind(path)]), confined))

    assert refused(str(checkout / "escape")) and refused(str(checkout / "escape" / "not-yet"))
    assert refused(str(checkout / "etc" / "shadow"))
    assert not refused(str(checkout / "inner")) and not refused(str(checkout / "data" / "not-yet"))
    assert not refused(str(tmp_path / "link-to-src" / "data"))


@pytest.mark.parametrize("source", ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/"])
def test_the_docker_socket_is_refused_on_its_own_too(source):
    model = with_web(volumes=[bind(source)])
    found = check_model(model, policy())
    assert [violation.reason for violation in found] == [
        f"volumes: bind mount of {source} exposes the docker socket",
        f"volumes: bind mount of {source} is outside the checkout",
    ]
    assert [violation.check for violation in check_model(model, policy(allow=["bind_mounts"]))] == ["docker_socket"]
    assert [violation.check for violation in check_model(model, policy(allow=["docker_socket"]))] == ["bind_mounts"]


def test_the_docker_socket_stays_refused_when_bind_mounts_are_allowed(tmp_path):
    (tmp_path / "sock").symlink_to("/var/run/docker.sock")
    confined = policy(allow=["bind_mounts"], confine_to=str(tmp_path))
    found = check_model(with_web(build=None, volumes=[bind(str(tmp_path / "sock")), bind("/etc")]), confined)
    assert [(violation.check, violation.reason) for violation in found] == [
        ("docker_socket", f"volumes: bind mount of {tmp_path}/sock exposes the docker socket")
    ]


@pytest.mark.parametrize(
    ("service", "reason"),
    [
        ({"env_file": [{"path": "/etc/environment", "required": True}]}, "env_file /etc/environment is outside"),
        ({"env_file": [{"path": CHECKOUT + "/${ENV_DIR}/.env", "required": True}]}, "uses a variable"),
        ({"env_file": ["/root/.env"]}, "env_file /root/.env is outside the checkout"),
        ({"label_file": ["/etc/hostname"]}, "label_file /etc/hostname is outside the checkout"),
    ],
)
def test_env_and_label_files_of_the_uninterpolated_model(service, reason):
    model = {"services": {"web": service}}
    found = check_uninterpolated(model, policy())
    assert len(found) == 1 and reason in found[0].reason
    assert check_uninterpolated(model, policy(allow=[found[0].check])) == []
    inside = {"services": {"web": {"env_file": [{"path": CHECKOUT + "/.env", "required": False}]}}}
    assert check_uninterpolated(inside, policy()) == []


def write(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_includes_and_extends_are_read_before_compose_runs(tmp_path):
    checkout = tmp_path / "src"
    write(tmp_path / "outside.yaml", "services: {}\n")
    write(checkout / "base.yaml", "services:\n  base: {image: x}\n")
    write(
        checkout / "nested" / "more.yaml",
        "include:\n  - ../../outside.yaml\nservices:\n  x:\n    extends: {file: ../base.yaml, service: base}\n",
    )
    main = write(
        checkout / "compose.yaml",
        "include:\n"
        "  - nested/more.yaml\n"
        "  - path: [base.yaml, /etc/compose.yaml]\n"
        "    env_file: ../env\n"
        "    project_directory: ..\n"
        "services:\n"
        "  web:\n"
        "    image: x\n"
        "    mem_limit: !reset null\n"
        "    extends:\n"
        "      file: ${ELSEWHERE}/compose.yaml\n"
        "      service: web\n"
        "  same-file:\n"
        "    extends: web\n",
    )
    found = check_sources([main], policy(confine_to=str(checkout)))
    assert messages(found) == [
        "include: path /etc/compose.yaml is outside the checkout",
        "include: env_file ../env is outside the checkout",
        "include: project_directory .. is outside the checkout",
        "service web: extends.file ${ELSEWHERE}/compose.yaml uses a variable, which could point it anywhere",
        "include: path ../../outside.yaml is outside the checkout",
    ]
    assert {violation.check for violation in found} == {"include"}
    assert check_sources([main], policy(confine_to=str(checkout), allow=["include"])) == []


def test_include_loops_and_unreadable_files_end(tmp_path, monkeypatch):
    first = write(tmp_path / "a.yaml", "include: [b.yaml]\n")
    write(tmp_path / "b.yaml", "include: [a.yaml, missing.yaml, broken.yaml]\n")
    write(tmp_path / "broken.yaml", "services: [\n")
    assert check_sources([first], policy(confine_to=str(tmp_path))) == []

    monkeypatch.setattr(policy_mod, "MAX_SOURCE_FILES", 3)
    for number in range(5):
        write(tmp_path / f"chain{number}.yaml", f"include: [chain{number + 1}.yaml]\n")
    found = check_sources([str(tmp_path / "chain0.yaml")], policy(confine_to=str(tmp_path)))
    assert messages(found) == ["include: more than 3 compose files"]


def test_refusal_message_lists_every_violation():
    violations = [
        Violation("privileged", "service web", "privileged is refused"),
        Violation("pid", "service web", "pid host shares the host's namespace"),
    ]
    assert refusal_message(violations) == (
        "compose file refused by the preview policy: service web: privileged is refused; "
        "service web: pid host shares the host's namespace"
    )


def test_unknown_allow_names_are_refused():
    with pytest.raises(ValueError, match="unknown policy checks nope"):
        Policy.create(CHECKOUT, PROJECT, ["nope", "privileged"])


def test_checks_are_the_module_options_choices():
    """The shim's configuration and compose_project's allow option validate against the same names."""
    options = compose_project.DOCUMENTATION.split("  allow:", 1)[1].split("  published_ports:", 1)[0]
    choices = re.search(r"choices: \[([^\]]*)\]", options).group(1)
    assert tuple(name.strip() for name in choices.split(",")) == CHECKS
    assert len(set(CHECKS)) == len(CHECKS)


def test_docker_sockets_are_where_dockerd_listens():
    assert os.path.realpath("/var/run/docker.sock") in {os.path.realpath(path) for path in policy_mod.DOCKER_SOCKETS}
