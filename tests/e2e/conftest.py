"""Fixtures of the end-to-end tests: the real CLI, run as a subprocess on a test database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_cli import Cli


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every CLI call: ours, without the variables Pathways reads.

    Where bytecode caching is switched off (PYTHONDONTWRITEBYTECODE), the project's modules
    would be compiled again by each of the ~100 calls; they cache in a temporary folder
    instead, never in the source tree.
    """
    env = {key: value for key, value in os.environ.items()
           if key not in ("PATHWAYS_DATABASE_URL", "PATHWAYS_DEFINITIONS_DIR",
                          "PATHWAYS_NOTIFIER")}
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture
def fresh_cli(tmp_path: Path, database_url: str, base_env: dict[str, str]) -> Cli:
    """The CLI on an empty database: no schema yet."""
    work = tmp_path / "work"
    work.mkdir()
    return Cli(work, database_url, base_env)


@pytest.fixture
def cli(fresh_cli: Cli, migrated_database_url: str) -> Cli:
    """The CLI on a database whose schema is in place, so first calls can run side by side.

    (Every command brings the schema up to date first; two doing it at once on an empty
    database would race. Creating the schema through the CLI is what the init tests check.)
    """
    return fresh_cli
