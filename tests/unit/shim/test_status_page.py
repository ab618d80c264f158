"""The status page and its API (shim/status_page.py): off unless configured, basic auth, escaping, the OpenAPI
document, and redeploy/remove through the path the PR comments take. A real store, Falcon's test client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from pathlib import Path

import falcon.testing
import jsonschema
import pytest

from shim import config as config_mod
from shim import status_page
from shim.app import create_app
from shim.config import Config, RepoConfig
from shim.events import CommentCommand
from shim.policy import Decision
from shim.run_log import LogTail
from shim.store import LOGS_KEPT, Delivery, Store
from shim.vocabulary import Command, CommandOutcome, DesiredState
from tests.unit.shim.seams import accept

SECRET = "unit-test-secret-0123456789"
CREDENTIAL = "people:correct-horse-battery-staple"
REPO = "o/r"
A = "a" * 40
DOCUMENT = Path(__file__).resolve().parents[3] / "shim" / "openapi" / "previews.json"


def basic(credential: str = CREDENTIAL) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(credential.encode()).decode()}


def make_config(credential: str = CREDENTIAL, **extra) -> Config:
    return Config(
        webhook_secret=SECRET,
        repositories={REPO: RepoConfig(REPO, "/srv/r", "r")},
        preview={"public_url": "https://previews.example.org"},
        status_credential=credential,
        **extra,
    )


class Shim:
    def __init__(self, tmp_path, credential: str = CREDENTIAL):
        self.store = Store(str(tmp_path / "state.db"))
        self.config = make_config(credential)
        self.notified = 0
        self.client = falcon.testing.TestClient(create_app(self.config, self.store, _Converger(self)))

    def deploy(self, pr: int = 1, status: str = "successful", log: str = "TASK [deploy]\nok: [localhost]\n") -> int:
        """PR `pr` wanted present at A, and its deploy run finished with `status` and `log`."""
        if self.store.desired(REPO, pr) is None:
            accept(self.store, f"guid-{pr}", DesiredState.PRESENT, A, "2026-12-01T10:00:00Z", pr)
        else:
            self.store.run_command(REPO, pr, Command.REDEPLOY)
        [item] = [item for item in self.store.pending() if item.pr == pr]
        run = self.store.start_run(item)
        self.store.finish_run(run, item, status, 0 if status == "successful" else 2, "", log=log)
        return run

    def get(self, path: str, **kwargs):
        return self.client.simulate_get(path, headers=basic(), **kwargs)


class _Converger:
    """The app's seam to the converger: only `notify` is called here."""

    def __init__(self, shim: Shim):
        self.shim = shim

    def notify(self) -> None:
        self.shim.notified += 1

    def alive(self) -> bool:
        return True

    def running(self) -> list:
        return []


@pytest.fixture
def shim(tmp_path):
    shim = Shim(tmp_path)
    yield shim
    shim.store.close()


PATHS = [
    ("GET", "/previews"),
    ("GET", "/previews/"),
    ("GET", "/previews/o/r/1/runs/1/log"),
    ("GET", "/api/previews"),
    ("GET", "/api/previews/o/r/1"),
    ("DELETE", "/api/previews/o/r/1"),
    ("POST", "/api/previews/o/r/1/redeploy"),
    ("GET", "/api/openapi.json"),
]


