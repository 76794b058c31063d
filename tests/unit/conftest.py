"""Fixtures of the engine on the in-memory fakes (the clock is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from engine import Engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    """An empty in-memory store."""
    return FakeUnitOfWorkFactory()


@pytest.fixture
def engine(uow: FakeUnitOfWorkFactory, clock: FakeClock) -> Engine:
    """An engine on the test's store and clock."""
    return Engine(uow=uow, clock=clock)
