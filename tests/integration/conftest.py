"""Fixtures of the engine on a real database (the database fixtures are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.databases import migrated_engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def engine(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> Engine:
    """An engine on this test's migrated database, SQLite or PostgreSQL."""
    return Engine(uow=uow_factory, clock=clock)


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitOfWorkFactory]:
    """Units of work on an empty store: the unit tests' fakes, a SQLite file, a PostgreSQL
    schema; for the tests that hold the fakes to what the databases do."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory()
        return
    url = (f"sqlite:///{tmp_path / 'pathways.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    with migrated_engine(url) as engine:
        yield SqlAlchemyUnitOfWorkFactory(engine)