# --- off, and the credential ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_without_a_credential_every_path_is_not_found(tmp_path, method, path):
    shim = Shim(tmp_path, credential="")
    shim.deploy()
    for headers in ({}, basic(), basic(":")):
        answer = shim.client.simulate_request(method, path, headers=headers)
        assert answer.status_code == 404, (method, path, headers)
    assert shim.store.desired(REPO, 1)["generation"] == 1  # nothing moved


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"people:wrong-password-of-some-length").decode(),
        "Basic " + base64.b64encode(CREDENTIAL.encode() + b"x").decode(),
        "Basic " + base64.b64encode(CREDENTIAL[:-1].encode()).decode(),
        "Basic " + base64.b64encode(b"other:correct-horse-battery-staple").decode(),
        "Basic not base64!",
        "Bearer " + CREDENTIAL,
        "basic",
    ],
)
def test_a_missing_or_wrong_credential_is_refused_with_a_basic_challenge(shim, method, path, authorization):
    shim.deploy()
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = shim.client.simulate_request(method, path, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="previews", charset="UTF-8"'
    assert answer.headers["X-Robots-Tag"].startswith("noindex")
    assert CREDENTIAL.split(":")[1] not in answer.text
    assert shim.store.desired(REPO, 1)["generation"] == 1 and shim.notified == 0


def test_the_credential_is_compared_in_constant_time(monkeypatch):
    """Both sides are hashed to digests of one length and compared with hmac.compare_digest: the time taken
    depends neither on where a wrong guess differs nor on its length."""
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(status_page.hmac, "compare_digest", spy)
    credential = status_page.Credential(CREDENTIAL)
    for given in (b"", b"p", CREDENTIAL.encode() + b"-and-much-longer"):
        req = falcon.testing.create_req(headers={"Authorization": "Basic " + base64.b64encode(given).decode()})
        with pytest.raises(falcon.HTTPUnauthorized):
            credential.check(req, falcon.Response())
    assert [len(a) == len(b) == 32 for a, b in compared] == [True] * 3
    assert all(b == hashlib.sha256(CREDENTIAL.encode()).digest() for dummy, b in compared)


def test_the_right_credential_lets_in_and_every_answer_says_noindex(shim):
    shim.deploy()
    for dummy, path in PATHS:
        if dummy == "GET":
            answer = shim.get(path)
            assert answer.status_code in (200, 301), path
            assert answer.headers["X-Robots-Tag"] == "noindex, nofollow, noarchive"
            assert answer.headers["Cache-Control"] == "no-store"
    assert shim.get("/previews").headers["Location"] == "previews/"


# --- the page --------------------------------------------------------------------------------------------------


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;'


def test_the_page_lists_a_preview_with_its_state_sha_url_and_a_link_to_its_log(shim):
    run = shim.deploy(log="PLAY [deploy]\n")
    answer = shim.get("/previews/")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    page = answer.text
    assert '<span class="status live">live</span>' in page
    assert f'<code title="{A}">{A[:7]}</code>' in page
    assert '<a href="https://previews.example.org/r-pr-1/" rel="noopener noreferrer">r-pr-1</a>' in page
    assert f'<a href="../previews/o/r/1/runs/{run}/log">log</a>' in page
    assert "<script" not in page.lower()
    log = shim.get(f"/previews/o/r/1/runs/{run}/log")
    assert (log.status_code, log.text) == (200, "PLAY [deploy]\n")
    assert log.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in log.headers["Content-Security-Policy"]


def test_the_page_escapes_what_it_shows(tmp_path):
    """Repository names come from the configuration and messages and logs from a PR's build: all are escaped."""
    store = Store(str(tmp_path / "state.db"))
    hostile_repo = "o/x-y_z.<b>"  # not a name config.py takes; the page must not trust that
    config = Config(
        webhook_secret=SECRET,
        repositories={hostile_repo.lower(): RepoConfig(hostile_repo, "/srv/r", "r")},
        status_credential=CREDENTIAL,
    )
    wanted = Decision(state=DesiredState.PRESENT, sha=A, approved_sha="", pinned=False, reason="deploy")
    store.accept("g1", "pull_request", "opened", hostile_repo, 1, lambda row: wanted, "2026-12-01T10:00:00Z")
    [item] = store.pending()
    run = store.start_run(item)
    store.finish_run(run, item, "failed", 2, f"build failed: {HOSTILE}", log=f"{HOSTILE}\n")
    client = falcon.testing.TestClient(create_app(config, store))
    page = client.simulate_get("/previews/", headers=basic()).text
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "o/x-y_z.&lt;b&gt;" in page
    assert "o/x-y_z.%3Cb%3E/1/runs" in page  # the log link's path, quoted
    log = client.simulate_get(f"/previews/o/x-y_z.%3Cb%3E/1/runs/{run}/log", headers=basic())
    assert log.text == f"{HOSTILE}\n" and log.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert log.headers["X-Content-Type-Options"] == "nosniff"
    store.close()


def test_a_log_of_another_pr_or_none_kept_is_not_found(shim):
    run = shim.deploy(pr=1)
    shim.deploy(pr=2, log="")
    assert shim.get(f"/previews/o/r/2/runs/{run}/log").status_code == 404
    assert shim.get(f"/previews/o/r/2/runs/{run + 1}/log").status_code == 404
    assert shim.get(f"/previews/other/repo/1/runs/{run}/log").status_code == 404


def test_only_the_newest_runs_of_a_pr_keep_their_log(shim):
    runs = [shim.deploy(log=f"run {n}\n") for n in range(LOGS_KEPT + 2)]
    kept = [run for run in runs if shim.store.run_log(REPO, 1, run) is not None]
    assert kept == runs[-LOGS_KEPT:]


def test_the_log_tail_is_bounded_and_redacted():
    tail = LogTail(secrets=["ghp_secret-token-value"], limit=1000)
    tail.add_event({"stdout": "fatal: https://x-access-token:ghp_secret-token-value@github.com/o/r.git"})
    tail.add_event({"stdout": "token again: ghp_secret-token-value"})
    for n in range(500):
        tail.add_event({"stdout": f"line {n} é"})
    tail.add_event({"event": "playbook_on_stats"})
    text = tail.text()
    assert len(text.encode()) <= 1000 and text.endswith("line 499 é\n")
    assert text.startswith("line ") and "ghp_" not in text
    short = LogTail(secrets=["ghp_secret-token-value"])
    short.add_event({"stdout": "fatal: https://x-access-token:ghp_secret-token-value@github.com/o/r.git"})
    short.add_event({"stdout": "echo ghp_secret-token-value"})
    assert short.text() == "fatal: https://***@github.com/o/r.git\necho ***\n"


# --- the JSON and its OpenAPI document -----------------------------------------------------------------------


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    """A validator of `schema` whose $refs resolve in the OpenAPI document (3.1: JSON Schema 2020-12)."""
    document = json.loads(DOCUMENT.read_text())
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def response_schema(path: str, method: str, status: str) -> dict:
    document = json.loads(DOCUMENT.read_text())
    answer = document["paths"][path][method]["responses"][status]
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer["content"]["application/json"]["schema"]


def test_the_document_is_a_valid_openapi_3_1_description_and_the_one_served(shim):
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"].startswith("3.1.")
    jsonschema.Draft202012Validator.check_schema(document["components"]["schemas"]["Preview"])
    served = shim.get("/api/openapi.json")
    assert served.status_code == 200 and served.json == document
    assert status_page.openapi_document() == document


def test_the_json_answers_match_the_document(shim):
    shim.deploy(pr=1)
    shim.deploy(pr=2, status="failed", log="")
    accept(shim.store, "g-held", DesiredState.HELD, A, "2026-12-01T11:00:00Z", pr=3)  # no run yet
    listing = shim.get("/api/previews")
    validator(response_schema("/previews", "get", "200")).validate(listing.json)
    one = shim.get("/api/previews/o/r/1")
    validator(response_schema("/previews/{owner}/{repo}/{pr}", "get", "200")).validate(one.json)
    redeploy = shim.client.simulate_post("/api/previews/o/r/1/redeploy", headers=basic())
    validator(response_schema("/previews/{owner}/{repo}/{pr}/redeploy", "post", "202")).validate(redeploy.json)
    errors = {
        "409": shim.client.simulate_post("/api/previews/o/r/3/redeploy", headers=basic()),
        "404": shim.get("/api/previews/o/r/9"),
        "401": shim.client.simulate_get("/api/previews/o/r/1"),
    }
    for status, answer in errors.items():
        assert str(answer.status_code) == status
        schema = response_schema("/previews/{owner}/{repo}/{pr}/redeploy", "post", status)
        validator(schema).validate(answer.json)

    by_pr = {preview["pr"]: preview for preview in listing.json["previews"]}
    assert [by_pr[pr]["status"] for pr in (1, 2, 3)] == ["live", "failed", "pending"]
    first = by_pr[1]
    assert (first["sha"], first["deployed_sha"], first["url"]) == (A, A, "https://previews.example.org/r-pr-1/")
    assert first["last_run"]["log_path"] == f"previews/o/r/1/runs/{first['last_run']['id']}/log"
    assert by_pr[2]["deployed_sha"] is None and by_pr[2]["last_run"]["log_path"] is None
    assert by_pr[3]["last_run"] is None and by_pr[3]["url"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", first["expires"])


def test_the_expiry_follows_the_ttl_and_a_pin_lifts_it(shim):
    shim.deploy()
    row = shim.store.desired(REPO, 1)
    view = status_page.StatusView(make_config(ttl_hours=2), shim.store, clock=lambda: row["activity"] + 60)
    [preview] = view.previews()
    assert preview["expires"] == status_page._time(row["activity"] + 7200) and preview["age_seconds"] == 60
    shim.store.run_command(REPO, 1, Command.PIN)
    assert view.previews()[0]["expires"] is None and view.previews()[0]["pinned"] is True


# --- redeploy and remove: the commands' path ----------------------------------------------------------------------


def through_a_comment(tmp_path, command: Command) -> dict:
    """The desired row after the PR comment `command` from a writer, settled as the verifier settles it."""
    store = Store(str(tmp_path / "comment.db"))
    accept(store, "g1", DesiredState.PRESENT, A, "2026-12-01T10:00:00Z")
    [item] = store.pending()
    store.finish_run(store.start_run(item), item, "successful", 0)
    store.accept_batch(
        [Delivery("g2", "issue_comment", "created", REPO, 1, command=CommentCommand(REPO, 1, 7, "w", command))]
    )
    assert store.settle_command(REPO, 7, allowed=True) == (CommandOutcome.APPLIED, True)
    row = store.desired(REPO, 1)
    store.close()
    return row


@pytest.mark.parametrize(
    ("method", "path", "command", "state", "reason"),
    [
        ("POST", "/api/previews/o/r/1/redeploy", Command.REDEPLOY, "present", "redeploy"),
        ("DELETE", "/api/previews/o/r/1", Command.DESTROY, "absent", "destroyed"),
    ],
)
def test_redeploy_and_delete_move_the_desired_state_as_the_commands_do(
    shim, tmp_path, method, path, command, state, reason
):
    shim.deploy()
    answer = shim.client.simulate_request(method, path, headers=basic())
    assert answer.status_code == 202 and answer.json["outcome"] == "applied"
    assert answer.json["preview"]["state"] == state and answer.json["preview"]["status"] == "pending"
    assert shim.notified == 1
    row = shim.store.desired(REPO, 1)
    assert (row["state"], row["reason"], row["generation"], row["applied_generation"]) == (state, reason, 2, 1)
    via_comment = through_a_comment(tmp_path, command)
    timing = {"changed", "activity", "created", "pr_updated_at", "delivery"}
    assert {k: v for k, v in row.items() if k not in timing} == {
        k: v for k, v in via_comment.items() if k not in timing
    }


def test_a_command_that_does_not_apply_is_a_conflict_and_moves_nothing(shim):
    shim.deploy()
    assert shim.client.simulate_delete("/api/previews/o/r/1", headers=basic()).status_code == 202
    again = shim.client.simulate_delete("/api/previews/o/r/1", headers=basic())
    assert again.status_code == 409 and "/preview destroy does not apply" in again.json["description"]
    redeploy = shim.client.simulate_post("/api/previews/o/r/1/redeploy", headers=basic())
    assert redeploy.status_code == 409
    assert shim.store.desired(REPO, 1)["generation"] == 2 and shim.notified == 1
    assert shim.client.simulate_post("/api/previews/o/r/9/redeploy", headers=basic()).status_code == 404
    assert shim.client.simulate_post("/api/previews/x/y/1/redeploy", headers=basic()).status_code == 404
    assert shim.client.simulate_get("/api/previews/o/r/1/redeploy", headers=basic()).status_code == 405


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}]
)
def test_a_web_page_cannot_make_a_browser_redeploy_or_remove(shim, headers):
    shim.deploy()
    for method, path in (("POST", "/api/previews/o/r/1/redeploy"), ("DELETE", "/api/previews/o/r/1")):
        answer = shim.client.simulate_request(method, path, headers={**basic(), **headers})
        assert answer.status_code == 403, (method, headers)
    assert shim.store.desired(REPO, 1)["generation"] == 1 and shim.notified == 0


