"""Event subprocesses started by a message or a signal: a message reaches the one case
whose event subprocess waits for it, and an interrupting one (BPMN's default) cancels the
process's other work while a non-interrupting one runs beside it (issue 11)."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.model import Message
from tests.case_steps import open_steps
from tests.event_subprocess_bundles import triggered_by
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def post(engine: Engine, clock: FakeClock, kind: str, name: str, client_id: int) -> int:
    """Keep a message or signal from outside the cases (as a sender whose process stopped
    before routing it would), then route what is kept: how many it reached."""
    with engine._uow() as unit:
        unit.messages.add(Message(id=None, name=name, client_id=client_id, payload=None,
                                  sender_case_id=None, created_at=clock.now(),
                                  kind="signal" if kind == "signal" else "message"))
        unit.commit()
    return engine.deliver_messages()


def start(engine: Engine, files: dict[str, str], name: str = "Ada") -> int:
    engine.publish(files, "on_news.bpmn")
    client = engine.add_client(name)
    case = engine.start_case("on_news", client.id or 0)
    assert open_steps(engine, case.case.id or 0) == ["check"]
    return case.case.id or 0


def test_a_message_reaches_the_event_subprocess_waiting_for_it(engine: Engine,
                                                               clock: FakeClock) -> None:
    case_id = start(engine, triggered_by("message", interrupting=False))
    record = engine.get_case(case_id).case
    assert "news" in record.waiting_for
    assert post(engine, clock, "message", "news", record.client_id) == 1
    assert open_steps(engine, case_id) == ["check", "handle"]
    assert "message_received" in [e.type for e in engine.events(case_id)]


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_message_for_an_event_subprocess_goes_to_one_case_only(
        engine: Engine, clock: FakeClock, interrupting: bool) -> None:
    """Unlike a signal, a message starts the event subprocess of one waiting case. An
    interrupted case waits for nothing more, so the next message goes to the other case."""
    first = start(engine, triggered_by("message", interrupting=interrupting))
    client_id = engine.get_case(first).case.client_id
    second = engine.start_case("on_news", client_id).case.id or 0
    assert post(engine, clock, "message", "news", client_id) == 1
    assert sorted(handlers(engine, first, second)) == [0, 1]
    assert post(engine, clock, "message", "news", client_id) == 1
    assert sorted(handlers(engine, first, second)) == ([1, 1] if interrupting else [0, 2])


def handlers(engine: Engine, *case_ids: int) -> list[int]:
    """How many `handle` tasks each case has open: how often its event subprocess ran."""
    return [open_steps(engine, case_id).count("handle") for case_id in case_ids]


@pytest.mark.parametrize("kind", ["message", "signal"])
@pytest.mark.parametrize("interrupting", [True, None])
def test_an_interrupting_event_subprocess_cancels_the_work_beside_it(
        engine: Engine, uow: FakeUnitOfWorkFactory, clock: FakeClock, kind: str,
        interrupting: bool | None) -> None:
    """Tasks, timers and awaited messages of the process all go; only the handler is left
    (isInterrupting left out is interrupting: BPMN's default)."""
    case_id = start(engine, triggered_by(kind, interrupting=interrupting))
    record = engine.get_case(case_id).case
    assert [t.step for t in uow.store.data.timers.get(case_id, [])] == ["wait_a_day"]
    assert sorted(record.waiting_for) == ["news", "reply"]
    assert post(engine, clock, kind, "news", record.client_id) == 1
    view = engine.get_case(case_id)
    assert open_steps(engine, case_id) == ["handle"]
    assert [t.task.step for t in engine.list_tasks(case_id=case_id)] == ["handle"]
    assert uow.store.data.timers.get(case_id, []) == []
    assert view.case.waiting_for == []  # neither the reply nor the news again
    [handle] = view.tasks
    engine.complete_task(handle.task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


@pytest.mark.parametrize("kind", ["message", "signal"])
def test_a_non_interrupting_event_subprocess_runs_beside_the_work(
        engine: Engine, uow: FakeUnitOfWorkFactory, clock: FakeClock, kind: str) -> None:
    case_id = start(engine, triggered_by(kind, interrupting=False))
    client_id = engine.get_case(case_id).case.client_id
    assert post(engine, clock, kind, "news", client_id) == 1
    assert open_steps(engine, case_id) == ["check", "handle"]
    assert [t.step for t in uow.store.data.timers.get(case_id, [])] == ["wait_a_day"]
    assert sorted(engine.get_case(case_id).case.waiting_for) == ["news", "reply"]
    assert post(engine, clock, kind, "news", client_id) == 1  # it can start again
    assert open_steps(engine, case_id) == ["check", "handle", "handle"]
    assert post(engine, clock, "message", "reply", client_id) == 1
    for view in engine.get_case(case_id).tasks:
        engine.complete_task(view.task.id, {})
    assert engine.get_case(case_id).case.status == "active"  # the timer still waits
    clock.advance(days=2)
    assert engine.fire_due_timers() == 1
    [follow_up] = engine.get_case(case_id).tasks
    assert follow_up.task.step == "follow_up"
    engine.complete_task(follow_up.task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


@pytest.mark.parametrize("kind", ["message", "signal"])
def test_the_event_subprocess_works_on_the_case_data_of_when_the_event_came(
        engine: Engine, clock: FakeClock, kind: str) -> None:
    """BPMN: an event subprocess shares its process's data; SpiffWorkflow would start it
    from the data the case started with, and the handler would not see `noted`."""
    case_id = start(engine, triggered_by(kind, interrupting=False))
    client_id = engine.get_case(case_id).case.client_id
    [check] = engine.get_case(case_id).tasks
    engine.complete_task(check.task.id, {})
    assert post(engine, clock, kind, "news", client_id) == 1
    [handle] = engine.get_case(case_id).tasks
    assert handle.task.step == "handle"
    engine.complete_task(handle.task.id, {})
    data = engine.get_case(case_id).case.data
    assert data["noted"] == "after the check"
    assert data["client"]["name"] == "Ada"
