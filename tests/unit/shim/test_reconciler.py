"""Which PRs the reconciler keeps: pure logic over the real SQLite store (no playbook runs)."""

from __future__ import annotations

from shim.config import Config, RepoConfig
from shim.policy import Decision
from shim.reconciler import Reconciler
from shim.runner import RunResult
from shim.store import Store

SHA = "a" * 40


def _decide(store: Store, guid: str, pr: int, state: str, at: str) -> None:
    decision = Decision(state=state, sha=SHA, approved_sha="", pinned=False, reason="deploy")
    store.accept(guid, "pull_request", "x", "o/r", pr, lambda row: decision, at)


def _converge(store: Store) -> None:
    for item in store.pending():
        store.finish_run(store.start_run(item), item, "successful", 0)


def test_a_pr_whose_cleanup_is_still_due_is_not_an_orphan(tmp_path):
    # When the TTL expires many previews at once, their cleanups are still due during a pass: taking them
    # for orphans would remove stacks that their own cleanup runs are removing, and fail those runs.
    store = Store(str(tmp_path / "state.db"))
    repo = RepoConfig(full_name="o/r", clone_url="/r", slug="r")
    config = Config(webhook_secret="x" * 16, repositories={"o/r": repo})
    try:
        _decide(store, "g1", 1, "present", "2026-01-01T00:00:00Z")
        _decide(store, "g2", 2, "present", "2026-01-01T00:00:00Z")
        _converge(store)
        _decide(store, "g3", 2, "absent", "2026-01-01T00:01:00Z")  # closed: its cleanup is due
        reconciler = Reconciler(config, store)

        assert {entry["pr"] for entry in reconciler.keep()} == {1, 2}

        _converge(store)  # the cleanup ran: what is left of PR 2 now is an orphan

        assert {entry["pr"] for entry in reconciler.keep()} == {1}
    finally:
        store.close()


def test_a_pr_that_turns_up_during_a_pass_waits_for_its_end(tmp_path):
    # A PR accepted just after the pass read its keep list must not start its deploy yet: the pass would
    # take the deploy's fresh work dir and route for an orphan's and remove them under it.
    store = Store(str(tmp_path / "state.db"))
    repo = RepoConfig(full_name="o/r", clone_url="/r", slug="r")
    config = Config(webhook_secret="x" * 16, repositories={"o/r": repo})
    seen = {}

    def play(config, keep):
        _decide(store, "g2", 2, "present", "2026-01-01T00:00:00Z")  # arrives while the play runs
        seen["during"] = (reconciler.may_start("o/r", 1), reconciler.may_start("o/r", 2))
        return RunResult("successful", 0, "", 0.1), {}

    try:
        _decide(store, "g1", 1, "present", "2026-01-01T00:00:00Z")
        reconciler = Reconciler(config, store, run=play)
        assert reconciler.may_start("o/r", 2)

        reconciler.run_once()

        assert seen["during"] == (True, False)  # PR 1 was on the keep list; PR 2 waits for the pass
        assert reconciler.may_start("o/r", 2)
    finally:
        store.close()


def _missing(store: Store, config: Config, missing: list[dict]) -> dict:
    def play(config, keep):
        return RunResult("successful", 0, "", 0.1), {"preview_missing": missing, "preview_orphans": []}

    return Reconciler(config, store, run=play).run_once()


def test_a_missing_preview_runs_again_unless_its_last_deploy_failed(tmp_path):
    # The shim's state file has no `deployments` table: the records live on the preview host, which may be
    # another machine (inventory:). Their status reaches the shim through the reconcile play only.
    store = Store(str(tmp_path / "state.db"))
    repo = RepoConfig(full_name="o/r", clone_url="/r", slug="r")
    config = Config(webhook_secret="x" * 16, repositories={"o/r": repo})
    try:
        for pr in (1, 2, 3):
            _decide(store, f"g{pr}", pr, "present", "2026-01-01T00:00:00Z")
        _converge(store)

        result = _missing(
            store,
            config,
            [
                {"repo": "o/r", "pr": 1, "label": "r-pr-1", "status": "live"},
                {"repo": "o/r", "pr": 2, "label": "r-pr-2", "status": "failed"},
                {"repo": "o/r", "pr": 3, "label": "r-pr-3", "status": ""},
            ],
        )

        assert result["redeploy"] == [("o/r", 1), ("o/r", 3)]
        assert sorted((item.pr, item.reason) for item in store.pending()) == [(1, "missing"), (3, "missing")]
    finally:
        store.close()
