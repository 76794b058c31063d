"""Run a live workflow forward and describe what happened as events, inbox rows and timers.

SpiffWorkflow's hooks do not see user tasks and are not serialized (trap 5), so instead of
hooks we compare task states before and after each command. That sees every step, whichever
way it was reached, at the cost of one pass over the (compacted, hence small) task tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
)
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.model import InboxTask, NewEvent, Timer
from engine.workflow import expressions
from engine.workflow.clock import parse_timestamp, timer_value_key
from engine.workflow.conditions import MAX_ROUNDS, is_condition_message, settle_conditions
from engine.workflow.definitions import (
    EXIT_REASON,
    NOTIFY_TO,
    OUTCOME,
    OUTCOME_VALUE,
    OUTCOME_WHEN,
    REFER,
    EventSubprocessStartEvent,
    ParsedDefinition,
    UncaughtEventError,
    UserTaskInfo,
)
from engine.workflow.due import compute_due as compute_due  # used here, and re-exported
from engine.workflow.event_order import engine_steps
from engine.workflow.expressions import ExpressionError
from engine.workflow.notifying import notification_request
from engine.workflow.task_people import people_of, settle_people
from engine.workflow.titles import with_item

# Task id -> (state, timer due or None): a cycle timer fires without leaving WAITING, so its
# due time is part of what "changed" means.
Snapshot = dict[UUID, tuple[int, datetime | None]]

START_PREFIX = "start:"  # a message that starts that pathway for the client
COMPLETED_PREFIX = "completed:"  # thrown when a referred case completes
_PREDICTED = TaskState.MAYBE | TaskState.LIKELY


def all_tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def find_task(workflow: Any, task_id: str) -> Any | None:
    """The task with that id in the workflow or its subprocesses, or None."""
    try:
        wanted = UUID(task_id)
    except ValueError:
        return None
    if wanted in workflow.tasks:
        return workflow.tasks[wanted]
    for subprocess in workflow.subprocesses.values():
        if wanted in subprocess.tasks:
            return subprocess.tasks[wanted]
    return None


def snapshot(workflow: Any) -> Snapshot:
    return {task.id: (task.state, timer_due(task)) for task in all_tasks(workflow)}


def timer_due(task: Any) -> datetime | None:
    """When the task's timer is due (None: the task is no timer)."""
    return _timer_due(task) if _is_timer(task) else None


def step_name(task: Any) -> str:
    spec = task.task_spec
    return str(spec.bpmn_id or spec.name)


def _timer_due(task: Any) -> datetime | None:
    """When the task's timer is due; a gateway holding several: the earliest of them."""
    dues = [due for _, _, due in _gateway_timers(task) if due is not None]
    if dues:
        return min(dues)
    return _due_of(task._get_internal_data("event_value"))


def _due_of(value: Any) -> datetime | None:
    if isinstance(value, dict):  # a cycle: {"cycles": left, "next": when}
        value = value.get("next") if value.get("cycles") != 0 else None
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def caught_events(task: Any) -> list[Any]:
    """The event definitions a catching task waits for, whatever its state.

    An event-based gateway holds the events of the catch events behind it (SpiffWorkflow
    moves each one's definition into the gateway's MultipleEventDefinition and leaves the
    catch event a NoneEventDefinition); a multiple event holds several too. Either way the
    combined definitions are listed one by one, in the order of the gateway's outputs.
    """
    spec = task.task_spec
    if not isinstance(spec, CatchingEvent):
        return []
    found: list[Any] = []
    pending = [getattr(spec, "event_definition", None)]
    while pending:
        definition = pending.pop(0)
        if isinstance(definition, MultipleEventDefinition):
            pending[:0] = definition.event_definitions
        elif definition is not None:
            found.append(definition)
    return found


def awaited_events(workflow: Any) -> Iterator[tuple[Any, Any]]:
    """(task, event definition) for every event a waiting task of the case awaits: timers,
    messages, signals and the rest, including those combined under a gateway."""
    for task in all_tasks(workflow):
        if task.state == TaskState.WAITING:
            for definition in caught_events(task):
                yield task, definition


def _timer_definitions(task: Any) -> list[Any]:
    return [d for d in caught_events(task) if isinstance(d, TimerEventDefinition)]


def _is_timer(task: Any) -> bool:
    return bool(_timer_definitions(task))


def _is_cycle(task: Any) -> bool:  # (a round gone off is not: engine.workflow.rearming)
    rounds = any(isinstance(d, CycleTimerEventDefinition) for d in _timer_definitions(task))
    return rounds and not isinstance(task._get_internal_data("event_value"), str)


