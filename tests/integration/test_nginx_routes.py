"""Routes that are on disk are loaded, and preview_traces sees a route through nginx, not its file: the real
nginx (tests.support.nginx), a real app port, and ansible-playbook running nginx_site and preview_traces."""

from __future__ import annotations

import http.server
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.support.modules import run_module
from tests.support.nginx import PrivateNginx

DOMAIN = "preview.test"


@pytest.fixture
def app_port():
    """An app that answers 404 everywhere: a route to it is still a route."""

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("X-Preview-Route", "forged-by-the-app")
            self.send_header("X-Robots-Tag", "all")
            self.send_header("content-length", "0")
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def site_args(nginx: PrivateNginx, label: str, port: int, domain: str, **overrides) -> dict:
    return {
        "label": label,
        "port": port,
        "domain": domain,
        "listen_port": nginx.port,
        "listen_address": "127.0.0.1",
        "nginx_configs_dir": str(nginx.configs_dir),
        "test_command": nginx.test_command,
        "reload_command": nginx.reload_command,
        **overrides,
    }


def route_header(nginx: PrivateNginx, label: str, domain: str) -> str | None:
    url = f"{nginx.base_url}/" if domain else f"{nginx.base_url}/{label}/"
    request = urllib.request.Request(url, headers={"Host": f"{label}.{domain}"} if domain else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.headers.get("X-Preview-Route")
    except urllib.error.HTTPError as error:
        return error.headers.get("X-Preview-Route")


def eventually_routed(nginx: PrivateNginx, label: str, domain: str) -> str | None:
    """`nginx -s reload` returns before the workers have the new configuration."""
    deadline = time.monotonic() + 10
    while (header := route_header(nginx, label, domain)) != label and time.monotonic() < deadline:
        time.sleep(0.1)
    return header


@pytest.mark.parametrize("domain", ["", DOMAIN], ids=["path", "subdomain"])
def test_a_route_whose_reload_failed_is_loaded_on_the_next_run(tmp_path, nginx, app_port, domain):
    label = "hello-pr-7"
    failing = site_args(nginx, label, app_port, domain, reload_command=["false"])

    result = run_module(tmp_path, "nginx_site", failing)
    assert result["_status"] == "FAILED!" and "reload failed" in result["msg"], result
    assert (nginx.configs_dir / result["path"].rsplit("/", 1)[1]).exists()
    assert route_header(nginx, label, domain) is None, "on disk, not loaded"

    # check mode sees the file nginx has not loaded; the real run loads it; then nothing is left to do
    assert run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain), check=True)["changed"]
    result = run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain))
    assert (result["_status"], result["reloaded"]) == ("CHANGED", True), result
    assert eventually_routed(nginx, label, domain) == label
    for check in (True, False):
        result = run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain), check=check)
        assert (result["changed"], result["reloaded"]) == (False, False), result

    result = run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain, state="absent"))
    assert (result["changed"], result["reloaded"]) == (True, True), result
    assert list(nginx.configs_dir.glob(f"{label}.*")) == []


@pytest.mark.parametrize("domain", ["", DOMAIN], ids=["path", "subdomain"])
def test_search_engines_are_told_not_to_index_a_preview(tmp_path, nginx, app_port, domain):
    label = "hello-pr-8"
    result = run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain))
    assert result["_status"] == "CHANGED", result
    assert eventually_routed(nginx, label, domain) == label
    url = f"{nginx.base_url}/" if domain else f"{nginx.base_url}/{label}/"
    request = urllib.request.Request(url, headers={"Host": f"{label}.{domain}"} if domain else {})
    # An old worker can still answer one request after the reload (without the route, so without the header):
    # judge only an answer that went through the route.
    deadline = time.monotonic() + 10
    while True:
        with pytest.raises(urllib.error.HTTPError) as answer:  # the app answers 404, and asks to be indexed
            urllib.request.urlopen(request, timeout=5)
        if answer.value.headers.get("X-Preview-Route") == label or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.value.headers.get("X-Preview-Route") == label
    assert answer.value.headers.get_all("X-Robots-Tag") == ["noindex, nofollow"]
    run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain, state="absent"))


@pytest.fixture
def running_stack(tmp_path):
    """A running container that preview_traces counts as the stack of hello-pr-7."""
    deployments = tmp_path / "deployments"
    (deployments / "hello-pr-7").mkdir(parents=True)
    name = f"preview-traces-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "com.docker.compose.project=preview-hello-pr-7",
            "--label",
            f"com.docker.compose.project.working_dir={deployments / 'hello-pr-7'}",
            "preview-base/busybox:1",
            "sleep",
            "300",
        ],
        check=True,
        capture_output=True,
    )
    yield deployments
    subprocess.run(["docker", "rm", "-f", name], check=False, capture_output=True)


@pytest.mark.parametrize("domain", ["", DOMAIN], ids=["path", "subdomain"])
def test_the_traces_show_a_route_only_when_nginx_serves_it(tmp_path, nginx, app_port, running_stack, domain):
    label = "hello-pr-7"
    traces_args = {
        "keep": [{"repo": "octo/hello", "pr": 7}],
        "db": str(tmp_path / "state.db"),
        "deployments_dir": str(running_stack),
        "nginx_configs_dir": str(nginx.configs_dir),
        "route_url": nginx.base_url,
        "domain": domain,
        "route_timeout": 5,
    }
    run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain, reload_command=["false"]))

    found = run_module(tmp_path, "preview_traces", traces_args)
    assert {"nginx", "running"} <= set(found["labels"][label]) and "routed" not in found["labels"][label]
    assert found["missing"] == [{"repo": "octo/hello", "pr": 7, "label": label, "status": ""}], found  # no record

    assert run_module(tmp_path, "nginx_site", site_args(nginx, label, app_port, domain))["reloaded"] is True
    assert eventually_routed(nginx, label, domain) == label
    found = run_module(tmp_path, "preview_traces", traces_args)
    assert "routed" in found["labels"][label]
    assert found["missing"] == [], "the app answers 404, and the route is there all the same"
    assert found["orphans"] == []


def test_the_former_names_still_work(tmp_path, nginx, app_port):
    """nginx_site takes configs_dir for nginx_configs_dir, and preview_inventory is preview_traces."""
    args = site_args(nginx, "hello-pr-7", app_port, "")
    args["configs_dir"] = args.pop("nginx_configs_dir")
    assert run_module(tmp_path, "nginx_site", args, check=True)["changed"] is True

    found = run_module(
        tmp_path,
        "preview_inventory",
        {"db": str(tmp_path / "state.db"), "deployments_dir": str(tmp_path), "nginx_configs_dir": str(tmp_path)},
    )
    assert found["_status"] == "SUCCESS" and found["orphans"] == [] and found["missing"] == [], found
