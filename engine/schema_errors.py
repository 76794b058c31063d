"""One reading of jsonschema's errors, shared by every place that words them for people.

jsonschema reports a missing property as one `required` error about the whole object and
an unexpected one as one `additionalProperties` error about it too. Forms, the HTTP API and
the DSL all want one problem per field instead, at the field's own path; this module does
that split once, and each caller words the result in its own voice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

MISSING = "missing"
"""SchemaError.kind of a required property that is absent (path ends with its name)."""
UNKNOWN = "unknown"
"""SchemaError.kind of a property the schema does not list (path ends with its name)."""


@dataclass(frozen=True)
class SchemaError:
    """One problem at one place: kind is MISSING, UNKNOWN, or the failing keyword."""

    path: tuple[Any, ...]  # from the instance's root: property names and list indexes
    kind: str
    error: ValidationError  # what jsonschema said, for the keyword's value and schema

    @property
    def key(self) -> str:
        """The missing or unknown property's name (the last part of path)."""
        return str(self.path[-1])


def schema_errors(errors: Iterable[ValidationError], *, branches: bool = False
                  ) -> Iterator[SchemaError]:
    """Each error split into one SchemaError per field; with branches, an anyOf / oneOf
    error gives its branches' own errors instead of its summary."""
    return _split(errors, branches, set())


def _split(errors: Iterable[ValidationError], branches: bool,
           missing: set[tuple[Any, ...]]) -> Iterator[SchemaError]:
    """schema_errors, with the missing properties said so far: jsonschema gives one
    `required` error per absent property, each holding the whole list, so the list is
    read once per object and each name said once."""
    for error in errors:
        if branches and error.context:
            yield from _split(error.context, True, missing)
            continue
        path = tuple(error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, dict) \
                and isinstance(error.validator_value, list):
            yield from _missing(error.validator_value, error, path, instance, missing)
        elif error.validator == "additionalProperties" and isinstance(instance, dict):
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            allowed = schema.get("properties", {})
            yield from (SchemaError((*path, name), UNKNOWN, error)
                        for name in instance if name not in allowed)
        else:
            yield SchemaError(path, str(error.validator), error)


def _missing(names: list[Any], error: ValidationError, path: tuple[Any, ...],
             instance: Mapping[str, Any], said: set[tuple[Any, ...]]) -> Iterator[SchemaError]:
    """The properties a `required` list names that are absent and not yet said."""
    for name in names:
        where = (*path, name)
        if name not in instance and where not in said:
            said.add(where)
            yield SchemaError(where, MISSING, error)
