"""A wait that came due before the worker's timer round, found by another command.

The worker fires due waits in rounds, and a round may lag. Meanwhile a migration, its revert,
a retry or a completed task may run the case's engine: the wait then goes off there and the
case runs on past it, as the round would have done, with one `timer_fired` event saying when
it was due. Before, SpiffWorkflow marked such a wait ready as its run ended and nothing ran
it: the case was saved showing no task and no timer, so no round would ever find it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from SpiffWorkflow.util.task import TaskState

from dsl import compile_pathway, load_pathway, validate
from engine import Engine
from engine.model import CaseRecord, Event, NewEvent
from engine.ports import UnitOfWork
from engine.workflow import runner
from engine.workflow.case_runtime import case_id_of
from engine.workflow.definitions import ParsedDefinition
from engine.workflow.state import load_state
from tests.bundles import bundle
from tests.case_steps import complete, open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

WORKER = """pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
"""

# intake, a day's wait, then assess (v2 only retitles assess)
WAIT_A_DAY = WORKER + """  - task: intake
    role: worker
    title: Intake
  - wait: cool_off
    for: P1D
  - task: assess
    role: worker
    title: Assess
"""
WAIT_A_DAY_RETITLED = WAIT_A_DAY.replace("title: Assess", "title: Assess the needs")

# a wait until the date the plan gives (left empty: the case fails there), beside a day's wait
WAIT_BESIDE_A_DATE = WORKER + """  - task: plan
    role: worker
    title: Plan
    form:
      visit_on: {type: date}
  - parallel: both
    branches:
      - steps:
          - wait: cool_off
            for: P1D
          - task: call
            role: worker
            title: Call
      - steps:
          - wait: until_visit
            until: visit_on
          - task: visit
            role: worker
            title: Visit
"""

# two tasks in a repeat (a subprocess) beside a day's wait
WAIT_BESIDE_A_REPEAT = WORKER + """  - parallel: both
    branches:
      - steps:
          - repeat: rounds
            max: 1
            steps:
              - task: first
                role: worker
                title: First
              - task: second
                role: worker
                title: Second
      - steps:
          - wait: cool_off
            for: P1D
          - task: call
            role: worker
            title: Call
