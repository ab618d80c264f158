"""The shim's config file: what it takes, what it refuses and how the refusal reads."""

from __future__ import annotations

import pytest

from shim import config as config_mod

SECRET = "s" * 32


def write_config(tmp_path, extra: str = "", repo_extra: str = "") -> str:
    path = tmp_path / "config.yml"
    path.write_text(
        f"webhook_secret: {SECRET}\nrepositories:\n  octo/hello: {{clone_url: /srv/hello{repo_extra}}}\n{extra}"
    )
    return str(path)


@pytest.mark.parametrize(
    "limits",
    ["{memory: 1.5g}", "{memory: 512M, cpus: '0.5', pids: 64}", "{cpus: 2}", "{}"],
)
def test_limits_the_compose_module_takes_are_taken(tmp_path, limits):
    config = config_mod.load(write_config(tmp_path, f"preview: {{limits: {limits}}}\n"), environ={})
    assert isinstance(config.preview["limits"], dict)
    config = config_mod.load(write_config(tmp_path, repo_extra=f", limits: {limits}"), environ={})
    assert isinstance(config.repositories["octo/hello"].limits, dict)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ("{memory: lots}", "limits.memory must be a size"),
        ("{cpus: 0}", "limits.cpus must be more than 0"),
        ("{cpus: many}", "could not convert"),
        ("{pids: -1}", "limits.pids must be more than 0"),
        ("{pids: true}", "not true or false"),
        ("{swap: 1g}", "must be a mapping of memory, cpus, pids"),
    ],
)
def test_limits_the_compose_module_refuses_are_refused_with_where(tmp_path, limits, message):
    with pytest.raises(config_mod.ConfigError, match=rf"preview\.limits.*{message}"):
        config_mod.load(write_config(tmp_path, f"preview: {{limits: {limits}}}\n"), environ={})
    with pytest.raises(config_mod.ConfigError, match=rf"repositories\.octo/hello\.limits.*{message}"):
        config_mod.load(write_config(tmp_path, repo_extra=f", limits: {limits}"), environ={})


def test_limits_that_are_not_a_mapping_are_refused(tmp_path):
    with pytest.raises(config_mod.ConfigError, match=r"preview\.limits: must be a dict"):
        config_mod.load(write_config(tmp_path, "preview: {limits: [1g]}\n"), environ={})
    with pytest.raises(config_mod.ConfigError, match=r"repositories\.octo/hello\.limits must be a mapping"):
        config_mod.load(write_config(tmp_path, repo_extra=", limits: [1g]"), environ={})
