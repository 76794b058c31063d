"""A loop or multi-instance activity right after a boundary event that goes off as its
activity completes (a date already past on a block that finishes at once). SpiffWorkflow
left the loop predicted, not definite, and creating its instances then failed ("Attempt to
add non-predicted child to predicted task"): the case stopped in error. Found by
tests/unit/dsl/test_compile_properties.py."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from dsl.compile import compile_pathway
from engine import Engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

PATHWAY = """
pathway: generated
title: Check in
roles:
  worker: {title: The worker, organisations: [some_org]}
steps:
- task: intake
  role: worker
  title: Intake
- block: block_1
  steps:
  - notify: notify_2
    to: worker
    message: Check in
  handlers:
  - at: date("2025-12-01")
    interrupting: false
    steps:
    - {loop}
"""

LOOPS: dict[str, Any] = {
    "for_each": {"for_each": "each_4", "in": "[1, 2]",
                 "steps": [{"task": "visit", "role": "worker", "title": "Visit"}]},
    "repeat": {"repeat": "rounds", "max": 2,
               "steps": [{"task": "visit", "role": "worker", "title": "Visit"}]},
}


@pytest.mark.parametrize("kind", sorted(LOOPS))
def test_a_loop_on_the_path_of_a_boundary_event_that_went_off_runs(kind: str) -> None:
    document = yaml.safe_load(PATHWAY.replace("{loop}", "placeholder"))
    document["steps"][1]["handlers"][0]["steps"] = [LOOPS[kind]]
    compiled = compile_pathway(document)
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Kit")
    case_id = engine.start_case("generated", client.id or 0).case.id or 0
    [intake] = engine.get_case(case_id).tasks
    engine.complete_task(intake.task.id, {})
    view = engine.get_case(case_id)
    assert [e.data for e in engine.events(case_id) if e.type == "error"] == []
    assert view.case.status == "active"
    assert [task.task.step for task in view.tasks] == ["visit"] * (2 if kind == "for_each" else 1)
    while tasks := engine.get_case(case_id).tasks:
        engine.complete_task(tasks[0].task.id, {})
    assert engine.get_case(case_id).case.status == "completed"