def _gateway_timers(task: Any) -> list[tuple[str, Any, datetime | None]]:
    """(step, definition, due) of each timer an event-based gateway holds, in order.

    The step is the timer's own catch event (the gateway's outputs are in the order of its
    combined definitions); each timer keeps its due time under its own key (engine.workflow.clock).
    Empty for any other task.
    """
    spec = task.task_spec
    if not isinstance(spec, EventBasedGateway):
        return []
    found: list[tuple[str, Any, datetime | None]] = []
    for definition, output in zip(spec.event_definition.event_definitions, spec.outputs,
                                  strict=False):
        if isinstance(definition, TimerEventDefinition):
            due = _due_of(task._get_internal_data(timer_value_key(len(found))))
            found.append((str(output.bpmn_id or output.name), definition, due))
    return found


def _timer_step(task: Any) -> str:
    """The step a timer is recorded under: the timer's own catch event, also when an
    event-based gateway holds it (with several, the one due first)."""
    timers = _gateway_timers(task)
    if not timers:
        return step_name(task)
    first_step, first_due = timers[0][0], timers[0][2]
    for step, _, due in timers[1:]:
        if due is not None and (first_due is None or due < first_due):
            first_step, first_due = step, due
    return first_step


def _fired_timer_step(task: Any) -> str | None:
    """The step of the timer that went off for a finished timer task, or None when it did
    not finish by a timer (a gateway whose message or signal came first)."""
    timers = _gateway_timers(task)
    if not timers:
        return step_name(task)
    seen = [event.event_definition for event in task._get_internal_data("seen_events") or []]
    for step, definition, _ in timers:
        if any(definition == event for event in seen):
            return step
    return None


@dataclass
class StepOutcome:
    events: list[NewEvent] = field(default_factory=list)
    error: dict[str, Any] | None = None


def _failure(err: SpiffWorkflowException) -> dict[str, Any]:
    """The recorded error (the case's `error`, the `error` event's data) for a failure.

    A step that failed before it could run (a timer whose date cannot be worked out fails
    while it is being scheduled) is put in ERROR here, so the stored case shows where it
    failed and retry knows what to run again.
    """
    task = getattr(err, "task", None)
    if task is not None and task.has_state(_PREDICTED | TaskState.FUTURE | TaskState.WAITING):
        task._set_state(TaskState.ERROR)
        task.workflow.top_workflow.event_manager.remove_task(task)
    step = step_name(task) if task is not None else None
    found: dict[str, Any] = {"step": step, "task": str(task.id) if task is not None else None,
                             "line": getattr(err, "line_number", None) or None}
    if isinstance(err, UncaughtEventError):
        return {"message": str(err).strip(), **found, "kind": err.kind, "code": err.code,
                "name": err.name}
    cause = getattr(err, "exception", None) or err.__cause__ or err.__context__
    message = str(err).strip()
    if cause is not None and type(cause).__name__ not in message:
        message = f"{message} ({type(cause).__name__}: {cause})"
    if task is not None and _is_timer(task):
        message = f"the wait at step {step!r} cannot be scheduled: {message}"
    return {"message": message, **found, "kind": type(cause or err).__name__}


def run_engine(workflow: Any) -> dict[str, Any] | None:
    """Run the case until it waits (do_engine_steps), turning a failing script or expression,
    a timer whose time cannot be worked out, or an uncaught BPMN error or escalation into a
    recorded error. do_engine_steps ends by marking the waits already due ready, unrun: one
    due before the timer round (found by a migration, a retry, a task in a subprocess) would
    be saved so, neither run nor a stored timer. It runs again while that readies new steps."""
    try:
        _engine_steps(workflow)
        for _ in range(MAX_ROUNDS):  # `when:` handlers and conditional events, on the data now
            if not settle_conditions(workflow):
                break
            _engine_steps(workflow)
    except SpiffWorkflowException as err:
        return _failure(err)
    return None


def _engine_steps(workflow: Any) -> None:
    ready: set[UUID] = set()
    engine_steps(workflow)
    while (left := _engine_steps_ready(workflow)) and left != ready:  # equal: none ran
        ready = left
        engine_steps(workflow)


def _engine_steps_ready(workflow: Any) -> set[UUID]:
    return {task.id for task in all_tasks(workflow)
            if task.state == TaskState.READY and not task.task_spec.manual}


def run_task(workflow: Any, task: Any) -> dict[str, Any] | None:
    """Run a completed human task, then the engine: a failure in what follows it (the date of
    the wait behind it, say) is a recorded error, and the task stays completed."""
    try:
        task.run()
    except SpiffWorkflowException as err:
        return _failure(err)
    return run_engine(workflow)


