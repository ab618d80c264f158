"""Start a run's ansible-playbook so that it can be found again, and end what a run left running.

ansible-runner starts ansible-playbook in a session of its own (pexpect forks it on a pty, which calls
setsid), and each of ansible-playbook's workers starts a session of its own again; the module processes
and `docker compose` run below those. Killing the runner's child alone (as a cancel does, and as a crash
of the shim does to nothing at all) leaves the workers and what they started running, now children of
init and in sessions that no longer say which run they came from. So a run is ended as a tree, from
ansible-playbook down, while the tree is still whole: before a cancel or a deadline lets ansible-runner
kill its child, and at start for the runs of a shim that crashed (their ansible-playbook lives on).

A run is identified by what the shim itself recorded, never by a substring of some process's command
line: ansible-runner starts a small wrapper (written into the run's private_data_dir, mode 0700) that
writes its pid and its start time (field 22 of /proc/<pid>/stat) to `<private_data_dir>/pid` and then
execs ansible-playbook in the same process. The run is that process, its descendants, and what is left in
its session. Only processes that belong to the shim's own uid are signalled; a process that will not take
our signal (PermissionError) is not ours and is left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass

log = logging.getLogger("preview.shim.processes")

PID_FILE = "pid"
WRAPPER = "ansible-playbook"

_WRAPPER_TEXT = """#!/bin/sh
# Written by preview-shim for one run. The pid and start time are recorded before anything else runs, so
# that a restarted shim can end this run's session, and nothing else.
set -e
here=$(dirname "$0")
start=$(cut -d' ' -f22 /proc/$$/stat)
echo "$$ $start" > "$here/{pid_file}.tmp"
mv "$here/{pid_file}.tmp" "$here/{pid_file}"
exec {playbook} "$@"
"""


@dataclass(frozen=True)
class Recorded:
    pid: int
    start: int  # clock ticks since boot, field 22 of /proc/<pid>/stat


def write_wrapper(private_dir: str, ansible_playbook: str) -> str:
    """What ansible-runner starts in place of ansible-playbook (the command's first word); returns its path."""
    if "'" in ansible_playbook:
        raise ValueError(f"unsupported path for ansible-playbook: {ansible_playbook!r}")
    path = os.path.join(private_dir, WRAPPER)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_WRAPPER_TEXT.format(pid_file=PID_FILE, playbook=f"'{ansible_playbook}'"))
    os.chmod(path, 0o700)
    return path


def recorded(private_dir: str) -> Recorded | None:
    """What the run's wrapper recorded, or None (not started, or not a run of ours)."""
    try:
        with open(os.path.join(private_dir, PID_FILE), encoding="ascii") as handle:
            pid, start = handle.read().split()
        return Recorded(int(pid), int(start))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 on (the command name, field 2, may hold spaces)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _ours() -> dict[int, list[str]]:
    """/proc/<pid>/stat (from field 3) of every live process of our uid but this one."""
    me, uid = os.getpid(), os.getuid()
    found = {}
    for pid in _pids():
        fields = _stat_fields(pid)
        if pid != me and fields and fields[0] != "Z" and _uid(pid) == uid:
            found[pid] = fields
    return found


def members(run: Recorded) -> list[int]:
    """The run's live processes: ansible-playbook, everything below it, and what is left in its session."""
    ours = _ours()
    found: set[int] = set()
    leader = ours.get(run.pid)
    if leader is not None and _started_at(leader, run.start):
        found.add(run.pid)
        children: dict[int, list[int]] = {}
        for pid, fields in ours.items():
            children.setdefault(int(fields[1]), []).append(pid)  # fields[1] is the parent (field 4)
        todo = [run.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    sid = session_of(run)
    if sid is not None:
        found.update(pid for pid, fields in ours.items() if fields[3] == str(sid))  # fields[3]: the session
    return sorted(found)


def session_of(run: Recorded) -> int | None:
    """The session to look in for a recorded run, or None when its id may now be someone else's.

    While the wrapper's process lives with the recorded start time, its pid is the session. When it is
    gone, the kernel does not hand its pid out again while any process still uses it as a session id, so
    members found under it are the run's. A live process with that pid and another start time is a
    different process: its session is not ours to end.
    """
    fields = _stat_fields(run.pid)
    if fields is None:
        return run.pid
    return run.pid if _started_at(fields, run.start) else None


def _started_at(fields: list[str], start: int) -> bool:
    """Whether a process's stat fields (from the state on) show the recorded start time."""
    return len(fields) > 19 and fields[19] == str(start)


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _signal_all(pids: list[int], grace: float) -> None:
    """SIGTERM, then SIGKILL what is still there after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            except PermissionError:
                log.warning("process %d will not take our signal: not ours, left alone", pid)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = [pid for pid in pids if _alive(pid)]
        if not pids:
            return


def end_run(private_dir: str, grace: float = 3.0) -> int:
    """End every process of the run in `private_dir`; returns how many were signalled."""
    run = recorded(private_dir)
    if run is None:
        return 0
    pids = members(run)
    _signal_all(pids, grace)
    return len(pids)


def end_runs_under(path_prefix: str) -> int:
    """End what every run whose private_data_dir starts with `path_prefix` left, and remove those dirs.

    Called at start (a crashed shim leaves its runs' processes and directories behind); returns how many
    runs had processes left.
    """
    parent, prefix = os.path.split(path_prefix)
    try:
        names = sorted(name for name in os.listdir(parent) if name.startswith(prefix))
    except FileNotFoundError:
        return 0
    ended = 0
    for name in names:
        private_dir = os.path.join(parent, name)
        if not os.path.isdir(private_dir) or os.path.islink(private_dir):
            continue
        signalled = end_run(private_dir)
        if signalled:
            ended += 1
            log.warning("ended %d leftover process(es) of run dir %s", signalled, name)
        shutil.rmtree(private_dir, ignore_errors=True)
    return ended
