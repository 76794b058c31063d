"""Publish rules on conditional events (BPMN 2.0.2 §10.5.1 conditionalEventDefinition), run
by engine.workflow.conditional_events: where one may stand, and its condition.

Run: an intermediate catch event, a boundary event (interrupting or not), the start event of
an event subprocess at process level. Refused (rule conditional_event): a throw or end event
with one (BPMN catches conditions only; SpiffWorkflow passed it as a none event), the start
event of the process itself (BPMN: its condition "MUST NOT refer to the data context ... of
the Process", which does not exist yet: what it would watch is outside Pathways), the start
event of an event subprocess inside an embedded subprocess (its condition is watched only at
process level; one in a called process is refused at parse time,
engine.workflow.conditional_events), and a conditional event among several definitions of
one event (a multiple event: only the event-based gateway's events are run). The condition
itself is checked with every other expression (validation_rules_values.check_code: rules
`xsd` when missing, `empty_expression`, `expression` when the sandbox cannot compile it).
"""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument

_EVENT_KINDS = ("startEvent", "intermediateCatchEvent", "boundaryEvent",
                "intermediateThrowEvent", "endEvent")
_DEFINITIONS = ("messageEventDefinition", "signalEventDefinition", "timerEventDefinition",
                "conditionalEventDefinition", "errorEventDefinition",
                "escalationEventDefinition", "compensateEventDefinition",
                "cancelEventDefinition", "linkEventDefinition", "terminateEventDefinition")


def check_conditional_events(document: BpmnDocument) -> None:
    """Refuse the first conditional event Pathways would not run as BPMN says."""
    shared = {str(d.get("id")): d for d in document.all("conditionalEventDefinition")
              if d.get("id") and local_name(d.getparent()) == "definitions"}
    for kind in _EVENT_KINDS:
        for event in document.all(kind):
            definitions = [d for d in event if isinstance(d.tag, str)
                           and local_name(d) in _DEFINITIONS]
            conditional = [d for d in definitions
                           if local_name(d) == "conditionalEventDefinition"]
            for ref in event.iterfind(f"{{{BPMN_NS}}}eventDefinitionRef"):
                found = shared.get((ref.text or "").strip())
                definitions.append(ref)
                if found is not None:
                    conditional.append(found)
            if not conditional:
                continue
            _check_place(document, event, kind, len(definitions))


def _check_place(document: BpmnDocument, event: Any, kind: str, count: int) -> None:
    name = f"{kind} {event.get('id')!r}"
    if kind in ("intermediateThrowEvent", "endEvent"):
        raise document.refuse(
            event, "conditional_event",
            f"{name} throws a conditional event: BPMN has conditional events only caught "
            "(a condition is not thrown; it becomes true); SpiffWorkflow would pass the "
            "event as a none event. Remove the definition, or catch the condition where "
            "it is awaited")
    if count > 1:
        raise document.refuse(
            event, "conditional_event",
            f"{name} has a conditional event definition among {count}: Pathways runs a "
            "conditional event only as the event's one definition; use an event-based "
            "gateway with one event per trigger instead")
    if kind != "startEvent":
        return
    container = event.getparent()
    if container is None or local_name(container) != "subProcess" \
            or container.get("triggeredByEvent") != "true":
        raise document.refuse(
            event, "conditional_event",
            f"{name} is a conditional start of the process: BPMN has its condition watch "
            "the world outside any case (no case data exists yet), which Pathways cannot "
            "watch; start the case with a none start event, or with a message sent when "
            "the condition becomes true")
    outer = container.getparent()
    if outer is not None and local_name(outer) != "process":
        raise document.refuse(
            event, "conditional_event",
            f"{name} starts event subprocess {container.get('id')!r} inside "
            f"{local_name(outer)} {outer.get('id')!r}: Pathways watches conditional starts "
            "of event subprocesses only at process level; attach a conditional boundary "
            f"event to {outer.get('id')!r} instead (non-interrupting for a non-interrupting "
            "start), or move the event subprocess to the process",
            enclosing=outer.get("id"))
