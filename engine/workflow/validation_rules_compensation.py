"""Publish checks for BPMN compensation (engine.workflow.compensation runs it): the malformed
uses BPMN 2.0.2 forbids, and the forms Pathways does not run, refused at the element with a
rule, never run silently wrong.

Run: compensation boundary events associated with their handler, compensation event
subprocesses of embedded subprocesses (a throw in one compensating inside its subprocess),
a subprocess's or call activity's default compensation (by the handlers inside it),
compensation intermediate throw and end events with or without activityRef (in an event
subprocess: compensating the scope around it). Refused (`compensation_not_supported`): a
compensation event subprocess elsewhere, compensation inside a transaction or an ad-hoc
subprocess, a compensation catch event, a compensation among other event definitions, and a
handler that is not a task or has a boundary event.
"""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.compensation import (
    compensated_scope,
    compensation_event_subprocesses,
    compensation_pairs,
    default_compensated,
    is_compensation_throw,
)
from engine.workflow.validation_document import BpmnDocument

_COMPENSATE = f"{{{BPMN_NS}}}compensateEventDefinition"
_TASKS = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask",
                    "sendTask", "receiveTask", "businessRuleTask"})


def check_compensation(document: BpmnDocument) -> None:
    """Refuse compensation Pathways does not run, and malformed compensation."""
    flows = {(f.get("sourceRef"), f.get("targetRef"))
             for f in document.all("sequenceFlow")}
    for definition in document.all("compensateEventDefinition"):
        _check_container(document, definition.getparent())
        _check_event(document, definition, flows)
    used = {handler.get("id") for container in document.containers()
            for _, _, handler in compensation_pairs(container)}
    for element in document.root.iter():
        if isinstance(element.tag, str) and element.get("isForCompensation") == "true":
            _check_handler(document, element, flows, used)
    for definition in document.all("compensateEventDefinition"):
        event = definition.getparent()
        if is_compensation_throw(event):
            _check_throw(document, event, definition)


def _not_supported(document: BpmnDocument, at: Any, what: str) -> Exception:
    return document.refuse(at, "compensation_not_supported",
                           f"{what}: Pathways does not run this form of BPMN compensation; "
                           "use compensation boundary events with their handlers and a "
                           "compensation throw (intermediate or end event) in the same "
                           "process or subprocess")


def _check_event(document: BpmnDocument, definition: Any,
                 flows: set[tuple[str | None, str | None]]) -> None:
    event = definition.getparent()
    kind, event_id = local_name(event), event.get("id")
    if sum(1 for e in event if isinstance(e.tag, str) and (local_name(e).endswith(
            "EventDefinition") or local_name(e) == "eventDefinitionRef")) > 1:
        raise _not_supported(document, event, f"{kind} {event_id!r} has a compensation "
                             "event definition among others (a multiple event)")
    if kind == "startEvent":
        _check_event_subprocess(document, event)
        return
    if kind == "boundaryEvent":
        _check_boundary(document, event, flows)
        return
    if not is_compensation_throw(event):
        raise _not_supported(document, event, f"{kind} {event_id!r} catches compensation")


def _check_boundary(document: BpmnDocument, event: Any,
                    flows: set[tuple[str | None, str | None]]) -> None:
    """A compensation boundary event: no outgoing flow, one per activity, a handler."""
    event_id = event.get("id")
    if any(source == event_id for source, _ in flows):
        raise document.refuse(event, "compensation_boundary_flow",
                              f"compensation boundary event {event_id!r} has an outgoing "
                              "sequence flow: BPMN connects it to its compensation "
                              "handler by an association only")
    container = event.getparent()
    attached = event.get("attachedToRef")
    if sum(1 for e in container.iterfind(f"{{{BPMN_NS}}}boundaryEvent")
           if e.get("attachedToRef") == attached and e.find(_COMPENSATE) is not None) > 1:
        raise document.refuse(event, "compensation_handler_twice",
                              f"activity {attached!r} has more than one compensation "
                              "boundary event: BPMN gives an activity one compensation "
                              "handler")
    if not any(e is event for e, _, _ in compensation_pairs(container)):
        raise document.refuse(event, "compensation_without_handler",
                              f"compensation boundary event {event_id!r} is associated "
                              "with no compensation handler: draw an association to an "
                              "activity with isForCompensation=\"true\"")


def _check_container(document: BpmnDocument, event: Any) -> None:
    """Compensation inside an ad-hoc subprocess (parsed without compensation) or a
    transaction (whose cancellation BPMN undoes by compensation) is not run."""
    for ancestor in event.iterancestors():
        if local_name(ancestor) in ("adHocSubProcess", "transaction"):
            raise _not_supported(document, event, f"{local_name(event)} "
                                 f"{event.get('id')!r} is inside {local_name(ancestor)} "
                                 f"{ancestor.get('id')!r}")


def _check_event_subprocess(document: BpmnDocument, start: Any) -> None:
    """A compensation event subprocess compensates the embedded subprocess it is in (BPMN
    2.0.2 §10.7: it runs when that subprocess, completed, is compensated)."""
    event_subprocess = start.getparent()
    activity = event_subprocess.getparent()
    where = f"startEvent {start.get('id')!r} starts a compensation event subprocess"
    if local_name(event_subprocess) != "subProcess" or activity is None \
            or local_name(activity) != "subProcess":
        raise _not_supported(document, start, f"{where} that is not inside an embedded "
                             "subprocess")
    if len(compensation_event_subprocesses(activity)) > 1:
        raise _not_supported(document, start, f"{where}, and subProcess "
                             f"{activity.get('id')!r} has another one")
    if any(e.get("attachedToRef") == activity.get("id") and e.find(_COMPENSATE) is not None
           for e in document.all("boundaryEvent")):
        raise _not_supported(document, start, f"{where}, and subProcess "
                             f"{activity.get('id')!r} has a compensation boundary event too")


def _check_handler(document: BpmnDocument, handler: Any,
                   flows: set[tuple[str | None, str | None]], used: set[Any]) -> None:
    handler_id, kind = handler.get("id"), local_name(handler)
    if any(handler_id in pair for pair in flows):
        raise document.refuse(handler, "compensation_handler_flow",
                              f"{kind} {handler_id!r} is a compensation handler "
                              "(isForCompensation): BPMN forbids it incoming and outgoing "
                              "sequence flows; it runs only when its activity is compensated")
    if kind not in _TASKS:
        raise _not_supported(document, handler, f"{kind} {handler_id!r} is a compensation "
                             "handler that is not a task")
    if any(e.get("attachedToRef") == handler_id for e in document.all("boundaryEvent")):
        raise _not_supported(document, handler, f"compensation handler {handler_id!r} has "
                             "a boundary event")
    if handler_id not in used:
        raise document.refuse(handler, "compensation_handler_unused",
                              f"{kind} {handler_id!r} is a compensation handler no "
                              "compensation boundary event is associated with: it would "
                              "never run")


def _check_throw(document: BpmnDocument, event: Any, definition: Any) -> None:
    container = compensated_scope(event)
    compensable = {activity for _, activity, _ in compensation_pairs(container)} | {
        activity for activity, _ in default_compensated(container)}
    ref = definition.get("activityRef")
    if ref is not None and ref not in compensable:
        raise document.refuse(
            event, "compensation_activity_ref",
            f"{local_name(event)} {event.get('id')!r} compensates activityRef {ref!r}, "
            "which is no activity of the same process or subprocess with a compensation "
            "handler (or, for a subprocess, compensation handlers inside)",
            attribute="activityRef", value=ref)
