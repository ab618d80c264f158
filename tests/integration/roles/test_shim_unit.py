"""The shim's systemd unit: its sandbox follows the role's variables, and systemd itself accepts and rates it
(`systemd-analyze verify`, the role's own validate, and `systemd-analyze security --offline`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.roles.test_templates import _shim_vars, rendered

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")

# Seccomp-based settings: with User=, systemd implies NoNewPrivileges=yes for each, which would stop sudo.
IMPLY_NO_NEW_PRIVILEGES = (
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
    "ProtectKernelLogs",
    "ProtectKernelModules",
    "ProtectKernelTunables",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "SystemCallArchitectures",
    "SystemCallFilter",
)


def unit_text(tmp_path: Path, **overrides) -> str:
    """The unit as the role renders and validates it (as root: systemd-analyze verify needs a user that exists)."""
    return rendered(
        tmp_path, "shim", "preview-shim.service.j2", _shim_vars(shim_user="root", shim_group="root", **overrides)
    )


def unit(tmp_path: Path, **overrides) -> dict[str, list[str]]:
    """The rendered unit's [Service] settings, name -> values in order."""
    text = unit_text(tmp_path, **overrides)
    service = text.split("[Service]\n", 1)[1].split("\n[", 1)[0]
    settings: dict[str, list[str]] = {}
    for line in service.splitlines():
        if line and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            settings.setdefault(name, []).append(value)
    return settings


def exposure(tmp_path: Path, **overrides) -> float:
    """systemd's rating of the unit as the role installs it (User=preview), from 0 (safe) to 10 (unsafe)."""
    text = unit_text(tmp_path, **overrides)
    directory = tmp_path / "analyzed"
    directory.mkdir(exist_ok=True)
    path = directory / "preview-shim.service"
    path.write_text(text.replace("User=root", "User=preview").replace("Group=root", "Group=preview"))
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", path.name],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.search(r"Overall exposure level for preview-shim\.service: ([0-9.]+)", result.stdout).group(1))


def test_with_sudo_for_nginx_the_unit_is_sandboxed_without_no_new_privileges(tmp_path):
    settings = unit(tmp_path)
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["ReadWritePaths"] == [
        "/var/lib/preview",
        "/var/lib/preview/runs",
        "/opt/preview-deployments",
        "/etc/nginx/preview-configs",
        "-/run",  # nginx -t, run through sudo in this namespace, writes its pid file and logs
        "-/var/log/nginx",
    ]
    for name, value in {
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectControlGroups": "yes",
        "UMask": "0022",
    }.items():
        assert settings[name] == [value], name
    assert settings["NoNewPrivileges"] == ["no"]
    assert not set(IMPLY_NO_NEW_PRIVILEGES) & set(settings)
    bounding = settings["CapabilityBoundingSet"][0].split()
    assert {"CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE", "CAP_DAC_OVERRIDE"} <= set(bounding)
    assert "CAP_SYS_ADMIN" not in bounding


def test_the_write_paths_follow_the_roles_variables(tmp_path):
    settings = unit(
        tmp_path,
        shim_home="/home/preview",
        shim_runs_dir="/srv/preview/runs",
        shim_state_db="/srv/preview/state/shim.db",
        shim_preview_settings={"deployments_dir": "/data/previews", "nginx_configs_dir": "/etc/nginx/pr"},
        shim_systemd_extra_write_paths=["/srv/cache"],
        nginx_pid_file="/run/nginx/nginx.pid",
    )
    assert settings["ReadWritePaths"] == [
        "/home/preview",
        "/srv/preview/runs",
        "/srv/preview/state",
        "/data/previews",
        "/etc/nginx/pr",
        "-/run/nginx",
        "-/var/log/nginx",
        "/srv/cache",
    ]
    assert settings["ProtectHome"] == ["read-only"]  # `yes` would hide the home it must write
    assert settings["WorkingDirectory"] == ["/home/preview"]


def test_without_sudo_the_unit_gets_the_whole_sandbox(tmp_path):
    settings = unit(tmp_path, shim_nginx_sudo=False)
    assert settings["ReadWritePaths"] == [
        "/var/lib/preview",
        "/var/lib/preview/runs",
        "/opt/preview-deployments",
        "/etc/nginx/preview-configs",
    ]
    assert settings["NoNewPrivileges"] == ["yes"]
    assert set(IMPLY_NO_NEW_PRIVILEGES) - {"MemoryDenyWriteExecute"} <= set(settings)
    assert settings["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert settings["CapabilityBoundingSet"] == [""]
    # nginx commands of the preview settings that go through sudo need it just the same.
    sudo_command = {"nginx_test_command": ["/usr/bin/sudo", "-n", "nginx", "-t"]}
    assert unit(tmp_path, shim_nginx_sudo=False, shim_preview_settings=sudo_command)["NoNewPrivileges"] == ["no"]


@needs_systemd_analyze
def test_systemd_rates_the_sandbox(tmp_path):
    # Before this sandbox: 9.2 UNSAFE (docs/operations.md).
    assert exposure(tmp_path) <= 6.5
    assert exposure(tmp_path, shim_nginx_sudo=False) <= 1.5
