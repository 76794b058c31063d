"""A block's handler goes on from the answers given inside the block (the DSL's `block`).

SpiffWorkflow runs an embedded subprocess on a copy of the data it started with, copies the
subprocess's data back only when it completes, and starts a boundary event's path from the
data the subprocess started with. So when a message, a date or a condition cut a block short,
every answer given inside it (the reviews held, a repeat's rounds) was lost to the handler's
steps and to everything after them: a go_to back into the block began its repeat at round 1
again. `AnswerKeepingBoundaryEvent` is the boundary event the parser builds instead: when it
goes off on a subprocess that is still running, its path starts from what the step finished
last inside the subprocess (or a subprocess inside it) left behind, as the block's own end
would have. Two names are the block's surroundings', not its inside's: the `round` of a
repeat around the block, and the answers being collected for a round (`pathways_round_<id>`)
of a repeat inside it, whose round was cut short.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from engine.workflow.definition_model import ROUND_ANSWERS_PREFIX
from engine.workflow.titles import ROUND


class AnswerKeepingBoundaryEvent(BoundaryEvent):  # type: ignore[misc]
    """A boundary event whose path sees the answers given inside the activity it is on."""

    starts_from_inside = True  # where its path meets another, what it started from is this

    def _on_ready_hook(self, my_task: Any) -> None:
        super()._on_ready_hook(my_task)
        inside = latest_inside(my_task)
        if inside is not None:
            my_task.data = kept_answers(my_task.data, inside)


def _in_an_instance(task: Any) -> bool:
    """Whether a task is one item's run of a multi-instance activity (a for_each): its
    answers reach the case only as the activity's results, once every item is done."""
    return task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask)


def latest_inside(event_task: Any) -> dict[str, Any] | None:
    """The data of the step finished last inside the embedded subprocess the event is
    attached to, while it runs (None: not an embedded subprocess, or nothing finished there
    yet). A call activity keeps its own data: its outputs are mapped only when it completes."""
    top = event_task.workflow.top_workflow
    attached = [task for task in event_task.parent.children
                if not isinstance(task.task_spec, BoundaryEvent)
                and isinstance(task.task_spec, SubWorkflowTask)
                and not isinstance(task.task_spec, CallActivity)]
    todo = [task.id for task in attached if task.id in top.subprocesses]
    done: list[Any] = []
    while todo:
        for task in top.subprocesses[todo.pop()].tasks.values():
            if _in_an_instance(task):
                continue
            if task.state == TaskState.COMPLETED:
                done.append(task)
            if task.id in top.subprocesses:
                todo.append(task.id)
    if not done:
        return None
    last = max(done, key=lambda task: task.last_state_change)
    return {name: value for name, value in last.data.items() if not callable(value)}


def kept_answers(before: dict[str, Any], inside: dict[str, Any]) -> dict[str, Any]:
    """The data a handler goes on from: what was given inside the block, with the round of
    a repeat around it, and without the unfinished round of a repeat inside it."""
    data = {name: deepcopy(value) for name, value in inside.items()
            if not (name.startswith(ROUND_ANSWERS_PREFIX) and name not in before)}
    if ROUND in before:
        data[ROUND] = before[ROUND]
    return data
