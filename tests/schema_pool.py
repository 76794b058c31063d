"""Migrated PostgreSQL schemas lent to tests one at a time, and emptied when they come back.

Giving every PostgreSQL test a schema of its own made each one create a schema, replay the
migration's statements and drop the schema again: about 0.2 s a test, the largest part of
what the PostgreSQL half of the suite cost more than the SQLite half. A schema that comes
back is reused only when it is exactly as a fresh one would be: its objects (tables,
columns, indexes, constraints, triggers, functions, views, sequences, grants) the same as
after the migration, every table emptied, the rows the migration wrote (alembic_version,
data_revision) put back and every sequence set back. Anything else (a test that altered the
schema, a lock still held, a non-superuser) drops the schema, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, create_engine

# what makes two schemas the same to a test: every object and grant, by name and definition
_FINGERPRINT = """
SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (
  SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':'
         || coalesce(column_default, '') || ':' || is_nullable AS item
    FROM information_schema.columns WHERE table_schema = current_schema()
  UNION ALL SELECT 'i:' || replace(indexdef, ' ' || current_schema() || '.', ' ')
    FROM pg_indexes WHERE schemaname = current_schema()
  UNION ALL SELECT 'k:' || conrelid::regclass::text || ':' || conname || ':'
                   || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
  UNION ALL SELECT 't:' || tgrelid::regclass::text || ':' || tgname
    FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (
      SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
  UNION ALL SELECT 'f:' || proname || ':' || md5(prosrc)
    FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
  UNION ALL SELECT 'v:' || viewname || ':' || definition
    FROM pg_views WHERE schemaname = current_schema()
  UNION ALL SELECT 's:' || sequencename FROM pg_sequences WHERE schemaname = current_schema()
  UNION ALL SELECT 'a:' || relname || ':' || coalesce(relacl::text, '')
    FROM pg_class WHERE relnamespace = current_schema()::regnamespace
  UNION ALL SELECT 'n:' || coalesce(nspacl::text, '')
    FROM pg_namespace WHERE nspname = current_schema()
) AS objects
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
_REFERENCES = """
SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
 WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
"""
_SEQUENCES = """
SELECT sequencename, start_value, last_value FROM pg_sequences
 WHERE schemaname = current_schema() ORDER BY sequencename
"""


@dataclass
class _Pristine:
    """A freshly migrated schema, as the reset must leave a lent one."""

    fingerprint: str
    tables: list[str]  # every table, each before those it references
    rows: dict[str, list[dict[str, Any]]]  # the tables the migration wrote rows into
    sequences: list[tuple[str, int, int | None]]  # name, start, last value (None: unused)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _referrers_first(tables: list[str], references: list[tuple[str, str]]) -> list[str]:
    """The tables ordered so that each comes before every table it references."""
    refers: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in references:
        child, parent = child.split(".")[-1].strip('"'), parent.split(".")[-1].strip('"')
        if child != parent and child in refers:
            refers[child].add(parent)
    ordered: list[str] = []
    remaining = set(tables)
    while remaining:
        # a table no remaining table refers to may go now
        free = sorted(t for t in remaining
                      if not any(t in refers[other] for other in remaining if other != t))
        if not free:  # a cycle of references: whatever order, the reset then fails safely
            free = sorted(remaining)
        ordered += free
        remaining -= set(free)
    return ordered


def _pristine(connection: Connection) -> _Pristine:
    tables = sorted(row[0] for row in connection.exec_driver_sql(_TABLES))
    references = [(row[0], row[1]) for row in connection.exec_driver_sql(_REFERENCES)]
    rows = {}
    for table in tables:
        found = [dict(row._mapping)
                 for row in connection.exec_driver_sql(f"SELECT * FROM {_quoted(table)}")]
        if found:
            rows[table] = found
    return _Pristine(
        fingerprint=connection.exec_driver_sql(_FINGERPRINT).scalar_one(),
        tables=_referrers_first(tables, references), rows=rows,
        sequences=[(row[0], row[1], row[2]) for row in connection.exec_driver_sql(_SEQUENCES)])


def _reset(connection: Connection, pristine: _Pristine) -> bool:
    """Empty the schema back to its pristine state; False if it is not the same schema."""
    connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
    if connection.exec_driver_sql(_FINGERPRINT).scalar_one() != pristine.fingerprint:
        return False
    for table in pristine.tables:
        connection.exec_driver_sql(f"DELETE FROM {_quoted(table)}")
    for table, rows in pristine.rows.items():
        columns = list(rows[0])
        connection.exec_driver_sql(
            f"INSERT INTO {_quoted(table)} ({', '.join(map(_quoted, columns))}) VALUES "
            f"({', '.join(f'%({column})s' for column in columns)})", rows)
    for name, start, last in pristine.sequences:
        connection.exec_driver_sql(
            "SELECT setval(%(sequence)s::regclass, %(value)s, %(called)s)",
            {"sequence": _quoted(name), "value": start if last is None else last,
             "called": last is not None})
    return True


@dataclass
class SchemaPool:
    """Migrated schemas of one test process: lend one, take it back emptied or dropped."""

    create_schema: Callable[[], str]
    drop_schema: Callable[[str], None]
    schema_url: Callable[[str], str]
    migrate: Callable[[str], None]  # the empty schema at a URL brought to the newest revision
    _free: list[str] = field(default_factory=list)  # schema names
    _lent: dict[str, str] = field(default_factory=dict)  # URL -> schema name
    _pristine: _Pristine | None = None
    reused: int = 0  # schemas lent again after a reset (for the pool's own test)

    def lend(self) -> str:
        """The URL of a migrated schema no other test holds."""
        if self._free:
            schema = self._free.pop()
            url = self.schema_url(schema)
            self.reused += 1
        else:
            schema = self.create_schema()
            url = self.schema_url(schema)
            self.migrate(url)
            if self._pristine is None:
                with _disposed(url) as engine, engine.connect() as connection:
                    self._pristine = _pristine(connection)
        self._lent[url] = schema
        return url

    def is_lent(self, url: str) -> bool:
        return url in self._lent

    def give_back(self, url: str) -> None:
        """Reuse the schema if it resets to pristine; otherwise drop it."""
        schema = self._lent.pop(url)
        if self._pristine is not None and self._emptied(url, self._pristine):
            self._free.append(schema)
        else:
            self.drop_schema(schema)

    @staticmethod
    def _emptied(url: str, pristine: _Pristine) -> bool:
        try:
            with _disposed(url) as engine, engine.connect() as connection:
                transaction = connection.begin()
                if _reset(connection, pristine):
                    transaction.commit()
                    return True
                transaction.rollback()
        except Exception:  # a schema that cannot be reset is dropped instead
            return False
        return False

    def close(self) -> None:
        """Drop every schema the pool still holds."""
        for schema in self._free:
            self.drop_schema(schema)
        self._free.clear()


@contextmanager
def _disposed(url: str) -> Iterator[Engine]:
    """An engine disposed on leaving the block, so no connection outlives the reset."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
