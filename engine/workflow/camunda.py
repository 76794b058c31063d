"""Camunda-flavoured BPMN (Camunda Modeler's `camunda:` extensions) run as Pathways runs its own.

SpiffWorkflow reads none of Camunda's extensions: a generated form, an assignee or candidate
group, a `${...}` condition would be silently dropped or fail. Here, on the way in:

- `camunda:formData` on a user task becomes the task's JSON Schema form
  (engine.workflow.camunda_forms);
- `camunda:candidateGroups` (one group) is the role that may do the task, as a lane is;
  `camunda:assignee` (or a single `camunda:candidateUsers`) the user the task is assigned to,
  as the DSL's `assign:` (a literal username, or `${x}` naming a case field holding one);
- a JUEL condition is translated into Pathways' expression language (engine.workflow.juel),
  in the parser's copy of the XML (engine.workflow.bpmn_events) and in the copy the publish
  rules read, never in the published file.

What cannot be run as Camunda would is refused at publish at the element (rules
camunda_connector, camunda_form, camunda_assignment, juel_expression): Java classes,
delegates and external tasks, a form key naming a form elsewhere, several candidate groups,
any other expression.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from engine.errors import DefinitionError
from engine.workflow import juel
from engine.workflow.bpmn_xml import BPMN_NS, local_name, parse_xml, spiff_properties
from engine.workflow.camunda_forms import (
    CamundaRefused,
    camunda,
    form_data,
    form_schema,
    owner_kind,
    owner_of,
)
from engine.workflow.definition_model import ASSIGN, FORM_PROPERTY, ParsedDefinition
from engine.workflow.validation_document import BpmnDocument

# Camunda's ways to run code from a task: Pathways has no connector mechanism of that kind
_CONNECTOR_ATTRIBUTES = ("class", "delegateExpression", "expression", "type", "topic")
_CONNECTOR_HELP = (
    "Pathways runs no Java class, delegate, expression or external-task worker; a step that "
    "runs by itself is a task with Pathways properties (pathwaysOutcome to record an outcome, "
    "pathwaysNotifyTo + pathwaysNotifyMessage to notify a role, pathwaysRefer to refer the "
    "client to another pathway), a message throw event or send task to hand work to another "
    "system, or a user task for a person to do it")
_PEOPLE = ("assignee", "candidateGroups", "candidateUsers")
_NOT_READ = {"dueDate": "use the spiffworkflow:property `due`",
             "followUpDate": "use a non-interrupting timer boundary event",
             "priority": "leave it out"}
_FORM_HELP = ("describe the fields with camunda:formData (or give a JSON Schema form: "
              "spiffworkflow:property formJsonSchemaFilename naming a schema file published "
              "with the BPMN)")
# expression elements: those read as conditions are translated; the others take no JUEL
_CONDITIONS = frozenset({"conditionExpression", "condition", "completionCondition",
                         "loopCondition"})
_EXPRESSIONS = _CONDITIONS | {"loopCardinality"}
FORM_SUFFIX = ".camunda-form.json"
# Camunda extensions with no effect on what a case does in Pathways (transactions, jobs,
# history, versions, free properties), or read above: every other one is refused, since
# SpiffWorkflow would drop it and the model would run differently from Camunda
_HARMLESS = frozenset({
    "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority",
    "failedJobRetryTimeCycle", "historyTimeToLive", "versionTag", "isStartableInTasklist",
    "properties", "property", "formKey", "formData", "formField", "validation", "constraint",
    "value", "errorMessage", *_PEOPLE, *_NOT_READ, *_CONNECTOR_ATTRIBUTES, "connector"})
_INSTEAD = {
    "executionListener": _CONNECTOR_HELP, "taskListener": _CONNECTOR_HELP,
    "inputOutput": "map data with dataInputAssociation / dataOutputAssociation or a script "
                   "task", "in": "a called process sees the caller's data as it is",
    "out": "a called process's data comes back as it is",
    "initiator": "Pathways keeps no variable of who started a case",
    "collection": "use loopDataInputRef and inputDataItem",
    "elementVariable": "use loopDataInputRef and inputDataItem",
    "resultVariable": "have the script set the variable itself",
    "candidateStarterGroups": "who may start a case is set by roles, not in the model",
    "candidateStarterUsers": "who may start a case is set by roles, not in the model",
}
_FORM_KEY = re.compile(r"(?:embedded:|camunda-forms:)?deployment:(?P<name>[\w.-]+\.json)")


@dataclass(frozen=True)
class CamundaTask:
    """What a user task's Camunda extensions say: its form, role and assignee expression."""

    form: dict[str, Any] | None
    role: str | None
    assign: str | None
    form_file: str | None = None  # a JSON Schema form of the bundle its formKey names


