"""Event-based gateways on real databases (SQLite and PostgreSQL): what the gateway awaits is
stored, fires or is delivered, and the stored case reloads in another process."""

from __future__ import annotations

from datetime import timedelta

from engine import Engine
from engine.ports import UnitOfWorkFactory
from engine.workflow.state import load_state
from tests.bundles import DATA, bundle
from tests.case_steps import open_steps
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock
from tests.unit.engine.test_event_gateways import GATEWAY_TIMERS


def complete_step(engine: Engine, case_id: int, step: str) -> None:
    [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
    engine.complete_task(view.task.id, {})


def reloads(engine: Engine, uow_factory: UnitOfWorkFactory, case_id: int) -> None:
    with uow_factory() as uow:
        record = uow.cases.get(case_id)
        assert record is not None
        parsed = engine.definition(record.pathway, record.version, uow=uow)
    load_state(record.state, parsed, engine.script_engine)


@GATEWAY_TIMERS
def test_gateway_timer_fires_in_another_process_and_the_case_goes_on(
        uow_factory: UnitOfWorkFactory, clock: FakeClock, pathway: str, timer_step: str,
        awaited: str) -> None:
    first = fresh_engine(uow_factory, clock)
    first.publish(*bundle(pathway))
    client = first.add_client("Ann")
    case_id = first.start_case(pathway, client.id or 0).case.id or 0
    started = clock.now()
    with uow_factory() as uow:
        timers = uow.timers.for_case(case_id)
        assert [(t.step, t.due_at) for t in timers] == [
            (timer_step, started + timedelta(days=7))]
    assert first.get_case(case_id).case.waiting_for == [awaited]

    worker = fresh_engine(uow_factory, clock)
    assert worker.fire_due_timers(started + timedelta(days=6)) == 0
    assert worker.fire_due_timers(started + timedelta(days=7, seconds=1)) == 1
    with uow_factory() as uow:
        assert uow.timers.for_case(case_id) == []

    caseworker = fresh_engine(uow_factory, clock)
    assert open_steps(caseworker, case_id) == ["chase", "keep_notes"]
    assert caseworker.get_case(case_id).case.waiting_for == []
    reloads(caseworker, uow_factory, case_id)
    complete_step(caseworker, case_id, "keep_notes")  # the unrelated task, after the timer
    complete_step(fresh_engine(uow_factory, clock), case_id, "chase")
    assert caseworker.get_case(case_id).case.status == "completed"
    types = [e.type for e in caseworker.events(case_id)]
    assert types.count("timer_scheduled") == 1 and types.count("timer_fired") == 1


def test_gateway_message_delivered_first_wins_on_storage(uow_factory: UnitOfWorkFactory,
                                                         clock: FakeClock) -> None:
    engine = fresh_engine(uow_factory, clock)
    engine.publish(*bundle("gateway_timer_message"))
    engine.publish(*bundle("reply_sender"))
    client = engine.add_client("Bo")
    case_id = engine.start_case("gateway_timer_message", client.id or 0).case.id or 0
    started = clock.now()
    clock.advance(days=1)
    fresh_engine(uow_factory, clock).start_case("reply_sender", client.id or 0)

    other = fresh_engine(uow_factory, clock)
    assert open_steps(other, case_id) == ["keep_notes", "read_reply"]
    assert other.get_case(case_id).case.data["reply"] == {"answer": "yes"}
    with uow_factory() as uow:
        assert uow.timers.for_case(case_id) == []
        assert uow.messages.pending(client.id) == []
    assert other.fire_due_timers(started + timedelta(days=8)) == 0
    reloads(other, uow_factory, case_id)
    complete_step(other, case_id, "read_reply")
    complete_step(other, case_id, "keep_notes")
    assert other.get_case(case_id).case.status == "completed"


def test_unrelated_task_completes_after_the_gateway_timer_is_due(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    """The reported failure: `Type is not JSON serializable: ClockDurationTimer` on every
    command once the gateway's timer was due."""
    engine = fresh_engine(uow_factory, clock)
    engine.publish(*bundle("gateway_timer_message"))
    client = engine.add_client("Cy")
    case_id = engine.start_case("gateway_timer_message", client.id or 0).case.id or 0
    clock.advance(days=8)
    complete_step(fresh_engine(uow_factory, clock), case_id, "keep_notes")
    later = fresh_engine(uow_factory, clock)
    later.fire_due_timers()
    assert open_steps(later, case_id) == ["chase"]
    assert [e.step for e in later.events(case_id) if e.type == "timer_fired"] == ["no_reply"]
    reloads(later, uow_factory, case_id)


def test_gateway_timer_due_before_the_message_takes_the_branch_on_storage(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    engine = fresh_engine(uow_factory, clock)
    engine.publish(*bundle("gateway_timer_message"))
    engine.publish(*bundle("reply_sender"))
    client = engine.add_client("Di")
    case_id = engine.start_case("gateway_timer_message", client.id or 0).case.id or 0
    clock.advance(days=8)  # the timer is due; no worker has run
    fresh_engine(uow_factory, clock).start_case("reply_sender", client.id or 0)
    reader = fresh_engine(uow_factory, clock)
    assert open_steps(reader, case_id) == ["chase", "keep_notes"]
    assert "message_received" not in [e.type for e in reader.events(case_id)]
    with uow_factory() as uow:
        assert [m.name for m in uow.messages.pending(client.id)] == ["reply_received"]
    reloads(reader, uow_factory, case_id)


def test_a_signal_thrown_by_another_case_takes_the_gateways_branch(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    """The gateway's signal is routed between cases as a signal, not offered as a message."""
    engine = fresh_engine(uow_factory, clock)
    engine.publish(*bundle("gateway_timer_signal"))
    thrower = (DATA / "signal_thrower.bpmn").read_text().replace("housing_found", "all_clear")
    engine.publish({"signal_thrower.bpmn": thrower}, "signal_thrower.bpmn")
    client = engine.add_client("Ann")
    waiting = engine.start_case("gateway_timer_signal", client.id or 0).case.id or 0
    throwing = engine.start_case("signal_thrower", client.id or 0).case.id or 0
    clock.advance(days=1)
    complete_step(engine, throwing, "find_housing")  # throws all_clear
    view = engine.get_case(waiting).case
    assert view.status == "active" and view.waiting_for == []
    types = [e.type for e in engine.events(waiting)]
    assert "signal_received" in types and "error" not in types
    [decision] = [e for e in engine.events(waiting) if e.type == "decision"]
    assert decision.data["taken"] == ["cleared"]
    with uow_factory() as uow:
        assert uow.timers.for_case(waiting) == []
    reloads(fresh_engine(uow_factory, clock), uow_factory, waiting)
