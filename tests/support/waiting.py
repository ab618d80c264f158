"""Polling until something is true: a condition, a listening port."""

from __future__ import annotations

import socket
import time


def wait_for(predicate, timeout: float = 60, what: str = "condition"):
    """The first truthy value of `predicate()`, polled every 0.2 s; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_port(port: int, timeout: float = 10) -> bool:
    """True once something accepts connections on 127.0.0.1:port, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
