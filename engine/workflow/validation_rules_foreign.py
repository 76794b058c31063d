"""Publish rules for constructs Pathways does not run (issue 16: never run one silently
wrong): Camunda's extensions, which SpiffWorkflow reads as unknown
attributes and ignores (a connector that would never be called, a form or an assignee never
used, a `${...}` condition that is not Python). BPMN compensation is checked by
engine.workflow.validation_rules_compensation (the forms Pathways does not run refused)."""

from __future__ import annotations

import re
from typing import Any

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument
from engine.workflow.validation_rules_compensation import check_compensation

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

# Camunda's ways to run code from a task: Pathways has no connector mechanism of that kind
_CONNECTOR_ATTRIBUTES = ("class", "delegateExpression", "expression", "type", "topic")
_CONNECTOR_HELP = (
    "Pathways runs no Java class, delegate, expression or external-task worker; a step that "
    "runs by itself is a task with Pathways properties (pathwaysOutcome to record an outcome, "
    "pathwaysNotifyTo + pathwaysNotifyMessage to notify a role, pathwaysRefer to refer the "
    "client to another pathway), a message throw event or send task to hand work to another "
    "system, or a user task for a person to do it")
_ASSIGNMENT_ATTRIBUTES = ("assignee", "candidateGroups", "candidateUsers", "dueDate",
                          "followUpDate", "priority")
_ASSIGNMENT_HELP = {
    "assignee": "put the task in the lane of the role who does it (the DSL's `assign:` names "
                "the person)",
    "candidateGroups": "put the task in the lane of that role",
    "candidateUsers": "put the task in the lane of their role",
    "dueDate": "use the spiffworkflow:property `due`",
    "followUpDate": "use a non-interrupting timer boundary event",
    "priority": "leave it out",
}
_FORM_HELP = ("give the user task a JSON Schema form: spiffworkflow:property "
              "formJsonSchemaFilename naming a schema file published with the BPMN")
_JUEL = re.compile(r"[$#]\{(.*)\}", re.DOTALL)


def check_foreign(document: BpmnDocument) -> None:
    """Check compensation; refuse Camunda extensions, at the element that uses them."""
    check_compensation(document)
    for element in document.root.iter():
        if isinstance(element.tag, str):
            _check_camunda(document, element)
    for condition in document.all("conditionExpression"):
        _check_juel(document, condition)


def _check_camunda(document: BpmnDocument, element: Any) -> None:
    kind = local_name(element)
    for attribute in _CONNECTOR_ATTRIBUTES:
        value = element.get(f"{{{CAMUNDA_NS}}}{attribute}")
        if value is not None and element.tag.startswith(f"{{{BPMN_NS}}}"):
            raise document.refuse(
                element, "camunda_connector",
                f"{kind} {element.get('id')!r} has camunda:{attribute}={value!r}: "
                f"{_CONNECTOR_HELP}",
                attribute=f"camunda:{attribute}", value=value)
    if element.tag == f"{{{CAMUNDA_NS}}}connector":
        raise document.refuse(element, "camunda_connector",
                              f"{owner_kind(element)} uses a camunda:connector: "
                              f"{_CONNECTOR_HELP}", attribute="camunda:connector")
    value = element.get(f"{{{CAMUNDA_NS}}}formKey")
    if value is not None:
        raise document.refuse(element, "camunda_form",
                              f"{kind} {element.get('id')!r} has camunda:formKey={value!r}, "
                              f"which Pathways does not read: {_FORM_HELP}",
                              attribute="camunda:formKey", value=value)
    if element.tag in (f"{{{CAMUNDA_NS}}}formData", f"{{{CAMUNDA_NS}}}formField"):
        raise document.refuse(element, "camunda_form",
                              f"{owner_kind(element)} has camunda:{local_name(element)} "
                              f"fields, which Pathways does not read: {_FORM_HELP}",
                              attribute=f"camunda:{local_name(element)}")
    for attribute in _ASSIGNMENT_ATTRIBUTES:
        value = element.get(f"{{{CAMUNDA_NS}}}{attribute}")
        if value is not None:
            raise document.refuse(
                element, "camunda_assignment",
                f"{kind} {element.get('id')!r} has camunda:{attribute}={value!r}, which "
                f"Pathways does not read: {_ASSIGNMENT_HELP[attribute]}",
                attribute=f"camunda:{attribute}", value=value)


def owner_kind(element: Any) -> str:
    """`userTask 'x'`: the nearest BPMN element with an id around a Camunda extension."""
    while element is not None and not (isinstance(element.tag, str)
                                       and element.tag.startswith(f"{{{BPMN_NS}}}")
                                       and element.get("id")):
        element = element.getparent()
    return "the model" if element is None else f"{local_name(element)} {element.get('id')!r}"


def _check_juel(document: BpmnDocument, condition: Any) -> None:
    """A `${...}` (JUEL, Camunda's expression language) condition is not Python: refused with
    the Python of it when it is a simple one, so the modeller can write that instead."""
    text = (condition.text or "").strip()
    match = _JUEL.fullmatch(text)
    if match is None and "${" not in text and "#{" not in text:
        return
    python = juel_to_python(match.group(1)) if match else None
    hint = (f"write it as {python!r}" if python is not None else
            "write it in Pathways' Python-like expression language (`x > 5`, "
            "`approved and not rejected`, `a == 'b'`)")
    raise document.refuse(condition, "juel_expression",
                          f"condition {text!r} is a JUEL (Camunda) expression, which Pathways "
                          f"does not evaluate: {hint}", value=text)


_JUEL_WORDS = {"&&": " and ", "||": " or ", "eq": " == ", "ne": " != ", "gt": " > ",
               "lt": " < ", "ge": " >= ", "le": " <= ", "and": " and ", "or": " or ",
               "not": " not "}
_JUEL_TOKEN = re.compile(r"\s*(?:(&&|\|\||!=|==|>=|<=|[<>!()])|('[^']*'|\"[^\"]*\")|"
                         r"(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*))")


def juel_to_python(juel: str) -> str | None:
    """The Python of a simple JUEL expression (names, numbers, strings, comparisons, `&&`,
    `||`, `!`, parentheses), None for anything else (method calls, `.`, `[`, `empty`)."""
    out: list[str] = []
    at = 0
    juel = juel.strip()
    while at < len(juel):
        token = _JUEL_TOKEN.match(juel, at)
        if token is None or token.end() == at:
            return None
        at = token.end()
        operator, string, number, name = token.groups()
        if name in ("true", "false", "null"):
            out.append({"true": "True", "false": "False", "null": "None"}[name])
        elif name in ("empty", "div", "mod", "instanceof"):
            return None
        elif name is not None:
            out.append(_JUEL_WORDS.get(name, name))
        elif operator is not None:
            out.append(" not " if operator == "!" else
                       _JUEL_WORDS.get(operator, f" {operator} " if operator not in "()"
                                       else operator))
        else:
            out.append(string if string is not None else str(number))
    return re.sub(r"\s+", " ", "".join(out)).replace("( ", "(").replace(" )", ")").strip()
