"""Fixtures of the end-to-end tests: the real CLI, run as a subprocess on a test database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_cli import Cli


@pytest.fixture(scope="session")
def base_env() -> dict[str, str]:
    """The environment of every CLI call: ours, without the variables Pathways reads.

    PYTHONDONTWRITEBYTECODE (set on the machines here) is kept: every module a call imports
    is already compiled beside its source (`pip install` compiles the packages, `make
    install` the project's own), and Python reads those files with it set. A temporary
    PYTHONPYCACHEPREFIX, as here once, hides them all: each worker's first calls compiled
    SciPy, statsmodels and SQLAlchemy again, about 9 s each (a server's start 16 s, not 7).
    """
    env = {key: value for key, value in os.environ.items()
           if key not in ("PATHWAYS_DATABASE_URL", "PATHWAYS_DEFINITIONS_DIR",
                          "PATHWAYS_NOTIFIER", "PYTHONPYCACHEPREFIX")}
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
