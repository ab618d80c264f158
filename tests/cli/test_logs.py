"""`preview logs`: a PR's kept run output, read from the state file through the shim's Store, read-only."""

from __future__ import annotations

import tomllib

import yaml

from shim.policy import Decision
from shim.store import LOGS_KEPT, Store
from tests.cli.helpers import REPO
from tests.conftest import REPO_ROOT

SHAS = [f"{n:x}" * 40 for n in range(1, 10)]


def deploy(store: Store, pr: int, n: int, status: str = "successful", log: str | None = None) -> int:
    """The PR wanted present at SHAS[n] and its deploy run finished with `log` (by default `deploy <n>`)."""
    decision = Decision(state="present", sha=SHAS[n], approved_sha="", pinned=False, reason="deploy")
    store.accept(
        f"g-{pr}-{n}", "pull_request", "synchronize", REPO, pr, lambda row: decision, f"2026-01-0{n + 1}T00:00:00Z"
    )
    [item] = [item for item in store.pending() if item.pr == pr]
    run = store.start_run(item)
    store.finish_run(
        run, item, status, 0 if status == "successful" else 2, "", log=f"deploy {n}\n" if log is None else log
    )
    return run


def test_logs_shows_the_last_run_and_an_older_one_by_id(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    first = deploy(store, 7, 1, status="failed", log="TASK [build]\nfatal: the build failed\n")
    last = deploy(store, 7, 2)
    deploy(store, 8, 1, log="another PR's\n")
    store.close()
    before = db.read_bytes()

    shown = run("logs", REPO, "7", "--db", str(db))
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0].startswith(f"# run {last}: deploy of {SHAS[2][:12]} successful rc=0 (")
    assert "deploy 2\n" in shown.output and "another PR's" not in shown.output
    assert f"# runs with output: {last}, {first} (--run N)" in shown.output

    older = run("logs", REPO.upper(), "7", "--run", str(first), "--db", str(db))  # GitHub's names ignore case
    assert older.exit_code == 0, older.output
    assert older.output.splitlines()[:3] == [
        older.output.splitlines()[0],
        "TASK [build]",
        "fatal: the build failed",
    ]
    assert f"# run {first}: deploy of {SHAS[1][:12]} failed rc=2 (" in older.output
    assert db.read_bytes() == before  # opened read-only


def test_logs_keeps_the_newest_runs_only(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    ids = [deploy(store, 3, n) for n in range(1, LOGS_KEPT + 2)]
    store.close()

    gone = run("logs", REPO, "3", "--run", str(ids[0]), "--db", str(db))
    assert gone.exit_code == 1
    kept = ", ".join(str(n) for n in reversed(ids[1:]))
    assert f"run {ids[0]} has no output kept; runs with output: {kept}" in gone.output


def test_logs_escapes_what_a_build_prints_to_the_terminal(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    deploy(store, 2, 1, log="\x1b]0;owned\x07\x1b[2Jclean\tline\r\n")
    store.close()

    shown = run("logs", REPO, "2", "--db", str(db)).output
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b]0;owned\\x07\\x1b[2Jclean\tline\\x0d\n" in shown


def test_logs_of_an_unknown_pr_or_run_says_so(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    run_id = deploy(store, 5, 1)
    store.close()

    unknown = run("logs", REPO, "6", "--db", str(db))
    assert unknown.exit_code == 1
    assert f"{REPO}#6: the shim knows no run of this pull request" in unknown.output
    other_repo = run("logs", "octo/other", "5", "--db", str(db))
    assert other_repo.exit_code == 1 and "knows no run" in other_repo.output
    not_its = run("logs", REPO, "5", "--run", str(run_id + 1), "--db", str(db))
    assert not_its.exit_code == 1
    assert f"run {run_id + 1} is not one of its runs; runs with output: {run_id}" in not_its.output
    bad = run("logs", REPO, "0", "--db", str(db))
    assert bad.exit_code == 2 and "0 is not in the range x>=1" in bad.output


def test_logs_of_a_running_run_shows_the_last_that_has_output(run, tmp_path):
    db = tmp_path / "state.db"
    store = Store(str(db))
    done = deploy(store, 4, 1)
    decision = Decision(state="present", sha=SHAS[2], approved_sha="", pinned=False, reason="deploy")
    store.accept("g-running", "pull_request", "synchronize", REPO, 4, lambda row: decision, "2026-02-01T00:00:00Z")
    running = store.start_run(store.pending()[0])
    store.close()

    shown = run("logs", REPO, "4", "--db", str(db))
    assert shown.exit_code == 0, shown.output
    assert f"run {running} (running) has no output yet; the last that has:" in shown.output
    assert f"# run {done}: deploy" in shown.output and "deploy 1" in shown.output


def test_logs_without_shim_state_says_what_to_do(run, tmp_path):
    result = run("logs", REPO, "1", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert "no shim state at" in result.output and "pass --db" in result.output
    assert not (tmp_path / "none.db").exists()


def test_version_names_the_package_and_the_collection(run):
    package = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    collection = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
    result = run("--version")
    assert result.exit_code == 0
    assert result.output == f"preview {package}, collection preview.envs {collection}\n"
