"""An interrupting boundary event on an embedded subprocess (the DSL's `block`) carries on
with what was answered inside it.

SpiffWorkflow copies an embedded subprocess's data back to the process only when the
subprocess completes (SubWorkflowTask.update_data). An interrupting boundary event starts
from the data the subprocess started with, so the answers given in it, and a repeat's
rounds, were lost from the case: the handler's steps and the steps after the block could not
read them. This boundary event takes, when it goes off, the data the subprocess's most
recently finished step left behind (in the subprocess or any subprocess inside it, such as a
repeat's round), as a completed subprocess would hand it on, then adds the event's own
payload. A for_each cut short leaves nothing of its items (its answers reach the case only as
its results, once every item is done); a call activity keeps its own data (its outputs are
mapped when it completes); a non-interrupting event runs beside the subprocess with the data
it started with, as before.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent as SpiffBoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.util.task import TaskState


def _in_an_instance(task: Any) -> bool:
    """Whether a task is one item's run of a multi-instance activity (a for_each): its
    answers reach the case only as the activity's results, once every item is done."""
    return task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask)


def _inner_tasks(workflow: Any, subprocess: Any) -> list[Any]:
    """The tasks of a subprocess and of the subprocesses inside it (a repeat's rounds), at
    any depth, leaving out the runs of a multi-instance activity."""
    found, pending = [], [subprocess]
    while pending:
        tasks = [t for t in pending.pop().tasks.values() if not _in_an_instance(t)]
        found.extend(tasks)
        pending.extend(workflow.subprocesses[t.id] for t in tasks
                       if t.id in workflow.subprocesses)
    return found


def answers_inside(boundary_task: Any) -> dict[str, Any] | None:
    """What the most recently finished step inside the subprocess this interrupting event is
    attached to left behind; None when it is not on an embedded subprocess that has run."""
    main = next((t for t in boundary_task.parent.children
                 if not isinstance(t.task_spec, SpiffBoundaryEvent)), None)
    if main is None or not isinstance(main.task_spec, SubWorkflowTask) \
            or isinstance(main.task_spec, CallActivity):
        return None
    top = boundary_task.workflow.top_workflow
    subprocess = top.subprocesses.get(main.id)
    if subprocess is None:
        return None
    done = [t for t in _inner_tasks(top, subprocess) if t.state == TaskState.COMPLETED]
    if not done:
        return None
    last = max(done, key=lambda task: task.last_state_change)
    return {k: deepcopy(v) for k, v in last.data.items() if not callable(v)}


class BoundaryEvent(SpiffBoundaryEvent):  # type: ignore[misc]
    """SpiffWorkflow's boundary event (same class name: the engine's words for a change
    read it), keeping the answers of the subprocess it interrupts."""

    def _run_hook(self, my_task: Any) -> Any:
        if self.cancel_activity:
            inside = answers_inside(my_task)
            if inside is not None:
                my_task.data.update(inside)
        return super()._run_hook(my_task)
