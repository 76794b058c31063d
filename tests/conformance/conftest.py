"""The conformance harness on each database (SQLite file, PostgreSQL schema: tests/conftest.py)
and each way of running a case: one engine throughout, or a fresh engine loading the case from
the database before every command.

Three of the four combinations run: live on SQLite, reload on SQLite and on PostgreSQL. The
reload variant is the stricter on storage (every command's state is written and read back), so
live on PostgreSQL adds no check the other three lack, and dropping it keeps CI's time down.
"""

from __future__ import annotations

import pytest

from engine.ports import UnitOfWorkFactory
from tests.conformance.harness import Conformance


@pytest.fixture(params=[False, True], ids=["live", "reload"])
def bpmn(request: pytest.FixtureRequest, uow_factory: UnitOfWorkFactory) -> Conformance:
    return Conformance(uow_factory=uow_factory, reload=request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the live-on-PostgreSQL variant (see the module's docstring)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        live_on_postgres = ("conformance" in item.path.parts and params.get("bpmn") is False
                            and params.get("database_url") == "postgresql")
        (dropped if live_on_postgres else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
