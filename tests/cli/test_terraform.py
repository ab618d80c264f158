"""The Terraform module: formatted, and valid where a local provider mirror holds hetznercloud/hcloud."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli.webhooks import webhook_url
from tests.cli.helpers import OFFLINE_ROOT

MODULE = OFFLINE_ROOT.parents[1]
needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")


@needs_terraform
def test_terraform_files_are_formatted():
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(MODULE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_terraform
def test_the_offline_root_validates(offline_root):
    subprocess.run(
        ["terraform", f"-chdir={offline_root}", "init", "-input=false", "-no-color"], check=True, capture_output=True
    )
    result = subprocess.run(
        ["terraform", f"-chdir={offline_root}", "validate", "-no-color"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_terraform
def test_the_hetzner_module_validates_against_a_local_mirror(tmp_path):
    """Set PREVIEW_TF_PLUGIN_DIR to a provider mirror (`terraform providers mirror`) holding hetznercloud/hcloud."""
    plugin_dir = os.environ.get("PREVIEW_TF_PLUGIN_DIR", "")
    if not plugin_dir or not any(Path(plugin_dir).glob("*/hetznercloud/hcloud")):
        pytest.skip("no provider mirror with hetznercloud/hcloud (set PREVIEW_TF_PLUGIN_DIR)")
    root = tmp_path / "module"
    shutil.copytree(MODULE, root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "examples"))
    init = ["terraform", f"-chdir={root}", "init", "-input=false", "-backend=false", f"-plugin-dir={plugin_dir}"]
    subprocess.run(init, check=True, capture_output=True)
    result = subprocess.run(
        ["terraform", f"-chdir={root}", "validate", "-no-color"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_module_and_offline_root_offer_the_same_outputs():
    def outputs(root: Path) -> set[str]:
        return {
            line.split('"')[1]
            for path in root.glob("*.tf")
            for line in path.read_text().splitlines()
            if line.startswith("output ")
        }

    assert outputs(MODULE) == outputs(OFFLINE_ROOT) >= {"server_ipv4", "server_ipv6", "ssh_user"}


@pytest.mark.parametrize(
    ("address", "domain", "scheme", "url"),
    [
        ("203.0.113.5", "", "", "http://203.0.113.5/webhook/github"),
        ("2001:db8::5", "", "", "http://[2001:db8::5]/webhook/github"),
        ("203.0.113.5", "previews.example.com", "", "https://previews.example.com/webhook/github"),
        ("", "previews.example.com", "http", "http://previews.example.com/webhook/github"),
    ],
)
def test_webhook_url(address, domain, scheme, url):
    assert webhook_url(address, domain, scheme) == url
