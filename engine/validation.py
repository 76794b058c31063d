"""Refuse at publish time every model that could never start or would crash a case later.

SpiffWorkflow's parser accepts many models its run time then chokes on with a raw Python
exception (an element named `Start` replaces its internal start task, a timer `'hello'` fails
only when reached, a negative `loopMaximum` or an ad-hoc subprocess without a completion
condition fails when the case gets there). Publish therefore checks, in this order:

1. the BPMN 2.0 XSD (with SpiffWorkflow's extension schema), itself: SpiffWorkflow's parser
   applies the same schema but reports no element and no column;
2. the semantic rules below, on the XML (so every refusal has its line and element);
3. (after parse_bundle) a dry run: the workflow is built and its state serialized and read
   back through engine.state, nothing is run (no script, no condition, no timer).

Every refusal is a DefinitionError with file, line, column (where known), element and
`details["rule"]`, a stable name of the rule broken.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine import clock
from engine.definitions import (
    DUE_PROPERTY,
    FORM_PROPERTY,
    ParsedDefinition,
    file_references,
    parse_bundle,
)
from engine.errors import DefinitionError, EngineError, ScriptError
from engine.runner import compute_due
from engine.sandbox import SandboxScriptEngine, compile_expression, compile_script
from engine.state import dump_state, load_state

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# Task spec names SpiffWorkflow creates itself (bpmn_process_spec.py, TaskParser.py): an
# element with one of these ids silently replaces the internal task.
RESERVED_IDS = frozenset({"Start", "End", "Root"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")

_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                       "eventBasedGateway", "complexGateway"})
_DECISIONS = frozenset({"exclusiveGateway", "inclusiveGateway", "complexGateway"})
_ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask",
                         "sendTask", "receiveTask", "businessRuleTask", "callActivity",
                         "subProcess", "transaction", "adHocSubProcess"})
_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent",
                     "intermediateThrowEvent", "boundaryEvent"})
_CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
_FLOW_NODES = _GATEWAYS | _ACTIVITIES | _EVENTS
_CATCHES_AFTER_EVENT_GATEWAY = frozenset({"intermediateCatchEvent", "receiveTask"})
_TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
_TIMER_EXAMPLES = {"timeDuration": ("duration", "'P7D' or 'PT12H'"),
                   "timeDate": ("date", "'2026-01-01T09:00:00Z'"),
                   "timeCycle": ("cycle", "'R3/P1W'")}


def _local(element: Any) -> str:
    tag = element.tag
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _column(lines: list[str], line: int | None, element: Any) -> int | None:
    """1-based column of the element's start tag on its line (lxml gives lines only)."""
    if line is None or not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    element_id = element.get("id")
    if element_id:
        at = text.find(f'id="{element_id}"')
        if at < 0:
            at = text.find(f"id='{element_id}'")
        if at >= 0:
            start = text.rfind("<", 0, at)
            return (start if start >= 0 else at) + 1
    tag = re.search(rf"<(\w+:)?{re.escape(_local(element))}\b", text)
    return tag.start() + 1 if tag else None


def _owner_id(element: Any) -> str | None:
    """The id of the element itself or of its nearest ancestor that has one."""
    while element is not None:
        if isinstance(element.tag, str) and element.get("id"):
            return str(element.get("id"))
        element = element.getparent()
    return None


