"""Small helpers the engine's and the DSL's tests share to look at and move a case."""

from __future__ import annotations

from typing import Any

from engine import Engine


def open_steps(engine: Engine, case_id: int) -> list[str]:
    """The steps of the case's open tasks, sorted."""
    return sorted(view.task.step for view in engine.get_case(case_id).tasks)


def complete(engine: Engine, case_id: int, step: str, data: dict[str, Any] | None = None
             ) -> None:
    """Complete the case's one open task at `step` with `data`."""
    [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
    engine.complete_task(view.task.id, data or {})
