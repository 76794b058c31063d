"""A wait that came due before the timer round, found by a migration, its revert or a retry,
on real storage (SQLite and PostgreSQL): the stored case has run on past the wait, and
another process finds it at its next task (see tests/unit/engine/test_due_timers.py)."""

from __future__ import annotations

from datetime import timedelta

from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock
from tests.unit.engine.test_due_timers import (
    WAIT_A_DAY,
    WAIT_A_DAY_RETITLED,
    assert_nothing_left_due,
    at_the_wait,
    fired,
    migrated_before_the_wait_came_due,
    publish,
)


def test_a_timer_due_before_a_migration_and_its_revert_runs_on_as_stored(
        engine: Engine, uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    publish(engine, WAIT_A_DAY)
    publish(engine, WAIT_A_DAY_RETITLED)
    moved, reverted = at_the_wait(engine), at_the_wait(engine)
    due = clock.now() + timedelta(days=1)
    clock.advance(days=2)  # both due; no timer round has run
    report = engine.migrate("referral", 1, 2, case_ids=[moved, reverted])
    assert [(r.case, r.to_step) for r in report.cases] == [(moved, "assess"),
                                                           (reverted, "assess")]
    other = fresh_engine(uow_factory, clock)
    assert other.fire_due_timers() == 0
    for case_id in (moved, reverted):
        assert open_steps(other, case_id) == ["assess"]
        [timer] = fired(other, case_id)
        assert (timer.step, timer.at, timer.data["due"]) == (
            "cool_off", clock.now(), due.isoformat())
        assert_nothing_left_due(other, case_id)


def test_a_revert_runs_on_a_timer_that_came_due_after_the_migration(
        engine: Engine, uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    case_id, migration = migrated_before_the_wait_came_due(engine, clock)
    other = fresh_engine(uow_factory, clock)
    revert = other.revert_migration(migration)
    assert [(r.ok, r.to_step) for r in revert.cases] == [(True, "assess")]
    assert other.fire_due_timers() == 0
    assert open_steps(other, case_id) == ["assess"]
    assert other.get_case(case_id).case.version == 1
    assert len(fired(other, case_id)) == 1
    assert_nothing_left_due(other, case_id)


def test_a_retry_after_a_failed_timer_round_runs_the_due_timer_on(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    engine = fresh_engine(uow_factory, clock)
    engine.publish(*bundle("timed_script", "total = 1"))
    engine.publish(*bundle("timed_script", "numbers = (n for n in [1, 2])"))
    case_id = engine.start_case("timed_script", engine.add_client("Fay").id or 0).case.id or 0
    clock.advance(days=2)
    assert engine.fire_due_timers() == 0  # its script leaves data storage cannot hold
    assert engine.get_case(case_id).case.status == "error"
    assert engine.retry_case(case_id, version=1).case.status == "active"
    other = fresh_engine(uow_factory, clock)
    assert open_steps(other, case_id) == ["review"]
    assert len(fired(other, case_id)) == 1
    assert_nothing_left_due(other, case_id)
