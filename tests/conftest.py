"""Database fixtures shared by the integration tests, on SQLite and PostgreSQL alike.

`database_url` gives every test an empty database of its own: a fresh SQLite file, or a
fresh schema in a PostgreSQL database created for the test session (the schema is selected
through `options=-csearch_path=...` in the URL, so anything given the URL, even a
subprocess, lands in it). `db_engine` and `uow_factory` give the same database migrated.

PostgreSQL is required: if it cannot be reached the PostgreSQL tests fail, never skip. Point
PATHWAYS_TEST_POSTGRES_URL at a server where the user may create databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import URL, Engine, create_engine
from sqlalchemy.exc import OperationalError

from adapters.sql import SqlAlchemyUnitOfWorkFactory, upgrade
from adapters.sql.database import normalize_url
from engine.ports import UnitOfWorkFactory
from tests.databases import RecordedMigration, copy_sqlite_file, migrated_engine
from tests.openapi_contract import ContractClient
from tests.scheduling import make_scheduler, order_for_workers, register_duration_recorder
from tests.schema_pool import SchemaPool
from tests.unit.engine.fakes import FakeClock

POSTGRES_URL_VARIABLE = "PATHWAYS_TEST_POSTGRES_URL"
# The tests check behaviour, not power cuts: their commits need not wait for the disk
# (a flushed SQLite commit costs 0.03 ms relaxed, 5 ms durable on a loaded machine here).
# Every engine and subprocess they start inherits this; tests/integration/test_durability.py
# checks the default without it. A run that sets PATHWAYS_DURABILITY keeps its own.
os.environ.setdefault("PATHWAYS_DURABILITY", "relaxed")
SCREENSHOTS = Path("test-artifacts") / "screenshots"  # under the rootdir; browser tests fill it


def pytest_configure(config: pytest.Config) -> None:
    """Empty the browser tests' screenshot folder once per run, so it shows this run only:
    here in the controller, never in an xdist worker (the workers share the folder)."""
    if not hasattr(config, "workerinput"):
        shutil.rmtree(config.rootpath / SCREENSHOTS, ignore_errors=True)
    register_duration_recorder(config)
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(autouse=True)
def api_responses_follow_the_openapi_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Flask test client checks each /api/v1 answer against the app's OpenAPI
    document (tests/openapi_contract.py), so every API test is a contract test too."""
    monkeypatch.setattr(Flask, "test_client_class", ContractClient)


@dataclass(frozen=True)
class PostgresTestDatabase:
    """A database created for this test session, handing out one empty schema per test."""

    url: URL
    admin: Engine  # AUTOCOMMIT, connected to the session database

    def create_schema(self) -> str:
        name = f"test_{secrets.token_hex(6)}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        return name

    def drop_schema(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')

    def schema_url(self, schema: str) -> str:
        url = self.url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)


def _autocommit_engine(url: URL) -> Engine:
    """An engine for CREATE/DROP DATABASE and SCHEMA, which must run outside a transaction."""
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _create_database(server: Engine, name: str) -> OperationalError | None:
    """Create the database, or return why the server could not be reached.

    Returned rather than handled here so the fixture fails outside an except block, with
    the message alone instead of a chained traceback.
    """
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as error:
        return error
    return None


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand (modules needing another start override it)."""
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresTestDatabase]:
    """A fresh PostgreSQL database for the session, dropped (with FORCE) at its end."""
    base_url = normalize_url(os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL))
    server = _autocommit_engine(base_url.update_query_dict({"connect_timeout": "10"}))
    name = f"pathways_test_{secrets.token_hex(6)}"
    unreachable = _create_database(server, name)
    if unreachable is not None:
        server.dispose()
        pytest.fail(
            f"PostgreSQL is required for these tests but cannot be reached at "
            f"{base_url.render_as_string(hide_password=True)}: {unreachable.orig}\n"
            f"Start it, or set {POSTGRES_URL_VARIABLE} to a server where the user may "
            f"create databases.",
            pytrace=False,
        )
    session_url = base_url.set(database=name)
    admin = _autocommit_engine(session_url)
    try:
        yield PostgresTestDatabase(url=session_url, admin=admin)
    finally:
        admin.dispose()
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def postgres_url(postgres_database: PostgresTestDatabase) -> Iterator[str]:
    """An empty PostgreSQL schema of this test's own, for tests only PostgreSQL can run."""
    schema = postgres_database.create_schema()
    try:
        yield postgres_database.schema_url(schema)
    finally:
        postgres_database.drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once per backend. On PostgreSQL, for a test that takes
    the migrated database too, a migrated, emptied schema lent by the process's pool (not
    for a test marked fresh_schema, which gets one never used before)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pathways.sqlite3'}"
    lend = ("migrated_database_url" in request.fixturenames
            and request.node.get_closest_marker("fresh_schema") is None)
    url: str = request.getfixturevalue("lent_postgres_url" if lend else "postgres_url")
    return url


@pytest.fixture(scope="session")
def postgres_schema_pool(postgres_database: PostgresTestDatabase,
                         recorded_postgres_migration: RecordedMigration
                         ) -> Iterator[SchemaPool]:
    """Migrated schemas this test process lends to one test at a time (tests/schema_pool)."""
    pool = SchemaPool(create_schema=postgres_database.create_schema,
                      drop_schema=postgres_database.drop_schema,
                      schema_url=postgres_database.schema_url,
                      migrate=recorded_postgres_migration.replay)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def lent_postgres_url(postgres_schema_pool: SchemaPool) -> Iterator[str]:
    """A migrated, empty PostgreSQL schema of this test's own while it runs."""
    url = postgres_schema_pool.lend()
    try:
        yield url
    finally:
        postgres_schema_pool.give_back(url)


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database at the newest revision, migrated once per test process."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def recorded_postgres_migration(postgres_database: PostgresTestDatabase) -> RecordedMigration:
    """The statements of one migration from empty to the newest revision on PostgreSQL,
    recorded once per test process in a schema of its own."""
    schema = postgres_database.create_schema()
    recorded = RecordedMigration()
    try:
        recorded.record(postgres_database.schema_url(schema))
    finally:
        postgres_database.drop_schema(schema)
    return recorded


@pytest.fixture
def migrated_database_url(request: pytest.FixtureRequest, database_url: str) -> str:
    """database_url with the newest schema already in place: copied from a database migrated
    once per test process, not migrated again for every test (Alembic loading and planning
    twelve migrations was a fifth of some tests' time). tests/integration/test_sql_storage
    checks that the copy is the schema the migrations make."""
    if database_url.startswith("sqlite"):
        copy_sqlite_file(request.getfixturevalue("migrated_sqlite_file"),
                         Path(normalize_url(database_url).database or ""))
    elif not request.getfixturevalue("postgres_schema_pool").is_lent(database_url):
        request.getfixturevalue("recorded_postgres_migration").replay(database_url)
    return database_url


@pytest.fixture
def db_engine(migrated_database_url: str) -> Iterator[Engine]:
    """An Engine on the migrated database, disposed after the test."""
    with migrated_engine(migrated_database_url) as engine:
        yield engine


@pytest.fixture
def uow_factory(db_engine: Engine) -> UnitOfWorkFactory:
    """Units of work on the migrated database."""
    return SqlAlchemyUnitOfWorkFactory(db_engine)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest work units first, by a full run's measured seconds (tests/scheduling.py)."""
    order_for_workers(items)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Work units of a file and a database, not a whole file (tests/scheduling.py)."""
    return make_scheduler(config, log)
