"""BPMN compensation (BPMN 2.0.2 §10.7, §10.5.6 / §13.5.5; Table 10.93), which SpiffWorkflow
3.2 does not have: it read a compensation throw as an event that throws nothing, and a
compensation boundary event as a boundary event of no kind.

What runs here:

* A compensation boundary event associates an activity with its compensation handler (an
  activity with isForCompensation="true" and no sequence flows). It is no boundary event
  that waits: the process parser below leaves it out of the activity's boundary events,
  parses the handler (which no flow reaches) and makes each completion of the activity
  record itself in its scope: the root task of the process or subprocess it ran in keeps the
  list `pathways_compensable` ([activity, handler, data], in completion order). A loop or
  multi-instance activity records each completed instance (with its input item), so each is
  compensated; an activity that did not complete recorded nothing and is not compensated.
  The list lives in the case's state (the task tree's finished history may be compacted).
* A completed embedded subprocess or call activity without a handler of its own, with
  compensable activities inside, records itself with what its scope kept (its
  DefaultCompensation task spec runs their handlers, in a workflow of the subprocess's or
  called process's spec made for them).
* A compensation event subprocess (a compensation start event) inside an embedded
  subprocess is that subprocess's handler: SpiffWorkflow read its start as a none start and
  started it with the subprocess; here it is unhooked from there, and the scope around the
  subprocess gets a subprocess task that runs it when the completed subprocess is
  compensated. It is handed what completed inside the subprocess, which a throw in it
  compensates (through a DefaultCompensation task spec of its own).
* A compensation throw (intermediate throw or end event) takes from its scope's list the
  entries of `activityRef` (or all of them), so a handler runs once, and runs their handlers
  one after another, the last completed activity first, each as a child task of the throw:
  a user task handler is offered in the inbox like any task. The throw waits for them
  (waitForCompletion, BPMN's default) and completes after the last, with the data they left;
  with waitForCompletion="false" it completes at once and they run beside the path (what
  they set stays theirs), the process ending only after them. A throw inside an event
  subprocess compensates the scope around it: its handlers run there, under the event
  subprocess's task.

Publish refuses what this does not run, and malformed uses
(engine.workflow.validation_rules_compensation).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.helpers.spec import EventDefinitionConverter
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.spiff.parser.event_parsers import SpiffIntermediateThrowEventParser
from SpiffWorkflow.spiff.specs.defaults import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.links import LinkingProcessParser

_COMPENSATE = f"{{{BPMN_NS}}}compensateEventDefinition"
_RECORD = "pathways_compensable"  # on a scope's root task: [[activity, handler, data], ...]
_QUEUE = "pathways_compensating"  # on a throw: the [activity, handler, data] still to run
_HANDLERS = "pathways_compensation_handlers"  # on a process spec: activity -> handler
_COMPENSATES = "pathways_compensates"  # on a compensation event subprocess's spec: whose
DEFAULT_SUFFIX = ".DefaultCompensation"  # the task spec compensating inside a subprocess
_THROWER = "pathways_compensating_for"  # on a handler's task: the id of its throw task


class CompensateEventDefinition(EventDefinition):  # type: ignore[misc]
    """compensateEventDefinition: which activity to compensate (None: the whole scope).
    Thrown by the throw's own task spec, not as an event (nothing catches it)."""

    def __init__(self, activity_ref: str | None = None, wait_for_completion: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("name", activity_ref)  # (the name: the converter's from_dict)
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion

    @property
    def activity_ref(self) -> str | None:
        name: str | None = self.name
        return name

    def throw(self, my_task: Any) -> None:
        """Nothing to send: the throw's spec ran the handlers."""


class CompensateEventDefinitionConverter(EventDefinitionConverter):  # type: ignore[misc]
    """For `pathways versions diff` and a migration's comparison of specs (never stored)."""

    def to_dict(self, event_definition: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(event_definition)
        dct["wait_for_completion"] = event_definition.wait_for_completion
        return dct


class _Compensates:
    """A throw event's spec that runs the compensation handlers before it completes.

    `in_event_subprocess`: the throw is in an event subprocess, so (BPMN 2.0.2 §10.7) it
    compensates the scope around it: the handlers run there, as children of the event
    subprocess's task."""

    event_definition: CompensateEventDefinition
    in_event_subprocess = False
    in_compensation_handler = False  # (in a compensation event subprocess)

    def _run_hook(self, my_task: Any) -> Any:
        if _QUEUE not in my_task.internal_data:
            ref = self.event_definition.activity_ref
            my_task.internal_data[_QUEUE] = _take_inside(my_task, ref) \
                if self.in_compensation_handler else _take(my_task, ref)
            wait = self.event_definition.wait_for_completion
            # not waiting: the first handler, a child of the throw, is made ready as the
            # throw completes
            if _start_next(my_task, update=wait or _anchor(my_task) is not my_task) and wait:
                return None  # STARTED until its handlers are done (_handler_done)
        return super()._run_hook(my_task)  # type: ignore[misc]


class CompensationThrowEvent(_Compensates, IntermediateThrowEvent):  # type: ignore[misc]
    """An intermediate compensation throw event."""


class CompensationEndEvent(_Compensates, EndEvent):  # type: ignore[misc]
    """A compensation end event."""


class DefaultCompensation(SubWorkflowTask):  # type: ignore[misc]
    """Compensates a completed subprocess that has no handler of its own (BPMN's default
    compensation): runs the handlers of what completed inside it, the last first.

    The handlers' specs are the subprocess's, so they run in a workflow of the subprocess's
    spec, made for them (this task's subprocess), nothing else of it run; `pathways_
    compensating` holds what completed inside (the entries the subprocess's scope kept)."""

    def _update_hook(self, my_task: Any) -> Any:
        top = my_task.workflow.top_workflow
        if top.subprocesses.get(my_task.id) is not None:
            return None  # (done when its handlers are: _handler_done)
        BpmnTaskSpec._update_hook(self, my_task)  # the data, no subprocess started
        host = top.create_subprocess(my_task, self.spec)
        root = host.task_tree
        root._drop_children(force=True)
        root._set_state(TaskState.COMPLETED)
        my_task._set_state(TaskState.STARTED)
        if not _start_next(my_task):
            host.completed = True
            my_task._set_state(TaskState.READY)
        return None

    def _run_hook(self, my_task: Any) -> Any:
        return True


def _anchor(throw: Any) -> Any:
    """The task the throw's handlers run under, in the workflow of the scope it compensates:
    the throw itself, or the task of the event subprocess it is in."""
    top = throw.workflow.top_workflow
    if isinstance(throw.task_spec, DefaultCompensation):
        return top.subprocesses[throw.id].task_tree
    if not throw.task_spec.in_event_subprocess or throw.task_spec.in_compensation_handler:
        return throw
    return top.get_task_from_id(throw.workflow.parent_task_id)


def _take(throw: Any, activity_ref: str | None) -> list[list[Any]]:
    """The entries of the throw's scope to compensate now, the last completed first; taken
    out of the scope's list (a handler runs once)."""
    root = _anchor(throw).workflow.task_tree
    entries = root.internal_data.get(_RECORD, [])
    chosen = [e for e in entries if activity_ref is None or e[0] == activity_ref]
    root.internal_data[_RECORD] = [e for e in entries
                                   if not (activity_ref is None or e[0] == activity_ref)]
    return list(reversed(chosen))


def _take_inside(throw: Any, activity_ref: str | None) -> list[list[Any]]:
    """For a throw in a compensation event subprocess: what completed inside the subprocess
    it compensates (kept on the event subprocess's task), to compensate, the last first, in
    a workflow of that subprocess's spec (its DefaultCompensation)."""
    handler = throw.workflow.top_workflow.get_task_from_id(throw.workflow.parent_task_id)
    entries = handler.internal_data.get(_QUEUE) or []  # (the last completed first)
    chosen = [e for e in entries if activity_ref is None or e[0] == activity_ref]
    handler.internal_data[_QUEUE] = [e for e in entries if e not in chosen]
    if not chosen:
        return []
    parent = getattr(throw.workflow.spec, _COMPENSATES)  # (the subprocess it compensates)
    return [[parent, f"{parent}{DEFAULT_SUFFIX}", {}, list(reversed(chosen))]]


def _start_next(throw: Any, *, update: bool = True) -> bool:
    """Start the handler of the first entry still to run, as a child of the throw's anchor,
    on the throw's data."""
    queue = throw.internal_data.get(_QUEUE) or []
    anchor = _anchor(throw)
    handlers = getattr(anchor.workflow.spec, _HANDLERS, {})
    while queue:  # (the handler of the case's version now: it may have been migrated)
        activity, recorded, data, *inside = queue[0]
        spec = anchor.workflow.spec.task_specs.get(recorded if inside else
                                                   handlers.get(activity, recorded))
        if spec is not None:
            break
        queue.pop(0)  # no longer compensable in this version
    else:
        return False
    child = anchor._add_child(spec, TaskState.WAITING)
    child.triggered = True  # (kept by SpiffWorkflow when it syncs the anchor's children)
    child.data = deepcopy(data)
    child.internal_data[_THROWER] = str(throw.id)
    if inside:  # a subprocess's default compensation: what completed in it, last first
        child.internal_data[_QUEUE] = list(reversed(inside[0]))
    if update:
        child.task_spec._update(child)
    if anchor is not throw:  # it inherited the event subprocess's data from when it started
        child.data.update(deepcopy(throw.data))
        child.data.update(deepcopy(data))
    return True


def _thrower(handler_task: Any) -> Any:
    """The throw that started this handler task (None: not one a throw started)."""
    thrower = handler_task.internal_data.get(_THROWER)
    if thrower is None:
        return None
    parent = handler_task.parent
    if parent is not None and str(parent.id) == thrower:
        return parent
    try:
        return handler_task.workflow.top_workflow.get_task_from_id(UUID(thrower))
    except TaskNotFoundException:
        return None


def _handler_done(workflow: Any, handler_task: Any) -> None:
    """A handler completed: the throw that started it gets its data and starts the next
    handler, or becomes ready to complete."""
    throw = _thrower(handler_task)
    if throw is None or not isinstance(throw.task_spec, _Compensates | DefaultCompensation) \
            or not throw.has_state(TaskState.STARTED | TaskState.COMPLETED):
        return
    queue = throw.internal_data.get(_QUEUE) or []
    item = queue.pop(0)[2] if queue else {}
    if throw.has_state(TaskState.COMPLETED):  # (waitForCompletion="false": the path went on)
        _start_next(throw)
        return
    throw.data.update({k: v for k, v in handler_task.data.items() if k not in item})
    if not _start_next(throw):
        if isinstance(throw.task_spec, DefaultCompensation):
            throw.workflow.top_workflow.subprocesses[throw.id].completed = True
        throw._set_state(TaskState.READY)


def _record(workflow: Any, task: Any, activity: str, handler: str) -> None:
    """An activity with a handler completed: its scope may compensate it (with the input
    item of a multi-instance instance)."""
    data: dict[str, Any] = {}
    parent = task.parent.task_spec if task.parent is not None else None
    if isinstance(parent, MultiInstanceTask) and parent.input_item is not None \
            and parent.input_item.exists(task):
        data[parent.input_item.bpmn_id] = deepcopy(parent.input_item.get(task))
    root = task.workflow.task_tree
    root.internal_data.setdefault(_RECORD, []).append([activity, handler, data])


def _record_with_inside(workflow: Any, task: Any, activity: str, handler: str) -> None:
    """A subprocess with a compensation event subprocess completed: its scope may compensate
    it, the event subprocess getting what completed inside (for a throw in it)."""
    subprocess = task.workflow.top_workflow.subprocesses.get(task.id)
    inside = subprocess.task_tree.internal_data.get(_RECORD, []) if subprocess else []
    root = task.workflow.task_tree
    root.internal_data.setdefault(_RECORD, []).append([activity, handler, {}, inside])


def _record_inside(workflow: Any, task: Any, activity: str, host: str) -> None:
    """A subprocess without a handler of its own completed: if anything inside it can be
    compensated, its scope may compensate it by compensating that (DefaultCompensation)."""
    subprocess = task.workflow.top_workflow.subprocesses.get(task.id)
    inside = subprocess.task_tree.internal_data.get(_RECORD) if subprocess else None
    if inside:
        root = task.workflow.task_tree
        root.internal_data.setdefault(_RECORD, []).append([activity, host, {}, inside])


def default_compensated(container: Any) -> list[tuple[str, str]]:
    """(activity id, the process it runs) of each embedded subprocess (with compensation
    handlers inside) and call activity directly in this container with no compensation
    handler of its own: compensated by compensating what completed inside it."""
    own = {activity for _, activity, _ in compensation_pairs(container)}
    found = []
    for element in container:
        if not isinstance(element.tag, str) or element.get("id") in own:
            continue
        kind = local_name(element)
        if kind == "subProcess" and element.get("triggeredByEvent") != "true" and any(
                d.getparent() is not None
                and local_name(d.getparent()) in ("boundaryEvent", "startEvent")
                for d in element.iter(_COMPENSATE)):
            found.append((str(element.get("id")), str(element.get("id"))))
        elif kind == "callActivity" and element.get("calledElement"):
            found.append((str(element.get("id")), str(element.get("calledElement"))))
    return found


def compensation_pairs(container: Any) -> list[tuple[Any, str, Any]]:
    """(compensation event, activity id, handler element) of each compensation handler of
    an activity directly in this process or subprocess: a compensation boundary event on
    the activity, associated with a handler activity; or a compensation event subprocess
    inside the (sub)process activity (its compensation start event, the event subprocess)."""
    root = container.getroottree().getroot()
    by_id = {e.get("id"): e for e in container if isinstance(e.tag, str)}
    pairs = []
    for event in container.iterfind(f"{{{BPMN_NS}}}boundaryEvent"):
        if event.find(_COMPENSATE) is None:
            continue
        for association in root.iter(f"{{{BPMN_NS}}}association"):
            ends = (association.get("sourceRef"), association.get("targetRef"))
            if event.get("id") in ends:
                other = by_id.get(ends[1] if ends[0] == event.get("id") else ends[0])
                if other is not None and other.get("isForCompensation") == "true":
                    pairs.append((event, str(event.get("attachedToRef")), other))
    for activity in container.iterfind(f"{{{BPMN_NS}}}subProcess"):
        for event_subprocess in compensation_event_subprocesses(activity):
            start = event_subprocess.find(f"{{{BPMN_NS}}}startEvent")
            pairs.append((start, str(activity.get("id")), event_subprocess))
    return pairs


def compensation_event_subprocesses(container: Any) -> list[Any]:
    """The event subprocesses directly in this container that a compensation start event
    starts."""
    return [e for e in container.iterfind(f"{{{BPMN_NS}}}subProcess")
            if e.get("triggeredByEvent") == "true" and any(
                start.find(_COMPENSATE) is not None
                for start in e.iterfind(f"{{{BPMN_NS}}}startEvent"))]


def is_compensation_throw(node: Any) -> bool:
    return local_name(node) in ("intermediateThrowEvent", "endEvent") \
        and node.find(_COMPENSATE) is not None


def _in_event_subprocess(node: Any) -> bool:
    container = node.getparent()
    return container is not None and local_name(container) == "subProcess" \
        and container.get("triggeredByEvent") == "true"


def compensated_scope(throw: Any) -> Any:
    """The process or subprocess whose activities a compensation throw compensates: its own,
    or, from an event subprocess, the one around it."""
    container = throw.getparent()
    return container.getparent() if _in_event_subprocess(throw) else container


def _in_compensation_event_subprocess(node: Any) -> bool:
    container = node.getparent()
    return _in_event_subprocess(node) \
        and container in compensation_event_subprocesses(container.getparent())


class _CompensationThrowParser(SpiffIntermediateThrowEventParser):  # type: ignore[misc]
    """Parses a compensation intermediate throw or end event."""

    def create_task(self) -> Any:
        definition = self.node.find(_COMPENSATE)
        wait = definition.get("waitForCompletion", "true").strip().lower() != "false"
        task = self._create_task(CompensateEventDefinition(definition.get("activityRef"),
                                                           wait_for_completion=wait))
        if local_name(self.node) == "endEvent":
            task.connect(self.spec.end)
        task.in_event_subprocess = _in_event_subprocess(self.node)
        task.in_compensation_handler = _in_compensation_event_subprocess(self.node)
        return task


class CompensatingProcessParser(LinkingProcessParser):
    """The process parser that knows compensation (see the module docstring)."""

    def _index_process_nodes(self) -> None:
        super()._index_process_nodes()
        for attached, events in list(self.boundary_events_by_attached.items()):
            kept = [e for e in events if e.find(_COMPENSATE) is None]
            if kept:
                self.boundary_events_by_attached[attached] = kept
            else:
                del self.boundary_events_by_attached[attached]

    def parse_node(self, node: Any) -> Any:
        if node.get("id") in self.spec.task_specs or not is_compensation_throw(node):
            return super().parse_node(node)
        spec_class = CompensationEndEvent if local_name(node) == "endEvent" \
            else CompensationThrowEvent
        return _CompensationThrowParser(self, spec_class, node, self.nsmap,
                                        lane=self.lane).parse_node()

    def add_tasks(self) -> None:
        super().add_tasks()
        if self.node in compensation_event_subprocesses(self.node.getparent()):
            parent = str(self.node.getparent().get("id"))
            setattr(self.spec, _COMPENSATES, parent)
            host = DefaultCompensation(self.spec, f"{parent}{DEFAULT_SUFFIX}",
                                       subworkflow_spec=parent, lane=self.lane)
            host.inputs = [self.spec.start]
            host.completed_event.connect(_handler_done)
        for event_subprocess in compensation_event_subprocesses(self.node):
            self._not_started(self.spec.task_specs[event_subprocess.get("id")])
        for _, activity, handler_node in compensation_pairs(self.node):
            spec = self.spec.task_specs.get(f"{activity} [child]") \
                or self.spec.task_specs.get(activity)
            if spec is None:
                continue
            handler = self._handler(handler_node)
            handler.inputs = [spec]  # (SpiffWorkflow wants an input to make a task ready)
            if not handler.completed_event.is_connected(_handler_done):  # (a shared handler)
                handler.completed_event.connect(_handler_done)
            spec.completed_event.connect(
                _record_with_inside if local_name(handler_node) == "subProcess" else _record,
                activity, handler.name)
            setattr(self.spec, _HANDLERS, {**getattr(self.spec, _HANDLERS, {}),
                                           activity: handler.name})
        for activity, process in default_compensated(self.node):
            spec = self.spec.task_specs.get(f"{activity} [child]") \
                or self.spec.task_specs.get(activity)
            if spec is None:
                continue
            host = DefaultCompensation(self.spec, f"{activity}{DEFAULT_SUFFIX}",
                                       subworkflow_spec=process, lane=self.lane)
            host.inputs = [spec]
            host.completed_event.connect(_handler_done)
            spec.completed_event.connect(_record_inside, activity, host.name)

    def _handler(self, node: Any) -> Any:
        """The handler's spec: the handler activity; for a compensation event subprocess, a
        subprocess task of this scope running it (its own task is in the subprocess it
        compensates, which has completed when it runs)."""
        if local_name(node) != "subProcess":
            return self.parse_node(node)
        return SubWorkflowTask(self.spec, node.get("id"), subworkflow_spec=node.get("id"),
                               bpmn_name=node.get("name"), lane=self.lane)

    def _not_started(self, event_subprocess: Any) -> None:
        """SpiffWorkflow reads a compensation start event as a start event of no kind, so it
        starts the event subprocess with its subprocess: undone (it runs when compensated)."""
        start, end = self.spec.start, self.spec.end
        if event_subprocess.name in start._outputs:
            start._outputs.remove(event_subprocess.name)
            event_subprocess._inputs.remove(start.name)
        if end.name in event_subprocess._outputs:
            event_subprocess._outputs.remove(end.name)
            end._inputs.remove(event_subprocess.name)
