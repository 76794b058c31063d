"""Loops that run for a long time stay exact and cheap: back-edges and standard loops alike."""

from __future__ import annotations

import cProfile
import pstats
from pathlib import Path
from typing import Any

import yaml

import engine as engine_package
from dsl.compile import compile_pathway
from engine import Engine
from tests.bundles import bundle
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


# -- the engine's own work per step -----------------------------------------------------------

ENGINE = str(Path(engine_package.__file__).parent)
BLOCK_OF_ROUNDS = """
pathway: tenancy_visits
title: Tenancy visits
roles: {keyworker: {title: Keyworker}}
steps:
  - block: tenancy
    steps:
      - repeat: visits
        max: 300
        steps:
          - task: visit
            role: keyworker
            title: "Home visit {round}"
            form:
              tenancy_ended: {type: boolean, required: true}
              arrears: {type: integer, required: true}
    handlers:
      - when: tenancy_ended
        steps:
          - task: rehouse
            role: keyworker
            title: Find another home
      - when: arrears > 500
        interrupting: false
        steps:
          - task: arrears_advice
            role: keyworker
            title: Arrears advice
"""


def _engine_calls(engine: Engine, task_id: str, data: dict[str, Any]) -> tuple[Any, int]:
    """Complete a task, counting the calls of the engine's own functions (a walk over the
    case's tasks counts once per task: a generator's every step is a call)."""
    profile = cProfile.Profile()
    result = profile.runcall(engine.complete_task, task_id, data)
    calls = sum(numbers[1] for (path, _line, _name), numbers in
                pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
                if path.startswith(ENGINE))
    return result, calls


def _calls_at(engine: Engine, case_id: int, step: str, data: dict[str, Any],
              rounds: int) -> dict[int, int]:
    measured = {}
    for done in range(1, rounds + 1):
        task_id = next(t.task.id for t in engine.get_case(case_id).tasks if t.task.step == step)
        _result, measured[done] = _engine_calls(engine, task_id, data)
    return {done: measured[done] for done in (10, rounds)}


def test_a_back_edge_loop_round_costs_the_engine_what_the_tenth_did() -> None:
    """The benchmark's loop (bench/run.py (b)): no walk, copy or rewrite in the engine's
    per-step path may grow with the rounds the case has done (new checks after each run of
    the engine, titles, people, due dates included)."""
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(*bundle("loop_checkin"))
    client = engine.add_client("Lou", {"checkins": 200})
    case_id = engine.start_case("loop_checkin", client.id or 0).case.id or 0
    calls = _calls_at(engine, case_id, "checkin", {}, 150)
    assert calls[150] == calls[10] > 0


def test_a_repeat_round_in_a_block_with_when_handlers_costs_the_engine_what_the_tenth_did(
        ) -> None:
    """A repeat keeps every round's answers (they grow by design), but the engine's own work
    for a step (the `when:` conditions checked after each run, the round in the title, the
    round scripts) must not."""
    compiled = compile_pathway(yaml.safe_load(BLOCK_OF_ROUNDS))
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Kit")
    case_id = engine.start_case("tenancy_visits", client.id or 0).case.id or 0
    calls = _calls_at(engine, case_id, "visit", {"tenancy_ended": False, "arrears": 10}, 150)
    assert calls[150] == calls[10] > 0
