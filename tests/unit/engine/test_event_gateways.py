"""Event-based gateways: a timer, a message or a signal decides the branch (issue 11, item 1).

The gateways here sit in one branch of a parallel split; the other branch holds an unrelated
user task, which must stay workable whatever the gateway waits for or has chosen.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import Engine
from engine.model import Timer
from engine.workflow import clock_timers as engine_clock
from engine.workflow import runner
from engine.workflow.clock import running_at
from engine.workflow.state import SERIALIZER, dump_state, load_state
from tests.case_steps import open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.engine.test_engine import publish, types


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    # No live cache: every command reloads the case from what was stored.
    return Engine(uow=FakeUnitOfWorkFactory(), clock=clock, live_cases=0)


def complete_step(engine: Engine, case_id: int, step: str) -> None:
    [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
    engine.complete_task(view.task.id, {})


def stored(engine: Engine, case_id: int) -> tuple[Any, list[Timer]]:
    """The case's stored workflow, loaded afresh (its state must be plain JSON), and the
    timers stored for it."""
    with engine._uow() as uow:
        record = uow.cases.get(case_id)
        parsed = engine._parsed(uow, record.pathway, record.version)
        timers = uow.timers.for_case(case_id)
    json.dumps(record.state)  # what storage keeps must be plain JSON
    return load_state(record.state, parsed, engine.script_engine), timers


def start(engine: Engine, pathway: str, name: str = "Ann") -> tuple[int, int]:
    publish(engine, pathway)
    client = engine.add_client(name)
    case = engine.start_case(pathway, client.id or 0)
    return case.case.id or 0, client.id or 0


OTHER_BRANCH = {"gateway_timer_message": {"reply", "read_reply"},
                "gateway_timer_signal": {"cleared", "close_down"}}


# the pathways whose event-based gateway races a timer against a message or a signal: the
# pathway, the timer's step and the awaited event's step
GATEWAY_TIMERS = pytest.mark.parametrize("pathway, timer_step, awaited", [
    ("gateway_timer_message", "no_reply", "reply_received"),
    ("gateway_timer_signal", "no_all_clear", "all_clear"),
])


@GATEWAY_TIMERS
def test_timer_behind_a_gateway_is_scheduled_and_fires_cancelling_the_other_branch(
        engine: Engine, clock: FakeClock, pathway: str, timer_step: str,
        awaited: str) -> None:
    case_id, _ = start(engine, pathway)
    started = clock.now()
    scheduled = [e for e in engine.events(case_id) if e.type == "timer_scheduled"]
    assert [(e.step, e.data["due"]) for e in scheduled] == [
        (timer_step, (started + timedelta(days=7)).isoformat())]
    workflow, timers = stored(engine, case_id)
    assert [(t.step, t.due_at) for t in timers] == [(timer_step, started + timedelta(days=7))]
    assert awaited in runner.waiting_message_names(workflow) | runner.waiting_signal_names(workflow)
    assert engine.get_case(case_id).case.waiting_for == [awaited]
    assert open_steps(engine, case_id) == ["keep_notes"]

    assert engine.fire_due_timers(started + timedelta(days=6)) == 0
    assert engine.fire_due_timers(started + timedelta(days=7, seconds=1)) == 1
    assert open_steps(engine, case_id) == ["chase", "keep_notes"]
    fired = [e for e in engine.events(case_id) if e.type == "timer_fired"]
    assert [e.step for e in fired] == [timer_step]
    [decision] = [e for e in engine.events(case_id) if e.type == "decision"]
    assert decision.data["taken"] == [timer_step]
    view = engine.get_case(case_id).case
    assert view.status == "active" and view.waiting_for == []
    workflow, timers = stored(engine, case_id)  # the stored case reloads
    assert timers == []
    assert not runner.waiting_message_names(workflow) | runner.waiting_signal_names(workflow)
    steps = {runner.step_name(task) for task in runner.all_tasks(workflow)}
    assert timer_step in steps and not steps & OTHER_BRANCH[pathway]  # the other is gone
    assert engine.fire_due_timers(started + timedelta(days=30)) == 0

    # The unrelated task, and the branch the timer chose, still complete.
    complete_step(engine, case_id, "keep_notes")
    complete_step(engine, case_id, "chase")
    assert engine.get_case(case_id).case.status == "completed"


def test_message_delivered_first_wins_and_withdraws_the_timer(engine: Engine,
                                                                clock: FakeClock) -> None:
    case_id, client_id = start(engine, "gateway_timer_message")
    publish(engine, "reply_sender")
    started = clock.now()
    clock.advance(days=2)
    sender = engine.start_case("reply_sender", client_id).case.id
    assert open_steps(engine, case_id) == ["keep_notes", "read_reply"]
    received = [e for e in engine.events(case_id) if e.type == "message_received"]
    assert [(e.data["name"], e.data["from_case"]) for e in received] == [
        ("reply_received", sender)]
    assert engine.get_case(case_id).case.data["reply"] == {"answer": "yes"}
    assert "timer_fired" not in types(engine, case_id)
    [decision] = [e for e in engine.events(case_id) if e.type == "decision"]
    assert decision.data["taken"] == ["reply"]
    workflow, timers = stored(engine, case_id)
    assert timers == []
    steps = {runner.step_name(task) for task in runner.all_tasks(workflow)}
    assert "reply" in steps and not steps & {"no_reply", "chase"}  # the timer's branch is gone
    assert engine.fire_due_timers(started + timedelta(days=8)) == 0
    assert open_steps(engine, case_id) == ["keep_notes", "read_reply"]
    complete_step(engine, case_id, "read_reply")
    complete_step(engine, case_id, "keep_notes")
    assert engine.get_case(case_id).case.status == "completed"


def test_a_timer_due_before_the_message_came_wins_even_if_not_fired_yet(
        engine: Engine, clock: FakeClock) -> None:
    """The worker may lag: a message arriving after the timer was due must not take the
    gateway's other branch too (SpiffWorkflow would take both), nor be used up."""
    case_id, client_id = start(engine, "gateway_timer_message")
    publish(engine, "reply_sender")
    clock.advance(days=8)
    engine.start_case("reply_sender", client_id)
    assert open_steps(engine, case_id) == ["chase", "keep_notes"]
    [decision] = [e for e in engine.events(case_id) if e.type == "decision"]
    assert decision.data["taken"] == ["no_reply"]
    assert "message_received" not in types(engine, case_id)
    with engine._uow() as uow:
        [kept] = uow.messages.pending(client_id)
    assert kept.name == "reply_received"
    stored(engine, case_id)


