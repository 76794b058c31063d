"""Turn a bundle of BPMN and form files into runnable, cached SpiffWorkflow specs.

A bundle is a mapping of file name to text: the pathway's BPMN, the BPMN of processes it
calls, and the JSON Schema forms its user tasks name in
`spiffworkflow:properties/formJsonSchemaFilename` (resolved next to the BPMN, as spiff-arena
does). Bundles are content-addressed; parsing is cached by hash, so a case never carries a
copy of its spec.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from copy import deepcopy
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import Any

import jsonschema
from lxml import etree
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
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.defaults import StartEvent as DefaultStartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffStartEventParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
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

from engine import clock
from engine.data_names import reserved_data_name
from engine.errors import DefinitionError, ScriptError
from engine.joins import with_merging_joins
from engine.sandbox import compile_expression, compile_script

FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"
DUE_PROPERTY = "due"
_FORM_PROPERTIES = (FORM_PROPERTY, UI_FORM_PROPERTY)
# spiffworkflow:properties the DSL compiler puts on its declarative steps
OUTCOME, OUTCOME_VALUE = "pathwaysOutcome", "pathwaysOutcomeValue"
OUTCOME_WHEN = "pathwaysOutcomeWhen"
NOTIFY_TO, NOTIFY_MESSAGE = "pathwaysNotifyTo", "pathwaysNotifyMessage"
REFER = "pathwaysRefer"
EXIT_REASON = "pathwaysExitReason"
_DECLARATIVE = (OUTCOME, NOTIFY_TO, REFER)
# NAME.roles.json beside NAME.bpmn (the DSL compiler writes it): the pathway's owner, and the
# organisations each lane role is open to
ROLES_SUFFIX = ".roles.json"
# on a form field: "health" or "offence", special category data only some people may see
SENSITIVE = "x-pathways-sensitive"
SENSITIVE_CATEGORIES: tuple[str, ...] = ("health", "offence")
# spiffworkflow:property on an element (step, gateway, sequence flow) or on a process: its
# existence reveals health or offence data (see _derive_sensitivity for what follows from it)
SENSITIVE_PROPERTY = "sensitive"
# spiffworkflow:property on a signal throw (intermediate throw or end event): who hears it.
# "client" (the default): the thrower's client's cases; "programme": every client's cases.
SIGNAL_SCOPE_PROPERTY = "signal_scope"
CLIENT_SCOPE, PROGRAMME_SCOPE = "client", "programme"
SIGNAL_SCOPES: tuple[str, ...] = (CLIENT_SCOPE, PROGRAMME_SCOPE)
_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


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


def _remember_throwers(specs: list[Any]) -> None:
    """Make each error and escalation throw of these (freshly parsed) specs say, while it
    throws, which task throws and whether a waiting catcher takes it (_THROWING), and fail its
    step with UncaughtEventError when nothing caught it."""
    for process in specs:
        for spec in process.task_specs.values():
            definition = getattr(spec, "event_definition", None)
            if isinstance(spec, ThrowingEvent) and isinstance(
                    definition, ErrorEventDefinition | EscalationEventDefinition):
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
    task running it (and what leads to it): its other branches, their subprocesses, timers
    and awaited events."""
    top = subworkflow.top_workflow
    keep = top.get_task_from_id(subworkflow.parent_task_id)
    parent = keep.workflow
    kept = set()
    task = keep
    while task is not None:
        kept.add(task.id)
        task = task.parent
    for task in list(parent.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if task.workflow is parent and task.id not in kept \
                and not task.has_state(TaskState.FINISHED_MASK):
            task.cancel()


def _wire_event_subprocesses(specs: list[Any]) -> None:
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
        if isinstance(event_definition, MessageEventDefinition | SignalEventDefinition):
            # SpiffWorkflow ignores isInterrupting: this start event cancels the process's
            # other work when it starts unless isInterrupting="false" (BPMN's default: true)
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


class PathwaysBpmnParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser with the element parsers Pathways needs in place of its own."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("endEvent"): (_SignalEndEventParser, EndEvent),
        full_tag("startEvent"): (_EventStartEventParser, DefaultStartEvent),
    }


