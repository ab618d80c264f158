"""A collections path with a preview.envs whose playbooks do nothing: the real shim, with real runs, and
nothing deployed (the intake benchmarks and the intake durability test)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

NOOP_PLAY = """---
# Written by tests/support/noop_collection.py: a stand-in for the collection's playbook that does nothing.
- name: Do nothing ({kind})
  hosts: "{{{{ preview_hosts | default('localhost') }}}}"
  gather_facts: false
  tasks:
    - name: Nothing to do
      ansible.builtin.meta: noop
"""

# Diagnostic only: a deploy that holds its converger slot (sleeps) for the whole load, so no other run starts.
WAIT_TASK = """
    - name: Hold the converger's slot
      ansible.builtin.wait_for:
        timeout: 300
"""


def noop_collection(root: Path, hold_slot: bool = False) -> str:
    """A collections path holding a tiny preview.envs whose playbooks are all no-ops
    (with `hold_slot`, the deploy sleeps instead: a diagnostic of bench/intake.py). The shim really runs
    them, through ansible-runner, without deploying anything."""
    coll = root / "ansible_collections" / "preview" / "envs"
    (coll / "playbooks").mkdir(parents=True, exist_ok=True)
    (coll / "galaxy.yml").write_text(
        "namespace: preview\nname: envs\nversion: 0.0.0\nauthors: [bench]\nreadme: README.md\n"
    )
    (coll / "README.md").write_text("no-op stand-in written by tests/support/noop_collection.py\n")
    kinds = {p.stem for p in (REPO_ROOT / "playbooks").glob("*.yml")} | {"deploy", "cleanup"}
    for kind in sorted(kinds):  # deploy, cleanup and whatever else the shim may run (reconcile, ...)
        play = NOOP_PLAY.format(kind=kind) + (WAIT_TASK if hold_slot and kind == "deploy" else "")
        (coll / "playbooks" / f"{kind}.yml").write_text(play)
    return str(root)
