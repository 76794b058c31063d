"""Loops that run for a long time stay exact and cheap: back-edges and standard loops alike."""

from __future__ import annotations

import yaml

from dsl.compile import compile_pathway
from engine import Engine
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

REPEAT = """
pathway: daily_checkins
title: Daily check-ins
roles: {caseworker: {title: Caseworker}}
steps:
  - repeat: rounds
    max: 300
    steps:
      - task: check_in
        role: caseworker
        title: Check in
"""


def test_a_standard_loop_of_300_rounds_keeps_the_stored_tree_small() -> None:
    compiled = compile_pathway(yaml.safe_load(REPEAT))
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Kit")
    case_id = engine.start_case("daily_checkins", client.id or 0).case.id or 0
    sizes = []
    rounds = 0
    while tasks := engine.get_case(case_id).tasks:
        engine.complete_task(tasks[0].task.id, {})
        rounds += 1
        state = engine.get_case(case_id).case.state
        sizes.append(len(state.get("tasks", {})) + len(state.get("subprocesses", {})))
    assert rounds == 300
    assert engine.get_case(case_id).case.status == "completed"
    assert max(sizes) < 30  # finished rounds are pruned, not kept in the case state
