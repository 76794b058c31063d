"""Two interrupting timers on one activity that go off at the same moment: the first (in the
model's order) interrupts the activity and the other goes with it, as BPMN has the activity
interrupted once. Both used to run (SpiffWorkflow cancels an activity's other boundary
events only while they still wait, and both were ready), so the case went on twice from one
block and stuck at the join after it (found by tests/unit/dsl/test_compile_properties.py in
CI: a case in error, "has no open task ... yet has not finished")."""

from __future__ import annotations

from typing import Any

import pytest

from dsl import compile_pathway
from engine import Engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def _document(at: str) -> dict[str, Any]:
    worker = {"role": "worker", "title": "Check in"}
    return {
        "pathway": "twice", "title": "Twice", "description": "Two timers, one moment",
        "roles": {"worker": {"title": "The worker", "organisations": ["some_org"]}},
        "steps": [
            {"task": "intake", **worker},
            {"parallel": "both", "branches": [
                {"steps": [{"block": "work", "steps": [{"task": "long_job", **worker}],
                            "handlers": [
                                {"at": at, "steps": [{"task": "first_handler", **worker}]},
                                {"at": at, "steps": [{"record": "second_handler",
                                                      "outcome": "handled"}]}]}]},
                {"steps": [{"task": "other_branch", **worker}]}]},
            {"end": "done", "reason": "completed"}]}


def _run(at: str, clock: FakeClock) -> tuple[str, list[str]]:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock)
    compiled = compile_pathway(_document(at))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Pat")
    case_id = engine.start_case("twice", client.id or 0).case.id or 0
    for _ in range(50):
        if engine.get_case(case_id).case.status != "active":
            break
        tasks = sorted((view for view in engine.list_tasks() if view.task.step != "long_job"),
                       key=lambda view: view.task.step)  # the block's own work waits
        if tasks:
            engine.complete_task(tasks[0].task.id, {})
        else:
            clock.advance(hours=12)
            engine.fire_due_timers(clock.now())
    steps = [f"{event.type} {event.step}" for event in engine.events(case_id)
             if event.type in ("task_ready", "outcome_recorded", "error")]
    return engine.get_case(case_id).case.status, steps


@pytest.mark.parametrize(("at", "when"), [
    ('date("2026-01-01")', "already due when the block starts"),
    ('date("2026-01-20")', "due together later, while the block waits"),
])
def test_two_timers_due_together_interrupt_the_block_once(at: str, when: str) -> None:
    status, steps = _run(at, FakeClock())
    assert status == "completed", (when, steps)
    assert "task_ready first_handler" in steps, (when, steps)
    assert "outcome_recorded second_handler" not in steps, (when, steps)
