from __future__ import annotations

import json

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
        ({"go.mod": "module x", "Dockerfile": "FROM x"}, "go", ""),
    ],
)
def test_detection_order(tmp_path, files, kind, compose):
    result = detect(make(tmp_path, files))
    assert (result["kind"], result["compose_file"]) == (kind, compose)


def test_configured_compose_file_wins(tmp_path):
    src = make(tmp_path, {"deploy/preview.yml": "services: {}", "compose.yaml": "services: {}"})
    assert detect(src, "deploy/preview.yml")["compose_file"] == "deploy/preview.yml"


def test_configured_compose_file_must_stay_in_the_checkout(tmp_path):
    src = make(tmp_path / "repo", {"README": "x"})
    (tmp_path / "outside.yml").write_text("services: {}")
    with pytest.raises(ValueError, match="leaves the checkout"):
        detect(src, "../outside.yml")


def test_nothing_runnable_says_what_was_looked_for(tmp_path):
    with pytest.raises(ValueError, match="nothing we can run.*compose.yaml.*@nestjs/core.*go.mod"):
        detect(make(tmp_path, {"README.md": "hi"}))


def test_broken_package_json_is_reported(tmp_path):
    with pytest.raises(ValueError, match="package.json is not valid JSON"):
        detect(make(tmp_path, {"package.json": "{"}))