def bundle_hash(files: Mapping[str, str]) -> str:
    """Content hash of a bundle: the same files give the same hash, whatever their order."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse_xml(text: str, file: str) -> Any:
    try:
        return etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as err:
        line, column = err.position if err.position else (None, None)
        raise DefinitionError(f"not well-formed XML: {err.msg}", file=file, line=line,
                              column=column, details={"rule": "xml"}) from err


# A file a definition names is a relative path inside the bundle's own folder: segments of
# letters, digits, '.', '_' and '-' (not starting with '.'), joined by '/'. Anything else
# (absolute paths, '..', backslashes, drive letters, '%2e%2e', NUL) is refused at publish, so
# a definition can never make the publisher read a file from elsewhere on the machine.
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
MAX_FILE_NAME = 200


def file_name_problem(name: str) -> str | None:
    """Why a file name a definition uses is not a plain name inside its folder, or None."""
    if not name:
        return "is empty"
    if len(name) > MAX_FILE_NAME:
        return f"is longer than {MAX_FILE_NAME} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character (such as NUL)"
    if name.startswith(("/", "~")):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if re.match(r"[A-Za-z]:", name):
        return "names a drive"
    if "%" in name:
        return "contains '%' (encoded names are not accepted)"
    segments = name.split("/")
    if any(segment in ("..", ".") for segment in segments):
        return "leaves the bundle's folder ('..' or '.')"
    if not all(_SAFE_SEGMENT.fullmatch(segment) for segment in segments):
        return ("may only use letters, digits, '.', '_', '-' and '/' (and no part may start "
                "with '.')")
    return None


@dataclass(frozen=True)
class FileReference:
    """A file named by a BPMN element: where, by which attribute, and the name."""

    name: str
    attribute: str
    element: str | None
    line: int | None
    column: int | None


def file_references(bpmn_text: str, file: str = "<bpmn>") -> list[FileReference]:
    """Every file a BPMN document names (form and UI schemas), in document order."""
    root = _parse_xml(bpmn_text, file)
    lines = bpmn_text.splitlines()
    found: list[FileReference] = []
    for prop in root.iter(f"{{{_SPIFF_NS}}}property"):
        attribute, value = prop.get("name"), prop.get("value")
        if attribute not in _FORM_PROPERTIES or value is None:
            continue
        owner = prop.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        line = prop.sourceline
        column = None
        if line is not None and 0 < line <= len(lines):
            at = lines[line - 1].find("value=")
            column = at + 8 if at >= 0 else None  # inside the quote
        found.append(FileReference(value, attribute, owner.get("id") if owner is not None
                                   else None, line, column))
    return found


def check_file_references(bpmn_text: str, file: str = "<bpmn>") -> list[FileReference]:
    """The document's file references, each a plain name inside the bundle's folder;
    DefinitionError naming the element and attribute otherwise."""
    references = file_references(bpmn_text, file)
    for ref in references:
        problem = file_name_problem(ref.name)
        if problem is not None:
            raise refused_reference(ref, file, f"{problem}; a definition may only name files "
                                               "inside its own folder")
    return references


def refused_reference(ref: FileReference, file: str, problem: str) -> DefinitionError:
    """The located error for a file reference that cannot be used."""
    return DefinitionError(f"{ref.attribute} {ref.name!r} {problem}", file=file, line=ref.line,
                           column=ref.column, element=ref.element,
                           details={"attribute": ref.attribute, "value": ref.name})


def referenced_files(bpmn_text: str, file: str = "<bpmn>") -> list[str]:
    """File names of the forms a BPMN document refers to, in document order, without repeats."""
    names: list[str] = []
    for ref in check_file_references(bpmn_text, file):
        if ref.name and ref.name not in names:
            names.append(ref.name)
    return names


def called_elements(bpmn_text: str, file: str = "<bpmn>") -> tuple[set[str], set[str]]:
    """(process ids defined in the document, process ids its call activities call)."""
    root = _parse_xml(bpmn_text, file)
    defined = {p.get("id") for p in root.iter(f"{{{_BPMN_NS}}}process")}
    called = {c.get("calledElement") for c in root.iter(f"{{{_BPMN_NS}}}callActivity")}
    return {d for d in defined if d}, {c for c in called if c}


@dataclass(frozen=True)
class UserTaskInfo:
    """What the inbox needs to know about a user task spec."""

    step: str
    title: str
    role: str | None
    form: str | None
    due: str | None
    instructions: str | None = None  # what the person doing it should know (documentation)


@dataclass
class ParsedDefinition:
    """A bundle parsed once: the spec objects every case of this version shares."""

    pathway: str
    hash: str
    main_file: str
    files: dict[str, str]
    spec: Any
    subprocess_specs: dict[str, Any]
    processes: tuple[str, ...]
    start_messages: tuple[str, ...]
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    # from the roles file (none: no owner, every role open to every organisation)
    owner: str | None = None
    role_titles: dict[str, str] = field(default_factory=dict)
    # role -> the organisations whose staff may take it; a role not listed, or listed with
    # no organisations, is open to every organisation
    role_organisations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sensitive_client_fields: dict[str, str] = field(default_factory=dict)
    # what reveals health or offence data by existing (engine.privacy hides it): the whole
    # pathway; element id (step, gateway, flow) -> category; case data fields only a
    # sensitive step sets -> category
    sensitive_pathway: str | None = None
    sensitive_steps: dict[str, str] = field(default_factory=dict)
    step_fields: dict[str, str] = field(default_factory=dict)
    # element id -> the pathway it refers to (a refer step, or the catch of its completion);
    # the variable a completion is caught into -> that pathway
    referrals: dict[str, str] = field(default_factory=dict)
    referral_results: dict[str, str] = field(default_factory=dict)
    exit_reasons: dict[str, str] = field(default_factory=dict)  # end element id -> reason
    # (source id, target id) -> (sequence flow id, its name or None): which flow a decision
    # took, for its `decision` event (the spec keeps only the target)
    flows: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    client_field_types: dict[str, str] = field(default_factory=dict)  # field -> DSL type
    # signal name -> "client" or "programme": who hears it when this pathway throws it
    signal_scopes: dict[str, str] = field(default_factory=dict)
    # signals whose start event starts a case of this pathway (as start messages do)
    start_signals: tuple[str, ...] = ()

    def signal_scope(self, name: str) -> str:
        """Who hears signal `name` thrown by this pathway (the client's cases by default)."""
        return self.signal_scopes.get(name, CLIENT_SCOPE)

    def form_schema(self, form_file: str | None) -> dict[str, Any] | None:
        return self.forms.get(form_file) if form_file else None

    def role_open_to(self, role: str | None, organisation: str) -> bool:
        """Whether staff of organisation may take the lane role (None: a task in no lane)."""
        allowed = self.role_organisations.get(role) if role is not None else None
        return not allowed or organisation in allowed

    def involves(self, organisation: str) -> bool:
        """Whether organisation owns the pathway or is named for one of its roles."""
        return organisation == self.owner or any(
            organisation in orgs for orgs in self.role_organisations.values())

    def sensitive_form_fields(self, form_file: str | None) -> dict[str, str]:
        """Field -> category for the fields of one form marked x-pathways-sensitive."""
        schema = self.form_schema(form_file) or {}
        found: dict[str, str] = {}
        for name, prop in (schema.get("properties") or {}).items():
            category = prop.get(SENSITIVE) if isinstance(prop, dict) else None
            if category in SENSITIVE_CATEGORIES:
                found[name] = category
        return found

    def sensitive_fields(self) -> dict[str, str]:
        """Case data field -> category: every sensitive field of every task form."""
        found: dict[str, str] = {}
        for info in self.user_tasks.values():
            found.update(self.sensitive_form_fields(info.form))
        return found

    def sensitive_client(self, *, steps: bool = True) -> dict[str, str]:
        """Client field -> category: declared sensitive, or filled from or saved to by a
        sensitive form field, or (steps) by any field of a sensitive step."""
        found = dict(self.sensitive_client_fields)
        for info in self.user_tasks.values():
            schema = self.form_schema(info.form) or {}
            fields = self.sensitive_form_fields(info.form)
            step = self.sensitive_steps.get(info.step) if steps else None
            if step is not None:  # everything a sensitive step saves reveals it
                fields = {name: fields.get(name, step)
                          for name in (schema.get("properties") or {})}
            for name, category in fields.items():
                prop = schema["properties"][name]
                if not isinstance(prop, dict):
                    continue
                for key in ("x-pathways-save-to", "x-pathways-prefill"):
                    target = prop.get(key)
                    if isinstance(target, str) and target.startswith("client."):
                        found.setdefault(target.removeprefix("client."), category)
        return found


def _all_task_specs(parsed: ParsedDefinition) -> Iterator[Any]:
    yield from parsed.spec.task_specs.values()
    for sub in parsed.subprocess_specs.values():
        if sub is not None:
            yield from sub.task_specs.values()


def _choose_main_process(parser: SpiffBpmnParser, main_file: str, text: str) -> str:
    root = _parse_xml(text, main_file)
    executable = [p.get("id") for p in root.iter(f"{{{_BPMN_NS}}}process")
                  if p.get("isExecutable", "true") == "true"]
    stem = PurePosixPath(main_file).stem
    if stem in executable:
        return stem
    _, called = called_elements(text, main_file)
    roots = [p for p in executable if p not in called]
    if len(roots) == 1:
        return str(roots[0])
    if not executable:
        raise DefinitionError("no executable bpmn:process found", file=main_file)
    raise DefinitionError(
        f"several executable processes ({', '.join(map(str, executable))}); name the file "
        "after the one to publish", file=main_file)


def _swap_timer_classes(parsed: ParsedDefinition) -> None:
    """Make timers read the engine clock, so `timers run --now` and tests can set the time.

    The timer definition objects live in the cached spec; one reaches a case's stored state
    only as an event an event-based gateway saw, which engine.state serializes by class.
    """
    swaps = clock.CLOCK_TIMERS

    def swap(definition: Any) -> None:
        if isinstance(definition, MultipleEventDefinition):
            for inner in definition.event_definitions:
                swap(inner)
        elif type(definition) in swaps:
            definition.__class__ = swaps[type(definition)]

    for spec in _all_task_specs(parsed):
        if hasattr(spec, "event_definition"):
            swap(spec.event_definition)


def _broadcast_thrown_signals(parsed: ParsedDefinition) -> None:
    """Make every signal throw a broadcast (BroadcastSignalEventDefinition). The definition
    objects live only in the cached spec (never serialized), as with the timer classes."""
    for spec in _all_task_specs(parsed):
        if isinstance(spec, ThrowingEvent) \
                and type(spec.event_definition) is SpiffSignalEventDefinition:
            spec.event_definition.__class__ = BroadcastSignalEventDefinition


def _check_expressions(parsed: ParsedDefinition) -> None:
    """Refuse at publish time any script or condition the sandbox would refuse at run time."""
    for spec in _all_task_specs(parsed):
        sources: list[tuple[str, str]] = []
        script = getattr(spec, "script", None)
        if isinstance(script, str):
            sources.append(("script", script))
        for attr in ("prescript", "postscript"):
            value = getattr(spec, attr, None)
            if isinstance(value, str) and value.strip():
                sources.append(("script", value))
        for condition, _target in getattr(spec, "cond_task_specs", []) or []:
            text = getattr(condition, "args", [condition])[0] if condition is not None else None
            if isinstance(text, str):
                sources.append(("expression", text))
        for kind, source in sources:
            try:
                (compile_script if kind == "script" else compile_expression)(source)
            except ScriptError as err:
                raise DefinitionError(err.message, file=parsed.main_file,
                                      element=spec.bpmn_id or spec.name) from err


def _lane_roles(files: Mapping[str, str]) -> dict[str, str]:
    """Lane name -> lane id. SpiffWorkflow reports a task's lane by name; roles are ids."""
    roles: dict[str, str] = {}
    for name, text in files.items():
        if name.endswith(".bpmn"):
            for lane in _parse_xml(text, name).iter(f"{{{_BPMN_NS}}}lane"):
                lane_id = lane.get("id")
                if lane_id:
                    roles[lane.get("name") or lane_id] = lane_id
    return roles


def _user_task_info(spec: Any, parsed: ParsedDefinition,
                    roles: Mapping[str, str]) -> UserTaskInfo:
    properties: dict[str, str] = (spec.extensions or {}).get("properties", {})
    form = properties.get(FORM_PROPERTY)
    if form is not None and form not in parsed.files:
        raise DefinitionError(
            f"user task form {form!r} not found next to the BPMN file", file=parsed.main_file,
            element=spec.bpmn_id)
    lane = getattr(spec, "lane", None)
    return UserTaskInfo(step=spec.bpmn_id or spec.name, title=spec.bpmn_name or spec.bpmn_id,
                        role=roles.get(lane, lane) if lane else None, form=form,
                        due=properties.get(DUE_PROPERTY),
                        instructions=(getattr(spec, "documentation", None) or "").strip() or None)


_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def _outside_reference(schema: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(JSON path, value) of the first `$ref` that does not point inside the schema."""
    if depth > 100:
        return path, "(nested too deeply)"
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in _REFERENCE_KEYS and (not isinstance(value, str)
                                           or not value.startswith("#")):
                return f"{path}/{key}", str(value)
            found = _outside_reference(value, f"{path}/{key}", depth + 1)
            if found is not None:
                return found
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found = _outside_reference(value, f"{path}/{index}", depth + 1)
            if found is not None:
                return found
    return None


def _load_forms(parsed: ParsedDefinition) -> None:
    """Read every JSON file of the bundle; those used as task forms must be valid schemas."""
    schema_names = {info.form for info in parsed.user_tasks.values() if info.form}
    for name, text in parsed.files.items():
        if not name.endswith(".json") or name.endswith(ROLES_SUFFIX):
            continue
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as err:
            raise DefinitionError(f"form is not valid JSON: {err.msg}", file=name,
                                  line=err.lineno, column=err.colno) from err
        if not isinstance(schema, dict):
            raise DefinitionError("form schema must be a JSON object", file=name)
        outside = _outside_reference(schema)
        if outside is not None:
            path, ref = outside
            raise DefinitionError(f"form refers to {ref[:100]!r} at '{path}': a $ref must point "
                                  "inside the form ('#/...'); nothing is fetched from files "
                                  "or the network", file=name,
                                  details={"attribute": "$ref", "value": ref[:200]})
        if name in schema_names:
            validator = jsonschema.validators.validator_for(schema)
            try:
                validator.check_schema(schema)
            except jsonschema.SchemaError as err:
                path = "/".join(str(p) for p in err.absolute_path)
                raise DefinitionError(f"form is not a valid JSON Schema at '{path}': "
                                      f"{err.message}", file=name) from err
        parsed.forms[name] = schema


def _refuse_reserved_form_fields(parsed: ParsedDefinition) -> None:
    """A submitted form field becomes case data under its own name: one named as what the
    engine writes there (engine.data_names, or the variable a caught message is put in)
    would overwrite it, or be overwritten."""
    catches: dict[str, str] = {}  # message variable -> the element that catches into it
    for file_name, text in parsed.files.items():
        if file_name.endswith(".bpmn"):
            for variable in _parse_xml(text, file_name).iter(f"{{{_SPIFF_NS}}}messageVariable"):
                owner = next((e for e in variable.iterancestors() if e.get("id")), None)
                if variable.text and variable.text.strip():
                    catches.setdefault(variable.text.strip(),
                                       owner.get("id") if owner is not None else "?")
    for _, info in sorted(parsed.user_tasks.items()):
        schema = parsed.forms.get(info.form) if info.form else None
        fields = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(fields, dict) or info.form is None:
            continue
        for name in fields:
            problem = reserved_data_name(str(name))
            if problem is None and str(name) in catches:
                problem = (f"{str(name)!r} is reserved: the engine puts the message "
                           f"{catches[str(name)]!r} catches there")
            if problem is None:
                continue
            text = parsed.files.get(info.form, "")
            found = re.search(r'"' + re.escape(json.dumps(str(name))[1:-1]) + r'"\s*:', text)
            line = text.count("\n", 0, found.start()) + 1 if found else None
            column = found.start() - text.rfind("\n", 0, found.start()) if found else None
            raise DefinitionError(f"form field {problem}; rename the field",
                                  file=info.form, line=line, column=column, element=info.step,
                                  details={"field": f"properties.{name}"})


def _load_roles(parsed: ParsedDefinition) -> None:
    """Read NAME.roles.json of the main file NAME.bpmn, if the bundle has one:
    {"organisation": owner or null, "roles": {id: {"title", "organisations": [ids]}},
    "sensitive_client_fields": {field: "health" | "offence"}, "client_fields": {field: type}}
    (every key optional)."""
    name = PurePosixPath(parsed.main_file).stem + ROLES_SUFFIX
    text = parsed.files.get(name)
    if text is None:
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DefinitionError(f"roles file is not valid JSON: {err.msg}", file=name,
                              line=err.lineno, column=err.colno) from err
    roles = data.get("roles", {}) if isinstance(data, dict) else None
    owner = data.get("organisation") if isinstance(data, dict) else None
    sensitive = data.get("sensitive_client_fields", {}) if isinstance(data, dict) else None
    if not isinstance(roles, dict) or not (owner is None or isinstance(owner, str)) \
            or not isinstance(sensitive, dict):
        raise DefinitionError('roles file must be {"organisation": id or null, "roles": '
                              '{role: {"title", "organisations": [ids]}}}', file=name)
    parsed.owner = owner
    for role, spec in roles.items():
        spec = spec if isinstance(spec, dict) else {}
        organisations = spec.get("organisations") or []
        if not isinstance(organisations, list) or not all(
                isinstance(o, str) for o in organisations):
            raise DefinitionError(f"roles file: organisations of role {role!r} must be a list "
                                  "of organisation ids", file=name)
        parsed.role_titles[role] = str(spec.get("title") or role)
        parsed.role_organisations[role] = tuple(organisations)
    types = data.get("client_fields", {}) if isinstance(data, dict) else {}
    if isinstance(types, dict):
        parsed.client_field_types.update(
            {name: kind for name, kind in types.items() if isinstance(kind, str)})
    for client_field, category in sensitive.items():
        if category not in SENSITIVE_CATEGORIES:
            raise DefinitionError(f"roles file: client field {client_field!r} has unknown "
                                  f"sensitivity {category!r}", file=name)
        parsed.sensitive_client_fields[client_field] = category


_GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
             "complexGateway")
_CONTAINERS = ("process", "subProcess", "transaction", "adHocSubProcess")
_NOT_NODES = ("sequenceFlow", "laneSet", "documentation", "extensionElements", "association",
              "textAnnotation", "dataObject", "dataObjectReference", "dataStoreReference",
              "ioSpecification", "property")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _local(element: Any) -> str:
    tag = element.tag
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _properties(element: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in element.iterfind(f"{{{_BPMN_NS}}}extensionElements/{{{_SPIFF_NS}}}properties/"
                                 f"{{{_SPIFF_NS}}}property"):
        name, value = prop.get("name"), prop.get("value")
        if name and value is not None:
            found[name] = value
    return found


def _category(value: str | None, file: str, element: str | None) -> str | None:
    if value is None:
        return None
    if value not in SENSITIVE_CATEGORIES:
        raise DefinitionError(f"sensitive must be one of {', '.join(SENSITIVE_CATEGORIES)}, "
                              f"not {value!r}", file=file, element=element)
    return value


@dataclass
class _Graph:
    """One process or subprocess: its flow nodes and sequence flows."""

    nodes: list[str]
    flows: list[tuple[str, str, str, str]]  # (id, source, target, condition text)

    def outgoing(self, node: str) -> list[tuple[str, str, str, str]]:
        return [f for f in self.flows if f[1] == node]

    def reach(self, start: str, stop: str) -> set[str]:
        """Nodes reachable from start (itself included) without passing stop, and the flows
        taken."""
        seen: set[str] = set()
        todo = [start]
        while todo:
            node = todo.pop()
            if node in seen or node == stop:
                continue
            seen.add(node)
            for flow_id, _, target, _ in self.outgoing(node):
                seen.add(flow_id)
                todo.append(target)
        return seen


def _derive_sensitivity(parsed: ParsedDefinition) -> None:
    """What reveals health or offence data by its existence, marked or derived.

    Marked: `spiffworkflow:property name="sensitive"` on the process (the whole pathway), or
    on an element: a step, a gateway, a sequence flow. Derived, until nothing changes:

    * a gateway with a marked outgoing flow, or a condition that reads a sensitive field, is
      sensitive (its decision says which way it went), and so is every element on its
      branches that not every branch reaches (the steps inside the branches; a branch
      that ends the case by itself does not count, so what the others meet at is after
      the decision; when no two branches meet, reaching anything after it tells the
      answer, so all of it counts as inside);
    * everything inside a sensitive subprocess, and the processes a sensitive call activity
      calls;
    * a record step whose value or condition reads a sensitive field;
    * every form field of a sensitive user task (and the client fields it saves to), and the
      variable a sensitive catch event puts its message in, are sensitive fields.

    A refer step to a sensitive pathway is sensitive too; that is known only beside the
    other pathway's definition, so engine.privacy decides it (from `referrals`).
    """
    marked: dict[str, str] = {}
    graphs: list[_Graph] = []
    inside: dict[str, set[str]] = {}  # subprocess / process id -> every element id in it
    called: dict[str, str] = {}  # call activity id -> called process id
    messages: dict[str, str] = {}  # message id -> name
    catches: dict[str, tuple[str, str | None]] = {}  # element -> (message name, variable)
    readers: dict[str, str] = {}  # record step -> the expressions it evaluates
    for name, text in parsed.files.items():
        if not name.endswith(".bpmn"):
            continue
        root = _parse_xml(text, name)
        for message in root.iter(f"{{{_BPMN_NS}}}message"):
            if message.get("id"):
                messages[message.get("id")] = message.get("name") or message.get("id")
        for element in root.iter():
            element_id = element.get("id")
            local = _local(element)
            if not element_id or not local:
                continue
            props = _properties(element)
            category = _category(props.get(SENSITIVE_PROPERTY), name, element_id)
            if local == "process":
                if element_id == parsed.pathway:
                    parsed.sensitive_pathway = category
                elif category is not None:
                    marked[element_id] = category
            elif category is not None:
                marked[element_id] = category
            if local in _CONTAINERS:
                inside[element_id] = {e.get("id") for e in element.iter()
                                      if e is not element and e.get("id")}
                graph = _Graph([], [])
                for child in element:
                    child_id, kind = child.get("id"), _local(child)
                    if not child_id or not kind:
                        continue
                    if kind == "sequenceFlow":
                        parsed.flows.setdefault(
                            (child.get("sourceRef") or "", child.get("targetRef") or ""),
                            (child_id, child.get("name") or None))
                        condition = child.find(f"{{{_BPMN_NS}}}conditionExpression")
                        graph.flows.append((child_id, child.get("sourceRef") or "",
                                            child.get("targetRef") or "",
                                            (condition.text or "") if condition is not None
                                            else ""))
                    elif kind not in _NOT_NODES:
                        graph.nodes.append(child_id)
                        attached = child.get("attachedToRef")
                        if kind == "boundaryEvent" and attached:
                            graph.flows.append((f"{attached}>{child_id}", attached, child_id,
                                                ""))
                graphs.append(graph)
            if local == "callActivity" and element.get("calledElement"):
                called[element_id] = element.get("calledElement")
            if REFER in props:
                parsed.referrals[element_id] = props[REFER]
            if EXIT_REASON in props:
                parsed.exit_reasons[element_id] = props[EXIT_REASON]
            if OUTCOME in props:
                readers[element_id] = " ".join(props.get(key, "") for key in
                                               (OUTCOME_VALUE, OUTCOME_WHEN))
            if local in ("intermediateCatchEvent", "boundaryEvent", "receiveTask"):
                definition = element.find(f"{{{_BPMN_NS}}}messageEventDefinition")
                ref = definition.get("messageRef") if definition is not None else None
                if ref:
                    variable = definition.find(f".//{{{_SPIFF_NS}}}messageVariable")
                    catches[element_id] = (ref, variable.text.strip() if variable is not None
                                           and variable.text else None)
    for element_id, (ref, variable) in catches.items():
        message = messages.get(ref, ref)
        for prefix in ("completed:", "start:"):
            if message.startswith(prefix):
                parsed.referrals[element_id] = message.removeprefix(prefix)
                if variable:
                    parsed.referral_results[variable] = message.removeprefix(prefix)

    steps = dict(marked)
    fields = {**parsed.sensitive_fields(), **parsed.sensitive_client()}
    forms = {info.step: info.form for info in parsed.user_tasks.values()}

    def reads(text: str) -> str | None:
        return next((fields[w] for w in _WORD.findall(text) if w in fields), None)

    changed = True
    while changed:
        before = (len(steps), len(fields))
        for graph in graphs:
            for node in graph.nodes:
                outgoing = graph.outgoing(node)
                if len(outgoing) < 2:
                    continue
                category = steps.get(node) or next(
                    (c for c in (steps.get(f[0]) or reads(f[3]) for f in outgoing) if c), None)
                if category is None:
                    continue
                steps.setdefault(node, category)
                branches = [graph.reach(target, node) | {flow_id}
                            for flow_id, _, target, _ in outgoing]
                # what the branches that meet go on to is after the decision, not in it
                meeting = [b for b in branches
                           if any(b & other for other in branches if other is not b)]
                common = meeting[0].intersection(*meeting[1:]) if meeting else set()
                for element in branches[0].union(*branches[1:]) - common:
                    steps.setdefault(element, category)
        for element, category in list(steps.items()):
            for inner in inside.get(element, set()) | inside.get(called.get(element, ""), set()):
                steps.setdefault(inner, category)
        for element, text in readers.items():
            if element not in steps and (category := reads(text)) is not None:
                steps[element] = category
        for element, category in steps.items():
            schema = parsed.form_schema(forms.get(element)) or {}
            for name in schema.get("properties") or {}:
                fields.setdefault(name, category)
                parsed.step_fields.setdefault(name, category)
            variable = catches.get(element, ("", None))[1]
            if variable:
                fields.setdefault(variable, category)
                parsed.step_fields.setdefault(variable, category)
        parsed.sensitive_steps = steps
        fields.update({k: v for k, v in parsed.sensitive_client().items() if k not in fields})
        changed = (len(steps), len(fields)) != before


def parse_bundle(files: Mapping[str, str], main_file: str) -> ParsedDefinition:
    """Parse and check a bundle. Raises DefinitionError naming the file, line and element."""
    if main_file not in files:
        raise DefinitionError("main BPMN file missing from bundle", file=main_file)
    parser = PathwaysBpmnParser(validator=VALIDATOR)
    parser.OVERRIDE_PARSER_CLASSES = with_merging_joins(parser.OVERRIDE_PARSER_CLASSES)
    for name, text in files.items():
        if file_name_problem(name) is not None:
            raise DefinitionError(f"bundle file name {name!r} {file_name_problem(name)}",
                                  file=main_file)
        if not name.endswith(".bpmn"):
            continue
        _parse_xml(text, name)
        check_file_references(text, name)
        try:
            parser.add_bpmn_str(text.encode("utf-8"), name)
        except ValidationException as err:
            raise DefinitionError(str(err.args[0]) if err.args else str(err),
                                  file=err.file_name or name,
                                  line=err.line_number or None,
                                  element=err.id or None) from err
    pathway = _choose_main_process(parser, main_file, files[main_file])
    try:
        spec = parser.get_spec(pathway)
        subprocess_specs = parser.get_subprocess_specs(pathway)
    except ValidationException as err:
        raise DefinitionError(str(err.args[0]) if err.args else str(err),
                              file=err.file_name or main_file, line=err.line_number or None,
                              element=err.id or None) from err
    except SpiffWorkflowException as err:
        raise DefinitionError(str(err), file=main_file) from err
    missing = sorted(name for name, sub in subprocess_specs.items() if sub is None)
    if missing:
        raise DefinitionError(f"call activity calls unknown process(es): {', '.join(missing)}; "
                              "publish them first or put them in the same file", file=main_file)
    _wire_event_subprocesses([spec, *subprocess_specs.values()])
    _remember_throwers([spec, *subprocess_specs.values()])
    start_messages = sorted({
        ts.event_definition.name for ts in spec.task_specs.values()
        if isinstance(ts, StartEvent) and isinstance(ts.event_definition, MessageEventDefinition)
    })
    start_signals = sorted({
        ts.event_definition.name for ts in spec.task_specs.values()
        if isinstance(ts, StartEvent) and isinstance(ts.event_definition, SignalEventDefinition)
    })
    parsed = ParsedDefinition(
        pathway=pathway, hash=bundle_hash(files), main_file=main_file, files=dict(files),
        spec=spec, subprocess_specs=subprocess_specs,
        processes=tuple(sorted(parser.get_process_ids())),
        start_messages=tuple(start_messages), start_signals=tuple(start_signals),
        signal_scopes=_signal_scopes(files),
    )
    roles = _lane_roles(files)
    for task_spec in _all_task_specs(parsed):
        if isinstance(task_spec, UserTask):
            info = _user_task_info(task_spec, parsed, roles)
            parsed.user_tasks[task_spec.name] = info
        if isinstance(task_spec, SubWorkflowTask) and task_spec.spec not in subprocess_specs:
            raise DefinitionError(f"unknown called process {task_spec.spec!r}",
                                  file=main_file, element=task_spec.bpmn_id)
    _load_forms(parsed)
    _refuse_reserved_form_fields(parsed)
    _load_roles(parsed)
    _derive_sensitivity(parsed)
    _check_expressions(parsed)
    _swap_timer_classes(parsed)
    _broadcast_thrown_signals(parsed)
    _run_declarative_tasks_by_themselves(parsed)
    _connect_loops(parsed)
    return parsed


def _signal_scopes(files: Mapping[str, str]) -> dict[str, str]:
    """Signal name -> scope of every signal the bundle throws, from `signal_scope` on the
    throwing events (intermediate throw or end event; "client" when not said).

    Refused: an unknown scope, a scope on an element that throws no signal, and one signal
    thrown with two different scopes (the engine routes a thrown signal by its name).
    """
    scopes: dict[str, tuple[str, str]] = {}  # name -> (scope, element that throws it)
    for file, text in files.items():
        if not file.endswith(".bpmn"):
            continue
        root = _parse_xml(text, file)
        signals = {s.get("id"): s.get("name") or s.get("id")
                   for s in root.iter(f"{{{_BPMN_NS}}}signal")}
        for element in root.iter():
            element_id = element.get("id")
            said = _properties(element).get(SIGNAL_SCOPE_PROPERTY)
            throws = _local(element) in ("intermediateThrowEvent", "endEvent")
            definition = element.find(f"{{{_BPMN_NS}}}signalEventDefinition") \
                if throws else None
            if definition is None:
                if said is not None:
                    raise DefinitionError(
                        f"{SIGNAL_SCOPE_PROPERTY} belongs on an event that throws a signal "
                        "(intermediate throw or end event)", file=file,
                        line=element.sourceline, element=element_id)
                continue
            if said is not None and said not in SIGNAL_SCOPES:
                raise DefinitionError(f"{SIGNAL_SCOPE_PROPERTY} must be one of "
                                      f"{', '.join(SIGNAL_SCOPES)}, not {said!r}", file=file,
                                      line=element.sourceline, element=element_id,
                                      details={"attribute": SIGNAL_SCOPE_PROPERTY,
                                               "value": said})
            scope = said or CLIENT_SCOPE
            ref = definition.get("signalRef")
            name = str(signals.get(ref) or ref) if ref else str(element.get("name") or "")
            earlier = scopes.get(name)
            if earlier is not None and earlier[0] != scope:
                raise DefinitionError(f"signal {name!r} is thrown with scope {scope!r} here "
                                      f"and {earlier[0]!r} at {earlier[1]!r}; give every "
                                      "throw of one signal the same scope", file=file,
                                      line=element.sourceline, element=element_id)
            scopes[name] = (scope, str(element_id))
    return {name: scope for name, (scope, _) in scopes.items()}


def _connect_loops(parsed: ParsedDefinition) -> None:
    """Let each loop hear its rounds complete, as SpiffWorkflow's spec deserializer does.

    A loop task connects this handler only when it creates a round, and only on the spec
    object it runs with; a case loaded on freshly parsed specs (another process, or a new
    version after a migration) would otherwise finish its round and never continue.
    """
    for process in [parsed.spec, *parsed.subprocess_specs.values()]:
        if process is None:
            continue
        for spec in process.task_specs.values():
            if isinstance(spec, LoopTask):
                child = process.task_specs.get(spec.task_spec)
                if child is not None and not child.completed_event.is_connected(
                        spec.merge_child):
                    child.completed_event.connect(spec.merge_child)


def _run_declarative_tasks_by_themselves(parsed: ParsedDefinition) -> None:
    """A bpmn:task is a manual task to SpiffWorkflow; one that records an outcome, notifies
    or refers (the DSL's declarative steps) has nothing for a person to do, so it runs as
    soon as it is reached. Specs are cached, never serialized, so this is safe to set."""
    for spec in _all_task_specs(parsed):
        properties = (getattr(spec, "extensions", None) or {}).get("properties", {})
        if isinstance(spec, NoneTask) and any(key in properties for key in _DECLARATIVE):
            spec.manual = False


class SpecCache:
    """Parsed definitions by bundle hash, least recently used dropped first. Thread-safe."""

    def __init__(self, capacity: int = 128) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, ParsedDefinition] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, files: Mapping[str, str], main_file: str, expected_hash: str
            ) -> ParsedDefinition:
        with self._lock:
            parsed = self._items.get(expected_hash)
            if parsed is not None:
                self._items.move_to_end(expected_hash)
                return parsed
        parsed = parse_bundle(files, main_file)
        with self._lock:
            self._items[expected_hash] = parsed
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return parsed

    def peek(self, bundle_hash_: str) -> ParsedDefinition | None:
        with self._lock:
            return self._items.get(bundle_hash_)
