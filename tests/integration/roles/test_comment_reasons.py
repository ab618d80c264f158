"""The PR comment, rendered by Ansible as each run renders it: a sentence of its own for every reason code of
shim/vocabulary.py."""

from __future__ import annotations

import itertools

import yaml

from shim.vocabulary import Reason, RunKind
from tests.integration.roles.test_templates import ROLES, run_play

ROLE = ROLES / "preview_pr"
SHA = "0123456789abcdef0123456789abcdef01234567"

# The comment a run of each kind posts first: the phase its task file renders the template in.
PHASE = {RunKind.DEPLOY: "building", RunKind.CLEANUP: "removed", RunKind.HOLD: "held", RunKind.REPORT: "failed"}

# What the comment says for each reason, in a sentence no other reason gets.
SAYS = {
    Reason.DEPLOY: "**Preview building** for commit `0123456`.",
    Reason.MISSING: "its containers or its route had gone from the host",
    Reason.CLOSED: "the pull request was closed",
    Reason.UNLABELED: "no longer carries the label this server deploys",
    Reason.TTL: "idle longer than the time-to-live",
    Reason.FORK_NEEDS_APPROVAL: "add the label `preview-approved` to deploy commit `0123456`",
    Reason.FORK_DENIED: "pull requests from forks are not deployed",
    Reason.DEADLINE: "the run took longer than 1800 s and was ended",
    Reason.REDEPLOY: "again for commit `0123456`, as asked with `/preview redeploy`",
    Reason.DESTROYED: "as asked with `/preview destroy`",
}


def _deadline_failure() -> dict:
    """The failure report.yml sets for its comment (its text still a template: the play renders it)."""
    tasks = yaml.safe_load((ROLE / "tasks" / "report.yml").read_text())
    [facts] = [task["ansible.builtin.set_fact"] for task in tasks if "ansible.builtin.set_fact" in task]
    return facts["preview_pr_failure"]


def _render_task(reason: Reason, dest) -> dict:
    kind = reason.run_kind
    assert f"'preview_pr_phase': '{PHASE[kind]}'" in (ROLE / "tasks" / kind.playbook).read_text(), kind
    template = ROLE / "templates" / "comment.md.j2"
    values = {"preview_pr_phase": PHASE[kind], "preview_pr_reason": str(reason)}
    if kind == RunKind.REPORT:
        values["preview_pr_failure"] = _deadline_failure()
    return {
        "name": f"Render the comment for {reason}",
        "ansible.builtin.copy": {
            "content": f"{{{{ lookup('ansible.builtin.template', '{template}') }}}}",
            "dest": str(dest),
            "mode": "0644",
        },
        "vars": values,
    }


def test_the_comment_words_every_reason(tmp_path):
    assert set(SAYS) == set(Reason)
    tasks = [_render_task(reason, tmp_path / f"{reason}.md") for reason in Reason]

    result = run_play(tmp_path, "preview_pr", tasks, {"preview_pr_sha": SHA}, name="comments")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    comments = {reason: (tmp_path / f"{reason}.md").read_text() for reason in Reason}
    for reason, text in comments.items():
        assert SAYS[reason] in text, (reason, text)
    for (one, text), (other, other_text) in itertools.combinations(comments.items(), 2):
        assert text != other_text, (one, other)
        assert SAYS[one] not in other_text, (one, other)
