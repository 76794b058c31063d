"""Task forms as plain HTML: JSON Schema (as the DSL compiles it) to fields, and posted form
data back to typed JSON, naming each field that cannot be read.

No front-end library: each DSL field type has one HTML control (booleans are Yes/No radios,
so a required one can be left unanswered and be told so). Validation proper happens in the
engine (engine.workflow.forms) against the same schema; this module only turns text into values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.errors import InvalidArgumentError
from engine.numbers import MAX_JSON_INT, parse_decimal, parse_int
from engine.workflow import COMPUTED, REQUIRED_WHEN, condition_in_words

_INTEGER = re.compile(r"^[+-]?\d+$")
NUMBER_PLACES = 9  # digits after the point a number field takes


@dataclass
class FormField:
    """One control of a task form, with what to show in it and what was wrong."""

    name: str
    label: str
    kind: str  # text, textarea, number, integer, boolean, date, choice, multiple, scale
    required: bool = False
    help: str | None = None
    options: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # option or scale value -> words
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    visible_when: str | None = None
    required_when: str | None = None  # in words: "offer accepted"
    computed: bool = False  # shown, never entered: the engine works it out
    sensitive: str | None = None
    value: Any = None  # as shown: text, "true"/"false", or a list for multiple choice
    errors: list[str] = field(default_factory=list)

    @property
    def scale_values(self) -> list[int]:
        low = int(self.minimum if self.minimum is not None else 0)
        high = int(self.maximum if self.maximum is not None else low)
        return list(range(low, high + 1)) if high - low <= 20 else []


def _kind(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if kind == "string":
        if "enum" in spec:
            return "choice"
        if spec.get("format") == "date":
            return "date"
        return "textarea" if spec.get("x-pathways-widget") == "textarea" else "text"
    if kind == "array":
        return "multiple"
    if kind == "integer":
        return "scale" if "x-pathways-labels" in spec else "integer"
    return str(kind or "text")


def _in_words(condition: Any) -> str | None:
    return condition_in_words(condition) if isinstance(condition, str) else None


def _shown(kind: str, value: Any) -> Any:
    if value is None:
        return [] if kind == "multiple" else ""
    if kind == "boolean":
        return "true" if value is True else "false" if value is False else str(value)
    if kind == "multiple":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return str(value)


def form_fields(schema: Mapping[str, Any] | None, values: Mapping[str, Any] | None = None,
                errors: Mapping[str, list[str]] | None = None) -> list[FormField]:
    """The controls of a form, filled with values (typed data or posted text) and errors."""
    if not schema:
        return []
    values = values or {}
    errors = errors or {}
    required = set(schema.get("required") or [])
    return [_form_field(name, spec, name in required, values.get(name),
                        list(errors.get(name, [])))
            for name, spec in (schema.get("properties") or {}).items()
            if isinstance(spec, Mapping)]


def _form_field(name: str, spec: Mapping[str, Any], required: bool, value: Any,
                errors: list[str]) -> FormField:
    """One control from its JSON Schema property (the DSL's x-pathways-* extensions too)."""
    kind = _kind(spec)
    items = spec.get("items") if isinstance(spec.get("items"), Mapping) else {}
    return FormField(
        name=name, label=str(spec.get("title") or name), kind=kind,
        required=required or bool(spec.get("x-pathways-required-when-visible")),
        help=spec.get("description"),
        options=[str(o) for o in (spec.get("enum") or (items or {}).get("enum") or [])],
        labels={str(k): str(v) for k, v in (spec.get("x-pathways-labels") or {}).items()},
        minimum=spec.get("minimum"), maximum=spec.get("maximum"),
        max_length=spec.get("maxLength"),
        visible_when=spec.get("x-pathways-visible-when"),
        required_when=_in_words(spec.get(REQUIRED_WHEN)),
        computed=isinstance(spec.get(COMPUTED), str),
        sensitive=spec.get("x-pathways-sensitive"),
        value=_shown(kind, value),
        errors=errors)


def read_submission(schema: Mapping[str, Any] | None, form: MultiDict[str, str]
                    ) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, Any]]:
    """(typed data, problems by field, what was typed, for showing the form again).

    Empty controls are left out of the data, so the engine's "required" check names them;
    computed fields are never read (the engine works them out).
    """
    data: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    typed: dict[str, Any] = {}
    for item in form_fields(schema):
        name = item.name
        if item.computed:
            continue
        if item.kind == "multiple":
            chosen = [v for v in form.getlist(name) if v != ""]
            typed[name] = chosen
            if chosen:
                data[name] = chosen
            continue
        raw = (form.get(name) or "").strip() if item.kind != "textarea" else (
            form.get(name) or "")
        typed[name] = raw
        if raw.strip() == "":
            continue
        try:
            data[name] = _parse(item.kind, raw)
        except ValueError as err:
            problems[name] = [str(err)]
    return data, problems, typed


def _parse(kind: str, raw: str) -> Any:
    if kind == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError("choose Yes or No")
    if kind in ("integer", "scale"):
        if not _INTEGER.match(raw):
            raise ValueError("enter a whole number")
        try:  # bounded before it is converted: no 5,000-digit integers
            return parse_int(raw, field="value", minimum=-MAX_JSON_INT, maximum=MAX_JSON_INT)
        except InvalidArgumentError:
            raise ValueError(f"enter a whole number between {-MAX_JSON_INT} and "
                             f"{MAX_JSON_INT}") from None
    if kind == "number":
        try:  # plain decimal notation only: no 1e400, inf or nan
            number = parse_decimal(raw.replace(",", ""), field="value", minimum=-MAX_JSON_INT,
                                   maximum=MAX_JSON_INT, places=NUMBER_PLACES)
        except InvalidArgumentError as err:
            reason = err.details["fields"]["value"][0]
            raise ValueError(f"enter a number: it {reason}") from None
        return int(number) if "." not in raw else float(number)
    if kind == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError("enter a date as YYYY-MM-DD") from None
    return raw