class _Document:
    """One BPMN file: its tree and how to make a located refusal about an element of it."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.lines = text.splitlines()
        try:
            self.root = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError as err:
            line, column = err.position if err.position else (None, None)
            raise DefinitionError(f"not well-formed XML: {err.msg}", file=file, line=line,
                                  column=column, details={"rule": "xml"}) from err

    def refuse(self, element: Any, rule: str, message: str, **details: Any) -> DefinitionError:
        line = element.sourceline if element is not None else None
        return DefinitionError(message, file=self.file, line=line,
                               column=_column(self.lines, line, element),
                               element=_owner_id(element) if element is not None else None,
                               details={"rule": rule, **details})

    def all(self, local: str) -> Iterator[Any]:
        yield from self.root.iter(f"{{{BPMN}}}{local}")


def check_bundle(files: Mapping[str, str], main_file: str, *,
                 resolve_calls: bool = True) -> None:
    """Refuse (DefinitionError) the first BPMN file of the bundle that breaks the XSD or a
    semantic rule, main file first. Without resolve_calls, a call to a process the bundle
    does not hold is let pass (it may be published already: checking offline)."""
    names = sorted((n for n in files if n.endswith(".bpmn")), key=lambda n: n != main_file)
    documents = [_Document(name, files[name]) for name in names]
    processes = {str(p.get("id")) for d in documents for p in d.all("process")}
    for document in documents:
        _check_schema(document)
        _check_semantics(document)
        _check_references(document, files, processes if resolve_calls else None)
    _check_call_cycles(documents)


def _check_call_cycles(documents: list[_Document]) -> None:
    """A process that calls itself, directly or through others, would start a new instance
    of itself each time it is reached, without end."""
    calls: dict[str, list[tuple[_Document, Any]]] = {}
    for document in documents:
        for process in document.all("process"):
            calls[str(process.get("id"))] = [
                (document, call) for call in process.iter(f"{{{BPMN}}}callActivity")
                if call.get("calledElement")]
    for start in calls:
        path = [start]
        todo = [(start, iter(calls[start]))]
        while todo:
            _, pending = todo[-1]
            step = next(pending, None)
            if step is None:
                todo.pop()
                path.pop()
                continue
            document, call = step
            called = str(call.get("calledElement"))
            if called == start:
                cycle = " -> ".join([*path, called])
                raise document.refuse(call, "recursive_call",
                                      f"call activity {call.get('id')!r} makes process "
                                      f"{start!r} call itself ({cycle}): each call would "
                                      "start another, without end", value=called)
            if called in calls and called not in path:
                path.append(called)
                todo.append((called, iter(calls[called])))


def check_offline(files: Mapping[str, str], main_file: str) -> None:
    """The checks `pathways validate` can make without a database: the XSD and semantic rules
    (not the dry run, which needs the processes a bundle calls), refused where publish would
    refuse, in the YAML for a compiled DSL file."""
    try:
        check_bundle(files, main_file, resolve_calls=False)
    except DefinitionError as err:
        located = in_yaml_source(files, err)
        if located is None:
            raise
        raise located from err


def _check_references(document: _Document, files: Mapping[str, str],
                      processes: set[str] | None) -> None:
    """Forms and called processes the bundle must hold, located (parse_bundle names only
    the file)."""
    for ref in file_references(document.text, document.file):
        if ref.attribute == FORM_PROPERTY and ref.name not in files:
            raise DefinitionError(f"user task form {ref.name!r} not found next to the BPMN "
                                  "file", file=document.file, line=ref.line, column=ref.column,
                                  element=ref.element,
                                  details={"rule": "missing_form", "value": ref.name})
    for call in document.all("callActivity"):
        called = call.get("calledElement")
        if called and processes is not None and called not in processes:
            raise document.refuse(call, "unknown_called_process",
                                  f"call activity {call.get('id')!r} calls process "
                                  f"{called!r}, which is neither in the bundle nor published; "
                                  "publish it first or put it in the same file",
                                  value=called)


def _check_schema(document: _Document) -> None:
    """The BPMN 2.0 XSD with SpiffWorkflow's extensions, refused with line and element."""
    schema = VALIDATOR.validator
    tree = etree.fromstring(document.text.encode("utf-8"))
    VALIDATOR.preprocess(tree)  # the same preparation SpiffWorkflow's parser applies
    if schema.validate(tree):
        return
    error = schema.error_log.filter_from_errors()[0] if schema.error_log.filter_from_errors() \
        else schema.error_log.last_error
    on_line = [e for e in document.root.iter() if isinstance(e.tag, str)
               and e.sourceline == error.line]
    named = re.match(r"Element '([^']+)'", error.message)
    at = next((e for e in on_line if named and e.tag == named.group(1)),
              on_line[0] if on_line else None)
    message = re.sub(r"\{http://www\.omg\.org/spec/BPMN/20100524/MODEL\}", "bpmn:",
                     error.message)
    message = message.replace(f"{{{SPIFF}}}", "spiffworkflow:")
    raise DefinitionError(
        f"not valid BPMN 2.0 (XSD): {message}", file=document.file, line=error.line or None,
        column=(error.column or None) if error.column and error.column > 1
        else _column(document.lines, error.line, at) if at is not None else None,
        element=_owner_id(at) if at is not None else None, details={"rule": "xsd"})


