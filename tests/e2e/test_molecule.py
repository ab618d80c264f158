"""`molecule test` of every scenario under molecule/ (docker driver, local debootstrap image).

The image is built first by scripts/molecule-image (skipped when it is current). The scenarios run
two at a time (the machines have two cores); each test waits for its own scenario's result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import COLLECTIONS_PATH, REPO_ROOT

BIN = Path(sys.executable).parent
MOLECULE = BIN / "molecule"
SCENARIOS = sorted(p.parent.name for p in (REPO_ROOT / "molecule").glob("*/molecule.yml"))
WORKERS = 2
TIMEOUT = 900  # seconds, per scenario

pytestmark = [
    pytest.mark.e2e,
    # Skipped where molecule is missing, except in CI, where scripts/bootstrap installs it.
    pytest.mark.skipif(
        not MOLECULE.exists() and os.environ.get("CI") != "true",
        reason=f"molecule is not installed in {BIN}: pip install -c constraints.txt -e '.[molecule]'",
    ),
]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # molecule runs ansible-playbook and ansible-galaxy from PATH: this venv's.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # preview.envs resolves to this checkout (tests/conftest.py links it there).
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_PATH
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["PY_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    return env


def _run(scenario: str, log_dir: Path) -> tuple[int, float, Path]:
    log = log_dir / f"molecule-{scenario}.log"
    started = time.monotonic()
    with log.open("w") as out:
        try:
            rc = subprocess.run(
                [str(MOLECULE), "test", "--scenario-name", scenario],
                cwd=REPO_ROOT,
                env=_environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            out.write(f"\n[test_molecule] timed out after {TIMEOUT} s\n")
            subprocess.run(
                [str(MOLECULE), "destroy", "--scenario-name", scenario],
                cwd=REPO_ROOT,
                env=_environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
            rc = -1
    return rc, time.monotonic() - started, log


@pytest.fixture(scope="session")
def molecule_runs(request, tmp_path_factory):
    """Start every selected scenario (WORKERS at a time); scenario name -> future of (rc, seconds, log)."""
    image = subprocess.run(
        [str(REPO_ROOT / "scripts" / "molecule-image")], capture_output=True, text=True, timeout=900, check=False
    )
    assert image.returncode == 0, f"scripts/molecule-image failed:\n{image.stdout}\n{image.stderr}"
    selected = [
        item.callspec.params["scenario"]
        for item in request.session.items
        if item.originalname == "test_molecule_scenario" and hasattr(item, "callspec")
    ]
    log_dir = tmp_path_factory.mktemp("molecule")
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="molecule")
    futures: dict[str, Future] = {name: pool.submit(_run, name, log_dir) for name in selected}
    yield futures
    pool.shutdown(wait=True)


def test_scenarios_exist():
    assert {"docker", "nginx", "shim", "site"} <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, molecule_runs):
    rc, seconds, log = molecule_runs[scenario].result(timeout=TIMEOUT * len(SCENARIOS))
    text = log.read_text()
    print(f"molecule test -s {scenario}: rc {rc} in {seconds:.0f} s (log: {log})")
    assert rc == 0, f"molecule test -s {scenario} failed (rc {rc}), last lines of {log}:\n" + text[-6000:]
    # converge really ran, and the idempotence step (a second converge) found nothing to change
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}: Executed: Successful" in text, f"{scenario}: no successful {step} step in {log}"
