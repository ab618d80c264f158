"""The shim's config file: what it takes, what it refuses and how the refusal reads (each names its key)."""

from __future__ import annotations

import re

import pytest

from shim import config as config_mod

SECRET = "s" * 32
ONE_REPO = "repositories:\n  octo/hello: {clone_url: /srv/hello}\n"


def write_config(tmp_path, extra: str = "", repo_extra: str = "") -> str:
    path = tmp_path / "config.yml"
    path.write_text(
        f"webhook_secret: {SECRET}\nrepositories:\n  octo/hello: {{clone_url: /srv/hello{repo_extra}}}\n{extra}"
    )
    return str(path)


def write_raw(tmp_path, text: str) -> str:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return str(path)


def refused(path: str, message: str, environ: dict | None = None) -> None:
    with pytest.raises(config_mod.ConfigError, match=re.escape(message)):
        config_mod.load(path, environ={} if environ is None else environ)


# -- what it takes ---------------------------------------------------------------------------------------------


def test_defaults(tmp_path):
    config = config_mod.load(write_config(tmp_path), environ={})
    assert (config.listen_host, config.listen_port, config.concurrency) == ("127.0.0.1", 3000, 2)
    assert (config.github_token, config.github_api_url) == ("", "https://api.github.com")
    assert (config.github_webhook_url, config.redeliver_interval) == ("", 300.0)
    assert (config.ttl_hours, config.reconcile_interval, config.history_days) == (72.0, 300.0, 30.0)
    assert (config.run_nice, config.run_timeout, config.health_min_free_mb) == (10, 1800, 100)
    assert (config.preview, config.policy.forks) == ({}, "label")
    repo = config.repository("octo/hello")
    assert (repo.slug, repo.health_path, repo.compose_allow, repo.limits) == ("hello", "/health", (), {})


def test_keys(tmp_path):
    config = config_mod.load(
        write_config(
            tmp_path, "github: {webhook_url: 'https://preview.example.com/webhook/github'}\nredeliver_interval: 1\n"
        ),
        environ={},
    )
    assert (config.github_webhook_url, config.redeliver_interval) == ("https://preview.example.com/webhook/github", 1)


def test_the_environment_overrides_the_file(tmp_path):
    path = write_raw(
        tmp_path,
        "webhook_secret: from-the-file-0123456789\ngithub: {token: file-token, api_url: http://file}\n"
        f"listen: {{port: 3100}}\n{ONE_REPO}",
    )
    environ = {
        "PREVIEW_WEBHOOK_SECRET": SECRET,
        "GITHUB_TOKEN": "env-token",
        "GITHUB_API_URL": "http://env",
        "PREVIEW_LISTEN_PORT": "3200",
    }
    config = config_mod.load(path, environ=environ)
    assert (config.webhook_secret, config.github_token, config.github_api_url) == (SECRET, "env-token", "http://env")
    assert config.listen_port == 3200
    assert config_mod.load(path, environ={}).listen_port == 3100


def test_the_file_comes_from_preview_config(tmp_path):
    assert config_mod.load(environ={"PREVIEW_CONFIG": write_config(tmp_path)}).repository("octo/hello")


def test_repositories_are_found_whatever_the_case_and_slugs_can_be_set(tmp_path):
    path = write_raw(
        tmp_path,
        f"webhook_secret: {SECRET}\nrepositories:\n  Octo/Hello.JS: {{clone_url: /srv/a}}\n"
        "  other/hello.js: {clone_url: /srv/b, slug: other-hello}\n",
    )
    config = config_mod.load(path, environ={})
    assert config.repository("octo/hello.js").slug == "hello-js"
    assert config.repository("OCTO/HELLO.JS").full_name == "Octo/Hello.JS"
    assert config.repository("Other/Hello.js").slug == "other-hello"
    assert config.repository("octo/absent") is None


def test_fork_previews_on_shared_origin_are_warned_about(tmp_path):
    assert config_mod.load(write_config(tmp_path, "policy: {forks: deny}\n"), environ={}).warnings() == []
    [warning] = config_mod.load(write_config(tmp_path, "policy: {forks: allow}\n"), environ={}).warnings()
    assert "preview.domain" in warning
    with_domain = "policy: {forks: label}\npreview: {domain: preview.example.com}\n"
    assert config_mod.load(write_config(tmp_path, with_domain), environ={}).warnings() == []


# -- what it refuses, naming the key ---------------------------------------------------------------------------


