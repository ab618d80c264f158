"""shim/processes.py with real processes: a run is ended as a tree, found by what the shim recorded, and
nothing else is touched (a process merely naming the run's directory, or a pid now used by another one)."""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

from shim import processes


def _fake_playbook(tmp_path: Path, tag: str) -> str:
    """Stands in for ansible-playbook: a worker in a session of its own (as ansible-playbook's workers
    are), which starts a module process; a child in the run's session; and a foreground sleep. Each sleep
    is tagged to be found."""
    script = tmp_path / "fake-ansible-playbook"
    script.write_text(
        f"#!/bin/sh\nsetsid sh -c 'sleep 300.{tag}1 & exec sleep 300.{tag}2' &\n"
        f"sleep 300.{tag}4 &\nexec sleep 300.{tag}3\n"
    )
    script.chmod(0o755)
    return str(script)


def _tagged(tag: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"sleep 300.{tag}"], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in out.split()]


def _start_run(tmp_path: Path, runs: Path, tag: str) -> tuple[Path, subprocess.Popen]:
    private_dir = runs / f"run-7-{tag}"
    private_dir.mkdir(parents=True)
    wrapper = processes.write_wrapper(str(private_dir), _fake_playbook(tmp_path, tag))
    # As pexpect starts it: a session of its own, and the shim does not wait for it (a crash).
    proc = subprocess.Popen([wrapper], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(_tagged(tag)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_tagged(tag)) == 4
    return private_dir, proc


def test_a_crashed_shims_run_is_ended_as_a_whole_and_its_directory_removed(tmp_path):
    tag = str(random.randrange(10**6, 10**7))
    runs = tmp_path / "runs"
    private_dir, proc = _start_run(tmp_path, runs, tag)
    try:
        run = processes.recorded(str(private_dir))
        assert run is not None and run.pid == proc.pid

        assert processes.end_runs_under(str(runs / "run-")) == 1

        proc.wait(5)
        time.sleep(0.2)
        assert _tagged(tag) == []  # the worker in its own session, and its child, too
        assert not private_dir.exists()
    finally:
        subprocess.run(["pkill", "-f", f"sleep 300.{tag}"], check=False)


def test_a_run_whose_ansible_playbook_died_still_loses_what_is_left_in_its_session(tmp_path):
    tag = str(random.randrange(10**6, 10**7))
    runs = tmp_path / "runs"
    private_dir, proc = _start_run(tmp_path, runs, tag)
    try:
        proc.kill()
        proc.wait(5)
        [in_session] = _tagged(f"{tag}4")
        assert os.getsid(in_session) == proc.pid

        assert processes.end_run(str(private_dir)) == 1

        time.sleep(0.2)
        assert _tagged(f"{tag}4") == []
        # The worker had a session of its own and, with ansible-playbook gone, nothing links it to the run
        # any more; it is left. The shim avoids this case: it ends the tree before ansible-runner kills its
        # child, and a crash of the shim leaves ansible-playbook alive.
        assert _tagged(f"{tag}2")
    finally:
        subprocess.run(["pkill", "-f", f"sleep 300.{tag}"], check=False)


def test_processes_that_are_not_the_runs_are_left_alone(tmp_path):
    runs = tmp_path / "runs"
    private_dir = runs / "run-8-x"
    private_dir.mkdir(parents=True)
    # A bystander whose command line names the run's directory (finding runs by command line would end it).
    bystander = subprocess.Popen(["sh", "-c", "sleep 300", str(private_dir)], start_new_session=True)
    try:
        # A pid file that names the bystander's pid with another start time: the pid was reused.
        (private_dir / processes.PID_FILE).write_text(f"{bystander.pid} 1\n")

        assert processes.end_runs_under(str(runs / "run-")) == 0

        assert bystander.poll() is None
        assert not private_dir.exists()
    finally:
        bystander.kill()
        bystander.wait(5)


def test_a_directory_without_a_record_is_removed_and_nothing_is_signalled(tmp_path):
    runs = tmp_path / "runs"
    (runs / "run-9-y").mkdir(parents=True)
    (runs / "github-token").write_text("x")  # not a run: left alone

    assert processes.end_runs_under(str(runs / "run-")) == 0

    assert sorted(p.name for p in runs.iterdir()) == ["github-token"]