def _check_semantics(document: _Document) -> None:
    ids: dict[str, Any] = {}
    for element in document.root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if not element_id:
            continue
        if element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES):
            raise document.refuse(
                element, "reserved_id",
                f"the id {element_id!r} is reserved: SpiffWorkflow names its own internal "
                "tasks Start, End, Root, *.EndJoin, *.BoundaryEventSplit and "
                "*.BoundaryEventJoin; rename the element")
        ids.setdefault(element_id, element)  # (a repeated id is refused by the XSD)
    for container in document.root.iter(*(f"{{{BPMN}}}{c}" for c in _CONTAINERS)):
        _check_container(document, container)
    for element in document.root.iter():
        if not isinstance(element.tag, str):
            continue
        _check_activity(document, element)
    _check_timers(document)
    _check_due(document)
    _check_code(document)
    _check_intermediate_throws(document)
    _check_event_references(document, ids)


def _check_intermediate_throws(document: _Document) -> None:
    """An intermediate throw event throws no BPMN error: BPMN allows an error only on an end
    event (the throw ends its path), and SpiffWorkflow's parser drops the definition, so the
    event would silently throw nothing and the case go on as if all were well."""
    for event in document.all("intermediateThrowEvent"):
        for definition in event.iterfind(f"{{{BPMN}}}errorEventDefinition"):
            raise document.refuse(
                definition, "error_intermediate_throw",
                f"intermediateThrowEvent {event.get('id')!r} throws a BPMN error, which BPMN "
                "allows only on an end event (here it would throw nothing): use an error "
                "end event, or an escalation to go on after the throw")


# event definition -> (attribute naming the root element it uses, that element's tag)
_EVENT_REFERENCES = {
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}
_CATCHING = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})


def _check_event_references(document: _Document, ids: Mapping[str, Any]) -> None:
    """Every message, signal, error and escalation an event names exists (SpiffWorkflow's
    own refusal of a missing one fails with a TypeError, and a catch naming none waits for
    ever); every link thrown has its catch."""
    for local, (attribute, target) in _EVENT_REFERENCES.items():
        for definition in document.all(local):
            ref = definition.get(attribute)
            event = definition.getparent()
            if ref is None:
                if _local(event) in _CATCHING and local in ("messageEventDefinition",
                                                             "signalEventDefinition"):
                    raise document.refuse(definition, "missing_reference",
                                          f"{_local(event)} {event.get('id')!r} catches a "
                                          f"{target} but names none ({attribute}): it would "
                                          "wait for ever")
                continue
            ref = ref.rsplit(":", 1)[-1]  # a QName: prefix:id
            if ref not in ids or _local(ids[ref]) != target:
                raise document.refuse(definition, "missing_reference",
                                      f"{attribute} {ref!r} names no bpmn:{target} of this "
                                      f"file: declare <bpmn:{target} id=\"{ref}\" .../>",
                                      attribute=attribute, value=ref)
    for container in document.root.iter(*(f"{{{BPMN}}}{c}" for c in _CONTAINERS)):
        caught = {d.get("name") for e in container
                  if _local(e) == "intermediateCatchEvent"
                  for d in e.iterfind(f"{{{BPMN}}}linkEventDefinition")}
        for event in container:
            if _local(event) != "intermediateThrowEvent":
                continue
            for definition in event.iterfind(f"{{{BPMN}}}linkEventDefinition"):
                if definition.get("name") not in caught:
                    raise document.refuse(definition, "link_without_catch",
                                          f"link {definition.get('name')!r} thrown by "
                                          f"{event.get('id')!r} has no catching link event "
                                          "of that name in the same process")


