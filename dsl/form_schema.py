"""The JSON Schema (draft 2020-12) of a task's form, from its DSL `form:` mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dsl.expression_text import humanise, rewrite_client_fields

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SENSITIVE = "x-pathways-sensitive"  # a form field's (or client field's) special category


_CONDITIONS = ("visible_when", "required_when", "computed")  # expressions the engine evaluates


def form_schema(title: str, form: Mapping[str, Any] | None,
                client_fields: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a task's form. A condition's bare client field
    names (declared `client_fields`) are written `client.<field>`, as the engine reads them."""
    client = frozenset(client_fields)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (form or {}).items():
        spec = spec or {}
        prop: dict[str, Any] = {"title": spec.get("title") or humanise(name)}
        if spec.get("help"):
            prop["description"] = spec["help"]
        prop.update(_field_type(name, spec))
        for key, extension in (("prefill", "x-pathways-prefill"),
                               ("save_to", "x-pathways-save-to"),
                               ("sensitive", SENSITIVE),
                               ("visible_when", "x-pathways-visible-when"),
                               ("required_when", "x-pathways-required-when"),
                               ("computed", "x-pathways-computed")):
            if spec.get(key) is not None:
                prop[extension] = (rewrite_client_fields(str(spec[key]), client)
                                   if key in _CONDITIONS else spec[key])
        if spec.get("computed") is not None:
            prop["readOnly"] = True  # JSON Schema's word for it: the engine works it out
        if spec.get("required"):
            if spec.get("visible_when") is not None:
                prop["x-pathways-required-when-visible"] = True
            else:
                required.append(name)
        properties[name] = prop
    return {"$schema": JSON_SCHEMA_DIALECT, "title": title, "type": "object",
            "properties": properties, "required": required, "additionalProperties": False}


def _text(spec: Mapping[str, Any], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if spec.get("max_length") is not None:
        out["maxLength"] = spec["max_length"]
    if kind == "long_text":
        out["x-pathways-widget"] = "textarea"
    return out


def _numeric(spec: Mapping[str, Any], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number" if kind == "number" else "integer"}
    if spec.get("min") is not None:
        out["minimum"] = spec["min"]
    if spec.get("max") is not None:
        out["maximum"] = spec["max"]
    if kind == "scale" and spec.get("labels"):
        out["x-pathways-labels"] = {str(k): v for k, v in spec["labels"].items()}
    return out


def _options(spec: Mapping[str, Any]) -> list[Any]:
    return list(spec.get("options") or [])


_FIELD_TYPES: dict[str, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    "text": _text,
    "long_text": _text,
    "number": _numeric,
    "integer": _numeric,
    "scale": _numeric,
    "boolean": lambda spec, kind: {"type": "boolean"},
    "date": lambda spec, kind: {"type": "string", "format": "date"},
    "choice": lambda spec, kind: {"type": "string", "enum": _options(spec)},
    "multiple_choice": lambda spec, kind: {
        "type": "array", "items": {"type": "string", "enum": _options(spec)},
        "uniqueItems": True},
}


def _field_type(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    kind = spec.get("type")
    schema_of = _FIELD_TYPES.get(kind) if isinstance(kind, str) else None
    if schema_of is None or not isinstance(kind, str):
        raise ValueError(f"form field {name!r}: unknown type {kind!r}")
    return schema_of(spec, kind)
