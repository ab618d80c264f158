"""Service variables of compose_project: names, secret files, and the override lines (pure logic)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.preview.envs.plugins.module_utils._compose import (
    check_environment_names,
    environment_lines,
    read_secret,
)


def test_environment_lines_set_plain_values_and_name_secrets_without_one():
    [line] = environment_lines({"B": "2", "A": "x: y"}, ["TOKEN"])
    assert yaml.safe_load(line) == {"environment": {"A": "x: y", "B": "2", "TOKEN": None}}
    assert environment_lines({}, []) == []


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["1ABC"], "is not a variable name"),
        (["A-B"], "is not a variable name"),
        (["PATH"], "compose or the docker CLI reads for itself"),
        (["DOCKER_HOST"], "compose or the docker CLI reads for itself"),
        (["COMPOSE_FILE"], "compose or the docker CLI reads for itself"),
        (["A", "A"], "both as a plain and as a secret variable"),
    ],
)
def test_names_compose_would_misread_are_refused(names, message):
    with pytest.raises(ValueError, match=message):
        check_environment_names(names)


def test_good_names_pass():
    check_environment_names(["API_KEY", "_X", "db_url2"])


def secret(tmp_path, content: bytes, mode: int = 0o600):
    path = tmp_path / "secret"
    path.write_bytes(content)
    path.chmod(mode)
    return str(path)


def test_a_secret_file_loses_one_trailing_newline(tmp_path):
    assert read_secret(secret(tmp_path, b"value\n")) == "value"
    assert read_secret(secret(tmp_path, b"two lines\nkept\n\n")) == "two lines\nkept\n"


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"v", 0o640, "mode 0640 lets others read or write it"),
        (b"v", 0o602, "mode 0602"),
        (b"\xff\xfe", 0o600, "not UTF-8 text"),
        (b"a\0b", 0o600, "NUL"),
        (b"x" * (64 * 1024 + 1), 0o600, "larger than"),
    ],
)
def test_an_unsafe_secret_file_is_refused(tmp_path, content, mode, message):
    with pytest.raises(ValueError, match=message):
        read_secret(secret(tmp_path, content, mode))


def test_a_symlink_or_a_directory_is_no_secret_file(tmp_path):
    target = secret(tmp_path, b"v")
    os.symlink(target, tmp_path / "link")
    with pytest.raises(OSError):
        read_secret(str(tmp_path / "link"))
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises((OSError, ValueError)):
        read_secret(str(tmp_path / "dir"))