def _check_container(document: _Document, container: Any) -> None:
    """Flows, start and end events, gateways and reachability inside one process or
    subprocess (each container is its own graph in BPMN)."""
    nodes: dict[str, Any] = {}
    flows: list[Any] = []
    for child in container:
        kind = _local(child)
        if kind == "sequenceFlow":
            flows.append(child)
        elif kind in _FLOW_NODES and child.get("id"):
            nodes[child.get("id")] = child
    outgoing: dict[str, list[Any]] = {node: [] for node in nodes}
    incoming: dict[str, list[Any]] = {node: [] for node in nodes}
    for flow in flows:
        for end, table in (("sourceRef", outgoing), ("targetRef", incoming)):
            ref = flow.get(end)
            if ref not in nodes:
                where = ("in another process or subprocess" if ref and ref in _ids(document)
                         else "missing")
                raise document.refuse(
                    flow, "dangling_flow",
                    f"sequence flow {flow.get('id')!r} has {end} {ref!r}, an element "
                    f"{where}: a flow must join two elements of the same process")
            table[ref].append(flow)
    triggered = container.get("triggeredByEvent") == "true"
    adhoc = _local(container) == "adHocSubProcess"
    starts = [n for n in nodes.values() if _local(n) == "startEvent"]
    if not starts and not adhoc and nodes:
        raise document.refuse(container, "no_start_event",
                              f"{_local(container)} {container.get('id')!r} has no start "
                              "event: nothing could ever run in it")
    for node_id, node in nodes.items():
        kind = _local(node)
        if kind == "endEvent" and outgoing[node_id]:
            raise document.refuse(node, "end_event_outgoing",
                                  f"end event {node_id!r} has an outgoing sequence flow: an "
                                  "end event ends its path, nothing can follow it")
        if kind == "startEvent" and incoming[node_id]:
            raise document.refuse(node, "start_event_incoming",
                                  f"start event {node_id!r} has an incoming sequence flow: "
                                  "nothing can lead into a start event")
        if kind == "boundaryEvent" and incoming[node_id]:
            raise document.refuse(node, "boundary_event_incoming",
                                  f"boundary event {node_id!r} has an incoming sequence flow")
        if kind == "boundaryEvent" and (node.get("attachedToRef") not in nodes or _local(
                nodes[node.get("attachedToRef")]) not in _ACTIVITIES):
            raise document.refuse(node, "boundary_not_attached",
                                  f"boundary event {node_id!r} is attached to "
                                  f"{node.get('attachedToRef')!r}, which is not an activity "
                                  "of the same process")
        if kind in _GATEWAYS and not outgoing[node_id]:
            raise document.refuse(node, "gateway_without_outputs",
                                  f"gateway {node_id!r} has no outgoing sequence flow: a case "
                                  "reaching it could go nowhere")
        if kind == "eventBasedGateway":
            for flow in outgoing[node_id]:
                target = nodes[flow.get("targetRef")]
                if _local(target) not in _CATCHES_AFTER_EVENT_GATEWAY:
                    raise document.refuse(flow, "event_gateway_target",
                                          f"event-based gateway {node_id!r} leads to "
                                          f"{_local(target)} {target.get('id')!r}: it may "
                                          "only lead to catch events or receive tasks")
        default = node.get("default")
        if default and default not in {f.get("id") for f in outgoing[node_id]}:
            raise document.refuse(node, "bad_default_flow",
                                  f"the default flow {default!r} of {node_id!r} is not one "
                                  "of its outgoing sequence flows")
    for flow in flows:
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        if condition is None:
            continue
        source = nodes[flow.get("sourceRef")]
        if _local(source) not in _DECISIONS:
            raise document.refuse(flow, "condition_on_non_decision_flow",
                                  f"sequence flow {flow.get('id')!r} has a condition but "
                                  f"leaves {_local(source)} {source.get('id')!r}: only flows "
                                  "leaving an exclusive, inclusive or complex gateway are "
                                  "decided by conditions (SpiffWorkflow ignores the others)")
        if source.get("default") == flow.get("id"):
            raise document.refuse(flow, "condition_on_default_flow",
                                  f"sequence flow {flow.get('id')!r} is the default flow of "
                                  f"{source.get('id')!r} and has a condition: a default flow "
                                  "is taken when no condition holds")
    for node_id, node in nodes.items():
        if _local(node) != "exclusiveGateway" or len(outgoing[node_id]) < 2:
            continue
        for flow in outgoing[node_id]:
            if flow.find(f"{{{BPMN}}}conditionExpression") is None \
                    and node.get("default") != flow.get("id"):
                raise document.refuse(flow, "unconditioned_decision_flow",
                                      f"sequence flow {flow.get('id')!r} leaves exclusive "
                                      f"gateway {node_id!r} without a condition and is not its "
                                      "default flow")
    if adhoc or triggered:
        return
    roots = [n for n, e in nodes.items()
             if _local(e) == "startEvent" or _local(e) == "boundaryEvent"
             or e.get("isForCompensation") == "true"
             or (_local(e) == "intermediateCatchEvent"
                 and e.find(f"{{{BPMN}}}linkEventDefinition") is not None)]
    reached: set[str] = set()
    todo = list(roots)
    while todo:
        node_id = todo.pop()
        if node_id in reached:
            continue
        reached.add(node_id)
        todo += [f.get("targetRef") for f in outgoing[node_id]]
        todo += [n for n, e in nodes.items() if e.get("attachedToRef") == node_id]
    for node_id, node in nodes.items():
        if node_id not in reached and not (_local(node) == "subProcess"
                                           and node.get("triggeredByEvent") == "true"):
            raise document.refuse(node, "unreachable",
                                  f"{_local(node)} {node_id!r} cannot be reached from a start "
                                  "event: no sequence flow leads to it")