# -- publish rules ------------------------------------------------------------------------

def check_camunda_element(document: BpmnDocument, element: Any) -> None:
    """Refuse, at the element, a Camunda extension Pathways would not run as Camunda does."""
    try:
        _check(document, element)
    except CamundaRefused as refused:
        raise _located(document, refused) from None


def check_juel(document: BpmnDocument, expression: Any) -> None:
    """A `${...}` expression Pathways cannot translate, refused with the reason."""
    try:
        translated(expression)
    except CamundaRefused as refused:
        raise _located(document, refused) from None


def _located(document: BpmnDocument, refused: CamundaRefused) -> DefinitionError:
    """The refusal at the line of what is refused (a form field, say), naming the BPMN
    element it belongs to."""
    error = document.refuse(refused.element, refused.rule, refused.message, **refused.details)
    owner = owner_of(refused.element)
    if owner is None or owner is refused.element:
        return error
    details = {k: v for k, v in error.details.items()
               if k not in ("file", "line", "column", "element")}
    return DefinitionError(error.reason, file=error.file, line=error.line, column=error.column,
                           element=str(owner.get("id")), details=details)


def _check_unread(element: Any) -> None:
    """A Camunda attribute or element Pathways neither reads nor can ignore safely."""
    names = [(name[len(camunda("")):], name) for name in element.attrib
             if name.startswith(camunda(""))]
    if element.tag.startswith(camunda("")):
        names.append((local_name(element), ""))
    for name, attribute in names:
        if name in _HARMLESS or (attribute == "" and element.getparent() is not None
                                 and not element.getparent().tag.startswith(
                                     f"{{{BPMN_NS}}}")):
            continue  # (a child of a Camunda element is refused with its parent)
        instead = _INSTEAD.get(name, "model it with BPMN or Pathways properties")
        raise CamundaRefused(element, "camunda_extension", f"{owner_kind(element)} has "
                             f"camunda:{name}, which Pathways does not read (dropped, the "
                             f"model would run differently from Camunda): {instead}",
                             attribute=f"camunda:{name}")


def _check(document: BpmnDocument, element: Any) -> None:
    kind = local_name(element)
    is_bpmn = element.tag.startswith(f"{{{BPMN_NS}}}")
    _check_unread(element)
    if is_bpmn:
        _check_connector(element, kind)
    if element.tag == camunda("connector"):
        raise CamundaRefused(element, "camunda_connector", f"{owner_kind(element)} uses a "
                             f"camunda:connector: {_CONNECTOR_HELP}",
                             attribute="camunda:connector")
    if element.tag in (camunda("formData"), camunda("formField")) \
            and local_name(owner_of(element)) != "userTask":
        raise CamundaRefused(element, "camunda_form", f"{owner_kind(element)} has "
                             f"camunda:{kind}: Pathways shows a form only on a user task (a "
                             "case starts without one)", attribute=f"camunda:{kind}")
    for attribute, help_text in _NOT_READ.items():
        value = element.get(camunda(attribute))
        if value is not None:
            raise CamundaRefused(element, "camunda_assignment",
                                 f"{kind} {element.get('id')!r} has camunda:{attribute}="
                                 f"{value!r}, which Pathways does not read: {help_text}",
                                 attribute=f"camunda:{attribute}", value=value)
    if kind == "userTask" and is_bpmn:
        camunda_task(element)
    elif is_bpmn:
        _refuse_task_only(element, kind)
    if kind in _EXPRESSIONS - {"conditionExpression"} and is_bpmn:
        translated(element)


def _check_connector(element: Any, kind: str) -> None:
    for attribute in _CONNECTOR_ATTRIBUTES:
        value = element.get(camunda(attribute))
        if value is not None:
            raise CamundaRefused(element, "camunda_connector",
                                 f"{kind} {element.get('id')!r} has camunda:{attribute}="
                                 f"{value!r}: {_CONNECTOR_HELP}",
                                 attribute=f"camunda:{attribute}", value=value)


def _refuse_task_only(element: Any, kind: str) -> None:
    """A form key or people on an element other than a user task: Camunda ignores them."""
    for attribute in ("formKey", *_PEOPLE):
        value = element.get(camunda(attribute))
        if value is not None:
            rule = "camunda_form" if attribute == "formKey" else "camunda_assignment"
            raise CamundaRefused(element, rule, f"{kind} {element.get('id')!r} has "
                                 f"camunda:{attribute}={value!r}: Pathways reads it on a "
                                 "user task only", attribute=f"camunda:{attribute}",
                                 value=value)


# -- user tasks ---------------------------------------------------------------------------

