"""The Ansible inventory for the preview server: this machine (connection local) or one reached over SSH."""

from __future__ import annotations

import sys

GROUP = "preview"
LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_local(address: str) -> bool:
    return address.strip("[]").lower() in LOCAL_ADDRESSES


def url_host(address: str) -> str:
    """The address as the host part of a URL: IPv6 in brackets."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def inventory(address: str, ssh_user: str = "root", private_key_file: str = "") -> dict:
    """One host in the group `preview`, in ansible-runner's dict (YAML inventory) form."""
    if is_local(address):
        # Interpreter discovery can pick a python without our packages; name the one running us.
        host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        name = "localhost"
    else:
        host = {
            "ansible_host": address.strip("[]"),
            "ansible_user": ssh_user,
            # A new server's host key is unknown: trust it the first time, refuse it if it ever changes.
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new",
        }
        if private_key_file:
            host["ansible_ssh_private_key_file"] = private_key_file
        name = "server"
    return {"all": {"children": {GROUP: {"hosts": {name: host}}}}}