def test_a_missing_file_is_named_with_where_to_set_it(tmp_path):
    refused(str(tmp_path / "absent.yml"), f"config file not found: {tmp_path / 'absent.yml'} (set PREVIEW_CONFIG")


@pytest.mark.parametrize(
    ("text", "message"),
    [("webhook_secret: [unclosed\n", "is not valid YAML"), ("- a list\n", "must hold a mapping")],
)
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text, message):
    path = write_raw(tmp_path, text)
    refused(path, f"config file {path} {message}")


@pytest.mark.parametrize("secret", ["", "fifteen-chars-x"])
def test_webhook_secret_needs_16_characters(tmp_path, secret):
    path = write_raw(tmp_path, f"webhook_secret: '{secret}'\n{ONE_REPO}")
    message = "webhook_secret (or PREVIEW_WEBHOOK_SECRET) must be set, at least 16 characters"
    refused(path, message)
    refused(write_raw(tmp_path, ONE_REPO), message, environ={"PREVIEW_WEBHOOK_SECRET": secret})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("listen: {port: http}\n", "listen.port"),
        ("concurrency: two\n", "concurrency"),
        ("max_body_bytes: [1]\n", "max_body_bytes"),
        ("concurrency: 0\n", "concurrency must be at least 1"),
    ],
)
def test_integers(tmp_path, extra, message):
    refused(write_config(tmp_path, extra), message)


def test_listen_port_from_the_environment_must_be_an_integer(tmp_path):
    refused(write_config(tmp_path), "listen.port", environ={"PREVIEW_LISTEN_PORT": "3000a"})


@pytest.mark.parametrize(
    ("repositories", "message"),
    [
        ("", "repositories: give at least one 'owner/name' with its clone_url"),
        ("repositories: {}\n", "repositories: give at least one 'owner/name' with its clone_url"),
        ("repositories: [octo/hello]\n", "repositories: give at least one 'owner/name' with its clone_url"),
        ("repositories: {hello: {clone_url: /srv/hello}}\n", "repositories: 'hello' is not an owner/name"),
        ("repositories: {octo/hello: }\n", "repositories.octo/hello: clone_url is required"),
        ("repositories: {octo/hello: /srv/hello}\n", "repositories.octo/hello: clone_url is required"),
        (
            "repositories: {octo/hello: {clone_url: /srv/hello, slug: Hello_World}}\n",
            "repositories.octo/hello: slug 'Hello_World' must be lowercase letters, digits, dashes",
        ),
        (
            "repositories: {octo/hello: {clone_url: /srv/a}, other/Hello: {clone_url: /srv/b}}\n",
            "repositories.other/Hello: slug 'hello' is already used by octo/hello; set slug:",
        ),
        (
            "repositories: {octo/hello: {clone_url: /srv/hello, health_path: health}}\n",
            "repositories.octo/hello: health_path must be an absolute URL path",
        ),
        (
            "repositories: {octo/hello: {clone_url: /srv/hello, health_path: '/a b'}}\n",
            "repositories.octo/hello: health_path must be an absolute URL path",
        ),
        (
            "repositories: {octo/hello: {clone_url: /srv/hello, branch: main}}\n",
            "repositories.octo/hello: unknown keys ['branch']",
        ),
    ],
)
def test_repositories(tmp_path, repositories, message):
    refused(write_raw(tmp_path, f"webhook_secret: {SECRET}\n{repositories}"), message)


def test_compose_allow_names_known_checks_only(tmp_path):
    config = config_mod.load(write_config(tmp_path, repo_extra=", compose_allow: [privileged]"), environ={})
    assert config.repository("octo/hello").compose_allow == ("privileged",)
    where = "repositories.octo/hello.compose_allow"
    refused(write_config(tmp_path, repo_extra=", compose_allow: [privileged, no_such_check]"), where)
    refused(write_config(tmp_path, repo_extra=", compose_allow: [no_such_check]"), f"{where}: unknown checks")
    refused(write_config(tmp_path, repo_extra=", compose_allow: privileged"), f"{where} must be a list")


