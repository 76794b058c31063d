"""Publish rules for BPMN elements Pathways has no way to run, each refused with its own rule
and what to draw instead (issue 16), where SpiffWorkflow's parser gave a bare message naming
no rule ("No DMN Diagram available with id None", "Cannot resolve dataOutputAssociation
<Element ...>") or a misleading one (an instantiating event-based gateway is "no start
event"); and two event subprocesses of one scope for the same error or escalation, both of
which Pathways would start."""

from __future__ import annotations

from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS
from engine.workflow.validation_document import BpmnDocument

_CAUGHT_ONCE = (("errorEventDefinition", "errorRef"),
                ("escalationEventDefinition", "escalationRef"))


def check_elements(document: BpmnDocument) -> None:
    """Refuse the first business rule task, data store use or instantiating gateway, and
    two event subprocesses of one scope for the same error or escalation."""
    for container in document.containers():
        _check_event_subprocess_triggers(document, container)
    for task in document.all("businessRuleTask"):
        raise document.refuse(
            task, "business_rule_task",
            f"businessRuleTask {task.get('id')!r}: Pathways does not run DMN decision tables "
            "(a version holds BPMN, forms and roles only); decide with an exclusive gateway's "
            "conditions, or work the value out in a script task")
    stores = {str(ref.get("id")) for ref in document.all("dataStoreReference")}
    for association in (*document.all("dataInputAssociation"),
                        *document.all("dataOutputAssociation")):
        if _ends(association) & stores:
            raise document.refuse(
                association, "data_store_not_supported",
                f"{association.getparent().get('id')!r} reads or writes a data store: Pathways "
                "keeps a case's data in the case (and the client's on their record), not in "
                "data stores shared by cases; use a data object, or a form field saved to the "
                "client record")
    for gateway in document.all("eventBasedGateway"):
        if gateway.get("instantiate") == "true":
            raise document.refuse(
                gateway, "instantiating_event_gateway",
                f"eventBasedGateway {gateway.get('id')!r} has instantiate=\"true\": a "
                "Pathways case starts from a start event (a caseworker, a referral, a message "
                "or a signal starts it); start with a message or signal start event instead, "
                "or with a none start event followed by this gateway without instantiate",
                attribute="instantiate")


def _ends(association: Any) -> set[str]:
    """The ids an association reads from or writes to."""
    return {(child.text or "").strip()
            for child in association.iter(f"{{{BPMN_NS}}}sourceRef", f"{{{BPMN_NS}}}targetRef")}


def _check_event_subprocess_triggers(document: BpmnDocument, container: Any) -> None:
    """BPMN 2.0.2 §10.5.3: a thrown error or escalation is caught by the one event of the
    innermost scope that catches it; with two event subprocesses of a scope for the same
    error (or one for any error beside one for a given error) Pathways would start both."""
    seen: dict[str, list[tuple[str | None, str]]] = {}
    for event_subprocess in container.iterfind(f"{{{BPMN_NS}}}subProcess"):
        if event_subprocess.get("triggeredByEvent") != "true":
            continue
        for start in event_subprocess.iterfind(f"{{{BPMN_NS}}}startEvent"):
            for kind, attribute in _CAUGHT_ONCE:
                for definition in start.iterfind(f"{{{BPMN_NS}}}{kind}"):
                    ref = definition.get(attribute)
                    earlier = next((owner for caught, owner in seen.get(kind, [])
                                    if caught is None or ref is None or caught == ref), None)
                    if earlier is not None:
                        raise document.refuse(
                            start, "duplicate_event_subprocess_trigger",
                            f"event subprocesses {earlier!r} and "
                            f"{event_subprocess.get('id')!r} both start on this "
                            f"{kind.removesuffix('EventDefinition')}: BPMN has one handler "
                            "catch it, and Pathways would start both; keep one, or give "
                            "each its own error or escalation code")
                    seen.setdefault(kind, []).append((ref, str(event_subprocess.get("id"))))
