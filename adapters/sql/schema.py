"""Create and upgrade the schema with Alembic, configured in code (there is no alembic.ini)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from adapters.sql.database import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """The Alembic configuration; env.py expects a Connection in attributes["connection"]."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic command (upgrade or downgrade) to revision in one transaction."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            step(config, revision)
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at url to revision, by default the newest (creating every table on a
    new one)."""
    _migrate(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at url back to revision ("base": no tables at all); the tests of the
    migrations use it, the application never does."""
    _migrate(url, command.downgrade, revision)


def upgrade_if_behind(engine: Engine, url: str) -> None:
    """upgrade(url) unless the database of engine is at the newest revision already: one
    small query, and Alembic (which loads and plans every migration) only when behind."""
    if not is_current(engine):
        upgrade(url)


def current_revision(url: str) -> str | None:
    """The revision the database at url is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    """Whether the database of engine is at the newest revision (one small query)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head_revision()
