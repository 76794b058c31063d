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
    for error in errors:
        if branches and error.context:
            yield from schema_errors(error.context, branches=True)
            continue
        path = tuple(error.absolute_path)
        instance = error.instance
        if error.validator == "required" and isinstance(instance, dict) \
                and isinstance(error.validator_value, list):
            yield from (SchemaError((*path, name), MISSING, error)
                        for name in error.validator_value if name not in instance)
        elif error.validator == "additionalProperties" and isinstance(instance, dict):
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            allowed = schema.get("properties", {})
            yield from (SchemaError((*path, name), UNKNOWN, error)
                        for name in instance if name not in allowed)
        else:
            yield SchemaError(path, str(error.validator), error)
