"""A Camunda user task's generated form (`camunda:formData` / `camunda:formField`) as the JSON
Schema form Pathways' own user tasks have (the shape the DSL compiles: dsl/form_schema.py), so
the task shows in the inbox with those fields and engine.workflow.forms validates the answers.

Camunda Modeler writes a field as
`<camunda:formField id="amount" label="Amount" type="long" defaultValue="10">` with
`<camunda:validation><camunda:constraint name="required"/>...` and, for an enum,
`<camunda:value id="a" name="Apple"/>` children. Types: string, long, boolean, date, enum.
Constraints: required, minlength, maxlength (string), min, max (long), readonly (the field
shows the case's current value and is never entered: a computed field reading itself).
Anything else (a custom type or validator, a `${...}` default, a form on a start event) is
refused with the field named: Pathways would otherwise drop it silently.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import jsonschema

from engine.data_names import reserved_data_name
from engine.workflow.bpmn_xml import BPMN_NS, local_name

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMPUTED = "x-pathways-computed"  # engine.workflow.forms.COMPUTED
LABELS = "x-pathways-labels"  # option -> the words shown for it (web/forms.py)
_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "enum": {"type": "string"}}
# constraint -> (the JSON Schema keyword, the field types it applies to)
_BOUNDS = {"minlength": ("minLength", ("string",)), "maxlength": ("maxLength", ("string",)),
           "min": ("minimum", ("long",)), "max": ("maximum", ("long",))}
_FIELD_ATTRIBUTES = frozenset({"id", "label", "type", "defaultValue", "datePattern"})
_CAMUNDA_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")  # Camunda's default dd/MM/yyyy


class CamundaRefused(Exception):
    """A Camunda construct Pathways does not run: the element to name, the rule, the reason."""

    def __init__(self, element: Any, rule: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.element = element
        self.rule = rule
        self.message = message
        self.details = details


def camunda(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


def owner_of(element: Any) -> Any:
    """The nearest BPMN element with an id at or around the element (None: none)."""
    while element is not None and not (isinstance(element.tag, str)
                                       and element.tag.startswith(f"{{{BPMN_NS}}}")
                                       and element.get("id")):
        element = element.getparent()
    return element


def owner_kind(element: Any) -> str:
    """`userTask 'x'`: the nearest BPMN element with an id around a Camunda extension."""
    owner = owner_of(element)
    return "the model" if owner is None else f"{local_name(owner)} {owner.get('id')!r}"


def form_data(task: Any) -> Any:
    """The task's camunda:formData element, or None."""
    return task.find(f"./{{*}}extensionElements/{camunda('formData')}")


