"""shim/vocabulary.py against the role that receives its words: the argument specs' choices, and the playbook
and entry point of every run kind (the PR comment's sentence for every reason: tests/integration/roles/
test_comment_reasons.py)."""

from __future__ import annotations

import pytest
import yaml

from shim.vocabulary import RUN_KIND, DesiredState, Reason, RunKind
from tests.conftest import REPO_ROOT

ROLE = REPO_ROOT / "roles" / "preview_pr"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def test_the_reason_codes_are_the_roles_choices():
    everything = [str(reason) for reason in Reason]
    for entry_point in ("main", "deploy", "cleanup"):
        assert SPECS[entry_point]["options"]["preview_pr_reason"]["choices"] == everything, entry_point
    # The entry points run for some reasons only take those.
    for kind in (RunKind.HOLD, RunKind.REPORT):
        choices = SPECS[kind]["options"]["preview_pr_reason"]["choices"]
        assert choices == [str(reason) for reason in Reason if reason.run_kind == kind], kind
    assert DEFAULTS["preview_pr_reason"] == Reason.DEPLOY


def test_main_takes_the_states_whose_runs_it_includes():
    state = SPECS["main"]["options"]["preview_pr_state"]
    runs = {RunKind.DEPLOY, RunKind.CLEANUP}
    assert state["choices"] == [str(s) for s in DesiredState if RUN_KIND[s] in runs]
    assert state["default"] == DesiredState.PRESENT
    main = (ROLE / "tasks" / "main.yml").read_text()
    assert all(f"include_tasks: {RUN_KIND[DesiredState(s)].playbook}" in main for s in state["choices"])


def test_every_desired_state_has_its_run():
    assert set(RUN_KIND) == set(DesiredState)


@pytest.mark.parametrize("kind", list(RunKind))
def test_every_run_kind_has_its_playbook_which_enters_the_role_where_its_spec_is(kind):
    play = yaml.safe_load((REPO_ROOT / "playbooks" / kind.playbook).read_text())
    [task] = [task for task in play[0]["tasks"] if "ansible.builtin.import_role" in task]
    # `tasks_from: deploy.yml` would run the same tasks, but ansible-core looks for an entry point named
    # `deploy.yml` then, finds none, and validates nothing.
    assert task["ansible.builtin.import_role"] == {"name": "preview.envs.preview_pr", "tasks_from": str(kind)}
    assert (ROLE / "tasks" / kind.playbook).is_file()
    assert kind in SPECS


def test_the_spec_defaults_are_the_roles():
    for entry_point, spec in SPECS.items():
        for name, option in spec["options"].items():
            assert name.startswith("preview_pr_") and option.get("description"), (entry_point, name)
            if name not in DEFAULTS:
                continue
            if "default" in option:
                assert option["default"] == DEFAULTS[name], (entry_point, name)
            else:  # computed from other variables, or a value the caller must give
                assert "{{" in str(DEFAULTS[name]) or option.get("required"), (entry_point, name)