def lane_of(root: Any) -> dict[str, str]:
    """Flow node id -> the id of the lane it is in (the role, engine.workflow.definitions)."""
    lanes: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text and lane.get("id"):
                lanes[ref.text.strip()] = str(lane.get("id"))
    return lanes


def camunda_task(task: Any, lanes: Mapping[str, str] | None = None) -> CamundaTask | None:
    """The task's form, role and assignee from its Camunda extensions (None: it has none);
    CamundaRefused for what Pathways cannot do as Camunda would."""
    key = task.get(camunda("formKey"))
    data = form_data(task)
    people = {name: task.get(camunda(name)) for name in _PEOPLE
              if task.get(camunda(name)) is not None}
    if key is None and data is None and not people:
        return None
    own = spiff_properties(task)
    for attribute, pathways in (("formData", FORM_PROPERTY), ("assignee", ASSIGN)):
        if pathways in own and (data is not None if attribute == "formData"
                                else bool(people)):
            raise CamundaRefused(task, "camunda_form" if attribute == "formData" else
                                 "camunda_assignment", f"userTask {task.get('id')!r} has "
                                 f"both camunda:{attribute} and the Pathways property "
                                 f"{pathways}; give one", attribute=f"camunda:{attribute}")
    return CamundaTask(form=form_schema(task, data) if data is not None else None,
                       role=_role(task, people.get("candidateGroups"), lanes),
                       assign=_assign(task, people),
                       form_file=_form_file(task, key, data, own) if key else None)


def _form_file(task: Any, key: str, data: Any, own: Mapping[str, str]) -> str:
    """The bundle's JSON Schema form a form key names (`deployment:NAME.json`, with or
    without Camunda's `embedded:` or `camunda-forms:` prefix)."""
    found = _FORM_KEY.fullmatch(key.strip())
    problem = (f"Pathways cannot fetch a form from elsewhere (an embedded HTML page, a Camunda "
               f"Form, an external app); {_FORM_HELP}, or name such a schema file: "
               "camunda:formKey=\"deployment:NAME.json\"" if found is None else
               "and camunda:formData: give one" if data is not None else
               f"and the Pathways property {FORM_PROPERTY}: give one"
               if FORM_PROPERTY in own else None)
    if problem is not None:
        raise CamundaRefused(task, "camunda_form", f"userTask {task.get('id')!r} has "
                             f"camunda:formKey={key!r} {problem}",
                             attribute="camunda:formKey", value=key)
    return found["name"] if found is not None else ""


def _role(task: Any, groups: str | None, lanes: Mapping[str, str] | None) -> str | None:
    """The one group named, the task's role; the lanes read from the task's file when not
    given."""
    if groups is None:
        return None
    if lanes is None:
        lanes = lane_of(task.getroottree().getroot())
    names = [name.strip() for name in groups.split(",") if name.strip()]
    problem = ("is an expression: the role that may do a task is fixed when it is published"
               if juel.is_juel(groups) else
               "names no group" if not names else
               "names several groups: Pathways gives each task one role (put the task in "
               "the lane of the one role whose people do it)" if len(names) > 1 else None)
    lane = lanes.get(str(task.get("id")))
    if problem is None and lane is not None and lane != names[0]:
        problem = (f"names group {names[0]!r}, but the task is in lane {lane!r}, whose role "
                   "does it; give one of them")
    if problem is not None:
        raise CamundaRefused(task, "camunda_assignment", f"userTask {task.get('id')!r}: "
                             f"camunda:candidateGroups={groups!r} {problem}",
                             attribute="camunda:candidateGroups", value=groups)
    return names[0]


def _assign(task: Any, people: Mapping[str, str]) -> str | None:
    """The expression giving the assignee's username (engine.workflow.task_people)."""
    attribute = "assignee" if "assignee" in people else "candidateUsers"
    value = people.get(attribute)
    if value is None:
        return None
    where = f"userTask {task.get('id')!r}: camunda:{attribute}={value!r}"
    if "assignee" in people and "candidateUsers" in people:
        raise CamundaRefused(task, "camunda_assignment", f"{where} and camunda:candidateUsers "
                             "together: Pathways assigns a task to one person; give one",
                             attribute="camunda:candidateUsers", value=value)
    if juel.is_juel(value):
        try:
            return juel.reference(value)
        except juel.JuelRefused as refused:
            raise CamundaRefused(task, "camunda_assignment", f"{where}: only a variable "
                                 f"holding the username is taken (`${{initiator}}`): "
                                 f"{refused.reason}", attribute=f"camunda:{attribute}",
                                 value=value) from None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if len(names) != 1:
        raise CamundaRefused(task, "camunda_assignment", f"{where} names {len(names)} users: "
                             "Pathways assigns a task to one person, or offers it to a role "
                             "(camunda:candidateGroups or a lane)",
                             attribute=f"camunda:{attribute}", value=value)
    return repr(names[0])