def _ids(document: _Document) -> set[str]:
    return {str(e.get("id")) for e in document.root.iter()
            if isinstance(e.tag, str) and e.get("id")}


def _positive_integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _check_activity(document: _Document, element: Any) -> None:
    kind = _local(element)
    if kind in _ACTIVITIES:
        for attribute in ("startQuantity", "completionQuantity"):
            value = element.get(attribute)
            number = _positive_integer(value)
            if value is not None and (number is None or number < 1):
                raise document.refuse(element, "quantity",
                                      f"{attribute}={value!r} on {element.get('id')!r}: it "
                                      "must be a whole number of at least 1",
                                      attribute=attribute, value=value)
    if kind == "adHocSubProcess":
        condition = element.find(f"{{{BPMN}}}completionCondition")
        if condition is None or not (condition.text or "").strip():
            raise document.refuse(element, "adhoc_without_completion",
                                  f"ad-hoc subprocess {element.get('id')!r} has no "
                                  "completionCondition: it could never finish")
    if kind == "standardLoopCharacteristics":
        maximum = element.get("loopMaximum")
        number = _positive_integer(maximum)
        if maximum is not None and (number is None or number < 0):
            raise document.refuse(element, "loop_maximum",
                                  f"loopMaximum={maximum!r}: it must be a whole number of at "
                                  "least 0", attribute="loopMaximum", value=maximum)
        condition = element.find(f"{{{BPMN}}}loopCondition")
        if maximum is None and (condition is None or not (condition.text or "").strip()):
            raise document.refuse(element, "loop_without_end",
                                  "a standard loop needs a loopMaximum or a loopCondition")
    if kind == "multiInstanceLoopCharacteristics":
        cardinality = element.find(f"{{{BPMN}}}loopCardinality")
        data_input = element.find(f"{{{BPMN}}}loopDataInputRef")
        if (cardinality is None or not (cardinality.text or "").strip()) and (
                data_input is None or not (data_input.text or "").strip()):
            raise document.refuse(element, "multi_instance_without_input",
                                  "a multi-instance activity needs a loopCardinality or a "
                                  "loopDataInputRef")
        count = _literal(cardinality.text or "") if cardinality is not None else None
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)
                                  or count < 0):
            raise document.refuse(cardinality, "multi_instance_cardinality",
                                  f"loopCardinality {(cardinality.text or '').strip()[:40]!r} "
                                  "is not a whole number of at least 0")
    if kind == "scriptTask":
        script = element.find(f"{{{BPMN}}}script")
        if script is None or not (script.text or "").strip():
            raise document.refuse(element, "empty_script",
                                  f"script task {element.get('id')!r} has no script")
    if kind == "callActivity" and not (element.get("calledElement") or "").strip():
        raise document.refuse(element, "call_without_called_element",
                              f"call activity {element.get('id')!r} has no calledElement")


