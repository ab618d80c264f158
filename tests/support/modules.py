"""One task of one of the collection's modules, run for real by ansible-playbook on localhost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
_RESULT_RE = re.compile(r"^localhost \| (?P<status>[A-Z!]+) => (?P<json>\{.*?^\})$", re.M | re.S)


def run_module(tmp_path: Path, module: str, args: dict, check: bool = False) -> dict:
    """Run `preview.envs.<module>` with `args` once; its result as the module returned it, plus `failed`
    and `_status` (the minimal callback's word: OK, CHANGED, FAILED!), which the JSON does not carry."""
    playbook = tmp_path / "play.yml"
    # JSON is YAML; the args are test-made values without any "{{".
    task = {"name": module, f"preview.envs.{module}": args}
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [task]}], indent=1))
    argv = [
        str(ANSIBLE_PLAYBOOK),
        "-i",
        "localhost,",
        "-e",
        "ansible_connection=local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        str(playbook),
    ]
    if check:
        argv.append("--check")
    env = {
        **os.environ,
        "ANSIBLE_STDOUT_CALLBACK": "minimal",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
    }
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    match = _RESULT_RE.search(proc.stdout)
    assert match, f"no task result in ansible-playbook output:\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(match.group("json"))
    result["_status"] = match.group("status")
    result["failed"] = match.group("status") == "FAILED!"
    assert result["failed"] == (proc.returncode != 0), proc.stdout
    return result