def form_schema(task: Any, data: Any) -> dict[str, Any]:
    """The JSON Schema form of the task's camunda:formData; CamundaRefused at the first
    field Pathways cannot show or check as Camunda would."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for child in data:
        if not isinstance(child.tag, str):
            continue
        if child.tag != camunda("formField"):
            raise _refused(child, f"camunda:formData holds a {local_name(child)}; only "
                           "camunda:formField is read")
        name, prop, is_required = _field(child)
        if name in properties:
            raise _refused(child, f"two form fields are called {name!r}")
        properties[name] = prop
        if is_required:
            required.append(name)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": task.get("name") or task.get("id"),
            "type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _refused(element: Any, message: str, **details: Any) -> CamundaRefused:
    field = element.get("id") if local_name(element) == "formField" else None
    where = f"{owner_kind(element.getparent())}" + (f", form field {field!r}" if field else "")
    if field:
        details.setdefault("field", field)
    return CamundaRefused(element, "camunda_form", f"{where}: {message}", **details)


def _field(field: Any) -> tuple[str, dict[str, Any], bool]:
    """(name, JSON Schema property, required) of one camunda:formField."""
    name = (field.get("id") or "").strip()
    if not name or name.startswith("_") or reserved_data_name(name):
        raise _refused(field, reserved_data_name(name) or
                       f"the field id {name!r} cannot name case data (empty or starting "
                       "with '_'); rename the field")
    unknown = sorted(set(field.attrib) - _FIELD_ATTRIBUTES)
    if unknown:
        raise _refused(field, f"the attribute {unknown[0]!r} is not read by Pathways")
    kind = field.get("type")
    if kind not in _TYPES:
        raise _refused(field, f"type {kind!r} is not one Pathways shows (string, long, "
                       "boolean, date, enum)", attribute="type", value=kind)
    prop: dict[str, Any] = {"title": field.get("label") or name, **_TYPES[kind]}
    if kind == "enum":
        prop.update(_options(field))
    flags = _constraints(field, kind, prop)
    default = field.get("defaultValue")
    if default is not None:
        prop["default"] = _default(field, kind, prop, default)
    if "readonly" in flags:
        if default is not None:
            raise _refused(field, "a readonly field with a defaultValue: Pathways shows a "
                           "readonly field's current value in the case; drop one of them")
        prop.update({"readOnly": True, COMPUTED: name})
    return name, prop, "required" in flags and "readonly" not in flags


def _options(field: Any) -> dict[str, Any]:
    values = field.findall(camunda("value"))
    if not values:
        raise _refused(field, "an enum field without camunda:value options")
    ids = [str(value.get("id") or "") for value in values]
    if "" in ids or len(set(ids)) != len(ids):
        raise _refused(field, "every camunda:value needs its own id")
    return {"enum": ids, LABELS: {str(v.get("id")): str(v.get("name") or v.get("id"))
                                  for v in values}}


def _constraints(field: Any, kind: str, prop: dict[str, Any]) -> set[str]:
    """Put the field's bounds on prop; the flags (required, readonly) it has."""
    flags: set[str] = set()
    for child in field:
        if not isinstance(child.tag, str) or child.tag in (camunda("value"),
                                                           camunda("properties")):
            continue
        if child.tag != camunda("validation"):
            raise _refused(field, f"camunda:{local_name(child)} is not read by Pathways")
        for constraint in child:
            if isinstance(constraint.tag, str):
                _constraint(field, kind, constraint, prop, flags)
    return flags


def _constraint(field: Any, kind: str, constraint: Any, prop: dict[str, Any],
                flags: set[str]) -> None:
    name, config = constraint.get("name"), constraint.get("config")
    if name in ("required", "readonly"):
        flags.add(str(name))
        return
    bound = _BOUNDS.get(str(name))
    if bound is None:
        raise _refused(field, f"the constraint {name!r} is not one Pathways checks "
                       "(required, readonly, minlength, maxlength, min, max); a custom "
                       "validator would never run", attribute="constraint", value=name)
    keyword, kinds = bound
    if kind not in kinds:
        raise _refused(field, f"the constraint {name!r} applies to {' or '.join(kinds)} "
                       f"fields, not {kind}", attribute="constraint", value=name)
    try:
        value = int(str(config).strip())
    except ValueError:
        raise _refused(field, f"the constraint {name!r} needs a whole number as its config, "
                       f"not {config!r}", attribute="config", value=config) from None
    if keyword in ("minLength", "maxLength") and value < 0:
        raise _refused(field, f"the constraint {name!r} cannot be negative")
    prop[keyword] = value


def _default(field: Any, kind: str, prop: dict[str, Any], text: str) -> Any:
    """The typed default value, checked against the field's own schema."""
    if "${" in text or "#{" in text:
        raise _refused(field, f"defaultValue {text!r} is an expression; Pathways takes a "
                       "fixed default value only", attribute="defaultValue", value=text)
    value: Any = text
    try:
        if kind == "long":
            value = int(text.strip())
        elif kind == "boolean":
            value = {"true": True, "false": False}[text.strip().lower()]
        elif kind == "date":
            found = _CAMUNDA_DATE.fullmatch(text.strip())
            value = (date(int(found[3]), int(found[2]), int(found[1])) if found
                     else date.fromisoformat(text.strip())).isoformat()
    except (ValueError, KeyError):
        raise _refused(field, f"defaultValue {text!r} is not a {kind} value",
                       attribute="defaultValue", value=text) from None
    schema = {key: val for key, val in prop.items() if not key.startswith("x-")}
    if not jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()).is_valid(value):
        raise _refused(field, f"defaultValue {text!r} breaks the field's own constraints",
                       attribute="defaultValue", value=text)
    return value
