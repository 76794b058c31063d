"""What every request passes before a view runs: text that can be stored, ids that fit.

- Every string of the request (path, query string, form fields, headers, cookies) is checked
  by engine.text: a NUL (refused by PostgreSQL) or a lone surrogate is a 400 naming the
  field, never a database error. JSON bodies are checked by web.jsonbody.
- Ids in URLs are matched only within the database's integer range (32-bit signed ids): a
  larger number is "not found" (404) instead of an out-of-range error from the database.
"""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.routing import IntegerConverter

from engine.errors import InvalidArgumentError
from engine.numbers import MAX_ID, parse_int
from engine.text import text_problem


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in routes: a whole number from 0 to MAX_ID; anything larger matches no
    route, so it is a 404."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def query_id(name: str, problems: dict[str, list[str]]) -> int | None:
    """The query parameter `name` as an id (None when absent), or a problem recorded under
    its name: a number past MAX_ID can name nothing stored, and the database would refuse
    to compare with it."""
    text = request.args.get(name)
    if not text:
        return None
    try:
        return parse_int(text, field=name, minimum=0, maximum=MAX_ID)
    except InvalidArgumentError as err:
        problems.setdefault(name, []).extend(err.details["fields"][name])
        return None


def query_number(name: str, problems: dict[str, list[str]], *, default: int, minimum: int,
                 maximum: int) -> int:
    """The query parameter `name` as a whole number from minimum to maximum (default when
    absent), or default with a problem recorded under its name."""
    text = request.args.get(name)
    if not text:
        return default
    try:
        return parse_int(text, field=name, minimum=minimum, maximum=maximum)
    except InvalidArgumentError as err:
        problems.setdefault(name, []).extend(err.details["fields"][name])
        return default


def _first_problem() -> tuple[str, str] | None:
    problem = text_problem(request.path)
    if problem is not None:
        return "(path)", problem
    for source in (request.args, request.form, request.cookies):
        for key, values in source.lists():
            problem = text_problem(key)
            if problem is not None:
                return "(field name)", problem
            for value in values:
                problem = text_problem(value)
                if problem is not None:
                    return key, problem
    for key, value in request.headers.items():
        problem = text_problem(key) or text_problem(value)
        if problem is not None:
            return key, problem
    return None


def refuse_unstorable_text() -> None:
    """Before each request: a 400 naming the first field with a NUL or lone surrogate."""
    found = _first_problem()
    if found is not None:
        field, problem = found
        raise InvalidArgumentError(f"{field}: {problem}",
                                   details={"fields": {field: [problem]}})
