"""The DSL's JSON Schema (dsl/schema.json) and the validators built from it.

One validator for the document and one per step kind and form-field type, so a problem is
reported against the one definition it breaks (dispatch by kind key, not a oneOf).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

KINDS = ("task", "decide", "parallel", "wait", "repeat", "refer", "record", "notify", "end",
         "set", "go_to", "block", "for_each", "include")
FIELD_TYPES = ("text", "long_text", "number", "integer", "boolean", "date", "choice",
               "multiple_choice", "scale")


# A key every step kind takes, added to each kind's definition as the schema is read (so a
# kind added later takes it too): the id the step had in an earlier version, for migrations.
RENAMED_FROM = {"$ref": "#/$defs/id", "description": "the id this step had in an earlier "
                "version: running cases at or past that step are moved to this one"}


@cache
def dsl_schema() -> dict[str, Any]:
    text = resources.files("dsl").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    for kind in KINDS:
        schema["$defs"][kind]["properties"].setdefault("renamed_from", RENAMED_FROM)
    return schema


def json_schema() -> dict[str, Any]:
    """The DSL's JSON Schema (draft 2020-12), e.g. for editors; a copy, free to change."""
    return copy.deepcopy(dsl_schema())


def _ecma_pattern(validator: Validator, pattern: str, instance: Any,
             schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """`pattern` as ECMA-262 reads `$`: a trailing newline does not match it (Python's does)."""
    if validator.is_type(instance, "string") and (
            not re.search(pattern, instance)
            or (pattern.endswith("$") and instance.endswith("\n"))):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Strict = extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]


@cache
def schema_validators() -> dict[str, Validator]:
    """A validator for the document and one per step kind and field type.

    Nested steps and form fields are checked one by one by the walk below, so here they are
    only required to be a list and a mapping.
    """
    schema = copy.deepcopy(dsl_schema())
    defs = schema["$defs"]
    defs["steps"] = {"type": "array"}
    defs["field"] = {"type": "object"}
    validators: dict[str, Validator] = {"": _Strict(schema)}
    for name in (*KINDS, *(f"{kind}_field" for kind in FIELD_TYPES)):
        validators[name] = _Strict({"$defs": defs, "$ref": f"#/$defs/{name}"})
    return validators


@cache
def key_owners() -> dict[str, dict[str, list[str]]]:
    """For "unknown key" hints: which step kinds, and which field types, take each key."""
    defs = dsl_schema()["$defs"]
    owners: dict[str, dict[str, list[str]]] = {"step": {}, "field": {}}
    for kind in KINDS:
        for key in defs[kind]["properties"]:
            owners["step"].setdefault(key, []).append(kind)
    for kind in FIELD_TYPES:
        for key in defs[f"{kind}_field"]["properties"]:
            owners["field"].setdefault(key, []).append(kind)
    return owners


