"""Opening a migrated database in a test: for the fixtures in the conftest files and for tests
that need a database of their own (one file, one backend, one module's worth)."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from adapters.sql import make_engine, upgrade
from adapters.sql.schema import upgrade_if_behind


@contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """An Engine on the database at url, brought to the newest revision first (unless it is
    there already); disposed on leaving, so no test leaves connections open behind it."""
    engine = make_engine(url)
    upgrade_if_behind(engine, url)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass
class RecordedMigration:
    """The statements a migration from empty to the newest revision ran on PostgreSQL, to run
    again in another empty schema: the same schema in one round of DDL, without Alembic
    loading and planning every migration again for each test."""

    statements: list[tuple[str, Any]] = field(default_factory=list)

    def record(self, url: str) -> None:
        """Migrate the empty database at url, keeping every statement that changed it."""

        def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any,
                 _context: Any, executemany: bool) -> None:
            if not _READS.match(statement):
                self.statements.append((statement, list(parameters) if executemany
                                        else parameters))

        event.listen(Engine, "before_cursor_execute", keep)
        try:
            upgrade(url)
        finally:
            event.remove(Engine, "before_cursor_execute", keep)

    def replay(self, url: str) -> None:
        """Run the recorded statements in the empty schema url names, in one transaction."""
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                for statement, parameters in self.statements:
                    connection.exec_driver_sql(statement, parameters)
        finally:
            engine.dispose()


_READS = re.compile(r"\s*(SELECT|SHOW|WITH)\b", re.IGNORECASE)


@contextmanager
def statements_sent(engine: Engine, keep: Callable[[str], bool]
                    ) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) `engine` sends inside the block that `keep`
    picks: what a plan test then explains."""
    found: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if keep(statement):
            found.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", note)


def copy_sqlite_file(template: Path, target: Path) -> None:
    """A migrated SQLite database copied whole: its WAL folded in first, so the one file is
    the database."""
    with sqlite3.connect(template) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    shutil.copyfile(template, target)
