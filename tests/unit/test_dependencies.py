"""pyproject.toml declares what the code imports (and the tools scripts/ runs), and constraints.txt pins
exactly what pyproject.toml declares."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import pytest

from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
# Our own top-level names: the packages, the collection (linked as ansible_collections.preview.envs), and
# bench's helper module, which bench's scripts import as a sibling.
FIRST_PARTY = {"shim", "cli", "tests", "bench", "ansible_collections", "_common"}
# Declared and never imported, because a script runs them as programs.
TOOLS = {
    "ruff": "scripts/test",
    "ansible-lint": "scripts/test",
    "molecule": "tests/e2e/test_molecule.py",
    "molecule-plugins": "molecule's docker driver",
    "ansible": "community.docker for molecule's docker driver",
    "build": "tests/integration/test_packaging.py",
    "ansible-builder": "tests/integration/test_packaging.py",
}
# Where the code lives, and which declared groups it may import from.
SOURCES = {
    "shim": ("runtime",),
    "cli": ("runtime",),
    "plugins": ("runtime",),
    "bench": ("runtime", "test"),
    "tests": ("runtime", "test"),
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalize(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def declared() -> dict[str, set[str]]:
    groups = {"runtime": PYPROJECT["project"]["dependencies"], **PYPROJECT["project"]["optional-dependencies"]}
    return {group: {requirement_name(item) for item in items} for group, items in groups.items()}


def third_party_imports(top: str) -> dict[str, set[str]]:
    """Top-level names imported by the Python files under `top` that are neither stdlib nor ours: name -> files."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / top).rglob("*.py")):
        if path.is_relative_to(REPO_ROOT / "tests" / "output"):  # ansible-test's work tree
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                if root not in sys.stdlib_module_names and root not in FIRST_PARTY:
                    found.setdefault(root, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def distribution(module: str) -> str:
    owners = importlib.metadata.packages_distributions().get(module)
    assert owners, f"no installed distribution provides the module {module!r}"
    return normalize(owners[0])


@pytest.mark.parametrize("top", sorted(SOURCES))
def test_every_import_is_declared(top):
    groups = declared()
    allowed = set().union(*(groups[group] for group in SOURCES[top]))
    missing = {
        f"{module} ({distribution(module)}): {', '.join(sorted(files))}"
        for module, files in third_party_imports(top).items()
        if distribution(module) not in allowed
    }
    assert not missing, f"imported under {top}/ but not declared in {SOURCES[top]}: {sorted(missing)}"


def test_every_declared_dependency_is_imported_or_a_tool():
    imported = {distribution(module) for top in SOURCES for module in third_party_imports(top)}
    unused = set().union(*declared().values()) - imported - set(TOOLS)
    assert not unused, f"declared in pyproject.toml but neither imported nor a tool: {sorted(unused)}"


def test_constraints_pin_exactly_what_is_declared():
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[normalize(name)] = version
    assert set(pins) == set().union(*declared().values())
