"""BPMN conditional events, evaluated when the case's data changes (BPMN 2.0.2 §10.5.1
conditionalEventDefinition, §13.5): intermediate catch, boundary (interrupting and not), and
the start event of a process-level event subprocess (interrupting and not).

BPMN: the event "is triggered when a condition becomes true", and its condition "MUST become
false and then true before the Event can be triggered again". SpiffWorkflow 3.2 evaluates a
conditional event's condition once, as the event is reached, on the data its branch started
with, and never again (its `refresh_timers` looks at timers only), so an answer given later
never set it off; an event subprocess's conditional start it never evaluated at all.

Here the definition SpiffWorkflow parsed becomes a `ConditionalEvent` (at parse time, like
the clock-aware timers): its condition is evaluated, by the same sandboxed evaluator as
gateway conditions, on its process's current data (every finished step's own writes, in the
order they finished: SpiffWorkflow's branches each keep a copy; a called process has data of
its own), and it fires only on an edge from false to true; whether it held at its last look
is kept in the waiting task's internal data (an event subprocess's start: in the case's root
task), so the edge survives a reload. SpiffWorkflow looks again at a workflow's waiting tasks
after each of its steps; `settle` looks at every armed conditional event before and after
each run of the engine (a task completed, a message caught, a timer fired:
engine.workflow.event_order, engine.workflow.runner.run_engine), and, when an interrupting
event or a conditional event subprocess start could be set off, before each step it runs
(scripts and `set` steps change data too). A non-interrupting boundary event is armed again
once it went off, remembering the condition held, so it occurs again only after the
condition went false and true again (SpiffWorkflow arms a boundary event once per run of its
activity). A condition naming data not given yet does not hold; one that fails otherwise
stops the case in error at that event.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import DefinitionError
from engine.workflow.definition_model import ParsedDefinition, all_task_specs

HELD = "pathways_condition_held:"  # + the event's id: whether its condition held at last look


class ConditionalEvent(ConditionalEventDefinition):  # type: ignore[misc]
    """A conditional event definition that fires when its condition becomes true on the
    case's current data. Named after its event's id, so that two conditional events of a
    case are told apart (SpiffWorkflow compares definitions of one class as equal)."""

    def has_fired(self, my_task: Any) -> bool:
        if my_task._get_internal_data("event_fired", False):
            return True
        if isinstance(my_task.task_spec, StartEvent):
            return False  # an event subprocess's start: set off by `settle` (a catch)
        data = current_data(my_task.workflow.top_workflow, my_task.workflow)
        if rose(my_task.internal_data, self, holds(self, my_task.workflow, data, my_task)):
            my_task._set_internal_data(event_fired=True)
            my_task.data.update(deepcopy(data))  # its path goes on from what set it off
            return True
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConditionalEvent) and other.name == self.name \
            and other.expression == self.expression

    def __hash__(self) -> int:
        return hash((self.name, self.expression))


def rose(memory: dict[str, Any], definition: Any, now: bool) -> bool:
    """Record whether the condition holds now; whether it went from false to true."""
    key = HELD + str(definition.name)
    before = bool(memory.get(key, False))
    memory[key] = now
    return now and not before


def holds(definition: Any, workflow: Any, data: dict[str, Any], task: Any = None) -> bool:
    """Whether the condition holds on `data` (an answer not given yet: it does not)."""
    environment = workflow.top_workflow.script_engine.environment
    try:
        return environment.evaluate(definition.expression, dict(data)) is True
    except NameError:
        return False
    except Exception as err:  # a failing condition is the event's own failure
        message = (f"the condition {definition.expression!r} of conditional event "
                   f"{definition.name!r} failed: {type(err).__name__}: {err}")
        if task is not None:
            raise WorkflowTaskException(message, task=task, exception=err) from err
        raise WorkflowException(message) from err


def _tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def current_data(top: Any, where: Any = None) -> dict[str, Any]:
    """The data of the process instance running in `where` (a workflow of the case; the
    case's own process by default): each finished step's own writes (what it changed in the
    data it started from), in the order the steps finished, in the process or any embedded
    subprocess of it; a called process (call activity) has data of its own.

    SpiffWorkflow gives each branch its own copy of the data: the data of the step finished
    last would lack an answer given on another branch, and a condition reading that answer
    would go false and true again as the branches take turns (a non-interrupting event set
    off again by nothing). A step's own writes are what BPMN's one process data saw."""
    instance = _instance(top, where if where is not None else top)
    workflows = [w for w in (top, *top.subprocesses.values()) if _instance(top, w) is instance]
    done = sorted((task for w in workflows for task in w.tasks.values()
                   if task.state == TaskState.COMPLETED),
                  key=lambda task: task.last_state_change)
    data: dict[str, Any] = {}
    for task in done:
        before = _data_before(top, task)
        for name, value in task.data.items():
            if not callable(value) and (name not in before or before[name] != value):
                data[name] = value
        for name in before:
            if name not in task.data:
                data.pop(name, None)  # the step deleted it
    return data


def _instance(top: Any, workflow: Any) -> Any:
    """The workflow of the process instance `workflow` belongs to: itself or the nearest
    around it that a call activity runs, through embedded subprocesses; else the case's."""
    while workflow is not top:
        try:
            holder = top.get_task_from_id(workflow.parent_task_id)
        except TaskNotFoundException:
            return workflow
        if isinstance(holder.task_spec, CallActivity):
            return workflow
        workflow = holder.workflow
    return top


def _data_before(top: Any, task: Any) -> dict[str, Any]:
    """The data a step started from: its parent's; a subprocess's first task, the data of
    the task running the subprocess."""
    if task.parent is not None:
        return dict(task.parent.data)
    if task.workflow is top:
        return {}
    try:
        return dict(top.get_task_from_id(task.workflow.parent_task_id).data)
    except TaskNotFoundException:  # (compacted away once the subprocess finished)
        return {}


# -- at parse time --------------------------------------------------------------------------

def use_conditional_events(parsed: ParsedDefinition) -> None:
    """Make every conditional event definition of the parsed specs a ConditionalEvent,
    named after its event (an event-based gateway holds its events' definitions itself)."""
    for spec in all_task_specs(parsed):
        definition = getattr(spec, "event_definition", None)
        if type(definition) is ConditionalEventDefinition:
            _swap(definition, spec.bpmn_id or spec.name)
        elif isinstance(definition, MultipleEventDefinition):
            gateway = isinstance(spec, EventBasedGateway)
            for position, inner in enumerate(definition.event_definitions):
                if type(inner) is ConditionalEventDefinition:
                    target = spec.outputs[position] if gateway else None
                    _swap(inner, target.bpmn_id if target is not None
                          else f"{spec.bpmn_id or spec.name}.{position}")
    _refuse_starts_out_of_reach(parsed)


def _refuse_starts_out_of_reach(parsed: ParsedDefinition) -> None:
    """Refuse a conditional start of an event subprocess anywhere but in the pathway's own
    process (in a called process, the engine would never look at it: it watches the case's
    process only). Nested ones the publish rules refuse already, with their place."""
    for process in parsed.subprocess_specs.values():
        for name in getattr(getattr(process, "start", None), "trigger_specs", None) or ():
            for start in getattr(parsed.subprocess_specs.get(name), "bpmn_start_events",
                                 None) or ():
                if isinstance(start.event_definition, ConditionalEvent):
                    raise DefinitionError(
                        f"startEvent {start.bpmn_id!r} starts event subprocess {name!r} "
                        f"inside {process.name!r}: Pathways watches conditional starts of "
                        "event subprocesses only in the pathway's own process (not in a "
                        "process it calls); attach a conditional boundary event to the call "
                        "activity instead, or move the event subprocess to the pathway",
                        file=getattr(process, "file", None) or parsed.main_file,
                        element=start.bpmn_id, details={"rule": "conditional_event"})


def _swap(definition: Any, name: str) -> None:
    definition.__class__ = ConditionalEvent
    definition.name = definition.name or name
    definition.expression = (definition.expression or "").strip()


# -- after each run of the engine ------------------------------------------------------------

def settle(workflow: Any) -> bool:
    """Set off every armed conditional event whose condition became true on the case's data
    now; whether any was (the engine then runs again)."""
    top = workflow.top_workflow
    if not _has_conditionals(top):
        return False
    _arm_again(top)
    fired = refresh_waiting(top)
    return _start_event_subprocesses(top, current_data(top)) or fired


def refresh_waiting(workflow: Any) -> bool:
    """Look again at the conditional events waiting as tasks (catch, boundary, an event-based
    gateway's); whether any went off. SpiffWorkflow looks again at a workflow's waiting
    tasks after each of its tasks completes, but not at those of the process around it: a
    boundary event on a subprocess would see an answer given inside only once the engine
    stopped. engine.workflow.event_order calls this before each step the engine runs."""
    top = workflow.top_workflow
    if not _has_conditionals(top):
        return False
    fired = False
    for task in list(top.event_manager.tasks.values()):
        if task.state != TaskState.WAITING:
            continue
        definition = task.task_spec.event_definition
        if isinstance(definition, ConditionalEvent):
            if not isinstance(task.task_spec, StartEvent):
                task.task_spec._update(task)
                fired = fired or task.state == TaskState.READY
        elif isinstance(definition, MultipleEventDefinition):
            data = current_data(top, task.workflow)
            fired = _settle_multiple(task, definition, data) or fired
    return fired


def _has_conditionals(top: Any) -> bool:
    """Whether the case's processes have conditional events at all (cached on the spec)."""
    spec = top.spec
    known = getattr(spec, "pathways_conditionals", None)
    if known is None:
        specs = [spec, *(s for s in top.subprocess_specs.values() if s is not None)]
        known = any(_conditionals_of(task_spec) for each in specs
                    for task_spec in each.task_specs.values())
        spec.pathways_conditionals = known
    return bool(known)


def _conditionals_of(task_spec: Any) -> list[Any]:
    definition = getattr(task_spec, "event_definition", None)
    inner = getattr(definition, "event_definitions", None) or [definition]
    return [d for d in inner if isinstance(d, ConditionalEvent)]


def _settle_multiple(task: Any, definition: Any, data: dict[str, Any]) -> bool:
    """An event-based gateway (or a multiple event) waiting on conditions among its events:
    each that became true is caught, as a message would be."""
    fired = False
    for inner in definition.event_definitions:
        if isinstance(inner, ConditionalEvent) and rose(
                task.internal_data, inner, holds(inner, task.workflow, data, task)):
            task.task_spec.catch(task, BpmnEvent(inner))
            task.task_spec._update(task)
            task.data.update(deepcopy(data))
            fired = True
    return fired


def _arm_again(top: Any) -> None:
    """Arm again each non-interrupting conditional boundary event that went off while its
    activity still runs, remembering that its condition held."""
    for split in [t for t in _tasks(top) if isinstance(t.task_spec, BoundaryEventSplit)
                  and t.state == TaskState.COMPLETED]:
        main = next((c for c in split.children
                     if not isinstance(c.task_spec, BoundaryEvent)), None)
        if main is None or main.has_state(TaskState.FINISHED_MASK):
            continue
        for spec in filter(_rearmed, split.task_spec.outputs):
            mine = [c for c in split.children if c.task_spec is spec]
            if mine and all(c.has_state(TaskState.COMPLETED) for c in mine):
                again = split._add_child(spec, TaskState.FUTURE)
                again.internal_data[HELD + str(spec.event_definition.name)] = True
                spec._predict(again, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
                spec._update(again)


def _rearmed(spec: Any) -> bool:
    """Whether a task spec is a non-interrupting conditional boundary event."""
    return isinstance(spec, BoundaryEvent) and not spec.cancel_activity \
        and isinstance(spec.event_definition, ConditionalEvent)


def _start_event_subprocesses(top: Any, data: dict[str, Any]) -> bool:
    """Start each process-level event subprocess whose conditional start's condition
    became true (the edge kept in the root task's internal data)."""
    if top.is_completed() or _interrupted(top):
        return False
    fired = False
    for name in getattr(top.spec.start, "trigger_specs", None) or ():
        subprocess = top.subprocess_specs.get(name)
        for start in getattr(subprocess, "bpmn_start_events", None) or ():
            definition = start.event_definition
            if isinstance(definition, ConditionalEvent) and rose(
                    top.task_tree.internal_data, definition, holds(definition, top, data)):
                top.catch(BpmnEvent(definition))
                fired = True
    return fired


def start_now(workflow: Any) -> Any | None:
    """The start event of an event subprocess whose condition a step the engine just ran
    made true, ready to run before any other step (None: none). engine.workflow.event_order
    asks before each step, so an interrupting one stops the process's work at once."""
    top = workflow.top_workflow
    if not has_conditional_starts(top) or not _start_event_subprocesses(top, current_data(top)):
        return None
    return next((task for task in _tasks(top) if task.state == TaskState.READY
                 and isinstance(task.task_spec, StartEvent)
                 and isinstance(task.task_spec.event_definition, ConditionalEvent)), None)


def has_conditional_starts(workflow: Any) -> bool:
    """Whether the process has event subprocesses started by a condition (cached on the
    spec)."""
    spec = workflow.top_workflow.spec
    known = getattr(spec, "pathways_conditional_starts", None)
    if known is None:
        known = any(isinstance(start.event_definition, ConditionalEvent)
                    for name in getattr(spec.start, "trigger_specs", None) or ()
                    for start in getattr(workflow.top_workflow.subprocess_specs.get(name),
                                         "bpmn_start_events", None) or ())
        spec.pathways_conditional_starts = known
    return bool(known)


def _interrupted(top: Any) -> bool:
    """Whether an interrupting event subprocess of the process has started (the process's
    other work is over: nothing else may start)."""
    return any(isinstance(task.task_spec, StartEvent)
               and getattr(task.task_spec, "interrupting", False)
               and task.has_state(TaskState.COMPLETED) and task.workflow.parent_workflow is top
               for task in _tasks(top))
