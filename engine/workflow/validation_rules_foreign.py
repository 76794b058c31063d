"""Publish rules for constructs Pathways does not run (issue 16: never run one silently
wrong): the Camunda extensions Pathways cannot run as Camunda does (engine.workflow.camunda: a
connector that would never be called, a form kept elsewhere, a `${...}` condition it cannot
translate). BPMN compensation is checked by engine.workflow.validation_rules_compensation
(the forms Pathways does not run refused)."""

from __future__ import annotations

from engine.workflow.camunda import check_camunda_element as _check_camunda
from engine.workflow.camunda import check_juel as _check_juel
from engine.workflow.validation_document import BpmnDocument
from engine.workflow.validation_rules_compensation import check_compensation


def check_foreign(document: BpmnDocument) -> None:
    """Check compensation; refuse Camunda extensions, at the element that uses them."""
    check_compensation(document)
    for element in document.root.iter():
        if isinstance(element.tag, str):
            _check_camunda(document, element)
    for condition in document.all("conditionExpression"):
        _check_juel(document, condition)
