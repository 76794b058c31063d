"""Group commit (engine.workflow.group_commit, issue 19 item 3): the cases whose timers are
due at once fire in batches that share one commit, each case in a savepoint of its own, so a
failing case is undone alone and the others still commit together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Engine
from engine.cases import case_commands
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.engine.test_worker_isolation import damage_state


@pytest.fixture
def factory() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
def engine(clock: FakeClock, factory: FakeUnitOfWorkFactory) -> Engine:
    return Engine(uow=factory, clock=clock, live_cases=0)


def _cases(engine: Engine, count: int) -> list[int]:
    engine.publish(*bundle("timed_script", "total = 1"))
    client = engine.add_client("Ann")
    return [engine.start_case("timed_script", client.id or 0).case.id or 0
            for _ in range(count)]


def test_timers_due_at_once_share_one_commit(engine: Engine, clock: FakeClock,
                                             factory: FakeUnitOfWorkFactory) -> None:
    cases = _cases(engine, 5)
    before = factory.store.commits
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 5
    assert factory.store.commits - before == 1
    assert all(open_steps(engine, case) == ["review"] for case in cases)


def test_a_batch_stops_at_its_limit_and_the_next_one_goes_on(
        engine: Engine, clock: FakeClock, factory: FakeUnitOfWorkFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(case_commands, "TIMER_BATCH_CASES", 2)
    cases = _cases(engine, 5)
    before = factory.store.commits
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 5
    assert factory.store.commits - before == 3  # 2 + 2 + 1
    assert all(open_steps(engine, case) == ["review"] for case in cases)
    assert engine.fire_due_timers(clock.now() + timedelta(days=3)) == 0  # each fired once


def test_a_failing_case_is_undone_alone_and_the_others_commit_together(
        engine: Engine, clock: FakeClock, factory: FakeUnitOfWorkFactory) -> None:
    first, damaged, last = _cases(engine, 3)
    damage_state(engine, damaged)
    before = factory.store.commits
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 2
    # one commit: the others' steps and the failure, recorded in the batch
    assert factory.store.commits - before == 1
    assert open_steps(engine, first) == open_steps(engine, last) == ["review"]
    case = engine.get_case(damaged).case
    assert case.status == "error" and case.error is not None
    assert [e.type for e in engine.events(damaged)].count("error") == 1
    assert "timer_fired" not in [e.type for e in engine.events(damaged)]


def test_a_batch_where_every_case_fails_commits_nothing_but_the_failures(
        engine: Engine, clock: FakeClock, factory: FakeUnitOfWorkFactory) -> None:
    cases = _cases(engine, 2)
    for case in cases:
        damage_state(engine, case)
    before = factory.store.commits
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 0
    assert factory.store.commits - before == 1  # the two failures, recorded in the batch
    assert [engine.get_case(case).case.status for case in cases] == ["error", "error"]


def test_a_failure_that_cannot_be_recorded_leaves_the_case_to_a_later_round(
        engine: Engine, clock: FakeClock, factory: FakeUnitOfWorkFactory,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Recording the failure fails too (the database): that record alone is undone, the
    others' steps commit, and the case stays as it was, its timer due for the next round."""
    first, damaged, last = _cases(engine, 3)
    damage_state(engine, damaged)

    def cannot_record(*_: object, **__: object) -> tuple[str, bool]:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(case_commands, "put_in_error", cannot_record)
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 2
    assert open_steps(engine, first) == open_steps(engine, last) == ["review"]
    assert engine.get_case(damaged).case.status == "active"
    assert "error" not in [e.type for e in engine.events(damaged)]
    assert "putting it in error failed too: RuntimeError: the database went away" in caplog.text
