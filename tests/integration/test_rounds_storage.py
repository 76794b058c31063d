"""A repeat's per-round data survives real storage (SQLite and PostgreSQL): each step taken
by a fresh Engine, so the case is saved and loaded again between rounds (issue 15, item 1)."""

from __future__ import annotations

from engine.ports import UnitOfWorkFactory
from tests.integration.engines import fresh_engine
from tests.unit.dsl.test_compile import compiled, publish
from tests.unit.dsl.test_rounds import VISITS
from tests.unit.engine.fakes import FakeClock


def test_rounds_survive_save_and_load(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    result = compiled(VISITS)
    first = fresh_engine(uow_factory, clock)
    publish(first, result)
    client = first.add_client("Ann", {})
    case_id = first.start_case(result.pathway, client.id or 0).case.id or 0
    answers = [("visit", {"score": 4, "note": "first"}), ("visit", {"score": 6}),
               ("review", {"reviewed": True}), ("visit", {"score": 9})]
    for step, answer in answers:
        engine = fresh_engine(uow_factory, clock)
        [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
        engine.complete_task(view.task.id, answer)
    case = fresh_engine(uow_factory, clock).get_case(case_id)
    assert [v.task.step for v in case.tasks] == ["close"]
    assert case.case.data["visits"] == {"round": 3, "rounds": [
        {"score": 4, "note": "first"}, {"score": 6, "reviewed": True}, {"score": 9}]}
    assert case.case.data["note"] == "first"