def due_problem(rule: str) -> str | None:
    """Why a user task's `due` property can never give a due time, or None. Checked by
    computing it as the runner does (engine.runner.compute_due), its date field set."""
    data: dict[str, Any] = {}
    base = None if re.match(r"\s*P[0-9T]", rule) else re.match(r"\s*([A-Za-z_][\w.]*)", rule)
    if base is not None:
        *parents, last = base.group(1).split(".")
        inner = data
        for part in parents:
            inner = inner.setdefault(part, {})
        inner[last] = "2026-01-01"
    try:
        due = compute_due(rule, data, datetime(2026, 1, 1, tzinfo=UTC))
    except ScriptError as err:
        return f"due {rule[:60]!r}: {err.message}"
    except Exception:  # SpiffWorkflow raises bare Exception for a bad duration
        due = None
    if due is None:
        return (f"due {rule[:60]!r} is not a due rule: write a duration such as 'P7D', a date "
                "field such as 'client.release_date', or a date field plus or minus a "
                "duration such as 'client.release_date - P7D'")
    return None


def _check_due(document: _Document) -> None:
    for prop in document.root.iter(f"{{{SPIFF}}}property"):
        if prop.get("name") != DUE_PROPERTY or prop.get("value") is None:
            continue
        problem = due_problem(str(prop.get("value")))
        if problem is not None:
            raise document.refuse(prop, "due", problem, attribute=DUE_PROPERTY,
                                  value=str(prop.get("value"))[:100])


def _literal(source: str) -> Any:
    """The value of a Python literal (None when the text is an expression to evaluate)."""
    try:
        return ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def _check_timers(document: _Document) -> None:
    for definition in document.all("timerEventDefinition"):
        values = [c for c in definition if _local(c) in _TIMER_KINDS]
        if not values:
            raise document.refuse(definition, "timer_without_value",
                                  "a timer needs a timeDuration, timeDate or timeCycle")
        for value in values:
            problem = timer_problem(_local(value), value.text or "")
            if problem is not None:
                raise document.refuse(value, "timer", problem, attribute=_local(value),
                                      value=(value.text or "")[:100])


