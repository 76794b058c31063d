"""SpiffWorkflow's BPMN events made to behave as BPMN says, at parse time.

SpiffWorkflow 3.2 drops signal end events, ignores error and escalation starts of event
subprocesses and `isInterrupting`, lets an event subprocess and a boundary event both catch
one throw, files an uncaught error where nobody looks, and hands a caught signal to no other
case. The parser classes and spec changes here fix that for every spec engine.workflow.definitions
parses; nothing here is serialized (specs are cached, cases store only their state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass
from functools import partial
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.defaults import StartEvent as DefaultStartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffStartEventParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.specs.defaults import NoneTask
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition as SpiffErrorEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    EscalationEventDefinition as SpiffEscalationEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    SignalEventDefinition as SpiffSignalEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.workflow.adhoc import ADHOC_PARSER_CLASSES, AdHocProcessParser
from engine.workflow.bpmn_xml import SPIFF_NS
from engine.workflow.camunda import translate_expressions
from engine.workflow.compensation import CompensatingProcessParser
from engine.workflow.complex_gateway import ComplexGateway, ComplexGatewayParser
from engine.workflow.definition_model import DECLARATIVE
from engine.workflow.nested_event_subprocesses import NestedEventSubprocessParser
from engine.workflow.rearming import RearmingBoundaryEvent
from engine.workflow.recursion import DepthBoundCallActivity
from engine.workflow.shared_definitions import inline_event_definition_refs


class _SignalEndEventParser(SpiffEndEventParser):  # type: ignore[misc]
    """SpiffWorkflow 3.2's end event parser reads message, cancel, error, escalation and
    terminate definitions but not signals: a signal end event would end silently. This one
    reads signals too, so the end event throws its signal as it completes."""

    def create_task(self) -> Any:
        event_definition = self.get_event_definition([
            MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
            ESCALATION_EVENT_XPATH, TERMINATION_EVENT_XPATH])
        task = self._create_task(event_definition)
        task.connect(self.spec.end)
        return task


class EventSubprocessStartEvent(DefaultStartEvent):  # type: ignore[misc]
    """The start event of an event subprocess triggered by a BPMN error, escalation, message
    or signal.

    SpiffWorkflow starts the subprocess when the event is thrown but leaves the rest of the
    process running, and starts it from the data the case started with: BPMN says an
    interrupting one (every error start; any other unless isInterrupting="false") cancels
    the process's other work when it starts, and that it works on the process's data (here:
    the data the throw was made with, or the case's data when a message or signal came).
    """

    def __init__(self, wf_spec: Any, bpmn_id: str, interrupting: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.interrupting = interrupting

    def catch(self, my_task: Any, event: Any) -> None:
        throw = _THROWING.get()
        # an error or escalation: the thrower's data; a message or signal from outside the
        # step being run: the case's current data (what its last finished step left)
        source = throw.task if throw is not None else my_task.workflow.top_workflow.last_task
        if source is not None:
            my_task.internal_data[_THROWN_DATA] = deepcopy(
                {k: v for k, v in source.data.items() if not callable(v)})
        super().catch(my_task, event)

    def _run_hook(self, my_task: Any) -> Any:
        """Start from the data the throw was made with, or the case's data when the message
        or signal came (BPMN: an event subprocess shares its process's data); SpiffWorkflow
        would start it from the data the case started with."""
        thrown = my_task.internal_data.pop(_THROWN_DATA, None)
        if thrown:
            my_task.set_data(**thrown)
        return super()._run_hook(my_task)

    def _on_complete_hook(self, my_task: Any) -> None:
        if self.interrupting:
            _cancel_beside(my_task.workflow)
        super()._on_complete_hook(my_task)


@dataclass(frozen=True)
class _Throw:
    """An error or escalation being thrown (the catch runs inside the throw)."""

    task: Any
    # whether the process's event subprocesses may catch it: not when a waiting catcher (a
    # boundary event) takes it first, nor when it is thrown inside an event subprocess
    to_event_subprocesses: bool


_THROWING: ContextVar[_Throw | None] = ContextVar("pathways_throwing", default=None)
_THROWN_DATA = "pathways_thrown_data"


class _TriggersEventSubprocess:
    """The definition on an event subprocess's error or escalation start event.

    SpiffWorkflow starts every process-level event subprocess whose start event matches a
    throw, then lets every waiting catcher catch it too: with a boundary event on the
    throwing subprocess both ran, and the event subprocess (interrupting) cancelled the
    boundary's path. BPMN: the innermost handler catches, so while a waiting catcher takes
    the throw this definition matches nothing; nor does it match a throw from inside an
    event subprocess (BPMN sends that to the scope around the process; SpiffWorkflow
    started the event subprocess again, forever when it rethrows)."""

    thrown_class: type

    def __eq__(self, other: object) -> bool:
        throw = _THROWING.get()
        if throw is not None and not throw.to_event_subprocesses:
            return False
        # SpiffWorkflow matches the exact class, then the code (none: any code)
        return other.__class__ is self.thrown_class and \
            getattr(self, "code", None) in (None, getattr(other, "code", None))

    __hash__ = None  # type: ignore[assignment]


class _ErrorStartDefinition(_TriggersEventSubprocess,
                            SpiffErrorEventDefinition):  # type: ignore[misc]
    thrown_class = SpiffErrorEventDefinition


class _EscalationStartDefinition(_TriggersEventSubprocess,
                                 SpiffEscalationEventDefinition):  # type: ignore[misc]
    thrown_class = SpiffEscalationEventDefinition


class UncaughtEventError(WorkflowTaskException):  # type: ignore[misc]
    """A BPMN error or escalation that nothing in the case catches: an incident.

    Raised from inside the throwing event's own run, so SpiffWorkflow leaves that event in
    ERROR (not completed, the flow behind it not taken): retry runs it again, and on a version
    that catches it, or whose event no longer throws it, the case goes on. (SpiffWorkflow 3.2
    only files an uncaught throw in `get_events()`, and the case would end "completed" with no
    trace.)
    """

    def __init__(self, definition: Any, task: Any) -> None:
        self.kind = "escalation" if isinstance(definition, EscalationEventDefinition) \
            else "bpmn_error"
        self.code = getattr(definition, "code", None)
        self.name = getattr(definition, "name", None)
        what = "escalation" if self.kind == "escalation" else "BPMN error"
        label = " ".join(str(part) for part in (self.code, f"({self.name})" if self.name else None)
                         if part) or "without a code"
        step = task.task_spec.bpmn_id or task.task_spec.name
        super().__init__(f"uncaught {what} {label} thrown at step {step!r}: "
                         "nothing in the pathway catches it", task=task)


def error_and_escalation_throws(specs: list[Any]) -> Iterator[Any]:
    """The event definition of each error and escalation throw of these process specs."""
    for process in specs:
        for spec in process.task_specs.values():
            definition = getattr(spec, "event_definition", None)
            if isinstance(spec, ThrowingEvent) and isinstance(
                    definition, ErrorEventDefinition | EscalationEventDefinition):
                yield definition


def remember_throwers(specs: list[Any]) -> None:
    """Make each error and escalation throw of these (freshly parsed) specs say, while it
    throws, which task throws and whether a waiting catcher takes it (_THROWING), and fail its
    step with UncaughtEventError when nothing caught it."""
    for definition in error_and_escalation_throws(specs):
        definition.throw = _naming_the_thrower(definition, definition.throw)


def _naming_the_thrower(definition: Any, throw: Callable[[Any], None]
                        ) -> Callable[[Any], None]:
    def throw_named(my_task: Any) -> None:
        probe = BpmnEvent(definition)
        waiting = my_task.workflow.top_workflow.event_manager.tasks.values()
        caught_inside = any(task.task_spec.catches(task, probe) for task in waiting
                            if not isinstance(task.task_spec, EventSubprocessStartEvent))
        to_event_subprocesses = not caught_inside and not _in_event_subprocess(my_task)
        top = my_task.workflow.top_workflow
        before = len(top.bpmn_events)
        token = _THROWING.set(_Throw(my_task, to_event_subprocesses))
        try:
            throw(my_task)
        finally:
            _THROWING.reset(token)
        uncaught = [event for event in top.bpmn_events[before:]
                    if event.event_definition is definition]
        if uncaught:  # (one an event subprocess catches is caught: not filed here)
            top.bpmn_events = [e for e in top.bpmn_events if not any(e is u for u in uncaught)]
            raise UncaughtEventError(definition, my_task)
    return throw_named


def _in_event_subprocess(task: Any) -> bool:
    """Whether the task runs inside an event subprocess (at any depth). Known by the name
    its process's start triggers (the task spec's class does not say: Pathways' parser
    builds event subprocesses with the subprocess class)."""
    workflow, top = task.workflow, task.workflow.top_workflow
    while workflow is not top:
        holder = top.get_task_from_id(workflow.parent_task_id)
        triggered = getattr(holder.workflow.spec.start, "trigger_specs", None) or ()
        if holder.task_spec.name in triggered:
            return True
        workflow = holder.workflow
    return False


def _cancel_beside(subworkflow: Any) -> None:
    """Cancel every unfinished task of the workflow that holds `subworkflow` except the
    task running it (what leads to it, and what follows it: the end it completes into, for
    an event subprocess inside a subprocess): its other branches, their subprocesses, timers
    and awaited events."""
    top = subworkflow.top_workflow
    keep = top.get_task_from_id(subworkflow.parent_task_id)
    parent = keep.workflow
    kept = {task.id for task in keep}
    task = keep
    while task is not None:
        kept.add(task.id)
        task = task.parent
    for task in list(parent.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if task.workflow is parent and task.id not in kept \
                and not task.has_state(TaskState.FINISHED_MASK):
            task.cancel()


def wire_event_subprocesses(specs: list[Any]) -> None:
    """Link each event subprocess a message, signal, error or escalation triggers to its
    process's start and end now, at parse time.

    SpiffWorkflow does it the first time one is triggered (BpmnStartTask.trigger_wf) by
    adding the event subprocess to the start's outputs, in the spec every case of the
    version shares: from then on each new case started it with the case, so a case whose
    normal path ended could never complete (the armed subprocess kept it open: active, with
    nothing to do). Wired here, trigger_wf finds the link made and changes nothing.
    """
    for process in specs:
        start = process.start
        for name in getattr(start, "trigger_specs", None) or ():
            event_subprocess = process.task_specs.get(name)
            if event_subprocess is None:
                continue
            if start not in event_subprocess.inputs:  # (inputs is a computed list)
                event_subprocess.inputs = [*event_subprocess.inputs, start]
            if process.end not in event_subprocess.outputs:
                event_subprocess.connect(process.end)


class _EventStartEventParser(SpiffStartEventParser):  # type: ignore[misc]
    """SpiffWorkflow 3.2's start event parser ignores error and escalation definitions, so
    an event subprocess started by one reads as a plain subprocess that starts with the
    case. Inside an event subprocess this one reads them (the subprocess is then triggered
    by the throw, as SpiffWorkflow does for messages and signals) and makes the start event
    interrupting as BPMN says."""

    def create_task(self) -> Any:
        parent = self.node.getparent()
        in_event_subprocess = parent is not None and parent.tag == full_tag("subProcess") \
            and parent.get("triggeredByEvent") == "true"
        if not in_event_subprocess:
            return super().create_task()
        event_definition = self.get_event_definition([
            MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
            ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        if isinstance(event_definition, MessageEventDefinition | SignalEventDefinition
                      | ConditionalEventDefinition | TimerEventDefinition):
            # SpiffWorkflow ignores isInterrupting: this start event cancels the process's
            # other work when it starts unless isInterrupting="false" (BPMN's default: true);
            # a timer too, at process level and inside a subprocess (betsy's
            # TimerStartEventSubprocessInterrupting1: the process's own timer stayed armed)
            self.spec_class = partial(
                EventSubprocessStartEvent,
                interrupting=self.node.get("isInterrupting", "true").lower() != "false")
        if not isinstance(event_definition, ErrorEventDefinition | EscalationEventDefinition):
            task = self._create_task(event_definition)
            self.spec.start.connect(task)
            return task
        interrupting = isinstance(event_definition, ErrorEventDefinition) or \
            self.node.get("isInterrupting", "true").lower() != "false"
        # the same definition, matching only throws no inner catcher takes
        event_definition.__class__ = _ErrorStartDefinition \
            if isinstance(event_definition, ErrorEventDefinition) else _EscalationStartDefinition
        task = EventSubprocessStartEvent(self.spec, self.bpmn_id,
                                         event_definition=event_definition,
                                         interrupting=interrupting, **self.bpmn_attributes)
        self.spec.start.connect(task)
        return task


class BroadcastSignalEventDefinition(SpiffSignalEventDefinition):  # type: ignore[misc]
    """A thrown signal that also leaves the case when the case catches it itself.

    SpiffWorkflow hands a thrown event out (`get_events`) only when nothing inside the
    throwing case caught it; a signal is a broadcast, so the other waiting cases must hear
    it too. The event carries a plain signal definition, since catching compares classes.
    """

    def throw(self, my_task: Any) -> None:
        payload = my_task.workflow.script_engine.evaluate(my_task, self.expression) \
            if self.expression is not None else None
        event = BpmnEvent(SpiffSignalEventDefinition(
            self.name, expression=self.expression, variable=self.variable,
            description=self.description), payload=payload)
        top = my_task.workflow.top_workflow
        top.catch(event)
        if event not in top.bpmn_events:  # caught inside: still for the other cases
            top.bpmn_events.append(event)


def _declarative_or(default: Any) -> Callable[..., Any]:
    """The node parser for a service or send task: one that carries a Pathways step's
    properties (record an outcome, notify, refer) is the plain task the engine acts on,
    drawn as the typed element a colleague recognises; any other keeps SpiffWorkflow's own
    parser and its rules (a service task needs an operator, a send task a message)."""

    def parse(process_parser: Any, spec_class: Any, node: Any, *args: Any,
              **kwargs: Any) -> Any:
        names = {prop.get("name") for prop in node.iter(f"{{{SPIFF_NS}}}property")}
        if names & set(DECLARATIVE):
            return SpiffTaskParser(process_parser, NoneTask, node, *args, **kwargs)
        return default(process_parser, spec_class, node, *args, **kwargs)

    return parse


class PathwaysProcessParser(CompensatingProcessParser, NestedEventSubprocessParser):
    """Both process parsers: the nested event subprocesses are armed first (compensation
    event subprocesses left out), then compensation unhooks its own event subprocesses."""


class PathwaysBpmnParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser with the element parsers Pathways needs in place of its own,
    and a process parser that follows link events (engine.workflow.links), arms the event
    subprocesses of embedded subprocesses (engine.workflow.nested_event_subprocesses) and
    knows compensation (engine.workflow.compensation)."""

    PROCESS_PARSER_CLASS = PathwaysProcessParser
    AD_HOC_PARSER_CLASS = AdHocProcessParser  # engine.workflow.adhoc

    def add_bpmn_xml(self, bpmn: Any, filename: str | None = None) -> None:
        """Parse a file, its eventDefinitionRefs replaced by the definitions they name
        (engine.workflow.shared_definitions)."""
        inline_event_definition_refs(bpmn)
        translate_expressions(bpmn)  # Camunda's ${...} conditions (engine.workflow.camunda)
        super().add_bpmn_xml(bpmn, filename)

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("endEvent"): (_SignalEndEventParser, EndEvent),
        full_tag("complexGateway"): (ComplexGatewayParser, ComplexGateway),
        full_tag("boundaryEvent"): (
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("boundaryEvent")][0],
            RearmingBoundaryEvent),
        full_tag("startEvent"): (_EventStartEventParser, DefaultStartEvent),
        full_tag("callActivity"): (
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("callActivity")][0],
            DepthBoundCallActivity),
        full_tag("serviceTask"): (
            _declarative_or(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][0]),
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1]),
        full_tag("sendTask"): (
            _declarative_or(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("sendTask")][0]),
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("sendTask")][1]),
        **ADHOC_PARSER_CLASSES,
    }