# -- JUEL expressions ---------------------------------------------------------------------

def translated(expression: Any) -> str | None:
    """The `expr(...)` text a JUEL expression element runs as; None when it is not JUEL;
    CamundaRefused (juel_expression) when it cannot be translated."""
    text = (expression.text or "").strip()
    if not juel.is_juel(text):
        return None
    kind = local_name(expression)
    where = f"{kind} {text!r} of {owner_kind(expression)}"
    if kind not in _CONDITIONS:
        raise CamundaRefused(expression, "juel_expression", f"{where} is a JUEL (Camunda) "
                             "expression: Pathways translates JUEL conditions only; write it "
                             "in Pathways' expression language", value=text)
    try:
        return f"expr({json.dumps(juel.condition(text), ensure_ascii=False)})"
    except juel.JuelRefused as refused:
        raise CamundaRefused(expression, "juel_expression", f"{where} is a JUEL (Camunda) "
                             f"expression Pathways does not translate: {refused.reason}; "
                             "write it in Pathways' expression language (`x > 5`, "
                             "`approved and not rejected`, `a == 'b'`)", value=text) from None


def translate_expressions(root: Any) -> None:
    """Replace, in this copy of the XML, each JUEL condition by its translation (one that
    cannot be translated is left: publish refuses it)."""
    for element in root.iter(*(f"{{{BPMN_NS}}}{kind}" for kind in _CONDITIONS)):
        try:
            text = translated(element)
        except CamundaRefused:
            continue
        if text is not None:
            element.text = text


# -- the parsed definition ----------------------------------------------------------------

def apply_camunda_tasks(parsed: ParsedDefinition) -> None:
    """Give each user task with Camunda extensions its form (a generated form file beside the
    BPMN, read like any other), role and assignee. Run after the user tasks are read."""
    for file, text in list(parsed.files.items()):
        if not file.endswith(".bpmn"):
            continue
        root = parse_xml(text, file)
        lanes = lane_of(root)
        for task in root.iter(f"{{{BPMN_NS}}}userTask"):
            try:
                found = camunda_task(task, lanes)
            except CamundaRefused as refused:
                raise DefinitionError(refused.message, file=file, line=task.sourceline,
                                      element=task.get("id"),
                                      details={"rule": refused.rule, **refused.details}
                                      ) from None
            if found is not None:
                _apply(parsed, file, str(task.get("id")), found)


def _apply(parsed: ParsedDefinition, file: str, step: str, found: CamundaTask) -> None:
    form = found.form_file
    if form is not None and form not in parsed.files:
        raise DefinitionError(f"user task form {form!r} (its camunda:formKey) not found next "
                              "to the BPMN file", file=file, element=step,
                              details={"rule": "missing_form", "value": form})
    if found.form is not None:
        form = f"{PurePosixPath(file).stem}.{step}{FORM_SUFFIX}"
        if form in parsed.files:
            raise DefinitionError(f"the bundle has a file {form!r}, the name Pathways gives "
                                  f"the form of user task {step!r}; rename it", file=form)
        parsed.files[form] = json.dumps(found.form)
    for name, info in list(parsed.user_tasks.items()):
        if info.step != step:
            continue
        parsed.user_tasks[name] = replace(info, form=form or info.form,
                                          role=found.role or info.role,
                                          assign=found.assign or info.assign)
        for spec in _specs_named(parsed, name):
            properties = spec.extensions.setdefault("properties", {})
            if form is not None:
                properties[FORM_PROPERTY] = form
            if found.assign is not None:
                properties[ASSIGN] = found.assign
            if found.form is not None:
                _null_unanswered(spec, found.form)


def _null_unanswered(spec: Any, form: Mapping[str, Any]) -> None:
    """Camunda makes every field of a submitted form a variable, null when left empty (one
    the case already holds keeps its value: Camunda shows it in the form): a condition
    reading an optional field sees null, not an undefined name. A script run as the task
    completes does the same here (the spec is cached, never stored)."""
    names = [name for name in form["properties"] if name.isascii() and name.isidentifier()
             and not keyword.iskeyword(name) and name not in form["required"]]
    script = "".join(f"try:\n    {name}\nexcept NameError:\n    {name} = None\n"
                     for name in names)
    if script:
        spec.postscript = script + (spec.postscript or "")


def _specs_named(parsed: ParsedDefinition, name: str) -> list[Any]:
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    return [process.task_specs[name] for process in specs
            if process is not None and name in process.task_specs
            and isinstance(getattr(process.task_specs[name], "extensions", None), dict)]
