"""The failure comment, rendered by Ansible: what a PR's build output and app logs cannot do to it."""

from __future__ import annotations

import re

from tests.integration.roles.test_templates import ROLES, run_play

SHA = "0123456789abcdef0123456789abcdef01234567"


def render_failed(tmp_path, reason: str, logs: str) -> str:
    out = tmp_path / "comment.md"
    template = ROLES / "preview_pr" / "templates" / "comment.md.j2"
    task = {
        "name": "Render the failure comment",
        "ansible.builtin.copy": {
            "content": f"{{{{ lookup('ansible.builtin.template', '{template}', "
            "template_vars={'preview_pr_phase': 'failed'}) }}",
            "dest": str(out),
            "mode": "0644",
        },
    }
    failure = {"step": "Build and start the stack", "reason": reason, "logs": logs}
    overrides = {"preview_pr_sha": SHA, "preview_pr_failure": failure}
    result = run_play(tmp_path, "preview_pr", [task], overrides, name="comment")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out.read_text()


def code_blocks(text: str) -> list[str]:
    """The contents of the backtick-fenced code blocks of ``text``, closed as CommonMark closes them."""
    blocks, current, fence = [], [], 0
    for line in text.split("\n"):
        if not fence:
            opening = re.fullmatch(r" {0,3}(`{3,})[^`]*", line)
            if opening:
                fence, current = len(opening.group(1)), []
        elif re.fullmatch(rf" {{0,3}}`{{{fence},}}[ \t]*", line):
            blocks.append("\n".join(current))
            fence = 0
        else:
            current.append(line)
    assert not fence, f"a code block is never closed:\n{text}"
    return blocks


def test_reason_and_logs_stay_inside_their_code_blocks(tmp_path):
    reason = "compose up failed: ```\n</details>\n# Approved by security ![x](https://tracker.example/p.gif)"
    logs = "step 1\n````\n<img src=https://tracker.example/q.gif>\n```` \nlast line"

    text = render_failed(tmp_path, reason, logs)

    assert code_blocks(text) == [reason, logs], text
    outside = re.sub(r"(?ms)^(`{3,}).*?^\1$", "", text)
    assert "tracker.example" not in outside and "Approved" not in outside, outside
    assert outside.count("</details>") == 1