def test_the_routed_service_and_port_are_optional(tmp_path):
    plain = config_mod.load(write_config(tmp_path), environ={}).repository("octo/hello")
    assert (plain.service, plain.port) == ("", 0)
    routed = config_mod.load(write_config(tmp_path, repo_extra=", service: web, port: 3000"), environ={})
    assert (routed.repository("octo/hello").service, routed.repository("octo/hello").port) == ("web", 3000)
    # As the README's configuration block and the role's defaults spell "unset".
    unset = config_mod.load(write_config(tmp_path, repo_extra=", service: '', port: 0"), environ={})
    assert (unset.repository("octo/hello").service, unset.repository("octo/hello").port) == ("", 0)


@pytest.mark.parametrize(
    ("repo_extra", "message"),
    [
        (", service: 'web app'", "repositories.octo/hello.service must be a compose service name"),
        (", service: [web]", "repositories.octo/hello.service must be a compose service name"),
        (", service: 3", "repositories.octo/hello.service must be a compose service name"),
        (", port: -1", "repositories.octo/hello.port must be a port number from 1 to 65535, got -1"),
        (", port: false", "repositories.octo/hello.port must be a port number from 1 to 65535, got False"),
        (", port: 70000", "repositories.octo/hello.port must be a port number from 1 to 65535"),
        (", port: '3000'", "repositories.octo/hello.port must be a port number from 1 to 65535"),
        (", port: true", "repositories.octo/hello.port must be a port number from 1 to 65535"),
    ],
)
def test_the_routed_service_and_port_are_checked(tmp_path, repo_extra, message):
    refused(write_config(tmp_path, repo_extra=repo_extra), message)


def test_the_dockerfile_is_optional(tmp_path):
    assert config_mod.load(write_config(tmp_path), environ={}).repository("octo/hello").dockerfile == ""
    configured = config_mod.load(write_config(tmp_path, repo_extra=", dockerfile: docker/web.Dockerfile"), environ={})
    assert configured.repository("octo/hello").dockerfile == "docker/web.Dockerfile"
    unset = config_mod.load(write_config(tmp_path, repo_extra=", dockerfile: ''"), environ={})
    assert unset.repository("octo/hello").dockerfile == ""


def test_a_private_repository_needs_https_and_a_token(tmp_path):
    assert config_mod.load(write_config(tmp_path), environ={}).repository("octo/hello").private is False
    https = "repositories:\n  octo/hello: {clone_url: 'https://github.com/octo/hello.git', private: true}\n"
    path = write_raw(tmp_path, f"webhook_secret: {SECRET}\n{https}")
    assert config_mod.load(path, environ={"GITHUB_TOKEN": "t"}).repository("octo/hello").private is True
    refused(path, "repositories octo/hello are private: set github.token (or GITHUB_TOKEN)")
    refused(write_config(tmp_path, repo_extra=", private: true"), "its clone_url must start with https://")
    refused(write_config(tmp_path, repo_extra=", private: 'yes'"), "repositories.octo/hello.private must be true or")


@pytest.mark.parametrize(
    "value",
    ["/etc/Dockerfile", "../other/Dockerfile", "docker/../../Dockerfile", "'{{ x }}'", "'a b'", "[Dockerfile]", "3"],
)
def test_the_dockerfile_stays_in_the_repository(tmp_path, value):
    message = "repositories.octo/hello.dockerfile must be a relative path inside the repository"
    refused(write_config(tmp_path, repo_extra=f", dockerfile: {value}"), message)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("preview: [domain]\n", "preview: must be a mapping of role settings"),
        ("preview: {no_such_setting: 1}\n", "preview.no_such_setting: unknown setting (known: "),
        ("preview: {port_range: 8100-8199}\n", "preview.port_range: must be a list"),
        ("preview: {health_timeout: soon}\n", "preview.health_timeout: must be a int"),
    ],
)
def test_preview_settings(tmp_path, extra, message):
    refused(write_config(tmp_path, extra), message)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("policy: deny\n", "policy: must be a mapping"),
        ("policy: {fork: deny}\n", "policy: unknown keys ['fork']"),
        ("policy: {forks: sometimes}\n", "policy.forks must be deny, label or allow"),
        ("policy: {approve_label: 'ok; rm -rf'}\n", "policy.approve_label must be a label name"),
        ("policy: {require_label: [a]}\n", "policy.require_label must be a label name"),
        ("policy: {pin_label: '<b>'}\n", "policy.pin_label must be a label name"),
        ("policy: {trusted_authors: octocat}\n", "policy.trusted_authors must be a list of GitHub logins"),
    ],
)
def test_policy(tmp_path, extra, message):
    refused(write_config(tmp_path, extra), message)