def retry_failed_steps(workflow: Any, data: Mapping[str, Any],
                       client_fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """Run again exactly the steps that failed, with `data` set on them first and the client's
    current fields: a script, condition or throw runs again; a timer is scheduled again from
    its (re-evaluated) date, so it waits or fires, never silently vanishes. Steps a failure
    left behind are woken too (a step that fails while its parent completes stops the parent
    from reaching the steps beside it, e.g. the other branches of a parallel split)."""
    failed = error_tasks(workflow)
    stalled = _stalled(workflow)
    for task in [*failed, *stalled]:
        client = task.data.get("client")
        if isinstance(client, dict):
            task.data["client"] = {**client, **client_fields}
        task.data.update({k: v for k, v in data.items() if k != "client"})
    try:
        for task in failed:
            spec = task.task_spec
            if isinstance(spec, CatchingEvent):
                spec.event_definition.reset(task)
                for key in [k for k in task.internal_data  # every timer's due time and flag
                            if k.startswith(("event_value", "event_fired"))]:
                    task.internal_data.pop(key, None)
                task._set_state(TaskState.WAITING)
                if spec.event_definition.has_fired(task):
                    task._ready()
                else:
                    workflow.top_workflow.event_manager.add_task(task)
                    spec.event_definition.update_task(task)
            else:
                task._set_state(TaskState.READY)
        for task in stalled:
            if task.has_state(TaskState.FUTURE):
                task.task_spec._update(task)
    except SpiffWorkflowException as err:
        return _failure(err)
    return run_engine(workflow)


def _stalled(workflow: Any) -> list[Any]:
    """Steps whose parent completed but that were never told (still FUTURE): a sign that a
    step beside them failed while that parent was completing."""
    return [task for task in all_tasks(workflow)
            if task.has_state(TaskState.FUTURE) and task.parent is not None
            and task.parent.has_state(TaskState.COMPLETED)]


def has_next_step(workflow: Any) -> bool:
    """Whether anything can still move the saved case: a person's ready task, or an event
    waiting for a timer, message or signal (a join waiting for its other branches does not
    count: it moves only when they do; nor does a step left ready for the engine, which
    nothing runs once the case is saved). An active case without one is stuck, in nobody's
    inbox."""
    return any((task.has_state(TaskState.READY) and task.task_spec.manual)
               or (task.has_state(TaskState.WAITING) and isinstance(task.task_spec,
                                                                    CatchingEvent))
               for task in all_tasks(workflow))


def describe_changes(workflow: Any, parsed: ParsedDefinition, before: Snapshot,
                     now: datetime) -> list[NewEvent]:
    """Events for every task whose state changed since `before`, in the order they changed."""
    events: list[NewEvent] = []
    for task in sorted(all_tasks(workflow), key=lambda t: t.last_state_change):
        old, old_due = before.get(task.id, (None, None))
        events.extend(_task_changed(task, parsed, old, old_due, now))
    return events


def _task_changed(task: Any, parsed: ParsedDefinition, old: int | None,
                  old_due: datetime | None, now: datetime) -> list[NewEvent]:
    """The events one task's change from state `old` tells."""
    new = task.state
    spec = task.task_spec
    if old == new == TaskState.WAITING and _is_timer(task):
        return _cycle_timer_went_off(task, old_due, now)
    if old == new:
        return []
    if spec.manual and new == TaskState.READY:
        return [_task_ready(task, parsed, now)]
    events = _timer_changed(task, old, new, now) if _is_timer(task) else []
    if _chose_a_branch(spec, new):
        events.append(_decision(task, parsed, now))
    elif new == TaskState.COMPLETED and not _is_timer(task):
        events.extend(_declared_effects(task, now))
    return events


def _cycle_timer_went_off(task: Any, old_due: datetime | None, now: datetime
                          ) -> list[NewEvent]:
    """A waiting cycle timer whose due time moved went off and set its next time."""
    due = _timer_due(task)
    if due == old_due:
        return []
    return [NewEvent(type="timer_fired", at=now, step=_timer_step(task),
                     data={"due": (old_due or now).isoformat()}),
            NewEvent(type="timer_scheduled", at=now, step=_timer_step(task),
                     data={"due": due.isoformat() if due else None})]


def _task_ready(task: Any, parsed: ParsedDefinition, now: datetime) -> NewEvent:
    """A person's task is ready: its due time computed (and kept on the task) now."""
    spec = task.task_spec
    info = parsed.user_tasks.get(spec.name)
    due = compute_due(info.due if info else None, task.data, now)
    if due is not None:
        task._set_internal_data(pathways_due=due.isoformat())
    return NewEvent(type="task_ready", at=now, step=step_name(task), data={
        "task": str(task.id), "title": info.title if info else spec.bpmn_name,
        "role": info.role if info else None, "due": due.isoformat() if due else None,
        **settle_people(task, info)})


def _timer_changed(task: Any, old: int | None, new: int, now: datetime) -> list[NewEvent]:
    """A timer set (waiting), or one that is not a cycle gone off."""
    if new == TaskState.WAITING:
        due = _timer_due(task)
        return [NewEvent(type="timer_scheduled", at=now, step=_timer_step(task),
                         data={"due": due.isoformat() if due else None})]
    if old == TaskState.WAITING and new in (TaskState.READY, TaskState.COMPLETED) \
            and not _is_cycle(task) and (fired := _fired_timer_step(task)):
        return [NewEvent(type="timer_fired", at=now, step=fired,
                         data={"due": (_timer_due(task) or now).isoformat()})]
    return []


def _chose_a_branch(spec: Any, new_state: int) -> bool:
    """Whether a task that reached new_state is a gateway that just chose among branches
    (an event-based gateway chooses by the event that came first; an activity's conditional
    flows choose through its ImplicitSplit)."""
    return new_state == TaskState.COMPLETED and (
        isinstance(spec, EventBasedGateway) or getattr(spec, "decides", False)
        or (isinstance(spec, (ExclusiveGateway, InclusiveGateway)) and len(spec.outputs) > 1))


def _decision(task: Any, parsed: ParsedDefinition, now: datetime) -> NewEvent:
    """The branch a gateway took: the outputs it did not merely predict."""
    spec = task.task_spec
    taken = [_branch_target(child.task_spec) for child in task.children
             if not child.has_state(_PREDICTED)]
    flows = [parsed.flows.get((step_name(task), _spec_id(t))) for t in taken]
    return NewEvent(type="decision", at=now, step=step_name(task), data={
        "gateway": spec.bpmn_name or step_name(task),
        "taken": [_spec_id(t) for t in taken],
        "taken_names": [t.bpmn_name for t in taken if t.bpmn_name],
        # the sequence flows taken, and each branch's label for analysts: the flow's name,
        # else the name (or id) of the step it leads to
        "flows": [flow[0] for flow in flows if flow is not None],
        "branches": [_branch_label(t, flow) for t, flow in zip(taken, flows, strict=True)],
    })


def _branch_target(spec: Any) -> Any:
    """The step a branch leads to: SpiffWorkflow's hidden split in front of a step with
    boundary events (a block, a task with a reminder) stands for that step."""
    if isinstance(spec, BoundaryEventSplit):
        return next((s for s in spec.outputs if not isinstance(s, BoundaryEvent)), spec)
    return spec


def _spec_id(spec: Any) -> str:
    return str(spec.bpmn_id or spec.name)


def _branch_label(target: Any, flow: tuple[str, str | None] | None) -> str:
    """The flow's name, else the name (or id) of the step the branch leads to."""
    if flow is not None and flow[1]:
        return flow[1]
    return str(target.bpmn_name or target.bpmn_id or target.name)


def properties(task: Any) -> dict[str, str]:
    extensions = getattr(task.task_spec, "extensions", None) or {}
    found: dict[str, str] = extensions.get("properties", {})
    return found


def _declared_effects(task: Any, now: datetime) -> list[NewEvent]:
    """Events for the DSL's declarative steps: record an outcome, notify, refer."""
    props = properties(task)
    step = step_name(task)
    if OUTCOME in props:
        when = props.get(OUTCOME_WHEN)
        try:
            if when and not expressions.evaluate(when, task.data):
                return []
            value = expressions.evaluate(props.get(OUTCOME_VALUE) or "true", task.data)
        except ExpressionError as err:
            return [NewEvent(type="outcome_recorded", at=now, step=step, data={
                "outcome": props[OUTCOME], "value": None, "problem": err.message})]
        return [NewEvent(type="outcome_recorded", at=now, step=step,
                         data={"outcome": props[OUTCOME], "value": value})]
    if NOTIFY_TO in props:
        return [NewEvent(type="notification_requested", at=now, step=step,
                         data=notification_request(task, props))]
    if REFER in props:
        return [NewEvent(type="referral_made", at=now, step=step,
                         data={"pathway": props[REFER]})]
    return []


def exit_reason(workflow: Any) -> str | None:
    """The reason declared on the end event the case finished at, if any."""
    for task in all_tasks(workflow):
        if task.state == TaskState.COMPLETED and EXIT_REASON in properties(task):
            return properties(task)[EXIT_REASON]
    return None


def inbox_rows(workflow: Any, parsed: ParsedDefinition, case_id: int, pathway: str,
               version: int) -> list[InboxTask]:
    rows = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        info: UserTaskInfo | None = parsed.user_tasks.get(task.task_spec.name)
        due_text = task._get_internal_data("pathways_due")
        people = people_of(task)
        rows.append(InboxTask(
            id=str(task.id), case_id=case_id, pathway=pathway, version=version,
            step=step_name(task),
            title=with_item(info.title if info else str(task.task_spec.bpmn_name
                                                        or step_name(task)), task.data),
            role=info.role if info else getattr(task.task_spec, "lane", None),
            form=info.form if info else None,
            due=parse_timestamp(due_text) if isinstance(due_text, str) else None,
            assignee=people[0], organisation=people[1]))
    return rows


def timers(workflow: Any, case_id: int) -> list[Timer]:
    """The case's pending timers, one per waiting task that awaits a timer (a gateway's
    timer included), for the timers table the worker polls."""
    result = []
    for task in all_tasks(workflow):
        if task.state == TaskState.WAITING and _is_timer(task):
            due = _timer_due(task)
            if due is not None:
                result.append(Timer(case_id=case_id, task_id=str(task.id),
                                    step=_timer_step(task), due_at=due))
    return result


def waiting_message_names(workflow: Any) -> set[str]:
    """Messages the case waits for: a message goes to one waiting case.

    The message start events of the process's event subprocesses count too (see
    `event_subprocess_starts`). A block's condition handler waits for a message of its own
    that only the engine sends (engine.workflow.conditions): not listed, so never routed."""
    return {name for name in _waiting_names(workflow, MessageEventDefinition)
            if not is_condition_message(name)}


def waiting_signal_names(workflow: Any) -> set[str]:
    """Signals the case waits for: a signal goes to every waiting case in its scope.

    The signal start events of the process's event subprocesses count too (see
    `event_subprocess_starts`)."""
    return _waiting_names(workflow, SignalEventDefinition)


def _waiting_names(workflow: Any, kind: type) -> set[str]:
    """Names of the `kind` events the case's waiting tasks and event subprocesses await."""
    names = {str(getattr(definition, "name", "")) for _, definition in awaited_events(workflow)
             if isinstance(definition, kind)}
    return names | event_subprocess_starts(workflow, kind)


def event_subprocess_starts(workflow: Any, kind: type) -> set[str]:
    """Names of the `kind` (message or signal) start events of the process's event
    subprocesses: they wait while the case runs, though not as tasks (SpiffWorkflow starts
    such a subprocess when the event arrives). Not once an interrupting event subprocess
    has started: BPMN ends the process's other work then, so nothing else may start."""
    if workflow.is_completed() or _interrupted(workflow):
        return set()
    names = set()
    for name in getattr(workflow.spec.start, "trigger_specs", ()):
        subprocess = workflow.subprocess_specs.get(name)
        for start in getattr(subprocess, "bpmn_start_events", ()):
            if isinstance(start.event_definition, kind):
                names.add(str(getattr(start.event_definition, "name", "")))
    return names


def _interrupted(workflow: Any) -> bool:
    """Whether an interrupting event subprocess of the process has started."""
    return any(isinstance(task.task_spec, EventSubprocessStartEvent)
               and task.task_spec.interrupting and task.has_state(TaskState.COMPLETED)
               and task.workflow.parent_workflow is workflow
               for task in all_tasks(workflow))


@dataclass(frozen=True)
class Thrown:
    """What a case threw that nothing inside it caught: the application routes it.
    Each is (name, payload)."""

    messages: list[tuple[str, Any]]
    signals: list[tuple[str, Any]]


def thrown_events(workflow: Any) -> Thrown:
    """Take the messages and signals the workflow threw (SpiffWorkflow hands each out once)."""
    thrown = Thrown([], [])
    for event in workflow.get_events():
        definition = event.event_definition
        if isinstance(definition, MessageEventDefinition):
            thrown.messages.append((str(definition.name), event.payload))
        elif isinstance(definition, SignalEventDefinition):
            thrown.signals.append((str(definition.name), event.payload))
    return thrown


def case_data(workflow: Any) -> dict[str, Any]:
    """The case's current data: what the most recently finished step left behind."""
    task = workflow.last_task
    if task is None:
        return {}
    return {k: v for k, v in task.data.items() if not callable(v)}


def error_tasks(workflow: Any) -> list[Any]:
    return [task for task in all_tasks(workflow) if task.state == TaskState.ERROR]
