"""Fixtures of the engine on the in-memory fakes (the clock is in tests/conftest.py)."""

from __future__ import annotations

import itertools
from uuid import UUID

import pytest
import SpiffWorkflow.task

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


@pytest.fixture
def task_ids_in_creation_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """SpiffWorkflow's task ids from a counter, not uuid4. The property tests pick an open
    task at random from a list sorted by id last: with random ids, a replayed example could
    pick the other of two alike tasks (a for_each's items) and draw differently, which
    hypothesis reports as FlakyStrategyDefinition (seen once in about 20 runs of 400
    examples). Ids from a counter sort in the order the tasks were made, run after run."""
    counter = itertools.count(1)
    monkeypatch.setattr(SpiffWorkflow.task, "uuid4", lambda: UUID(int=next(counter)))
