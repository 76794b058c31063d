"""Check submitted task data against the task's JSON Schema form, naming every bad field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable

from engine.errors import FormValidationError, ScriptError
from engine.numbers import number_problem
from engine.schema_errors import MISSING, UNKNOWN, schema_errors
from engine.workflow import expressions

ROOT_FIELD = "(form)"


def _field_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_WORDS = {MISSING: "this field is required", UNKNOWN: "this form has no such field"}


def _collect(errors: Iterable[ValidationError], fields: dict[str, list[str]]) -> None:
    """Each bad field's messages (an anyOf / oneOf reports its branches' own errors)."""
    for problem in schema_errors(errors, branches=True):
        message = _WORDS.get(problem.kind, problem.error.message)
        fields.setdefault(_field_path(problem.path) or ROOT_FIELD, []).append(message)


def _number_problems(value: Any, path: list[Any], fields: dict[str, list[str]],
                     depth: int = 0) -> None:
    """Numbers in submitted data must be finite and of a sane size, whatever the form says:
    10**5000 or 1e308*10 would stall or break whatever computes with them later."""
    problem = number_problem(value)
    if problem is not None:
        fields.setdefault(_field_path(path) or ROOT_FIELD, []).append(problem)
    elif depth < 50 and isinstance(value, dict):
        for key, inner in value.items():
            _number_problems(inner, [*path, key], fields, depth + 1)
    elif depth < 50 and isinstance(value, list):
        for index, inner in enumerate(value):
            _number_problems(inner, [*path, index], fields, depth + 1)


VISIBLE_WHEN = "x-pathways-visible-when"
REQUIRED_WHEN_VISIBLE = "x-pathways-required-when-visible"
REQUIRED_WHEN = "x-pathways-required-when"  # DSL `required_when: <expression>`
COMPUTED = "x-pathways-computed"  # DSL `computed: <expression>`: shown, never entered


def is_visible(field: Mapping[str, Any], data: Mapping[str, Any],
               context: Mapping[str, Any]) -> bool:
    """Whether a field with a `visible_when` applies, given the answers and the case data.

    A condition that cannot be evaluated (it names an answer not given) does not hold.
    """
    condition = field.get(VISIBLE_WHEN)
    return not isinstance(condition, str) or holds(condition, data, context)


def holds(condition: str, data: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Whether a condition holds given the answers and the case data; one that cannot be
    evaluated (it names an answer not given) does not."""
    try:
        return bool(expressions.evaluate(condition, {**context, **data}))
    except ScriptError:
        return False


def condition_in_words(condition: str) -> str:
    """`offer_accepted and not move_in_date` -> `offer accepted and not move in date`;
    quoted text is kept as written."""
    parts = re.split(r"""('[^']*'|"[^"]*")""", " ".join(condition.split()))
    return "".join(part if index % 2 else part.replace("_", " ")
                   for index, part in enumerate(parts))


def validate_submission(schema: dict[str, Any] | None, data: Any,
                        context: Mapping[str, Any] | None = None) -> None:
    """Raise FormValidationError listing each bad field; return quietly when data is valid.

    A task without a form accepts only an empty submission, so that data meant for another
    task is never silently stored. With the case data as `context`, a field required only
    when visible (DSL `visible_when` + `required`) is required when its condition holds, and
    so is a field with a `required_when` (while it is shown).
    """
    _check_bounded_object(data)
    if schema is None:
        if data:
            raise FormValidationError(
                "this task has no form, so it takes an empty submission ({})",
                fields={name: ["this task has no form field by that name"] for name in data})
        return
    fields = _schema_problems(schema, data)
    for name in computed_fields(schema):
        if name in data:
            fields.setdefault(name, []).append(
                "this field is computed, not entered: leave it out of the submission")
    if context is not None and isinstance(schema.get("properties"), dict):
        # a condition may read the form's computed fields (`required_when: total >= 10`)
        answers = {**data, **computed_values(schema, data, context, strict=False)}
        _require_visible_fields(schema["properties"], answers, context, fields)
    if fields:
        names = ", ".join(sorted(fields))
        raise FormValidationError(f"the submitted data is not valid: {names}", fields=fields)


