"""What happens first: an interrupting boundary event before any more work inside the activity
it interrupts, and timers in the order they fell due.

BPMN 2.0.2 §13.5.3: once an interrupting boundary event occurs, "the Activity the Event is
attached to is then cancelled" - nothing more runs inside it. SpiffWorkflow 3.2's
`do_engine_steps` runs each subprocess, deepest first, until it waits before it runs the
READY tasks of the process around it: an escalation or error thrown inside a subprocess and
caught by an interrupting boundary event on it makes that event READY, but every step the
subprocess can still take runs before the event does (and only then cancels the
subprocess). `engine_steps` passes SpiffWorkflow's own `will_complete_task` hook, which stops
the round before any other step runs while an interrupting boundary event is READY; the
event then runs (its join cancels the activity, as SpiffWorkflow does it) and the round
starts again. The start event of an interrupting event subprocess, once READY, runs first
too (engine.workflow.interrupting_starts).

Timers: `refresh_timers` lets every due timer go off at once, in task-tree order, so when
the worker fires a case late, a timer inside a subprocess due after the subprocess's boundary
timer could still go off (and its path run) before the boundary event cancels it.
`fire_due_timers` fires them one due time at a time, earliest first: each round only the
timers due by then go off and the case runs on; what was cancelled meanwhile never goes off.
A cycle timer keeps its own rounds (each call lets it go off once, as before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.workflow.clock import running_at
from engine.workflow.conditional_events import (
    has_conditional_starts,
    refresh_waiting,
    settle,
    start_now,
)
from engine.workflow.interrupting_starts import interrupts

# bounds on rounds: each one runs a boundary event or fires a timer that had not gone off
MAX_INTERRUPTIONS = 1000
MAX_TIMER_ROUNDS = 100


class _InterruptFirst(Exception):
    """Stops a round of engine steps: this interrupting boundary event must run first."""

    def __init__(self, boundary: Any) -> None:
        super().__init__(boundary.task_spec.name)
        self.boundary = boundary


class _Stale(Exception):
    """Stops a round of engine steps before a task an earlier step of the same round cancelled
    (SpiffWorkflow lists the ready tasks once per round and would run it anyway: a parallel
    multi-instance script instance a completionCondition ended ran once more)."""


def _skip_stale(task: Any) -> None:
    if not task.has_state(TaskState.READY):
        raise _Stale(task.task_spec.name)


def _tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _ready_interruption(workflow: Any, running: Any) -> Any | None:
    for task in _tasks(workflow):
        if (task.state == TaskState.READY and task is not running
                and interrupts(task.task_spec)):
            return task
    return None


def _first_interruption_only(workflow: Any) -> None:
    """Of an activity's interrupting boundary events that became ready together (two timers
    due at the same moment), only the first (in the model's order) goes off: it interrupts
    the activity, which takes its other boundary events with it. SpiffWorkflow cancels those
    only while they still wait, so both ran and the case went on twice from one activity."""
    later: list[Any] = []
    for task in list(_tasks(workflow)):
        if isinstance(task.task_spec, BoundaryEventSplit):
            later += [child for child in task.children
                      if child.state == TaskState.READY and interrupts(child.task_spec)][1:]
    for task in later:
        task.cancel()


def _several_interruptions(workflow: Any) -> bool:
    """Whether an activity of the case's processes has more than one interrupting boundary
    event (else no two can be ready together, and nothing is looked for)."""
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    return any(isinstance(task_spec, BoundaryEventSplit)
               and sum(interrupts(output) for output in task_spec.outputs) > 1
               for spec in specs if spec is not None for task_spec in spec.task_specs.values())


def _can_interrupt(workflow: Any) -> bool:
    """Whether the case's processes have an interrupting boundary event at all (else there is
    nothing to look for before each step)."""
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    return any(interrupts(task_spec)
               for spec in specs if spec is not None for task_spec in spec.task_specs.values())


def engine_steps(workflow: Any) -> None:
    """`workflow.do_engine_steps()`, except that a READY interrupting boundary event (or
    event subprocess start) runs before any other step, and a task an earlier step of the
    round cancelled does not run."""
    settle(workflow)  # the conditional events the command's data made true, before any step
    several = _several_interruptions(workflow)
    if several:
        _first_interruption_only(workflow)

    def interruptions_first(task: Any) -> None:
        _skip_stale(task)
        refresh_waiting(workflow)  # a condition an answer inside an activity made true
        started = start_now(workflow)  # an event subprocess a step's data started
        if started is not None:
            raise _InterruptFirst(started)
        if several:  # timers due together, or already due when their activity began
            _first_interruption_only(workflow)
        boundary = _ready_interruption(workflow, task)
        if boundary is not None:
            raise _InterruptFirst(boundary)

    interruptible = _can_interrupt(workflow) or has_conditional_starts(workflow)
    before_each = interruptions_first if interruptible else _skip_stale
    for _ in range(MAX_INTERRUPTIONS):
        try:
            workflow.do_engine_steps(will_complete_task=before_each)
            return
        except _InterruptFirst as first:
            first.boundary.run()
        except _Stale:
            continue
    workflow.do_engine_steps()


def _due_timers(workflow: Any, due_of: Callable[[Any], datetime | None], now: datetime,
                done: set[UUID]) -> list[tuple[datetime, UUID]]:
    """(due, task id) of each waiting timer due by `now` that has not gone off this round."""
    due = []
    for task in _tasks(workflow):
        cycle = isinstance(getattr(task.task_spec, "event_definition", None),
                           CycleTimerEventDefinition)  # goes off by rounds of its own
        if task.state == TaskState.WAITING and task.id not in done and not cycle:
            when = due_of(task)
            if when is not None and when <= now:
                due.append((when, task.id))
    return sorted(due)


def fire_due_timers(workflow: Any, now: datetime, due_of: Callable[[Any], datetime | None],
                    run: Callable[[Any], dict[str, Any] | None]) -> dict[str, Any] | None:
    """Let the timers due by `now` go off, earliest first, running the case (`run`, which
    returns a failure or None) after each due time; `due_of` gives a waiting task's due time
    (None for a task that is no timer). Each timer goes off at most once per call (a cycle's
    next round waits for the next call, as before)."""
    done: set[UUID] = set()
    for _ in range(MAX_TIMER_ROUNDS):
        due = _due_timers(workflow, due_of, now, done)
        if not due:
            break
        first = due[0][0]
        done.update(task_id for when, task_id in due if when <= first)
        with running_at(first):
            workflow.refresh_timers()
        failure = run(workflow)
        if failure is not None:
            return failure
    workflow.refresh_timers()
    return run(workflow)
