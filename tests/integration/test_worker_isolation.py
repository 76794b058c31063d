"""One bad case never stops the timer worker or the message router, on SQLite and PostgreSQL.

The failures are real ones: a case row whose state was damaged in the database, and a script
after a timer that leaves a value the database's JSON cannot hold (a generator). The failed
command's transaction is rolled back and the case is put in error in a transaction of its own.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import update

from adapters.sql import tables
from engine.model import Message
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock

DAMAGED_STATE = {"pathways_state_format": 1, "tasks": {}}


def damage(db_engine: SqlEngine, case_id: int) -> None:
    with db_engine.begin() as connection:
        connection.execute(update(tables.cases).where(tables.cases.c.id == case_id)
                           .values(state=DAMAGED_STATE))


def test_timers_of_the_other_cases_fire_when_one_case_fails(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    setup = fresh_engine(uow_factory, clock)
    setup.publish(*bundle("timed_script", "total = 1"))
    client = setup.add_client("Ann")
    good = setup.start_case("timed_script", client.id or 0).case.id or 0
    damaged = setup.start_case("timed_script", client.id or 0).case.id or 0
    setup.publish(*bundle("timed_script", "numbers = (n for n in [1, 2])"))
    unstorable = setup.start_case("timed_script", client.id or 0).case.id or 0
    also_good = setup.start_case("timed_script", client.id or 0, version=1).case.id or 0
    damage(db_engine, damaged)

    worker = fresh_engine(uow_factory, clock)
    assert worker.fire_due_timers(clock.now() + timedelta(days=2)) == 2
    reader = fresh_engine(uow_factory, clock)
    assert open_steps(reader, good) == open_steps(reader, also_good) == ["review"]
    for case_id in (damaged, unstorable):
        case = reader.get_case(case_id).case
        assert case.status == "error" and case.error is not None, case_id
        assert case.error["step"] == "a_day_later"
        assert case.error["message"].startswith("firing its timer failed: ")
        assert "\n" not in case.error["message"] and "SQL" not in case.error["message"]
        assert [e.type for e in reader.events(case_id)][-1] == "error"
        with uow_factory() as uow:
            assert uow.timers.for_case(case_id) == []
    assert "KeyError" in reader.get_case(damaged).case.error["message"]
    assert "generator" in reader.get_case(unstorable).case.error["message"]
    assert sorted(c.id for c in reader.list_cases(status="error")) == sorted(
        [damaged, unstorable])
    # The unstorable case kept its state from before the timer: fixed and retried, it goes on.
    assert reader.retry_case(unstorable, version=1).case.status == "active"
    assert worker.fire_due_timers(clock.now() + timedelta(days=3)) == 1
    assert open_steps(reader, unstorable) == ["review"]


def test_a_failed_delivery_puts_only_its_case_in_error(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    setup = fresh_engine(uow_factory, clock)
    setup.publish(*bundle("wake"))
    clients = [setup.add_client(name) for name in ("Bo", "Cy")]
    cases = [setup.start_case("wake", c.id or 0).case.id or 0 for c in clients]
    for case_id in cases:
        [view] = setup.get_case(case_id).tasks
        setup.complete_task(view.task.id, {})
    broken, working = cases
    damage(db_engine, broken)
    with uow_factory() as uow:  # kept by a sender whose process stopped before routing them
        for client in clients:
            uow.messages.add(Message(id=None, name="appointment_booked",
                                     client_id=client.id or 0, payload={"on": "Monday"},
                                     sender_case_id=None, created_at=clock.now()))
        uow.commit()

    router = fresh_engine(uow_factory, clock)
    assert router.deliver_messages() == 1
    assert open_steps(router, working) == ["attend"]
    case = router.get_case(broken).case
    assert case.status == "error" and case.error is not None
    assert case.error["delivering"]["name"] == "appointment_booked"
    with uow_factory() as uow:
        [kept] = uow.messages.pending()
    assert kept.client_id == clients[0].id
    assert router.deliver_messages() == 0  # kept, not retried against a case in error
    assert [e.type for e in router.events(broken)].count("error") == 1
