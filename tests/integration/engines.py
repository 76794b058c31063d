"""Helpers the integration tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock


def fresh_engine(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> Engine:
    """Another process's view: its own caches (no live workflow), the same database."""
    return Engine(uow=uow_factory, clock=clock)