"""


def publish(engine: Engine, text: str) -> int:
    if text is WAIT_BESIDE_A_DATE:  # the validator warns of the mistake planted to fail
        document, problems = validate(text, "referral.yaml")
        assert [p.message.split(":")[0] for p in problems] == [
            "visit_on may not have been asked here"]
        assert document is not None
    else:
        document = load_pathway(text, "referral.yaml")
    compiled = compile_pathway(document)
    return engine.publish(compiled.files(), compiled.bpmn_file).version


def fired(engine: Engine, case_id: int) -> list[Event]:
    return [e for e in engine.events(case_id) if e.type == "timer_fired"]


def assert_nothing_left_due(engine: Engine, case_id: int) -> None:
    """The stored case has no step that only the engine runs left ready (nothing would run
    it), and an active case shows what it waits on: a task, a timer or a message."""
    with engine.uow() as uow:
        record = engine.case(uow, case_id)
        parsed = engine.parsed(uow, record.pathway, record.version)
        timers = uow.timers.for_case(case_id)
    workflow = load_state(record.state, parsed, engine.script_engine)
    left = [runner.step_name(task) for task in runner.all_tasks(workflow)
            if task.state == TaskState.READY and not task.task_spec.manual]
    assert left == [], f"steps left ready that nothing will run: {left}"
    if record.status == "active":
        assert engine.get_case(case_id).tasks or timers or record.waiting_for


def at_the_wait(engine: Engine) -> int:
    """A case of version 1 of WAIT_A_DAY waiting its day."""
    client = engine.add_client("Ann").id or 0
    case_id = engine.start_case("referral", client, version=1).case.id or 0
    complete(engine, case_id, "intake")
    return case_id


def migrated_before_the_wait_came_due(engine: Engine, clock: FakeClock) -> tuple[int, int]:
    """A case at its day's wait migrated to the retitled version, then two days passing with
    no timer round: (the case, the migration)."""
    publish(engine, WAIT_A_DAY)
    publish(engine, WAIT_A_DAY_RETITLED)
    case_id = at_the_wait(engine)
    report = engine.migrate("referral", 1, 2)
    assert report.migration is not None
    clock.advance(days=2)
    return case_id, report.migration


# -- migrations ------------------------------------------------------------------------------


def test_a_migration_runs_a_wait_that_came_due_on_to_the_next_task(
        engine: Engine, clock: FakeClock) -> None:
    publish(engine, WAIT_A_DAY)
    publish(engine, WAIT_A_DAY_RETITLED)
    case_id = at_the_wait(engine)
    due = clock.now() + timedelta(days=1)
    clock.advance(days=2)  # due, but no timer round has run yet
    report = engine.migrate("referral", 1, 2)
    assert [(r.case, r.ok, r.from_step, r.to_step) for r in report.cases] == [
        (case_id, True, "cool_off", "assess")]
    assert open_steps(engine, case_id) == ["assess"]
    assert [e.type for e in engine.events(case_id)][-3:] == [
        "case_migrated", "timer_fired", "task_ready"]
    [timer] = fired(engine, case_id)
    assert (timer.step, timer.at, timer.data["due"]) == ("cool_off", clock.now(),
                                                         due.isoformat())
    assert_nothing_left_due(engine, case_id)
    assert engine.fire_due_timers(clock.now()) == 0
    assert len(fired(engine, case_id)) == 1


def test_a_dry_run_tells_where_the_due_wait_would_take_the_case(
        engine: Engine, clock: FakeClock) -> None:
    publish(engine, WAIT_A_DAY)
    publish(engine, WAIT_A_DAY_RETITLED)
    case_id = at_the_wait(engine)
    clock.advance(days=2)
    before = engine.get_case(case_id).case
    report = engine.migrate("referral", 1, 2, dry_run=True)
    assert [(r.ok, r.to_step) for r in report.cases] == [(True, "assess")]
    assert engine.get_case(case_id).case == before


def test_reverting_a_migration_runs_a_wait_that_came_due_since(
        engine: Engine, clock: FakeClock) -> None:
    case_id, migration = migrated_before_the_wait_came_due(engine, clock)
    revert = engine.revert_migration(migration)
    assert [(r.case, r.ok, r.to_step) for r in revert.cases] == [(case_id, True, "assess")]
    assert engine.get_case(case_id).case.version == 1
    assert open_steps(engine, case_id) == ["assess"]
    assert [e.type for e in engine.events(case_id)][-3:] == [
        "migration_reverted", "timer_fired", "task_ready"]
    assert len(fired(engine, case_id)) == 1
    assert_nothing_left_due(engine, case_id)


# -- retry -----------------------------------------------------------------------------------


def test_a_retry_runs_a_wait_beside_the_failed_step_that_came_due(
        engine: Engine, clock: FakeClock) -> None:
    publish(engine, WAIT_BESIDE_A_DATE)
    client = engine.add_client("Bo").id or 0
    case_id = engine.start_case("referral", client).case.id or 0
    complete(engine, case_id, "plan")  # no date: the wait until it fails
    assert engine.get_case(case_id).case.status == "error"
    due = clock.now() + timedelta(days=1)
    clock.advance(days=2)
    view = engine.retry_case(case_id, data={"visit_on": "2026-03-01"})
    assert view.case.status == "active"
    assert open_steps(engine, case_id) == ["call"]
    with engine.uow() as uow:
        assert [t.step for t in uow.timers.for_case(case_id)] == ["until_visit"]
    [timer] = fired(engine, case_id)
    assert (timer.step, timer.data["due"]) == ("cool_off", due.isoformat())
    assert_nothing_left_due(engine, case_id)


def test_a_retry_after_a_failed_timer_round_fires_the_wait_once_it_is_due(
        clock: FakeClock) -> None:
    """The failed round was rolled back: the case waits at its timer, which is due by the
    time someone retries it."""
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, live_cases=0)
    engine.publish(*bundle("timed_script", "total = 1"))
    engine.publish(*bundle("timed_script", "numbers = (n for n in [1, 2])"))
    client = engine.add_client("Cy").id or 0
    case_id = engine.start_case("timed_script", client).case.id or 0
    clock.advance(days=2)
    assert engine.fire_due_timers() == 0
    assert engine.get_case(case_id).case.status == "error"
    assert engine.retry_case(case_id, version=1).case.status == "active"
    assert open_steps(engine, case_id) == ["review"]
    assert len(fired(engine, case_id)) == 1
    assert_nothing_left_due(engine, case_id)


# -- tasks -----------------------------------------------------------------------------------


def test_completing_a_task_in_a_repeat_runs_a_wait_due_beside_it(
        engine: Engine, clock: FakeClock) -> None:
    """A task inside a subprocess wakes only its own subprocess's waits as it completes; the
    wait beside the repeat, marked due as the run ended, runs on too."""
    publish(engine, WAIT_BESIDE_A_REPEAT)
    client = engine.add_client("Di").id or 0
    case_id = engine.start_case("referral", client).case.id or 0
    clock.advance(days=2)
    complete(engine, case_id, "first")
    assert open_steps(engine, case_id) == ["call", "second"]
    assert len(fired(engine, case_id)) == 1
    assert_nothing_left_due(engine, case_id)
    assert engine.fire_due_timers() == 0
    assert len(fired(engine, case_id)) == 1


def test_a_case_started_with_its_wait_already_over_runs_on(engine: Engine) -> None:
    """A wait until a date already past goes off as the case starts (a guard: it always did)."""
    publish(engine, WORKER + """  - wait: released
    until: client.release_date
  - task: meet
    role: worker
    title: Meet
client_fields:
  release_date: date
""")
    client = engine.add_client("Ed", {"release_date": "2025-12-01"}).id or 0
    case_id = engine.start_case("referral", client).case.id or 0
    assert open_steps(engine, case_id) == ["meet"]
    assert_nothing_left_due(engine, case_id)


# -- the transaction template ----------------------------------------------------------------


def test_the_template_never_saves_a_case_active_with_only_a_wait_left_ready(
        engine: Engine, clock: FakeClock) -> None:
    """Case honesty, kept by the template whatever the command: one that marked a due wait
    ready without running the case on would leave it waiting on nothing, so the case is
    saved in error as stuck (a retry runs it on), never active with nothing to show."""
    publish(engine, WAIT_A_DAY)
    case_id = at_the_wait(engine)
    clock.advance(days=2)

    def only_mark_due(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                      parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        workflow.refresh_timers()
        return [], None

    engine.command(case_id_of(case_id), clock.now(), only_mark_due)
    case = engine.get_case(case_id).case
    assert case.status == "error" and case.error is not None
    assert case.error["kind"] == "stuck"
    assert engine.retry_case(case_id).case.status == "active"
    assert open_steps(engine, case_id) == ["assess"]
    assert len(fired(engine, case_id)) == 1
    assert_nothing_left_due(engine, case_id)
