"""The newest migration as read from the files' lines (adapters.sql.schema.shipped_head, what
every command compares the database with, without loading Alembic) is Alembic's own head,
and a database's stored revision reads back as Alembic reads it."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from adapters.sql import make_engine
from adapters.sql.schema import (
    alembic_config,
    current_revision,
    head_revision,
    is_current,
    shipped_head,
    upgrade,
    upgrade_if_behind,
)


def test_the_head_read_from_the_files_is_alembics() -> None:
    alembic_head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert alembic_head is not None
    assert shipped_head() == alembic_head == head_revision()


def test_the_stored_revision_reads_as_alembic_reads_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    try:
        assert current_revision(url) is None and not is_current(engine)
        upgrade(url, "0029_case_notes")
        with engine.connect() as connection:
            alembic_reads = MigrationContext.configure(connection).get_current_revision()
        assert alembic_reads == current_revision(url) == "0029_case_notes"
        assert not is_current(engine)
        upgrade_if_behind(engine, url)  # behind: migrated
        assert current_revision(url) == head_revision() and is_current(engine)
    finally:
        engine.dispose()
