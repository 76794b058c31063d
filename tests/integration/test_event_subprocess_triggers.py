"""Event subprocesses started by a message or a signal on real databases (SQLite file and
PostgreSQL): the message reaches one waiting case, and an interrupting one leaves nothing
of the process's other work stored (no inbox row, timer or awaited event), while a
non-interrupting one runs beside it; each step read back by another process."""

from __future__ import annotations

import pytest

from engine import Engine
from engine.model import Message
from engine.ports import UnitOfWorkFactory
from tests.event_subprocess_bundles import triggered_by
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock


def keep(uow_factory: UnitOfWorkFactory, clock: FakeClock, kind: str, client_id: int) -> None:
    """A message or signal "news" kept by a sender whose process stopped before routing it."""
    with uow_factory() as uow:
        uow.messages.add(Message(id=None, name="news", client_id=client_id, payload=None,
                                 sender_case_id=None, created_at=clock.now(),
                                 kind="signal" if kind == "signal" else "message"))
        uow.commit()


def stored(uow_factory: UnitOfWorkFactory, case_id: int) -> tuple[list[str], list[str]]:
    """The case's open inbox steps and timer steps as the database holds them."""
    with uow_factory() as uow:
        return (sorted(row.step for row in uow.inbox.list(case_id=case_id)),
                sorted(timer.step for timer in uow.timers.for_case(case_id)))


def published_for(uow_factory: UnitOfWorkFactory, clock: FakeClock, kind: str, *,
                  interrupting: bool | None, client: str) -> tuple[Engine, int]:
    """A first process publishes `on_news` (started by a `kind`, interrupting or not) and
    adds the client: its engine and the client's id."""
    first = fresh_engine(uow_factory, clock)
    first.publish(triggered_by(kind, interrupting=interrupting), "on_news.bpmn")
    return first, first.add_client(client).id or 0


@pytest.mark.parametrize("kind", ["message", "signal"])
def test_an_interrupting_event_subprocess_round_trip(
        uow_factory: UnitOfWorkFactory, clock: FakeClock, kind: str) -> None:
    first, ann = published_for(uow_factory, clock, kind, interrupting=None, client="Ann")
    case_id = first.start_case("on_news", ann).case.id or 0
    other_id = first.start_case("on_news", ann).case.id or 0
    assert stored(uow_factory, case_id) == (["check"], ["wait_a_day"])
    assert sorted(first.get_case(case_id).case.waiting_for) == ["news", "reply"]

    keep(uow_factory, clock, kind, ann)
    router = fresh_engine(uow_factory, clock)
    reached = router.deliver_messages()

    hearers = [case_id, other_id] if kind == "signal" else [case_id]
    assert reached == len(hearers)  # a signal reaches both cases, a message the first one
    reader = fresh_engine(uow_factory, clock)
    for hearer in hearers:
        assert stored(uow_factory, hearer) == (["handle"], [])
        assert reader.get_case(hearer).case.waiting_for == []
    if kind == "message":
        assert stored(uow_factory, other_id) == (["check"], ["wait_a_day"])
    [handle] = reader.get_case(case_id).tasks
    reader.complete_task(handle.task.id, {})
    assert fresh_engine(uow_factory, clock).get_case(case_id).case.status == "completed"


@pytest.mark.parametrize("kind", ["message", "signal"])
def test_a_non_interrupting_event_subprocess_round_trip(
        uow_factory: UnitOfWorkFactory, clock: FakeClock, kind: str) -> None:
    first, bo = published_for(uow_factory, clock, kind, interrupting=False, client="Bo")
    case_id = first.start_case("on_news", bo).case.id or 0

    keep(uow_factory, clock, kind, bo)
    assert fresh_engine(uow_factory, clock).deliver_messages() == 1

    assert stored(uow_factory, case_id) == (["check", "handle"], ["wait_a_day"])
    reader = fresh_engine(uow_factory, clock)
    assert sorted(reader.get_case(case_id).case.waiting_for) == ["news", "reply"]
    for view in reader.get_case(case_id).tasks:
        fresh_engine(uow_factory, clock).complete_task(view.task.id, {})
    assert stored(uow_factory, case_id) == ([], ["wait_a_day"])
    assert reader.get_case(case_id).case.status == "active"
