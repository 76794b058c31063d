"""Create and upgrade the schema with Alembic, configured in code (there is no alembic.ini).

Alembic loads only to migrate: whether a database is at the newest revision is one small
query compared with the head read from the migration files' `revision` lines (shipped_head),
so a command on a current database starts without Alembic."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from adapters.sql.database import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


def alembic_config() -> Config:
    """The Alembic configuration; env.py expects a Connection in attributes["connection"]."""
    from alembic.config import Config

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
    from alembic import command

    _migrate(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at url back to revision ("base": no tables at all); the tests of the
    migrations use it, the application never does."""
    from alembic import command

    _migrate(url, command.downgrade, revision)


def upgrade_if_behind(engine: Engine, url: str) -> None:
    """upgrade(url) unless the database of engine is at the newest revision already: one
    small query, and Alembic (which loads and plans every migration) only when behind."""
    if not is_current(engine):
        upgrade(url)


def stored_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: never migrated, or at several heads), read as
    Alembic reads it but without loading Alembic."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def current_revision(url: str) -> str | None:
    """The revision the database at url is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return stored_revision(connection)
    finally:
        engine.dispose()


@functools.cache
def shipped_head() -> str | None:
    """The newest revision of the migrations shipped with this code, read from the files'
    `revision` and `down_revision` lines without loading Alembic (None unless there is
    exactly one head). tests/unit/test_schema_head.py checks it is Alembic's head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            found = _QUOTED.findall(value)
            (revisions if name == "revision" else parents).update(found)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations shipped with this code (Alembic's own answer
    when the files' lines cannot tell)."""
    head = shipped_head()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    """Whether the database of engine is at the newest revision (one small query)."""
    with engine.connect() as connection:
        return stored_revision(connection) == head_revision()