def timer_problem(kind: str, text: str) -> str | None:
    """Why a timer's expression can never give a usable time, or None.

    A quoted literal ('P7D', "2026-01-01T09:00:00Z", 'R3/PT1H') is checked in full now; any
    other expression (a date field of the case) must at least compile in the sandbox."""
    source = text.strip()
    if not source:
        return f"the timer's {kind} is empty"
    if _ISO_DURATION.fullmatch(source) or _BARE_ISO.fullmatch(source):  # (a name is lower case)
        return (f"the timer's {kind} {source[:60]!r} is not in quotes: SpiffWorkflow evaluates "
                f"it as Python, so write '{source[:60]}'")
    try:
        literal = ast.literal_eval(source)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        try:
            compile_expression(source)
        except ScriptError as err:
            return f"the timer's {kind} {source[:60]!r} is not a valid expression: {err.message}"
        except (SyntaxError, ValueError) as err:
            return f"the timer's {kind} {source[:60]!r} is not a valid expression: {err}"
        return None
    if not isinstance(literal, str):
        return (f"the timer's {kind} {source[:60]!r} is not text: write an ISO 8601 "
                "value in quotes, such as 'P7D'")
    value = literal.strip()
    try:
        clock.check_duration(value)
    except ScriptError as err:
        return err.message
    try:
        if kind == "timeDuration":
            if not _ISO_DURATION.fullmatch(value.upper()):
                raise ValueError
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeDate":
            if value.upper().startswith("P"):
                raise ValueError
            result = TimerEventDefinition.parse_time_or_duration(value)
            if not isinstance(result, datetime):
                raise ValueError
        else:
            parts = value.upper().replace("--", "/").split("/")
            if not parts[0].startswith("R") or len(parts) not in (2, 3) or (
                    parts[0][1:] and not parts[0][1:].isdigit()):
                raise ValueError
            for part in parts[1:]:
                if part.startswith("P") and not _ISO_DURATION.fullmatch(part):
                    raise ValueError
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        what, example = _TIMER_EXAMPLES[kind]
        return (f"the timer's {kind} {value[:60]!r} is not a valid ISO 8601 {what} (such as "
                f"{example}); negative values are not allowed")
    return None


_BARE_ISO = re.compile(r"(R\d*/)?P(?=[\dT])[0-9A-Z.,]*|\d{4}-\d{2}-\d{2}[0-9T:.+Z-]*")
_ISO_DURATION = re.compile(
    r"P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?")


def _check_code(document: _Document) -> None:
    """Scripts and conditions the sandbox would refuse when the case reaches them."""
    scripts = [*document.all("script"), *document.root.iter(f"{{{SPIFF}}}preScript",
                                                            f"{{{SPIFF}}}postScript")]
    for element in scripts:
        source = element.text or ""
        if not source.strip():
            continue
        try:
            compile_script(source)
        except ScriptError as err:
            raise document.refuse(element, "script", err.message) from err
        except (SyntaxError, ValueError) as err:
            raise document.refuse(element, "script", f"script does not compile: {err}") from err
        if _defines_class(source):
            raise document.refuse(element, "script", "script is not allowed: class statements "
                                  "are not available in definitions")
    expressions = [*document.all("conditionExpression"), *document.all("loopCondition"),
                   *document.all("completionCondition"), *document.all("loopCardinality"),
                   *document.all("condition"),
                   *document.root.iter(f"{{{SPIFF}}}messagePayload")]
    for element in expressions:
        source = (element.text or "").strip()
        if not source:
            raise document.refuse(element, "empty_expression",
                                  f"an empty {_local(element)}")
        try:
            compile_expression(source)
        except ScriptError as err:
            raise document.refuse(element, "expression", err.message) from err
        except (SyntaxError, ValueError) as err:
            raise document.refuse(element, "expression",
                                  f"expression does not compile: {err}") from err


def _defines_class(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.ClassDef) for node in ast.walk(tree))


def dry_run(parsed: ParsedDefinition) -> None:
    """Build a case of the definition and round-trip its state through engine.state, running
    nothing (no script, condition or timer): what fails here would fail every case."""
    engine = SandboxScriptEngine()
    try:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        state = dump_state(workflow)
        load_state(state, parsed, engine)
    except EngineError as err:
        raise DefinitionError(f"a case of this definition cannot be created: {err.message}",
                              file=parsed.main_file, details={"rule": "dry_run"}) from err
    except Exception as err:
        raise DefinitionError(f"a case of this definition cannot be created: "
                              f"{type(err).__name__}: {_text(err)}", file=parsed.main_file,
                              details={"rule": "dry_run"}) from err


def _text(err: BaseException) -> str:
    try:
        return str(err)[:300]
    except Exception:
        return repr(err.args)[:300]


