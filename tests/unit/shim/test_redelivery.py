"""shim/redelivery.py against the GitHub stand-in, no Docker: which missed deliveries are asked for, which never."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from shim import redelivery
from shim.config import Config, RepoConfig
from shim.github_pass import github_module
from shim.redelivery import Redeliverer, RedeliveryLoop
from shim.store import Store
from tests.support.github_standin import GitHubStandIn, WebhookReceiver
from tests.support.nginx import free_port
from tests.support.webhooks import pull_request_payload

REPO = "octo/hello"
SECRET = "unit-test-secret-0123456789"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def github():
    tokens = {"test-token": {"repo"}, "read-hooks": {"read:repo_hook"}, "no-scopes": set()}
    with GitHubStandIn(repos={REPO, "octo/other"}, tokens=tokens) as standin:
        yield standin


@pytest.fixture
def receiver():
    """Where our hook delivers; answers 503, as nginx does while the shim is down, until told otherwise."""
    with WebhookReceiver(status=503) as endpoint:
        yield endpoint


@pytest.fixture
def store(tmp_path):
    db = Store(str(tmp_path / "state.db"))
    yield db
    db.close()


def make_config(api_url, webhook_url, token="test-token", repos=(REPO,)) -> Config:
    return Config(
        webhook_secret=SECRET,
        repositories={name.lower(): RepoConfig(name, f"/srv/{name}", name.split("/")[1]) for name in repos},
        github_token=token,
        github_api_url=api_url,
        collections_path=os.environ["ANSIBLE_COLLECTIONS_PATH"],
        github_webhook_url=webhook_url,
    )


def event(action, number=5, at="2026-12-01T10:00:00Z"):
    return pull_request_payload(action, REPO, number, SHA, at)


def attempts(github) -> list[str]:
    """The delivery ids the shim asked GitHub to redeliver, in order."""
    return [request.path.split("/")[-2] for request in github.requests if request.path.endswith("/attempts")]


@pytest.fixture
def hooked(github, receiver, store):
    """Our hook on the stand-in, and a Redeliverer for it."""
    hook = github.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET)
    return hook, Redeliverer(make_config(github.base_url, receiver.url), store)


def test_a_failed_delivery_is_redelivered_once_with_its_guid(github, receiver, hooked):
    hook, redeliverer = hooked
    [failed] = github.deliver(REPO, "pull_request", event("closed"), guid="guid-closed")
    assert failed["status"] == "Invalid HTTP Response: 503"
    receiver.status = 202

    assert redeliverer.check() == ["guid-closed"]
    assert github.join_redeliveries()

    assert attempts(github) == [str(failed["id"])]
    newest = github.deliveries(REPO)[0]
    assert (newest["guid"], newest["redelivery"], newest["status"]) == ("guid-closed", True, "OK")
    assert [r.headers["x-github-delivery"] for r in receiver.requests] == ["guid-closed", "guid-closed"]
    assert receiver.requests[0].raw_body == receiver.requests[1].raw_body
    assert github.violations == []


def test_a_guid_we_already_have_is_never_redelivered(github, hooked, store):
    hook, redeliverer = hooked
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-landed")  # 503 to GitHub, but stored by us
    store.accept("guid-landed", "pull_request", "opened")

    assert redeliverer.check() == []
    assert attempts(github) == []
    assert github.violations == []


def test_a_guid_with_an_ok_delivery_is_never_redelivered(github, receiver, hooked):
    hook, redeliverer = hooked
    [failed] = github.deliver(REPO, "pull_request", event("opened"), guid="guid-ok-later")
    receiver.status = 200
    # Someone redelivered it by hand from the hook's Recent Deliveries, and that one went through.
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-ok-later")
    assert {d["status"] for d in github.deliveries(REPO)} == {"OK", failed["status"]}

    assert redeliverer.check() == []
    assert attempts(github) == []


def test_a_second_check_asks_for_nothing_new_even_when_the_redelivery_fails_too(github, hooked, store, caplog):
    hook, redeliverer = hooked
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-a")
    github.deliver(REPO, "pull_request", event("closed", at="2026-12-01T11:00:00Z"), guid="guid-b")

    assert redeliverer.check() == ["guid-a", "guid-b"]  # oldest first
    assert github.join_redeliveries()
    assert [d["status"] for d in github.deliveries(REPO)[:2]] == ["Invalid HTTP Response: 503"] * 2
    with caplog.at_level(logging.WARNING, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
        assert redeliverer.check() == []
    assert len(attempts(github)) == 2
    failed_again = [r for r in caplog.records if "outcome=redelivery_failed" in r.getMessage()]
    assert len(failed_again) == 2, "each failed redelivery is reported once"
    assert [(row["repo"], row["guid"]) for row in store.redeliveries()] == [(REPO, "guid-a"), (REPO, "guid-b")]
    assert github.violations == []


def test_what_was_asked_for_survives_a_restart(github, hooked, store, tmp_path):
    hook, redeliverer = hooked
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-once")
    assert redeliverer.check() == ["guid-once"]
    github.join_redeliveries()

    reopened = Store(store.path)
    try:
        assert Redeliverer(make_config(github.base_url, redeliverer.webhook_url), reopened).check() == []
    finally:
        reopened.close()
    assert len(attempts(github)) == 1


def test_connection_refused_is_a_failed_delivery_too(github, store):
    closed = f"http://127.0.0.1:{free_port()}/webhook/github"
    github.add_hook(REPO, closed, events=["pull_request"], secret=SECRET)
    [failed] = github.deliver(REPO, "pull_request", event("closed"), guid="guid-refused")
    assert (failed["status"], failed["status_code"]) == ("failed to connect to host", 0)

    assert Redeliverer(make_config(github.base_url, closed), store).check() == ["guid-refused"]


def test_only_our_hook_is_looked_at_and_its_id_is_cached(github, receiver, hooked):
    hook, redeliverer = hooked
    github.add_hook(REPO, "http://127.0.0.1:9/someone-else", events=["pull_request"])
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-two-hooks")  # fails on both hooks
    receiver.status = 202

    assert redeliverer.check() == ["guid-two-hooks"]
    assert redeliverer.check() == []
    [asked] = attempts(github)
    ours = github.deliveries(REPO, hook["id"])
    assert int(asked) in {d["id"] for d in ours}
    hook_lists = [r for r in github.requests if r.method == "GET" and r.path.endswith("/hooks")]
    assert len(hook_lists) == 1


def test_the_deliveries_are_read_page_by_page_through_the_link_header(github, hooked, monkeypatch):
    hook, redeliverer = hooked
    monkeypatch.setattr(redelivery, "PER_PAGE", 2)
    for number in range(5):
        github.deliver(REPO, "pull_request", event("opened", number=number + 1), guid=f"guid-page-{number}")

    assert redeliverer.check() == [f"guid-page-{number}" for number in range(5)]
    pages = [r for r in github.requests if r.path.endswith("/deliveries")]
    assert len(pages) == 3
    assert [r.query.get("cursor") is not None for r in pages] == [False, True, True]
    assert github.violations == []


def test_deliveries_older_than_the_last_check_are_not_read_again(github, hooked, store):
    hook, redeliverer = hooked
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-old")
    store.set_redelivery_checked(REPO, time.time() + redelivery.OVERLAP + 60)  # as if checked after it, long ago

    assert redeliverer.check() == []
    assert attempts(github) == []


def test_a_check_moves_the_window_only_when_every_ask_went_through(github, hooked, store):
    hook, redeliverer = hooked
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-retry")
    github.fail_next(1, status=422, method="POST", path_prefix=f"/repos/{REPO}/hooks/")

    assert redeliverer.check() == []
    assert store.redelivery_checked(REPO) is None
    assert redeliverer.check() == ["guid-retry"]
    assert store.redelivery_checked(REPO) is not None


def test_no_hook_is_logged_once_and_skipped(github, store, caplog):
    redeliverer = Redeliverer(make_config(github.base_url, "http://203.0.113.7/webhook/github"), store)
    with caplog.at_level(logging.INFO, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
        assert redeliverer.check() == []
    skipped = [r for r in caplog.records if "redelivery=skipped" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].levelno == logging.WARNING


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ({"status": 502, "count": 3}, 502),  # GitHub down through all of the client's attempts (1 + 2 retries)
        ({"status": 401, "body": {"message": "Bad credentials"}}, 401),
        ({"status": 404}, 404),
    ],
)
def test_github_errors_are_logged_and_never_raised(github, hooked, store, caplog, failure, status):
    hook, redeliverer = hooked
    redeliverer.client.sleep = lambda seconds: None
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-error")
    github.fail_next(path_prefix=f"/repos/{REPO}/hooks/{hook['id']}/deliveries", **failure)

    with caplog.at_level(logging.WARNING, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
    assert any(f"{status} " in r.getMessage() and "redelivery=error" in r.getMessage() for r in caplog.records)
    assert store.redelivery_checked(REPO) is None
    assert redeliverer.check() == ["guid-error"], "the next check works again"


def test_an_unreachable_github_is_logged_and_never_raised(store, caplog):
    config = make_config(f"http://127.0.0.1:{free_port()}", "http://203.0.113.7/webhook/github")
    redeliverer = Redeliverer(config, store)
    redeliverer.client.sleep = lambda seconds: None

    with caplog.at_level(logging.WARNING, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
    assert any("could not reach GitHub" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("token", "logged"),
    [("no-such-token", "401 Bad credentials"), ("no-scopes", "404 Not Found")],
)
def test_a_token_that_cannot_read_the_hooks_is_logged_once(github, receiver, store, caplog, token, logged):
    github.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET)
    redeliverer = Redeliverer(make_config(github.base_url, receiver.url, token=token), store)
    with caplog.at_level(logging.WARNING, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
        assert redeliverer.check() == []
    assert [r.levelno for r in caplog.records if logged in r.getMessage()] == [logging.WARNING]


def test_a_token_that_may_read_but_not_redeliver_is_logged_and_asked_again_later(github, receiver, store, caplog):
    github.add_hook(REPO, receiver.url, events=["pull_request"], secret=SECRET)
    github.deliver(REPO, "pull_request", event("opened"), guid="guid-read-only")
    redeliverer = Redeliverer(make_config(github.base_url, receiver.url, token="read-hooks"), store)

    with caplog.at_level(logging.WARNING, logger="preview.shim.redelivery"):
        assert redeliverer.check() == []
    assert any("outcome=redelivery_refused" in r.getMessage() for r in caplog.records)
    assert store.redeliveries() == [] and store.redelivery_checked(REPO) is None
    assert len(attempts(github)) == 1
    assert github.violations == []


def test_every_configured_repository_is_checked(github, receiver, store):
    for repo in (REPO, "octo/other"):
        github.add_hook(repo, receiver.url, events=["pull_request"], secret=SECRET)
        github.deliver(
            repo,
            "pull_request",
            pull_request_payload("opened", repo, 1, SHA, "2026-12-01T10:00:00Z"),
            guid=f"guid-{repo}",
        )
    redeliverer = Redeliverer(make_config(github.base_url, receiver.url, repos=(REPO, "octo/other")), store)
    assert sorted(redeliverer.check()) == ["guid-octo/hello", "guid-octo/other"]


@pytest.mark.parametrize(
    ("token", "url", "reason"),
    [("", "http://203.0.113.7/webhook/github", "no GitHub token"), ("test-token", "", "webhook_url is not set")],
)
def test_without_a_token_or_a_webhook_url_the_feature_is_off(github, store, caplog, token, url, reason):
    with caplog.at_level(logging.INFO, logger="preview.shim.redelivery"):
        redeliverer = Redeliverer(make_config(github.base_url, url, token=token), store)
        assert redeliverer.check() == []
        assert redeliverer.check() == []
    assert not redeliverer.enabled and reason in redeliverer.off_reason
    assert [r.getMessage() for r in caplog.records if "redelivery=off" in r.getMessage()] == [
        f"redelivery=off reason={redeliverer.off_reason}"
    ]
    assert github.requests == []
    loop = RedeliveryLoop(redeliverer, 1)
    loop.start()
    assert not loop.alive()


def test_the_import_helper_finds_the_collections_client():
    module = github_module(os.environ["ANSIBLE_COLLECTIONS_PATH"])
    assert module.__name__ == "ansible_collections.preview.envs.plugins.module_utils._github"
    assert hasattr(module, "GitHubClient") and hasattr(module, "next_link")


# -- the loop ----------------------------------------------------------------------------------------------


class Counting:
    enabled = True

    def __init__(self, fail_first=False):
        self.calls = 0
        self.fail_first = fail_first
        self.called = threading.Event()

    def check(self):
        self.calls += 1
        self.called.set()
        if self.fail_first and self.calls == 1:
            raise RuntimeError("boom")
        return []


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_the_loop_checks_at_start_on_trigger_and_survives_errors():
    checker = Counting(fail_first=True)
    loop = RedeliveryLoop(checker, interval=3600)
    loop.start()
    try:
        assert wait_until(lambda: loop.checks == 1), "the first check runs at start"
        loop.trigger()
        assert wait_until(lambda: loop.checks == 2), "trigger() runs a check at once"
        assert loop.alive()
    finally:
        loop.stop()
    assert wait_until(lambda: not loop.alive())


def test_the_loop_runs_every_interval():
    checker = Counting()
    loop = RedeliveryLoop(checker, interval=0.05)
    loop.start()
    try:
        assert wait_until(lambda: checker.calls >= 3)
    finally:
        loop.stop()


# -- state ----------------------------------------------------------------------------------------------------


def test_the_store_remembers_checks_and_asks_and_forgets_what_github_no_longer_keeps(store):
    assert store.redelivery_checked(REPO) is None
    store.set_redelivery_checked(REPO, 100.0)
    store.set_redelivery_checked(REPO, 200.0)
    assert store.redelivery_checked(REPO) == 200.0
    assert not store.redelivery_asked(REPO, "g1")
    store.record_redelivery(REPO, "g1", 11, now=1000.0)
    store.record_redelivery(REPO, "g1", 12, now=1001.0)  # once per GUID: the first ask is kept
    assert store.redelivery_asked(REPO, "g1") and not store.redelivery_asked("octo/other", "g1")
    assert not store.redelivery_asked(REPO, "")
    store.record_redelivery(REPO, "g2", 13, now=1000.0 + 9 * 24 * 3600)
    assert [(row["guid"], row["delivery_id"]) for row in store.redeliveries()] == [("g2", 13)]
    assert store.redelivery_checked(REPO) == 200.0, "the check time is not pruned"
    with pytest.raises(ValueError):
        store.record_redelivery(REPO, "", 1)
