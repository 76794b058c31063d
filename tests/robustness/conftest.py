"""The robustness suite runs the real CLI through the end-to-end tests' fixtures."""

from tests.e2e.conftest import base_env, cli, fresh_cli

__all__ = ["base_env", "cli", "fresh_cli"]
