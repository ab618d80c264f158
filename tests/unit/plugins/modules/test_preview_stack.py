from __future__ import annotations

import json
import re

import pytest

from ansible_collections.preview.envs.plugins.module_utils._stack import detect


def make(tmp_path, files: dict):
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    return str(tmp_path)


@pytest.mark.parametrize(
    ("files", "kind", "compose"),
    [
        ({"compose.yaml": "services: {}", "go.mod": "module x"}, "compose", "compose.yaml"),
        ({"docker-compose.yml": "services: {}"}, "compose", "docker-compose.yml"),
        ({"package.json": json.dumps({"dependencies": {"@nestjs/core": "^10"}})}, "nestjs", ""),
        ({"package.json": json.dumps({"dependencies": {"express": "4"}}), "go.mod": "module x"}, "go", ""),
        # The repository's own Dockerfile wins over a generated stack, and its compose file over both.
        ({"go.mod": "module x", "Dockerfile": "FROM x\nEXPOSE 8080"}, "dockerfile", ""),
        (
            {"package.json": json.dumps({"dependencies": {"@nestjs/core": "^10"}}), "Dockerfile": "FROM x\nEXPOSE 1"},
            "dockerfile",
            "",
        ),
        ({"compose.yml": "services: {}", "Dockerfile": "FROM x\nEXPOSE 8080"}, "compose", "compose.yml"),
    ],
)
def test_detection_order(tmp_path, files, kind, compose):
    result = detect(make(tmp_path, files))
    assert (result["kind"], result["compose_file"]) == (kind, compose)


def test_a_dockerfile_alone_runs_on_the_port_it_exposes(tmp_path):
    src = make(tmp_path, {"Dockerfile": "FROM base\nEXPOSE 3000/tcp 9229\n"})
    assert detect(src) == dict(
        kind="dockerfile", compose_file="", dockerfile="Dockerfile", port=3000, has_dockerfile=True
    )
    # The configured port wins over EXPOSE.
    assert detect(src, port=8080)["port"] == 8080


def test_a_configured_dockerfile_wins_over_the_root_one_but_not_over_a_compose_file(tmp_path):
    src = make(tmp_path, {"Dockerfile": "FROM base\nEXPOSE 1\n", "docker/web.Dockerfile": "FROM base\nEXPOSE 5000\n"})
    result = detect(src, dockerfile="docker/web.Dockerfile")
    assert (result["kind"], result["dockerfile"], result["port"]) == ("dockerfile", "docker/web.Dockerfile", 5000)
    (tmp_path / "compose.yaml").write_text("services: {}")
    assert detect(src, dockerfile="docker/web.Dockerfile")["kind"] == "compose"


def test_without_a_port_the_failure_names_the_setting(tmp_path):
    src = make(tmp_path, {"Dockerfile": "FROM base\nARG PORT=80\nEXPOSE $PORT\n"})
    message = (
        "the port the preview routes to is unknown: Dockerfile does not tell it (EXPOSE $PORT (line 3) is set "
        "at build time); set repositories.<owner/name>.port in the preview server's configuration"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        detect(src)


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("/etc/Dockerfile", "dockerfile must be a relative path inside the repository"),
        ("../outside/Dockerfile", "dockerfile must be a relative path inside the repository"),
        ("docker/../Dockerfile", "dockerfile must be a relative path inside the repository"),
        ("docker/{{ lookup('env', 'HOME') }}", "dockerfile must be a relative path inside the repository"),
        ("link/Dockerfile", "dockerfile leaves the checkout: link/Dockerfile"),
        ("escape.Dockerfile", "dockerfile leaves the checkout: escape.Dockerfile"),
        ("docker/missing.Dockerfile", "the configured Dockerfile docker/missing.Dockerfile is not in the repository"),
    ],
)
def test_a_configured_dockerfile_must_stay_in_the_checkout(tmp_path, dockerfile, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM base\nEXPOSE 80\n")
    src = make(tmp_path / "repo", {"README": "x"})
    (tmp_path / "repo" / "link").symlink_to(outside)
    (tmp_path / "repo" / "escape.Dockerfile").symlink_to(outside / "Dockerfile")
    with pytest.raises(ValueError, match=re.escape(message)):
        detect(src, dockerfile=dockerfile)


def test_a_root_dockerfile_linked_out_of_the_checkout_is_refused(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\nEXPOSE 80\n")
    src = make(tmp_path / "repo", {"README": "x"})
    (tmp_path / "repo" / "Dockerfile").symlink_to(tmp_path / "Dockerfile")
    with pytest.raises(ValueError, match="Dockerfile leaves the checkout: Dockerfile"):
        detect(src)


def test_configured_compose_file_wins(tmp_path):
    src = make(tmp_path, {"deploy/preview.yml": "services: {}", "compose.yaml": "services: {}"})
    assert detect(src, "deploy/preview.yml")["compose_file"] == "deploy/preview.yml"


def test_configured_compose_file_must_stay_in_the_checkout(tmp_path):
    src = make(tmp_path / "repo", {"README": "x"})
    (tmp_path / "outside.yml").write_text("services: {}")
    with pytest.raises(ValueError, match="leaves the checkout"):
        detect(src, "../outside.yml")


def test_nothing_runnable_says_what_was_looked_for(tmp_path):
    with pytest.raises(ValueError, match="nothing we can run.*compose.yaml.*Dockerfile.*@nestjs/core.*go.mod"):
        detect(make(tmp_path, {"README.md": "hi"}))


def test_broken_package_json_is_reported(tmp_path):
    with pytest.raises(ValueError, match="package.json is not valid JSON"):
        detect(make(tmp_path, {"package.json": "{"}))
