"""The DSL's `block` (handlers) and `for_each` on real databases (SQLite file and PostgreSQL):
every step in a fresh engine, so each one reads the case's state back from the database
(the state serializer between every two steps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.model import Message
from engine.ports import UnitOfWorkFactory
from tests.integration.engines import fresh_engine
from tests.unit.dsl.test_block import ORDER
from tests.unit.dsl.test_compile import compiled
from tests.unit.dsl.test_for_each import FAMILY
from tests.unit.engine.fakes import FakeClock


def stored(uow_factory: UnitOfWorkFactory, case_id: int) -> tuple[list[str], list[str]]:
    """The case's open inbox steps and timer steps as the database holds them."""
    with uow_factory() as uow:
        return (sorted(row.step for row in uow.inbox.list(case_id=case_id)),
                sorted(timer.step for timer in uow.timers.for_case(case_id)))


def test_a_message_interrupts_a_block_stored_in_the_database(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    result = compiled(ORDER)
    first = fresh_engine(uow_factory, clock)
    first.publish(result.files(), result.bpmn_file)
    client = first.add_client("Ann", {"release_date": "2026-06-01"}).id or 0
    case_id = first.start_case("demo", client).case.id or 0
    [intake] = fresh_engine(uow_factory, clock).get_case(case_id).tasks
    fresh_engine(uow_factory, clock).complete_task(intake.task.id, {})
    clock.current += timedelta(days=7)
    assert fresh_engine(uow_factory, clock).fire_due_timers(clock.now()) == 1
    assert stored(uow_factory, case_id) == (["review"], ["order_on3"])
    with uow_factory() as uow:
        [timer] = uow.timers.for_case(case_id)
        assert timer.due_at == datetime(2026, 6, 1, tzinfo=UTC)
        uow.messages.add(Message(id=None, name="breach", client_id=client,
                                 payload={"court": "Leeds"}, sender_case_id=None,
                                 created_at=clock.now()))
        uow.commit()
    assert fresh_engine(uow_factory, clock).deliver_messages() == 1
    assert stored(uow_factory, case_id) == (["breach_review"], [])
    reader = fresh_engine(uow_factory, clock)
    case = reader.get_case(case_id)
    assert case.case.waiting_for == []
    assert case.case.data["breach"] == {"court": "Leeds"}
    [review] = case.tasks
    fresh_engine(uow_factory, clock).complete_task(review.task.id, {"back_to_court": True})
    assert stored(uow_factory, case_id) == (["exit_interview"], [])


def test_for_each_tasks_stored_in_the_database(uow_factory: UnitOfWorkFactory,
                                               clock: FakeClock) -> None:
    result = compiled(FAMILY.replace("in: children", "in: client.kids"))
    first = fresh_engine(uow_factory, clock)
    first.publish(result.files(), result.bpmn_file)
    client = first.add_client("Ann", {"kids": [{"name": "Bo"}, {"name": "Cy"},
                                               {"name": "Di"}]}).id or 0
    case_id = first.start_case("demo", client).case.id or 0
    [household] = fresh_engine(uow_factory, clock).get_case(case_id).tasks
    fresh_engine(uow_factory, clock).complete_task(household.task.id, {})
    with uow_factory() as uow:
        titles = {row.title: row.id for row in uow.inbox.list(case_id=case_id)}
    assert sorted(titles) == ["Check on Bo", "Check on Cy", "Check on Di"]
    for title, safe in (("Check on Di", True), ("Check on Bo", False), ("Check on Cy", True)):
        fresh_engine(uow_factory, clock).complete_task(titles[title], {"safe": safe})
    case = fresh_engine(uow_factory, clock).get_case(case_id).case
    assert [(r["item"]["name"], r["safe"]) for r in case.data["member_check_results"]] == [
        ("Bo", False), ("Cy", True), ("Di", True)]
    assert stored(uow_factory, case_id) == (["three_checked"], [])
