"""The conformance harness on each database (SQLite file, PostgreSQL schema: tests/conftest.py)
and each way of running a case: one engine throughout, or a fresh engine loading the case from
the database before every command."""

from __future__ import annotations

import pytest

from engine.ports import UnitOfWorkFactory
from tests.conformance.harness import Conformance


@pytest.fixture(params=[False, True], ids=["live", "reload"])
def bpmn(request: pytest.FixtureRequest, uow_factory: UnitOfWorkFactory) -> Conformance:
    return Conformance(uow_factory=uow_factory, reload=request.param)