# --- the configuration -----------------------------------------------------------------------------------------


def write(tmp_path, credential: str | None, mode: int = 0o600) -> str:
    extra = ""
    if credential is not None:
        path = tmp_path / "status-credential"
        path.write_text(credential)
        os.chmod(path, mode)
        extra = f"status_page:\n  credential_file: {path}\n"
    config = tmp_path / "config.yml"
    config.write_text(f"webhook_secret: {SECRET}\nrepositories:\n  o/r: {{clone_url: /srv/r}}\n{extra}")
    return str(config)


def test_the_credential_file_is_read_and_the_page_is_off_without_one(tmp_path):
    assert config_mod.load(write(tmp_path, None), environ={}).status_credential == ""
    assert config_mod.load(write(tmp_path, CREDENTIAL + "\n"), environ={}).status_credential == CREDENTIAL
    assert CREDENTIAL not in repr(config_mod.load(write(tmp_path, CREDENTIAL), environ={}))


@pytest.mark.parametrize(
    ("credential", "mode", "message"),
    [
        (CREDENTIAL, 0o644, "mode 0644 lets others read it; chmod 600 it"),
        (CREDENTIAL, 0o640, "mode 0640 lets others read it"),
        ("people:short", 0o600, "must hold one line user:password"),
        ("no-colon-in-this-line-at-all", 0o600, "must hold one line user:password"),
        (f"{CREDENTIAL}\nsecond line", 0o600, "must hold one line user:password"),
        ("bad user:correct-horse-battery-staple", 0o600, "must hold one line user:password"),
        ("", 0o600, "must hold one line user:password"),
    ],
)
def test_a_bad_credential_file_is_refused_without_showing_it(tmp_path, credential, mode, message):
    with pytest.raises(config_mod.ConfigError, match=re.escape(message)) as refused:
        config_mod.load(write(tmp_path, credential, mode), environ={})
    assert "battery" not in str(refused.value)


def test_a_missing_credential_file_or_a_bad_section_is_refused(tmp_path):
    config = tmp_path / "config.yml"
    base = f"webhook_secret: {SECRET}\nrepositories:\n  o/r: {{clone_url: /srv/r}}\n"
    config.write_text(base + f"status_page:\n  credential_file: {tmp_path / 'nope'}\n")
    with pytest.raises(config_mod.ConfigError, match="status_page.credential_file .*cannot be read"):
        config_mod.load(str(config), environ={})
    config.write_text(base + "status_page:\n  password: x\n")
    with pytest.raises(config_mod.ConfigError, match="status_page: must be a mapping with credential_file"):
        config_mod.load(str(config), environ={})