def publishable(files: Mapping[str, str], main_file: str) -> ParsedDefinition:
    """The bundle parsed, once it passed every check above; DefinitionError otherwise,
    pointing at the DSL source (file, line, column of the step) when the BPMN was compiled
    from a YAML file the bundle holds."""
    try:
        check_bundle(files, main_file)
        try:
            parsed = parse_bundle(files, main_file)
        except EngineError:
            raise
        except Exception as err:
            raise DefinitionError(f"SpiffWorkflow cannot read the model: "
                                  f"{type(err).__name__}: {_text(err)}", file=main_file,
                                  details={"rule": "parse"}) from err
        dry_run(parsed)
    except DefinitionError as err:
        err = _with_line(files, err)
        located = in_yaml_source(files, err)
        if located is None:
            raise err from err.__cause__
        raise located from err
    return parsed


def _with_line(files: Mapping[str, str], error: DefinitionError) -> DefinitionError:
    """The refusal with the line and column of its element, when it names an element but no
    line (SpiffWorkflow's parser reports some problems by element id only)."""
    if error.line is not None or not error.element or not error.file \
            or not error.file.endswith(".bpmn") or error.file not in files:
        return error
    text = files[error.file]
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return error
    element = next((e for e in root.iter() if isinstance(e.tag, str)
                    and e.get("id") == error.element), None)
    if element is None:
        return error
    details = {k: v for k, v in error.details.items()
               if k not in ("file", "line", "column", "element")}
    details.setdefault("rule", "spiffworkflow")
    return DefinitionError(error.reason, file=error.file, line=element.sourceline,
                           column=_column(text.splitlines(), element.sourceline, element),
                           element=error.element, details=details)


_SUFFIX = re.compile(r"_[a-z0-9]+$")
# a DSL step is written `- KIND: id` (dsl/compile.py STEP_KINDS)
_STEP_KEYS = "task|decide|parallel|wait|repeat|refer|record|notify|end"
# the BPMN attribute refused -> the DSL step keys it is compiled from
_DSL_KEYS = {"timeDuration": ("for", "every"), "timeDate": ("until",), "due": ("due",)}


def in_yaml_source(files: Mapping[str, str], error: DefinitionError) -> DefinitionError | None:
    """The same refusal located in the DSL file the BPMN file was compiled from: the step
    whose id the element carries (compiled ids are step ids, or step ids with a suffix such
    as `_merge` or `_wait`, written `- wait: id`), at the step's key that holds the refused
    value when there is one (`for`, `every`, `until`, `due`); None when the bundle holds no
    such file or step."""
    if not error.file or not error.file.endswith(".bpmn"):
        return None
    source = f"{PurePosixPath(error.file).stem}.yaml"
    text = files.get(source)
    if text is None:
        return None
    lines = text.splitlines()
    line: int | None = None
    column: int | None = None
    step = error.element or ""
    while step and line is None:
        pattern = re.compile(rf"^(\s*(?:-\s+)?)(?:{_STEP_KEYS}):\s*['\"]?{re.escape(step)}"
                             rf"['\"]?\s*(#.*)?$")
        for number, content in enumerate(lines, start=1):
            match = pattern.match(content)
            if match:
                line, column = number, len(match.group(1)) + 1
                break
        shorter = _SUFFIX.sub("", step)
        step = shorter if shorter != step else ""
    if line is None or column is None:
        return None  # not a step's element: the compiled BPMN's location is the best known
    keys = _DSL_KEYS.get(str(error.details.get("attribute")), ())
    for number in range(line, len(lines)):  # the step's own lines, after its first
        content = lines[number]
        indent = len(content) - len(content.lstrip())
        if content.strip() and indent < column - 1:
            break
        key = re.match(rf"^\s*({'|'.join(keys)}):\s*", content) if keys else None
        if key and indent == column - 1:
            line, column = number + 1, key.end() + 1
            break
    details = {k: v for k, v in error.details.items()
               if k not in ("file", "line", "column", "element", "message")}
    details.update({"bpmn_file": error.file, "bpmn_line": error.line})
    return DefinitionError(error.reason, file=source, line=line, column=column,
                           element=error.element, details=details)
