"""A case refused only because of the round of a `repeat` it is in moves by itself at its
next round's start (issue 15, migrations that do not strand live cases): the migration
records it as waiting, and the command that starts the case's next round (or, after a
process stopped right after such a command, the worker's sweep) moves it by the same rules,
on SQLite and PostgreSQL, each step by a fresh Engine as another process would."""

from __future__ import annotations

from engine import Engine
from engine.cases import case_commands
from engine.ports import UnitOfWorkFactory
from engine.workflow.case_runtime import CaseRuntime
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock
from tests.unit.engine.test_migration_compat import LOOP, ROUND, at_review, runs_to_the_end
from tests.unit.engine.test_versions import edited, publish

# v2 no longer offers the answer the case gave in its round's check_in
V2 = edited("[good, bad]", "[bad]", LOOP)
WAITS = "it can move once it starts its next round of 'rounds'"


def _open_task(engine: Engine, case_id: int) -> tuple[str, str]:
    task = engine.get_case(case_id).tasks[0].task
    return task.id, task.step


def _waiting_case(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> tuple[int, int]:
    """A case at review in its first round, and the migration that left it waiting."""
    engine = fresh_engine(uow_factory, clock)
    case_id = at_review(engine, V2)
    report = engine.migrate("referral", 1, 2, actor="dana")
    [result] = report.cases
    assert not result.ok
    assert result.reason is not None and WAITS in result.reason
    assert "and will move by itself then" in result.reason
    assert report.migration is not None
    return case_id, report.migration


def test_the_case_moves_when_it_starts_its_next_round(uow_factory: UnitOfWorkFactory,
                                                      clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    engine = fresh_engine(uow_factory, clock)
    _, [entry] = engine.migration(migration_id)
    assert (entry.ok, entry.waiting, entry.waits_for_round) == (False, True, "rounds")
    assert engine.get_case(case_id).case.version == 1
    assert engine.migration_tallies("referral")[migration_id].moved == 0

    task_id, step = _open_task(engine, case_id)
    assert step == "review"
    clock.advance(minutes=5)
    engine.complete_task(task_id, {})  # the last step of round 1: round 2 starts

    later = fresh_engine(uow_factory, clock)
    case = later.get_case(case_id)
    assert case.case.version == 2
    assert [view.task.step for view in case.tasks] == ["check_in"]
    moved = [e for e in later.events(case_id) if e.type == "case_migrated"]
    assert len(moved) == 1 and moved[0].actor == "dana"
    assert moved[0].data["migration"] == migration_id
    assert moved[0].data["moved_at_round"] == 2
    _, [entry] = later.migration(migration_id)
    assert (entry.ok, entry.reason, entry.waiting, entry.waits_for_round) == (
        True, None, False, "rounds")
    assert (entry.moved_at_round, entry.moved_at) == (2, clock.now())
    assert (entry.from_step, entry.to_step) == ("check_in", "check_in")
    assert later.migration_tallies("referral")[migration_id].moved == 1
    # it goes on on v2: answers only v2 allows
    assert runs_to_the_end(later, case_id, {**ROUND, "mood": "bad", "done": True})[-1] == \
        "close"


def test_the_worker_sweep_moves_a_case_already_at_its_round_boundary(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    # a process that stopped right after committing the step (before its own move)
    stopped = CaseRuntime(uow=uow_factory, clock=clock)
    task_id, _ = _open_task(fresh_engine(uow_factory, clock), case_id)
    case_commands.complete_task(stopped, task_id, {}, actor=None)
    engine = fresh_engine(uow_factory, clock)
    assert engine.get_case(case_id).case.version == 1
    assert engine.move_waiting_cases() == 1
    assert fresh_engine(uow_factory, clock).get_case(case_id).case.version == 2
    _, [entry] = engine.migration(migration_id)
    assert (entry.ok, entry.waiting, entry.moved_at_round) == (True, False, 2)
    assert engine.move_waiting_cases() == 0


def test_a_case_whose_loop_ends_instead_stays_with_the_reason(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    engine = fresh_engine(uow_factory, clock)
    publish(engine, LOOP)
    publish(engine, V2)
    case_id = engine.start_case("referral", engine.add_client("Ann").id or 0,
                                version=1).case.id or 0
    task_id, _ = _open_task(engine, case_id)
    engine.complete_task(task_id, {**ROUND, "done": True})  # the loop ends after this round
    report = engine.migrate("referral", 1, 2)
    assert report.migration is not None
    task_id, step = _open_task(engine, case_id)
    assert step == "review"
    engine.complete_task(task_id, {})
    later = fresh_engine(uow_factory, clock)
    assert later.get_case(case_id).case.version == 1
    assert _open_task(later, case_id)[1] == "close"
    _, [entry] = later.migration(report.migration)
    assert (entry.ok, entry.waiting) == (False, False)
    assert entry.reason is not None
    assert entry.reason.startswith("step 'check_in', which this case has completed, changes")
    assert entry.reason.endswith("(it waited for its next round of 'rounds', but the loop "
                                 "ended; it stays: migrate it again if need be)")


def test_a_revert_puts_back_a_case_moved_at_its_round(uow_factory: UnitOfWorkFactory,
                                                      clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    engine = fresh_engine(uow_factory, clock)
    engine.complete_task(_open_task(engine, case_id)[0], {})
    assert engine.get_case(case_id).case.version == 2
    revert = fresh_engine(uow_factory, clock).revert_migration(migration_id)
    assert [r.ok for r in revert.cases] == [True]
    assert fresh_engine(uow_factory, clock).get_case(case_id).case.version == 1


def test_a_revert_ends_the_wait(uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    revert = fresh_engine(uow_factory, clock).revert_migration(migration_id)
    assert revert.cases == []
    engine = fresh_engine(uow_factory, clock)
    engine.complete_task(_open_task(engine, case_id)[0], {})
    assert engine.get_case(case_id).case.version == 1
    _, [entry] = engine.migration(migration_id)
    assert (entry.ok, entry.waiting) == (False, False)
    assert entry.reason is not None and entry.reason.endswith(
        f"(it no longer waits: migration {revert.migration} put back this migration)")


def test_a_later_migration_of_the_case_supersedes_its_wait(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    case_id, first = _waiting_case(uow_factory, clock)
    second = fresh_engine(uow_factory, clock).migrate("referral", 1, 2, case_ids=[case_id])
    assert second.migration is not None and not second.cases[0].ok
    engine = fresh_engine(uow_factory, clock)
    _, [entry] = engine.migration(first)
    assert (entry.waiting, entry.reason is not None and entry.reason.endswith(
        f"(it no longer waits: migration {second.migration} took the case)")) == (False, True)
    _, [entry] = engine.migration(second.migration)
    assert entry.waiting
    engine.complete_task(_open_task(engine, case_id)[0], {})
    events = [e.data["migration"] for e in engine.events(case_id) if e.type == "case_migrated"]
    assert events == [second.migration]


def test_a_newer_version_published_ends_the_wait(uow_factory: UnitOfWorkFactory,
                                                 clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    engine = fresh_engine(uow_factory, clock)
    publish(engine, edited("title: Review", "title: Look back", V2))
    engine.complete_task(_open_task(engine, case_id)[0], {})
    assert engine.get_case(case_id).case.version == 1
    _, [entry] = engine.migration(migration_id)
    assert (entry.ok, entry.waiting) == (False, False)
    assert entry.reason is not None and entry.reason.endswith(
        "(it no longer waits: version 3 was published since; migrate it to that)")


def test_a_case_that_ends_no_longer_waits(uow_factory: UnitOfWorkFactory,
                                          clock: FakeClock) -> None:
    case_id, migration_id = _waiting_case(uow_factory, clock)
    engine = fresh_engine(uow_factory, clock)
    engine.cancel_case(case_id, reason="moved away")
    _, [entry] = engine.migration(migration_id)
    assert (entry.ok, entry.waiting) == (False, False)
    assert entry.reason is not None and entry.reason.endswith(
        "(it no longer waits: the case is cancelled)")
    assert engine.move_waiting_cases() == 0


def test_a_dry_run_records_nothing_and_nothing_moves_later(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    engine = fresh_engine(uow_factory, clock)
    case_id = at_review(engine, V2)
    report = engine.migrate("referral", 1, 2, dry_run=True)
    reason = report.cases[0].reason
    assert reason is not None and reason.endswith(
        f"{WAITS}, and a migration (not a dry run) moves it by itself then")
    engine.complete_task(_open_task(engine, case_id)[0], {})
    assert fresh_engine(uow_factory, clock).get_case(case_id).case.version == 1
    assert engine.migrations() == []
    assert engine.move_waiting_cases() == 0
