"""Event timestamps never go back as their sequence numbers go up within a case, so a
time-ordered export (XES, CSV) lists a case's steps in the order they happened.

Two processes with clocks a little apart, or one whose clock stepped back, used to write
seq 12 with an earlier time than seq 11. The event log (SQL and the fake alike) now stamps
each appended event no earlier than the case's previous one, in the same transaction that
numbers it; the events of one command share its instant.
"""

from __future__ import annotations

import itertools

from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.integration.engines import at_two_parallel_tasks, complete_at_once
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def _in_order(engine: Engine, case_id: int) -> None:
    events = engine.events(case_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for before, after in itertools.pairwise(events):
        assert before.at <= after.at, (before, after)


def _clock_going_backwards(engine: Engine, clock: FakeClock) -> int:
    engine.publish(*bundle("intake"))
    client = engine.add_client("Ann")
    case = engine.start_case("intake", client.id or 0)
    clock.advance(hours=-2)  # another process's clock, or NTP stepping back
    engine.complete_task(case.tasks[0].task.id, {"risk": "high", "needs_housing": True})
    clock.advance(seconds=-30)
    for view in engine.get_case(case.case.id or 0).tasks:
        engine.complete_task(view.task.id, {})
    return case.case.id or 0


def test_event_times_follow_sequence_numbers_on_both_databases(
        uow_factory: UnitOfWorkFactory) -> None:
    clock = FakeClock()
    engine = Engine(uow=uow_factory, clock=clock)
    case_id = _clock_going_backwards(engine, clock)
    _in_order(engine, case_id)
    _in_order(Engine(uow=uow_factory, clock=clock), case_id)  # as stored, not as cached


def test_event_times_follow_sequence_numbers_in_the_fake_store() -> None:
    clock = FakeClock()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    _in_order(engine, _clock_going_backwards(engine, clock))


def test_two_processes_with_skewed_clocks_keep_one_case_in_order(
        uow_factory: UnitOfWorkFactory) -> None:
    """Parallel branches completed at once by two processes whose clocks are an hour apart."""
    ahead, behind = FakeClock(), FakeClock()
    behind.advance(hours=-1)
    setup = Engine(uow=uow_factory, clock=ahead)
    case_id, parallel = at_two_parallel_tasks(setup)
    errors = complete_at_once(uow_factory, list(zip(parallel, (ahead, behind), strict=True)))
    assert errors == []
    _in_order(setup, case_id)


def test_events_of_one_command_share_its_instant(uow_factory: UnitOfWorkFactory) -> None:
    clock = FakeClock()
    engine = Engine(uow=uow_factory, clock=clock)
    engine.publish(*bundle("intake"))
    case = engine.start_case("intake", engine.add_client("Bo").id or 0)
    events = engine.events(case.case.id or 0)
    assert len(events) >= 3  # case_started, version_allocated, task_ready in one command
    assert {e.at for e in events} == {clock.now()}  # no time is made up
    _in_order(engine, case.case.id or 0)
