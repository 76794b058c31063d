"""Check submitted task data against the task's JSON Schema form, naming every bad field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from engine.errors import FormValidationError

ROOT_FIELD = "(form)"


def _field_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _collect(error: ValidationError, fields: dict[str, list[str]]) -> None:
    if error.context:  # anyOf / oneOf: report the branches' own errors
        for sub in error.context:
            _collect(sub, fields)
        return
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict) \
            and isinstance(error.validator_value, list):
        for name in error.validator_value:
            if name not in error.instance:
                fields.setdefault(_field_path([*path, name]), []).append("this field is required")
        return
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        for name in error.instance:
            if name not in allowed:
                fields.setdefault(_field_path([*path, name]), []).append(
                    "this form has no such field")
        return
    fields.setdefault(_field_path(path) or ROOT_FIELD, []).append(error.message)


def validate_submission(schema: dict[str, Any] | None, data: Any) -> None:
    """Raise FormValidationError listing each bad field; return quietly when data is valid.

    A task without a form accepts only an empty submission, so that data meant for another
    task is never silently stored.
    """
    if not isinstance(data, dict):
        raise FormValidationError("submitted data must be a JSON object",
                                  fields={ROOT_FIELD: ["expected an object"]})
    if schema is None:
        if data:
            raise FormValidationError(
                "this task has no form, so it takes an empty submission ({})",
                fields={name: ["this task has no form field by that name"] for name in data})
        return
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    fields: dict[str, list[str]] = {}
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        _collect(error, fields)
    if fields:
        names = ", ".join(sorted(fields))
        raise FormValidationError(f"the submitted data is not valid: {names}", fields=fields)


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
