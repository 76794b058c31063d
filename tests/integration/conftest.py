"""Fixtures of the engine on a real database (the database fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock


@pytest.fixture
def engine(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> Engine:
    """An engine on this test's migrated database, SQLite or PostgreSQL."""
    return Engine(uow=uow_factory, clock=clock)
