"""One bad case never stops the timer worker or the message router (issue 11, item 2).

Two real ways for a case to fail outside SpiffWorkflow's own errors (which already end as a
recorded step error): its stored state was damaged in the database, or a script after the
timer leaves a value storage cannot hold (a generator).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from engine import Engine
from engine.model import Message
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(uow=FakeUnitOfWorkFactory(), clock=clock, live_cases=0)


def damage_state(engine: Engine, case_id: int) -> None:
    """What a damaged row looks like to the engine: a state it cannot rebuild."""
    with engine._uow() as uow:
        record = uow.cases.get(case_id)
        record.state = {"pathways_state_format": 1, "tasks": {}}
        uow.cases.save(record, record.revision)
        uow.commit()


def test_a_damaged_case_does_not_stop_the_timers_of_the_others(
        engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    engine.publish(*bundle("timed_script", "total = 1"))
    client = engine.add_client("Ann")
    first, damaged, last = (engine.start_case("timed_script", client.id or 0).case.id or 0
                            for _ in range(3))
    damage_state(engine, damaged)

    with caplog.at_level(logging.WARNING, logger="engine.services"):
        assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 2
    assert open_steps(engine, first) == open_steps(engine, last) == ["review"]
    case = engine.get_case(damaged).case
    assert case.status == "error" and case.waiting_for == []
    assert case.error is not None and case.error["step"] == "a_day_later"
    assert case.error["task"] is not None and case.error["kind"] == "StateFormatError"
    assert "KeyError" in case.error["message"] and "timer" in case.error["message"]
    [error] = [e for e in engine.events(damaged) if e.type == "error"]
    assert error.data == case.error and error.step == "a_day_later"
    # only the engine's own lines: a web server another test left running in this worker
    # process logs requests whose timestamps may contain the case's number
    assert [r.getMessage() for r in caplog.records
            if r.name == "engine.services" and str(damaged) in r.getMessage()] == [
        f"case {damaged}: {case.error['message']}; the case is now in error"]
    assert [c.id for c in engine.list_cases(status="error")] == [damaged]
    # Its timer is withdrawn: later rounds neither try it again nor log it again.
    caplog.clear()
    assert engine.fire_due_timers(clock.now() + timedelta(days=3)) == 0
    assert [r for r in caplog.records if r.name.startswith("engine")] == []
    assert [e.type for e in engine.events(damaged)].count("error") == 1


def test_a_script_after_the_timer_that_leaves_unstorable_data_fails_only_its_case(
        engine: Engine, clock: FakeClock) -> None:
    engine.publish(*bundle("timed_script", "total = 1"))
    client = engine.add_client("Bo")
    good = engine.start_case("timed_script", client.id or 0).case.id or 0
    engine.publish(*bundle("timed_script", "numbers = (n for n in [1, 2])"))
    bad = engine.start_case("timed_script", client.id or 0).case.id or 0
    later = engine.start_case("timed_script", client.id or 0, version=1).case.id or 0

    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 2
    assert open_steps(engine, good) == open_steps(engine, later) == ["review"]
    failed = engine.get_case(bad).case
    assert failed.status == "error" and failed.error is not None
    # The failed command was rolled back: the stored case still waits at its timer, so a
    # retry on a fixed version runs that step again.
    assert "timer_fired" not in [e.type for e in engine.events(bad)]
    assert engine.retry_case(bad, version=1).case.status == "active"
    assert engine.fire_due_timers(clock.now() + timedelta(days=3)) == 1
    assert open_steps(engine, bad) == ["review"]


def test_a_delivery_that_fails_puts_its_case_in_error_and_the_message_waits(
        engine: Engine, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    engine.publish(*bundle("wake"))
    client = engine.add_client("Cy")
    other = engine.add_client("Di")
    broken = engine.start_case("wake", client.id or 0).case.id or 0
    working = engine.start_case("wake", other.id or 0).case.id or 0
    for case_id in (broken, working):
        [view] = engine.get_case(case_id).tasks
        engine.complete_task(view.task.id, {})
    damage_state(engine, broken)
    with engine._uow() as uow:  # kept by a sender whose process stopped before routing them
        for receiver in (client, other):
            uow.messages.add(Message(id=None, name="appointment_booked",
                                     client_id=receiver.id or 0, payload={"on": "Monday"},
                                     sender_case_id=None, created_at=clock.now()))
        uow.commit()

    with caplog.at_level(logging.WARNING, logger="engine.services"):
        assert engine.deliver_messages() == 1
    assert open_steps(engine, working) == ["attend"]
    case = engine.get_case(broken).case
    assert case.status == "error" and case.error is not None
    assert case.error["delivering"]["name"] == "appointment_booked"
    assert len([r for r in caplog.records
                if r.name.startswith("engine") and f"case {broken}" in r.getMessage()]) == 1
    # Not delivered, not lost, not spinning: it stays pending for when a case can take it.
    with engine._uow() as uow:
        [pending] = uow.messages.pending()
    assert pending.client_id == client.id
    caplog.clear()
    assert engine.deliver_messages() == 0
    assert [r for r in caplog.records if r.name.startswith("engine")] == []
    assert [e.type for e in engine.events(broken)].count("error") == 1
