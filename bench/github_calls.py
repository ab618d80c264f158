"""GitHub API calls: per preview lifecycle (opened, one push, closed) and per sweep of 100 open PRs.

Counts, not times: every request the GitHub stand-in receives, by operation, and how many of them count
against the token's rate limit (a 304 to a conditional request does not). The lifecycle runs the real shim,
ansible-runner, Docker and nginx on examples/hello; the sweep runs `shim.sweep.Sweeper` against the
stand-in with 100 open PRs: a first pass, a pass with nothing changed, and a pass after one PR was pushed
to and one closed without their webhooks.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import link_collection, table, write_json  # noqa: E402
from shim.config import Config, RepoConfig  # noqa: E402
from shim.store import Store  # noqa: E402
from shim.sweep import Sweeper  # noqa: E402
from tests.support.github_standin import GitHubStandIn  # noqa: E402
from tests.support.gitrepo import AppRepo  # noqa: E402
from tests.support.nginx import PrivateNginx  # noqa: E402
from tests.support.shim_process import SECRET, ShimProcess, shim_config  # noqa: E402
from tests.support.webhooks import send  # noqa: E402

REPO = "octo/hello"
TOKEN = "bench-token"


def operation(method: str, path: str) -> str:
    """`GET /repos/{owner}/{repo}/pulls/{n}`, from a request's method and path."""
    path = re.sub(r"^/repositories/\d+", "/repos/{owner}/{repo}", path)
    path = re.sub(r"^/repos/[^/]+/[^/]+", "/repos/{owner}/{repo}", path)
    path = re.sub(r"/[0-9a-f]{40}\b", "/{sha}", path)
    return method + " " + re.sub(r"/\d+", "/{n}", path)


def counted(requests: list) -> dict:
    """Requests by operation: how many, and how many the rate limit counts (every answer but a 304)."""
    total, charged = Counter(), Counter()
    for request in requests:
        name = operation(request.method, request.path)
        total[name] += 1
        charged[name] += request.status != 304
    return {name: {"requests": total[name], "charged": charged[name]} for name in sorted(total)}


def sweep_passes(prs: int) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp,
        GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}) as github,
    ):
        for number in range(1, prs + 1):
            github.open_pr(REPO, number, sha=f"{number:040x}")
        store = Store(os.path.join(tmp, "state.db"))
        config = Config(
            webhook_secret=SECRET,
            repositories={REPO: RepoConfig(REPO, "/nonexistent", "hello")},
            github_token=TOKEN,
            github_api_url=github.base_url,
            collections_path=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        )
        sweeper = Sweeper(config, store)
        passes = {}

        def one(name: str) -> None:
            before = len(github.requests)
            moved = sweeper.run_once()
            passes[name] = {"moved": moved, "calls": counted(github.requests[before:])}

        one(f"first pass, {prs} open PRs, empty state file")
        one("nothing changed")
        github.push(REPO, 1, "f" * 40)
        github.close_pr(REPO, 2)
        one("one PR pushed to and one closed, both webhooks missed")
        store.close()
        return passes


def lifecycle(root: Path) -> dict:
    github = GitHubStandIn(repos={REPO}, tokens={TOKEN: {"repo"}}).__enter__()
    nginx = PrivateNginx(root / "nginx").start()
    app = AppRepo(root / "hello")
    first = app.commit("first")
    app.push_pr(1, first)
    config = shim_config(root, {REPO: {"clone_url": app.clone_url}}, nginx.role_settings(), github.base_url, TOKEN)
    config["reconcile_interval"] = 3600  # one pass at start, none during the lifecycle
    shim = ShimProcess(root, config).start()
    steps = {}

    def step(name: str, payload: dict) -> None:
        before = len(github.requests)
        response = send(shim.webhook_url, SECRET, payload)
        if response.status_code != 202:
            raise RuntimeError(f"{name} answered {response.status_code}: {response.text}")
        shim.wait_idle()
        steps[name] = counted(github.requests[before:])

    try:
        shim.wait_idle()
        step("opened", github.open_pr(REPO, 1, sha=first, event=True))
        second = app.commit("second")
        app.push_pr(1, second)
        step("synchronize", github.push(REPO, 1, second, event=True))
        step("closed", github.close_pr(REPO, 1, event=True))
        if github.violations:
            raise RuntimeError(f"requests outside GitHub's contract: {github.violations}")
    finally:
        shim.stop()
        nginx.stop()
        github.__exit__(None, None, None)
    return steps


def rows(calls: dict) -> list[list[str]]:
    return [[name, str(c["requests"]), str(c["charged"])] for name, c in calls.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prs", type=int, default=100, help="open PRs in the sweep (default 100)")
    parser.add_argument("--json", help="write the counts here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
        os.environ["ANSIBLE_COLLECTIONS_PATH"] = link_collection(Path(tmp) / "collections")
        results = {"sweep": sweep_passes(args.prs), "lifecycle": lifecycle(Path(tmp))}
    for name, one in results["sweep"].items():
        print(f"\nsweep: {name} (PRs moved: {one['moved']})")
        print(table(["operation", "requests", "charged"], rows(one["calls"])))
    for name, calls in results["lifecycle"].items():
        print(f"\nlifecycle: {name}")
        print(table(["operation", "requests", "charged"], rows(calls)))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
