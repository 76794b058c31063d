"""Client profile fields checked against the types the pathways declare for them.

A pathway's `client_fields` (DSL: `release_date: date`) reach the engine through its roles
file; a value that does not fit is refused with invalid_data naming the field. Without this,
`release_date: 9999-99-99` was stored and every due date computed from it silently vanished.
Fields no pathway declares are stored as given (they are only checked to be storable).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

_MAX_DATE_TEXT = 40


def _is_date(value: Any) -> bool:
    """An ISO 8601 date or date-time: what due dates and timers read."""
    if not isinstance(value, str) or len(value) > _MAX_DATE_TEXT:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_list_of_text(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


# declared kind -> (whether a value fits it, what to say when it does not)
_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "date": (_is_date, "must be a date (YYYY-MM-DD)"),
    "text": (_is_text, "must be text"),
    "long_text": (_is_text, "must be text"),
    "choice": (_is_text, "must be text"),
    "boolean": (_is_boolean, "must be true or false"),
    "integer": (_is_whole_number, "must be a whole number"),
    "scale": (_is_whole_number, "must be a whole number"),
    "number": (_is_number, "must be a number"),
    "multiple_choice": (_is_list_of_text, "must be a list of text"),
}


def _fits(kind: str, value: Any) -> str | None:
    """Why value does not fit the declared kind, or None when it does (or the kind is
    one this check does not know)."""
    if value is None or kind not in _KINDS:
        return None  # an empty field: nothing to compute from
    fits, problem = _KINDS[kind]
    return None if fits(value) else problem


def client_field_problems(fields: Mapping[str, Any],
                          declared: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Field -> problems for each value that does not fit a type some pathway declares
    for it (declared: field -> every declared type)."""
    problems: dict[str, list[str]] = {}
    for name, value in fields.items():
        for kind in sorted(declared.get(name, ())):
            problem = _fits(kind, value)
            if problem is not None and problem not in problems.get(name, []):
                problems.setdefault(name, []).append(problem)
    return problems
