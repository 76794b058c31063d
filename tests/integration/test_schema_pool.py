"""The pool that lends migrated PostgreSQL schemas to tests (tests/schema_pool.py): a schema
comes back to the next test exactly as a fresh one, or not at all. A test that passed alone
and failed after another one, because it found that one's rows, ids or schema, is the
failure this guards against."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text

from adapters.sql import tables
from tests.conftest import PostgresTestDatabase
from tests.databases import RecordedMigration
from tests.schema_pool import SchemaPool

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def pool(postgres_database: PostgresTestDatabase,
         recorded_postgres_migration: RecordedMigration) -> Iterator[SchemaPool]:
    pool = SchemaPool(create_schema=postgres_database.create_schema,
                      drop_schema=postgres_database.drop_schema,
                      schema_url=postgres_database.schema_url,
                      migrate=recorded_postgres_migration.replay)
    yield pool
    pool.close()


def _engine(url: str) -> Engine:
    return create_engine(url)


def _everything(url: str) -> dict[str, Any]:
    """Every table's rows and every sequence's next value, as a test would find them."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            names = sorted(row[0] for row in connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))
            found: dict[str, Any] = {name: sorted(map(tuple, connection.execute(
                text(f'SELECT * FROM "{name}"')).all()), key=repr) for name in names}
            found["next client id"] = connection.execute(insert(tables.clients).values(
                name="Probe", search_name="probe", fields={}, created_at=NOW)
                .returning(tables.clients.c.id)).scalar_one()
            connection.rollback()
        return found
    finally:
        engine.dispose()


def _use(url: str) -> None:
    """What a test does: rows in many tables, ids used, the data revision moved on."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            for name in ("Ann", "Bo", "Cy"):
                client_id = connection.execute(insert(tables.clients).values(
                    name=name, search_name=name.lower(), fields={}, created_at=NOW)
                    .returning(tables.clients.c.id)).scalar_one()
                connection.execute(insert(tables.cases).values(
                    pathway="housing", version=1, client_id=client_id, status="active",
                    state={}, data={}, revision=1, event_seq=0, waiting_for=[],
                    created_at=NOW, updated_at=NOW))
            connection.execute(tables.data_revision.update().values(revision=41))
            connection.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    finally:
        engine.dispose()


def test_a_schema_comes_back_as_a_fresh_one(pool: SchemaPool) -> None:
    fresh = pool.lend()
    before = _everything(fresh)
    assert before["next client id"] == 1
    _use(fresh)
    pool.give_back(fresh)
    again = pool.lend()
    assert again == fresh and pool.reused == 1  # the same schema, lent again
    assert _everything(again) == before
    engine = _engine(again)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(tables.data_revision.c.revision)).all() == \
                [(before["data_revision"][0][1],)]
    finally:
        engine.dispose()
    pool.give_back(again)


@pytest.mark.parametrize("change", [
    "ALTER TABLE clients ADD COLUMN nickname text",
    "DROP INDEX ix_inbox_tasks_open_due",
    "CREATE TABLE leftovers (id integer)",
    "GRANT SELECT ON clients TO PUBLIC",
])
def test_a_schema_a_test_changed_is_dropped_not_lent_again(pool: SchemaPool,
                                                           change: str) -> None:
    url = pool.lend()
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            indexes = {row[0] for row in connection.execute(text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))}
            if change.startswith("DROP INDEX"):
                assert change.split()[-1] in indexes, sorted(indexes)
            connection.execute(text(change))
    finally:
        engine.dispose()
    pool.give_back(url)
    other = pool.lend()
    assert other != url and pool.reused == 0
    pool.give_back(other)  # a schema made after a drop is as good as the first one
    assert pool.lend() == other and pool.reused == 1