def _check_bounded_object(data: Any) -> None:
    """A JSON object whose numbers are all within bounds."""
    if not isinstance(data, dict):
        raise FormValidationError("submitted data must be a JSON object",
                                  fields={ROOT_FIELD: ["expected an object"]})
    out_of_bounds: dict[str, list[str]] = {}
    _number_problems(data, [], out_of_bounds)
    if out_of_bounds:
        names = ", ".join(sorted(out_of_bounds))
        raise FormValidationError(f"the submitted data is not valid: {names}",
                                  fields=out_of_bounds)


def _schema_problems(schema: dict[str, Any], data: Any) -> dict[str, list[str]]:
    """Field -> what the form's JSON Schema says is wrong with it."""
    validator_class = jsonschema.validators.validator_for(schema)
    # An empty registry: a `$ref` is resolved inside the form or not at all. jsonschema's
    # default still fetches other URIs with urlopen, file:///etc/... and http://... alike.
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER,
                                registry=Registry())
    fields: dict[str, list[str]] = {}
    try:
        errors = sorted(validator.iter_errors(data),
                        key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as err:
        raise FormValidationError("the task's form refers to a schema outside itself",
                                  fields={ROOT_FIELD: [f"unresolvable $ref: {err}"[:200]]}
                                  ) from None
    _collect(errors, fields)
    return fields


def _require_visible_fields(properties: Mapping[str, Any], data: Mapping[str, Any],
                            context: Mapping[str, Any], fields: dict[str, list[str]]) -> None:
    """Add a problem for each missing field that its conditions require now: required when
    visible and visible, or shown and its `required_when` holds."""
    for name, field in properties.items():
        if not isinstance(field, Mapping) or name in data \
                or not is_visible(field, data, context):
            continue
        if field.get(REQUIRED_WHEN_VISIBLE):
            fields.setdefault(name, []).append(
                f"this field is required when {field.get(VISIBLE_WHEN)}")
            continue
        condition = field.get(REQUIRED_WHEN)
        if isinstance(condition, str) and holds(condition, data, context):
            fields.setdefault(name, []).append(
                f"this field is required when {condition_in_words(condition)}")


def computed_fields(schema: Mapping[str, Any] | None) -> dict[str, str]:
    """Field -> its expression, for the form's computed fields, in the form's order."""
    properties = (schema or {}).get("properties")
    return {name: prop[COMPUTED] for name, prop in (properties or {}).items()
            if isinstance(prop, Mapping) and isinstance(prop.get(COMPUTED), str)}


def computed_values(schema: dict[str, Any] | None, data: Mapping[str, Any],
                    context: Mapping[str, Any], *, strict: bool = True) -> dict[str, Any]:
    """The form's computed fields, worked out from its answers and the case data (each
    seeing those before it), through the expression language.

    strict (completing the task): FormValidationError naming each field that cannot be
    computed or whose value does not fit its type. Not strict (showing the form before it
    is answered): such a field is left out.
    """
    values: dict[str, Any] = {}
    fields: dict[str, list[str]] = {}
    for name, source in computed_fields(schema).items():
        try:
            values[name] = expressions.evaluate(source, {**context, **data, **values})
        except ScriptError as err:
            fields[name] = [f"cannot be computed: {err.message}"]
    if not strict:
        return {k: v for k, v in values.items() if number_problem(v) is None}
    _number_problems(values, [], fields)
    if schema is not None and not fields:
        for name, problems in _schema_problems(schema, {**data, **values}).items():
            if name in values:
                fields[name] = [f"the computed value {values[name]!r} does not fit: {p}"
                                for p in problems]
    if fields:
        names = ", ".join(sorted(fields))
        raise FormValidationError(f"computed fields cannot be worked out: {names}",
                                  fields=fields)
    return values


SAVE_TO = "x-pathways-save-to"
CLIENT_PREFIX = "client."


def saved_to_client(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """Client fields a submission updates: form fields marked x-pathways-save-to client.<f>."""
    if not schema:
        return {}
    saved: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        target = field.get(SAVE_TO) if isinstance(field, dict) else None
        if isinstance(target, str) and target.startswith(CLIENT_PREFIX) and name in data:
            saved[target.removeprefix(CLIENT_PREFIX)] = data[name]
    return saved
