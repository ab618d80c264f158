"""GitHubClient and redirects, against two real local HTTP servers: the token stays on the API's host."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.preview.envs.plugins.module_utils._github import GitHubClient, GitHubError

TOKEN = "ghp_redirect_test_token_value"


class Recorder:
    """A server that answers each path from ``routes`` (status, headers, body) and records every request."""

    def __init__(self, routes: dict | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[dict] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                status, headers, body = recorder.routes.get(self.path, (200, {}, {"ok": True}))
                raw = json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere():
    with Recorder() as server:
        yield server


@pytest.fixture
def api():
    with Recorder() as server:
        yield server


def client_for(api: Recorder) -> GitHubClient:
    return GitHubClient(api.url, TOKEN, timeout=5, retries=0, sleep=lambda _s: None)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_to_another_host_never_gets_the_token(api, elsewhere, status, method):
    api.routes["/repos/o/r"] = (status, {"location": f"{elsewhere.url}/steal"}, {})

    with pytest.raises(GitHubError, match=f"refusing to send the token to {elsewhere.url}") as caught:
        client_for(api).request(method, "/repos/o/r", body={"body": "x"} if method == "POST" else None)

    assert f"{method} {api.url}/repos/o/r was redirected ({status})" in str(caught.value)
    assert all(TOKEN not in json.dumps(request["headers"]) for request in elsewhere.requests)
    assert elsewhere.requests == []


def test_the_same_host_on_another_port_is_another_host(api):
    port = int(api.url.rsplit(":", 1)[1])
    api.routes["/repos/o/r"] = (302, {"location": f"http://127.0.0.1:{port + 1}/x"}, {})

    with pytest.raises(GitHubError, match="refusing to send the token"):
        client_for(api).request("GET", "/repos/o/r")


@pytest.mark.parametrize(
    ("status", "method", "sent_again"),
    [
        (301, "PATCH", "PATCH"),
        (302, "POST", "POST"),
        (307, "POST", "POST"),
        (308, "DELETE", "DELETE"),
        (303, "POST", "GET"),
    ],
)
def test_a_redirect_on_the_api_host_is_followed_with_the_token(api, status, method, sent_again):
    """GitHub moves renamed repositories this way; the request is repeated as sent (303: as a GET)."""
    api.routes["/repos/old/name/issues/1/comments"] = (status, {"location": "/repositories/42/issues/1/comments"}, {})
    api.routes["/repositories/42/issues/1/comments"] = (200, {}, {"id": 7})

    answer = client_for(api).request(method, "/repos/old/name/issues/1/comments", body={"body": "hi"})

    assert answer[0] == 200 and answer[2] == {"id": 7}
    first, second = api.requests
    assert (second["method"], second["path"]) == (sent_again, "/repositories/42/issues/1/comments")
    assert second["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert second["body"] == (b"" if sent_again == "GET" else first["body"])


def test_a_redirect_loop_ends(api):
    api.routes["/a"] = (302, {"location": "/b"}, {})
    api.routes["/b"] = (302, {"location": "/a"}, {})

    with pytest.raises(GitHubError, match="more than 5 redirects"):
        client_for(api).request("GET", "/a")
