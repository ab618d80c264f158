"""Find and end what a playbook run left running.

ansible-runner starts ansible-playbook in a session of its own (a pty); the
module processes and `docker compose` below it inherit that session. Killing
the runner's child alone (as a cancel does, and as a crash of the shim does to
nothing at all) can leave them running. Every process of such a session is
found here by the run's private_data_dir on ansible-playbook's command line.
"""

from __future__ import annotations

import logging
import os
import signal
import time

log = logging.getLogger("preview.shim.processes")


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _session(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            # Field 6 is the session id; the command name (field 2) may hold spaces, so split after ')'.
            return int(handle.read().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def sessions_of(path_prefix: str) -> set[int]:
    """Sessions of the processes whose command line names something under `path_prefix`."""
    me = os.getpid()
    found = set()
    for pid in _pids():
        if pid != me and path_prefix in _cmdline(pid):
            sid = _session(pid)
            if sid and sid != _session(me):
                found.add(sid)
    return found


def kill_sessions(sessions: set[int], grace: float = 3.0) -> int:
    """SIGTERM every process of the sessions, then SIGKILL what is left; returns how many were signalled."""
    if not sessions:
        return 0
    members = [pid for pid in _pids() if _session(pid) in sessions]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in members:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            members = [pid for pid in members if _alive(pid)]
            if not members:
                break
            time.sleep(0.1)
        if not members:
            break
    return len(members)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def end_runs_under(path_prefix: str) -> int:
    """End every process left by runs whose private_data_dir starts with `path_prefix`."""
    sessions = sessions_of(path_prefix)
    if sessions:
        log.warning("ending %d leftover run session(s) under %s", len(sessions), path_prefix)
    kill_sessions(sessions)
    return len(sessions)
