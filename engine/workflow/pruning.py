"""Keep a long-running case's task tree small: drop finished work nothing will look at again.

SpiffWorkflow keeps every task it ever created. A gateway back-edge deepens the tree until
SpiffWorkflow silently ends the case at about 250 iterations (trap 1) while each step costs
more than the last (trap 2), and a construct that repeats without a back-edge widens it: the
rounds of a standard loop or a sequential multi-instance activity, each firing of a
non-interrupting boundary event (a cycle timer fires for as long as its activity runs) and
each run of a non-interrupting event subprocess stay in the tree for good. `compact`, run
before every save, cuts the finished history above the live part of the tree and these
finished repeats. That history is not lost: the event log holds every step, and the steps
cut are remembered per process (`done_steps`) for migrations.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    SequentialMultiInstanceTask,
    StandardLoopTask,
)
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState


def done_steps(workflow: Any) -> dict[str, set[str]]:
    """Per process id, the completed steps compaction cut from the tree (kept on the workflow)."""
    found: dict[str, set[str]] | None = getattr(workflow, "pathways_done_steps", None)
    if found is None:
        found = workflow.pathways_done_steps = {}
    return found


def _remember(top: Any, process: Any, task: Any) -> None:
    if task.has_state(TaskState.COMPLETED):
        done_steps(top).setdefault(process.spec.name, set()).add(task.task_spec.name)


def _has_unfinished(task: Any) -> bool:
    stack = [task]
    while stack:
        current = stack.pop()
        if not current.has_state(TaskState.FINISHED_MASK):
            return True
        stack.extend(current.children)
    return False


def _compact_one(top: Any, workflow: Any, protected: set[UUID]) -> int:
    root = workflow.task_tree
    node = root
    while node.has_state(TaskState.COMPLETED) and node.id not in protected:
        live = [child for child in node.children if _has_unfinished(child)]
        if len(live) != 1 or not live[0].has_state(TaskState.COMPLETED):
            break
        node = live[0]
    if node is root or node.parent is root:
        return 0
    keep: set[UUID] = {root.id}
    stack = [node]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    node._parent = root.id
    root._children = [node.id]
    dropped = [task_id for task_id in workflow.tasks if task_id not in keep]
    for task_id in dropped:
        _remember(top, workflow, workflow.tasks.pop(task_id))
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = node
    return len(dropped)


def compact(workflow: Any) -> int:
    """Drop the finished chain of tasks above the live part of each task tree.

    Only a chain of completed tasks with a single live branch is dropped, so nothing a
    running branch, a join or a waiting event looks at is touched. Returns how many tasks
    were dropped.
    """
    protected = {task_id for task_id, sp in workflow.subprocesses.items()
                 if not sp.is_completed()}
    dropped = 0
    for each in [workflow, *workflow.subprocesses.values()]:
        dropped += _prune_finished_loop_rounds(workflow, each)
        dropped += _compact_one(workflow, each, protected)
    _drop_orphan_subprocesses(workflow)
    return dropped


def _prune_finished_loop_rounds(top: Any, workflow: Any) -> int:
    """Drop the finished repeats under the tasks that repeat (see `_repeats`)."""
    dropped = 0
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks or not _repeats(workflow, task):
            continue  # (dropped with a repeat above it)
        dropped += sum(_drop_subtree(top, workflow, child)
                       for child in list(task.children) if _finished_repeat(workflow, task, child))
        task._children = [c for c in task._children if c in workflow.tasks]
        dropped += _drop_idle_duplicate_joins(top, workflow, task)
        task._children = [c for c in task._children if c in workflow.tasks]
        if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
            workflow.last_task = task
    return dropped


def _finished_repeat(workflow: Any, task: Any, child: Any) -> bool:
    """Whether `child` of the repeating `task` is a finished repeat that may go."""
    if task is workflow.task_tree and not isinstance(child.task_spec, SubWorkflowTask):
        return False  # the root's other children are the process's own work
    merged = isinstance(task.task_spec, StandardLoopTask | SequentialMultiInstanceTask)
    if not merged and _holds_last_task(workflow, child):
        return False  # the case's current data is the data its last step left
    if isinstance(task.task_spec, BoundaryEventSplit):
        return _spent_firing(child)
    return bool(child.has_state(TaskState.FINISHED_MASK)) and not _has_unfinished(child)


def _spent_firing(child: Any) -> bool:
    """A non-interrupting boundary event that went off (engine.workflow.rearming put a new
    one beside it to wait for the next occurrence) and whose path has ended: all that is
    left under it are idle copies of its activity's join, which the activity's own copy
    makes redundant."""
    spec = child.task_spec
    if not isinstance(spec, BoundaryEvent) or spec.cancel_activity \
            or not child.has_state(TaskState.COMPLETED):
        return False
    stack = list(child.children)
    while stack:
        current = stack.pop()
        if not current.has_state(TaskState.FINISHED_MASK) and not _idle_join(current):
            return False
        stack.extend(current.children)
    return True


def _idle_join(task: Any) -> bool:
    return isinstance(task.task_spec, BoundaryEventJoin) and task.state == TaskState.WAITING \
        and not task.children


def _holds_last_task(workflow: Any, child: Any) -> bool:
    last = workflow.last_task
    return last is not None and (last is child or last.is_descendant_of(child))


def _repeats(workflow: Any, task: Any) -> bool:
    """Whether a task's finished children are finished repeats, read by nothing again.

    A running standard loop or sequential multi-instance activity keeps each round (each
    instance) as a child, already merged into its own data and counted in its internal data.
    A non-interrupting boundary event keeps each firing's path as a child (every path ran to
    its end), and the root keeps each finished run of an event subprocess (its data merged
    back when it ended): Pathways wires an event subprocess as a child of the process's root
    (engine.workflow.bpmn_events.wire_event_subprocesses), where no other subprocess is.
    """
    spec = task.task_spec
    if isinstance(spec, BoundaryEventSplit):
        return True  # its spent non-interrupting firings (see _spent_firing)
    if isinstance(spec, StandardLoopTask | SequentialMultiInstanceTask):
        return not task.has_state(TaskState.FINISHED_MASK)
    if isinstance(spec, BoundaryEvent):
        return not spec.cancel_activity
    return task is workflow.task_tree and any(
        isinstance(child.task_spec, SubWorkflowTask) for child in task.children)


def _drop_idle_duplicate_joins(top: Any, workflow: Any, task: Any) -> int:
    """Each firing of a non-interrupting boundary event leaves a waiting copy of its
    activity's BoundaryEventJoin. The copies are alike (the join fires on the activity's
    state alone, then cancels every copy), so the newest one is kept and the rest dropped."""
    waiting = [child for child in task.children if _idle_join(child)]
    return sum(_drop_subtree(top, workflow, child) for child in waiting[:-1])


def _drop_subtree(top: Any, workflow: Any, first: Any) -> int:
    stack, gone = [first], 0
    while stack:
        task = stack.pop()
        stack.extend(task.children)
        if workflow.tasks.pop(task.id, None) is not None:
            _remember(top, workflow, task)
            gone += 1
    return gone


def _drop_orphan_subprocesses(workflow: Any) -> None:
    """Forget finished subprocesses whose calling task was compacted away."""
    while True:
        live = set(workflow.tasks)
        for subprocess in workflow.subprocesses.values():
            live.update(subprocess.tasks)
        orphans = [task_id for task_id in workflow.subprocesses if task_id not in live]
        if not orphans:
            return
        for task_id in orphans:
            orphan = workflow.subprocesses.pop(task_id)
            for task in orphan.tasks.values():
                _remember(workflow, orphan, task)
