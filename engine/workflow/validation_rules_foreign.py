"""Publish rules for constructs Pathways does not run (issue 16: never run one silently
wrong): BPMN compensation, and the Camunda extensions Pathways cannot run as Camunda does
(engine.workflow.camunda: a connector that would never be called, a form kept elsewhere, a
`${...}` condition it cannot translate)."""

from __future__ import annotations

from engine.workflow.bpmn_xml import local_name
from engine.workflow.camunda import check_camunda_element as _check_camunda
from engine.workflow.camunda import check_juel as _check_juel
from engine.workflow.validation_document import BpmnDocument


def check_foreign(document: BpmnDocument) -> None:
    """Refuse compensation and Camunda extensions, at the element that uses them."""
    _check_compensation(document)
    for element in document.root.iter():
        if isinstance(element.tag, str):
            _check_camunda(document, element)
    for condition in document.all("conditionExpression"):
        _check_juel(document, condition)


def _check_compensation(document: BpmnDocument) -> None:
    """SpiffWorkflow 3.2 has no compensation: it parses a compensation event as an event of
    no kind (a throw throws nothing, a boundary or event-subprocess start never fires) and
    an isForCompensation activity as an ordinary one, so an undo would silently not run."""
    for definition in document.all("compensateEventDefinition"):
        event = definition.getparent()
        raise document.refuse(
            definition, "compensation_not_supported",
            f"{local_name(event)} {event.get('id')!r} is a compensation event: Pathways "
            "does not run BPMN compensation (it would throw nothing and its handler never "
            "run); model the undo as ordinary steps on the path that needs it (after an "
            "error boundary event or a decision)")
    for element in document.root.iter():
        if isinstance(element.tag, str) and element.get("isForCompensation") == "true":
            raise document.refuse(
                element, "compensation_not_supported",
                f"{local_name(element)} {element.get('id')!r} is a compensation handler "
                "(isForCompensation): Pathways does not run BPMN compensation; model the undo "
                "as ordinary steps on the path that needs it")
