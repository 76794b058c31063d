"""Client profile fields checked against the types the pathways declare for them.

A pathway's `client_fields` (DSL: `release_date: date`) reach the engine through its roles
file; a value that does not fit is refused with invalid_data naming the field. Without this,
`release_date: 9999-99-99` was stored and every due date computed from it silently vanished.
Fields no pathway declares are stored as given (they are only checked to be storable).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

_MAX_DATE_TEXT = 40


def _fits(kind: str, value: Any) -> str | None:
    """Why value does not fit the declared kind, or None when it does (or the kind is
    one this check does not know)."""
    if value is None:
        return None  # an empty field: nothing to compute from
    if kind == "date":  # what due dates and timers read: an ISO 8601 date or date-time
        if isinstance(value, str) and len(value) <= _MAX_DATE_TEXT:
            try:
                datetime.fromisoformat(value)
                return None
            except ValueError:
                pass
        return "must be a date (YYYY-MM-DD)"
    if kind in ("text", "long_text", "choice"):
        return None if isinstance(value, str) else "must be text"
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind in ("integer", "scale"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "must be a whole number"
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if kind == "multiple_choice":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "must be a list of text"
    return None


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
