"""The roles' argument specs, read as plain YAML: every default has a spec, and every name its role's prefix."""

from __future__ import annotations

import json

import yaml

from tests.conftest import REPO_ROOT

ROLES = REPO_ROOT / "roles"


def test_role_argument_specs_cover_every_default():
    for role in ("docker", "nginx", "shim", "preview_pr"):
        defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
        specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
        # Every entry point's options (preview_pr has one per task file the playbooks enter).
        options = {name: spec for entry in specs["argument_specs"].values() for name, spec in entry["options"].items()}
        assert all(name.startswith(f"{role}_") for name in defaults), role
        assert set(defaults) <= set(options), f"{role}: {sorted(set(defaults) - set(options))} lack a spec"
        for name, spec in options.items():
            assert name.startswith(f"{role}_") and spec.get("description"), (role, name)
        json.dumps(options)  # plain data: no YAML tags left in the specs
