# Written for bench/time_to_live.py: an Ansible callback that timestamps the playbook's events.
from __future__ import annotations

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Append a wall-clock timestamp of every playbook, task and result event to a file
description:
  - Used by bench/time_to_live.py to split a preview deploy into phases. Writes one JSON object per line to
    the file named by E(ANSIBLE_BENCH_TIMING_FILE); does nothing when it is not set.
  - The name starts with C(ANSIBLE_) because the shim passes its runs no other variable of its environment.
  - Enable it with E(ANSIBLE_CALLBACKS_ENABLED=bench_timing) and E(ANSIBLE_CALLBACK_PLUGINS) pointing here.
"""

import json
import os
import sys
import time

from ansible.plugins.callback import CallbackBase


def _process_start() -> float | None:
    """When this process was started (wall clock, 10 ms resolution): its age from /proc, back from now."""
    try:
        with open("/proc/self/stat") as handle:
            start_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def _run_id():
    """preview_run_id from the extra vars ansible-runner put on the command line (`-e {json}`)."""
    for flag, value in zip(sys.argv, sys.argv[1:], strict=False):
        if flag in ("-e", "--extra-vars") and value.startswith("{"):
            try:
                return json.loads(value).get("preview_run_id")
            except ValueError:
                return None
    return None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("ANSIBLE_BENCH_TIMING_FILE", "")
        self._run = _run_id()

    def _emit(self, event: str, **fields) -> None:
        if not self._path:
            return
        record = {"t": time.time(), "event": event, "pid": os.getpid(), "run": self._run, **fields}
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def v2_playbook_on_start(self, playbook):
        self._emit("playbook_start", playbook=os.path.basename(playbook._file_name), process_start=_process_start())

    def v2_playbook_on_play_start(self, play):
        self._emit("play_start")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit("task_start", task=task.name)

    def _result(self, result, status: str) -> None:
        self._emit("task_end", task=result._task.name, status=status)

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_retry(self, result):
        self._emit("task_retry", task=result._task.name)

    def v2_playbook_on_stats(self, stats):
        self._emit("playbook_end")