@pytest.mark.parametrize("value", ["-1", "20", "true", "low", "1.5"])
def test_run_nice_is_a_whole_number_from_0_to_19(tmp_path, value):
    refused(write_config(tmp_path, f"run_nice: {value}\n"), "run_nice must be a whole number from 0")


@pytest.mark.parametrize(
    "key", ["ttl_hours", "reconcile_interval", "redeliver_interval", "run_timeout", "health_min_free_mb"]
)
@pytest.mark.parametrize(("value", "message"), [("0", "must be greater than 0"), ("soon", "must be a number")])
def test_durations_and_sizes_are_positive_numbers(tmp_path, key, value, message):
    refused(write_config(tmp_path, f"{key}: {value}\n"), f"{key} {message}")


@pytest.mark.parametrize(
    ("extra", "days", "error"),
    [
        ("", 30.0, None),
        ("history_days: 90\n", 90.0, None),
        ("history_days: 3\n", None, "history_days must be at least 8"),
        ("history_days: forever\n", None, "history_days must be a number"),
    ],
)
def test_history_days_outlives_githubs_redelivery_window(tmp_path, extra, days, error):
    if error:
        refused(write_config(tmp_path, extra), error)
    else:
        assert config_mod.load(write_config(tmp_path, extra), environ={}).history_days == days


@pytest.mark.parametrize(
    "extra",
    ["github: {webhook_url: 'ftp://x/webhook/github'}\n", "github: {webhook_url: 5}\n"],
)
def test_github_webhook_url_is_an_http_url(tmp_path, extra):
    refused(write_config(tmp_path, extra), "github.webhook_url must be an http:// or https:// URL")


# -- resource limits -------------------------------------------------------------------------------------------


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


def test_github_deployments_are_on_unless_a_repository_turns_them_off(tmp_path):
    assert config_mod.load(write_config(tmp_path), environ={}).repository("octo/hello").github_deployments is True
    off = config_mod.load(write_config(tmp_path, repo_extra=", github_deployments: false"), environ={})
    assert off.repository("octo/hello").github_deployments is False
    refused(write_config(tmp_path, repo_extra=", github_deployments: 1"), "github_deployments must be true or false")


def test_repository_variables_and_secrets_are_checked_at_start(tmp_path):
    key = tmp_path / "api-key"
    key.write_text("s3cret\n")
    key.chmod(0o600)
    loaded = config_mod.load(
        write_config(tmp_path, repo_extra=f", env: {{A: x, B: 2, C: true}}, secrets: {{KEY: '{key}'}}"), environ={}
    ).repository("octo/hello")
    assert loaded.env == {"A": "x", "B": "2", "C": "true"} and loaded.secrets == {"KEY": str(key)}
    assert loaded.secrets_for_forks is False and "s3cret" not in repr(loaded)
    refused(write_config(tmp_path, repo_extra=", env: {PREVIEW_URL: x}"), "PREVIEW_ variables are set by preview")
    refused(write_config(tmp_path, repo_extra=", env: {PATH: x}"), "compose or the docker CLI reads for itself")
    refused(write_config(tmp_path, repo_extra=", env: {A: [1]}"), "env must map variable names to plain values")
    refused(write_config(tmp_path, repo_extra=", secrets: {KEY: relative}"), "absolute paths of files")
    refused(write_config(tmp_path, repo_extra=f", secrets: {{KEY: '{tmp_path}/none'}}"), "cannot read")
    key.chmod(0o644)
    refused(write_config(tmp_path, repo_extra=f", secrets: {{KEY: '{key}'}}"), "lets others read or write it")
    refused(write_config(tmp_path, repo_extra=", secrets_for_forks: 1"), "secrets_for_forks must be true or false")


def test_the_status_page_url_ends_with_a_slash_and_must_be_http(tmp_path):
    good = write_raw(
        tmp_path,
        f"webhook_secret: {SECRET}\nrepositories: {{octo/hello: {{clone_url: x}}}}\n"
        "status_page: {url: 'https://h.example.com/_previews'}\n",
    )
    assert config_mod.load(good, environ={}).status_url == "https://h.example.com/_previews/"
    bad = write_raw(
        tmp_path,
        f"webhook_secret: {SECRET}\nrepositories: {{octo/hello: {{clone_url: x}}}}\nstatus_page: {{url: 'ftp://h'}}\n",
    )
    refused(bad, "status_page.url must be an http:// or https:// URL")