def test_unrelated_task_completes_while_the_gateway_timer_is_due(engine: Engine,
                                                                 clock: FakeClock) -> None:
    """The reported failure: once the timer was due every command on the case failed."""
    case_id, _ = start(engine, "gateway_timer_message")
    clock.advance(days=8)  # due, not yet fired by a worker
    complete_step(engine, case_id, "keep_notes")
    assert engine.get_case(case_id).case.status == "active"
    stored(engine, case_id)  # storable as JSON, and it reloads
    engine.fire_due_timers()
    assert open_steps(engine, case_id) == ["chase"]
    assert [e.step for e in engine.events(case_id) if e.type == "timer_fired"] == ["no_reply"]


def test_the_earlier_of_two_gateway_timers_takes_its_branch(engine: Engine,
                                                             clock: FakeClock) -> None:
    """SpiffWorkflow keeps one due time and one fired flag per task: a gateway's second
    timer took the first one's due time, and both fired together."""
    case_id, _ = start(engine, "gateway_two_timers")
    started = clock.now()
    scheduled = [e for e in engine.events(case_id) if e.type == "timer_scheduled"]
    assert [(e.step, e.data["due"]) for e in scheduled] == [
        ("nudge_due", (started + timedelta(days=3)).isoformat())]
    assert engine.fire_due_timers(started + timedelta(days=2)) == 0
    assert engine.fire_due_timers(started + timedelta(days=3, seconds=1)) == 1
    assert open_steps(engine, case_id) == ["keep_notes", "nudge"]
    assert [e.step for e in engine.events(case_id) if e.type == "timer_fired"] == ["nudge_due"]
    [decision] = [e for e in engine.events(case_id) if e.type == "decision"]
    assert decision.data["taken"] == ["nudge_due"]
    assert engine.fire_due_timers(started + timedelta(days=8)) == 0
    assert open_steps(engine, case_id) == ["keep_notes", "nudge"]
    stored(engine, case_id)


def test_signal_names_are_reported_apart_and_a_signal_takes_its_branch(
        engine: Engine, clock: FakeClock) -> None:
    case_id, _ = start(engine, "gateway_timer_signal")
    workflow, _ = stored(engine, case_id)
    assert runner.waiting_signal_names(workflow) == {"all_clear"}
    awaited = [(runner.step_name(task), type(definition).__name__)
               for task, definition in runner.awaited_events(workflow)]
    assert awaited == [("clear_or_chase", "ClockDurationTimer"),
                       ("clear_or_chase", "SignalEventDefinition")]
    message_case, _ = start(engine, "gateway_timer_message", "Bo")
    message_workflow, _ = stored(engine, message_case)
    assert runner.waiting_signal_names(message_workflow) == set()

    with running_at(clock.now() + timedelta(days=1)):
        workflow.send_event(BpmnEvent(SignalEventDefinition("all_clear")))
        assert runner.run_engine(workflow) is None
    reloaded = load_state(json.loads(json.dumps(dump_state(workflow))),
                          *_parsed_and_engine(engine, case_id))
    ready = sorted(runner.step_name(t) for t in runner.all_tasks(reloaded)
                   if t.task_spec.manual and t.state == TaskState.READY)
    assert ready == ["close_down", "keep_notes"]
    assert runner.timers(reloaded, case_id) == []


def _parsed_and_engine(engine: Engine, case_id: int) -> tuple[object, object]:
    with engine._uow() as uow:
        record = uow.cases.get(case_id, with_state=False)
        return engine._parsed(uow, record.pathway, record.version), engine.script_engine


def _clock_timer_classes() -> list[type]:
    return [value for value in vars(engine_clock).values()
            if isinstance(value, type) and issubclass(value, TimerEventDefinition)
            and value.__module__ == engine_clock.__name__]


@pytest.mark.parametrize("timer_class", _clock_timer_classes(), ids=lambda c: c.__name__)
def test_every_pathways_timer_class_survives_the_serializer(timer_class: type) -> None:
    definition = timer_class("nudge", '"P1D"')
    event = BpmnEvent(definition, payload=None)
    text = json.dumps(SERIALIZER.registry.convert({"seen_events": [event]}))
    [restored] = SERIALIZER.registry.restore(json.loads(text))["seen_events"]
    assert type(restored.event_definition) is timer_class
    assert restored.event_definition == definition  # what the gateway matches it against
    assert restored.event_definition.expression == '"P1D"'


def test_the_pathways_timer_classes_are_found() -> None:
    assert {c.__name__ for c in _clock_timer_classes()} >= {
        "ClockDurationTimer", "ClockTimeDateTimer", "ClockCycleTimer"}
