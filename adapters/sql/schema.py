"""Create and upgrade the schema with Alembic, configured in code (there is no alembic.ini)."""

from __future__ import annotations

import functools
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


def upgrade(url: str) -> None:
    """Bring the database at url to the newest revision (creating every table on a new one)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


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
