"""Reading a value by a dotted path ("client.release_date") out of nested case data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(data: Any, dotted: str, missing: Any = None) -> Any:
    """The value at dotted inside data, or missing when any step of the path is absent
    (or not a mapping): case data is free-form, so a path may lead nowhere."""
    value = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return missing
        value = value[part]
    return value
