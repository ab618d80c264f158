"""The CLI tests' fixtures (tests/cli/conftest.py), for the CLI tests that run a real playbook."""

from __future__ import annotations

from tests.cli.conftest import config_path, configured, init_config, run, standin

__all__ = ["config_path", "configured", "init_config", "run", "standin"]
