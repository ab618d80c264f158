"""The naming rules of _naming.py are the ones every reader of a name applies: the modules that take a label or
find one in a file name, the filters, the PR comment, the shim's configuration and the nginx role's base site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.preview.envs.plugins.module_utils import _naming, _pr_comment
from ansible_collections.preview.envs.plugins.modules import nginx_site, preview_traces
from shim import config as shim_config

ROOT = Path(__file__).resolve().parents[4]
LONGEST_SLUG = "a" * (_naming.MAX_SLUG - 1) + "z"
LONGEST = _naming.label(LONGEST_SLUG, _naming.MAX_PR - 1)
# Names that look like labels but that label() never makes.
NOT_LABELS = [
    "a" + LONGEST,  # slug one character too long
    "app-pr-05",  # a PR number label() would write as 5
    "app-pr-0",
    "app-pr-1000000000",  # PR number out of range
    "-app-pr-5",
    "app-pr-5-",
    "App-pr-5",
    "app-pr-5\n",
]


def test_the_longest_label_is_a_dns_label():
    assert len(LONGEST) <= 63
    assert _naming.is_label(LONGEST)


@pytest.mark.parametrize("name", NOT_LABELS)
def test_a_label_is_only_what_label_makes(name):
    assert not _naming.is_label(name)
    with pytest.raises(_naming.NamingError):
        _naming.label_project(name)


def run_nginx_site(args, capsys, tmp_path):
    """nginx_site in check mode: it checks the label, renders, and compares with the files, writing nothing."""
    module_args = {"port": 8005, "nginx_configs_dir": str(tmp_path), "_ansible_check_mode": True, **args}
    with patch_module_args(module_args), pytest.raises(SystemExit) as exited:
        nginx_site.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_nginx_site_takes_every_label_label_makes(capsys, tmp_path):
    code, result = run_nginx_site({"label": LONGEST}, capsys, tmp_path)

    assert (code, result["changed"]) == (0, True), result
    assert result["path"] == str(tmp_path / _naming.nginx_file(LONGEST))


@pytest.mark.parametrize("name", NOT_LABELS)
def test_nginx_site_refuses_every_other_label(capsys, tmp_path, name):
    code, result = run_nginx_site({"label": name}, capsys, tmp_path)

    assert code == 1 and "not a preview label" in result["msg"], result
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("domain", ["", "preview.example.com"])
def test_nginx_site_writes_the_file_naming_names(domain):
    name, dummy = nginx_site.render(LONGEST, 8005, domain, 80)
    assert name == _naming.nginx_file(LONGEST, domain)
    assert _naming.nginx_file_label(name) == LONGEST


def test_preview_traces_counts_exactly_the_labels_label_makes(tmp_path):
    configs, work = tmp_path / "nginx", tmp_path / "work"
    for directory in (configs, work):
        directory.mkdir()
    for name in [LONGEST, *NOT_LABELS[:-1]]:
        (work / name).mkdir()
        for suffix in _naming.NGINX_SUFFIXES:
            (configs / f"{name}{suffix}").write_text("")
    (configs / f"{LONGEST}.loaded").write_text("")
    records = [{"label": LONGEST}, {"label": NOT_LABELS[0]}]

    found = preview_traces.local_traces(records, str(configs), str(work))

    assert found == {LONGEST: {"record", "nginx", "work_dir"}}


def test_preview_traces_reads_the_project_naming_makes():
    assert _naming.project_label(_naming.project_name(LONGEST_SLUG, _naming.MAX_PR - 1)) == LONGEST
    assert _naming.project_label(_naming.PROJECT_PREFIX + NOT_LABELS[0]) is None
    assert _naming.project_label("other-" + LONGEST) is None


def test_the_filters_are_the_naming_functions():
    # In a process of its own: importing a controller plugin sets ansible up as a controller, after which the
    # modules run in this process report their warnings elsewhere (tests/unit/plugins/modules rely on them).
    script = (
        "from ansible_collections.preview.envs.plugins.filter.naming import FilterModule\n"
        "from ansible_collections.preview.envs.plugins.module_utils import _naming\n"
        "filters = FilterModule().filters()\n"
        f"slug, name = {LONGEST_SLUG!r}, {LONGEST!r}\n"
        "assert filters['preview_label'](slug, 7) == _naming.label(slug, 7)\n"
        "assert filters['preview_project'](slug, 7) == _naming.project_name(slug, 7)\n"
        "assert filters['preview_label_project'](name) == _naming.label_project(name)\n"
        "assert filters['preview_slug']('octo/Hello.World') == _naming.default_slug('octo/Hello.World')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("repo", ["octo/app", "Codertocat/Hello-World", "o/a..b", "my_org/app", "o/x\n", "o/"])
def test_the_pr_comment_takes_the_repositories_naming_takes(repo):
    params = {"repo": repo, "pr": 1, "marker": "m", "timeout": 1, "retries": 0, "state": "absent"}
    accepted = _pr_comment.check_params(params) is None
    assert accepted == bool(_naming.REPO_RE.match(repo))


def test_the_shims_configuration_applies_the_naming_rules(tmp_path):
    long_name = "octo/" + "Very.Long_Name-" * 4
    path = tmp_path / "config.yml"
    path.write_text(f"webhook_secret: {'s' * 16}\nrepositories:\n  {long_name}: {{clone_url: /srv/x}}\n")
    config = shim_config.load(str(path), environ={})
    assert config.repository(long_name).slug == _naming.default_slug(long_name)

    path.write_text(
        f"webhook_secret: {'s' * 16}\nrepositories:\n  octo/x: {{clone_url: /srv/x, slug: a{LONGEST_SLUG}}}\n"
    )
    with pytest.raises(shim_config.ConfigError, match="slug"):
        shim_config.load(str(path), environ={})

    path.write_text(f"webhook_secret: {'s' * 16}\nrepositories:\n  my_org/x: {{clone_url: /srv/x}}\n")
    with pytest.raises(shim_config.ConfigError, match="not an owner/name"):
        shim_config.load(str(path), environ={})


@pytest.mark.parametrize("path", ["roles/nginx/templates/preview-base.conf.j2", "roles/nginx/files/preview-base.conf"])
def test_the_base_site_includes_the_files_nginx_site_writes(path):
    text = (ROOT / path).read_text()
    for suffix in _naming.NGINX_SUFFIXES:
        assert f"/*{suffix};" in text
