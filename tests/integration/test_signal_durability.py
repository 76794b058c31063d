"""A routed signal is never lost (issue 17): the cases that waited for it when it was routed,
and the cases its start events begin, each get it exactly once, whatever stops the router
between routing it and the last delivery: a crash, a case that stays busy, another router."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy

from engine import Engine
from engine.cases import message_commands
from engine.errors import ConflictError
from engine.model import CaseRecord
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.integration.test_signals import route_together
from tests.unit.engine.fakes import FakeClock


def received(engine: Engine, case_id: int | None) -> int:
    return [e.type for e in engine.events(case_id or 0)].count("signal_received")


def steps(engine: Engine, case_id: int | None) -> list[str]:
    return sorted(view.task.step for view in engine.get_case(case_id or 0).tasks)


def throw(engine: Engine, thrower: CaseRecord) -> None:
    [view] = engine.get_case(thrower.id or 0).tasks
    engine.complete_task(view.task.id, {})


def waiting_catchers(engine: Engine, count: int) -> tuple[CaseRecord, list[CaseRecord]]:
    """signal_thrower and signal_catcher published, Ann's thrower and `count` catchers."""
    engine.publish(*bundle("signal_thrower"))
    engine.publish(*bundle("signal_catcher"))
    ann = engine.add_client("Ann").id or 0
    thrower = engine.start_case("signal_thrower", ann).case
    return thrower, [engine.start_case("signal_catcher", ann).case for _ in range(count)]


def crash_router(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the router die (as under kill -9: nothing after it runs) when it hands a signal
    to a case: after the signal was marked routed, before any case got it. Returns the
    real hand, to put back."""
    real = message_commands.receive

    def crash(*_args: Any) -> Any:
        raise SystemExit("killed")
    monkeypatch.setattr(message_commands, "receive", crash)
    return real


def test_a_crash_after_routing_leaves_the_signal_for_the_next_round(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    thrower, catchers = waiting_catchers(engine, 3)
    real_receive = crash_router(monkeypatch)
    with pytest.raises(SystemExit):
        throw(engine, thrower)  # committed; the router dies once the signal is routed
    monkeypatch.setattr(message_commands, "receive", real_receive)
    assert [received(engine, c.id) for c in catchers] == [0, 0, 0]
    late = engine.start_case("signal_catcher", catchers[0].client_id).case  # waits after

    assert engine.deliver_messages() == 3  # the worker's next round
    assert [received(engine, c.id) for c in catchers] == [1, 1, 1]
    assert all(steps(engine, c.id) == ["move_in"] for c in catchers)
    assert received(engine, late.id) == 0 and steps(engine, late.id) == []  # as BPMN says
    assert engine.deliver_messages() == 0
    assert [received(engine, c.id) for c in catchers] == [1, 1, 1]


def test_a_crash_before_a_signal_starts_its_case_starts_it_next_round(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.publish(*bundle("signal_thrower"))
    engine.publish(*bundle("signal_started"))
    ann = engine.add_client("Ann").id or 0
    thrower = engine.start_case("signal_thrower", ann).case
    throw(engine, thrower)  # housing_found: starts nothing
    monkeypatch.setattr(message_commands, "start",
                        lambda *_args, **_kw: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        throw(engine, thrower)  # support_ended: routed, then the router dies
    monkeypatch.undo()
    assert engine.list_cases(pathway="signal_started") == []

    assert engine.deliver_messages() == 1
    [started] = engine.list_cases(pathway="signal_started")
    assert started.client_id == ann and steps(engine, started.id) == ["follow_up"]
    assert engine.deliver_messages() == 0
    assert len(engine.list_cases(pathway="signal_started")) == 1


def test_a_case_busy_past_the_attempts_gets_the_signal_on_a_later_round(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    thrower, [busy, free] = waiting_catchers(engine, 2)
    real_receive = message_commands.receive

    def busy_receive(*args: Any) -> Any:
        action = real_receive(*args)

        def act(uow: Any, record: CaseRecord, workflow: Any, parsed: Any) -> Any:
            if record.id == busy.id:
                raise ConflictError(f"case {record.id} is busy")
            return action(uow, record, workflow, parsed)
        return act
    monkeypatch.setattr(message_commands, "receive", busy_receive)
    throw(engine, thrower)
    assert received(engine, free.id) == 1 and received(engine, busy.id) == 0
    assert engine.deliver_messages() == 0  # still busy
    monkeypatch.undo()

    assert engine.deliver_messages() == 1
    assert received(engine, busy.id) == 1 and steps(engine, busy.id) == ["move_in"]
    assert received(engine, free.id) == 1
    assert engine.deliver_messages() == 0


def test_two_routers_finish_a_crashed_broadcast_once(
        uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(uow=uow_factory, clock=FakeClock())
    thrower, catchers = waiting_catchers(engine, 4)
    real_receive = crash_router(monkeypatch)
    with pytest.raises(SystemExit):
        throw(engine, thrower)
    monkeypatch.setattr(message_commands, "receive", real_receive)

    reached = route_together(uow_factory)
    assert sum(reached) == 4
    assert [received(engine, c.id) for c in catchers] == [1, 1, 1, 1]


def test_a_router_passes_over_a_delivery_another_holds(
        uow_factory: UnitOfWorkFactory, db_engine: sqlalchemy.Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While one router holds a case's delivery (its transaction open), another delivers
    the rest without waiting for it, and neither delivers twice (PostgreSQL: SQLite has
    one worker, its writers serialized)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    engine = Engine(uow=uow_factory, clock=FakeClock())
    thrower, catchers = waiting_catchers(engine, 3)
    real_receive = crash_router(monkeypatch)
    with pytest.raises(SystemExit):
        throw(engine, thrower)
    other = Engine(uow=uow_factory, clock=FakeClock())
    other_reached: list[int] = []
    held: list[int] = []

    def holding_receive(*args: Any) -> Any:
        action = real_receive(*args)

        def act(uow: Any, record: CaseRecord, workflow: Any, parsed: Any) -> Any:
            if not held:  # the first delivery: the other router runs while it is held
                held.append(record.id or 0)
                runner = threading.Thread(
                    target=lambda: other_reached.append(other.deliver_messages()))
                runner.start()
                runner.join(timeout=30)
                assert not runner.is_alive(), "the other router waited for the held one"
            return action(uow, record, workflow, parsed)
        return act
    monkeypatch.setattr(message_commands, "receive", holding_receive)

    first = Engine(uow=uow_factory, clock=FakeClock()).deliver_messages()
    assert other_reached == [2] and first == 1
    assert [received(engine, c.id) for c in catchers] == [1, 1, 1]
