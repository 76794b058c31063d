"""Text that may be stored: one check for every string a person or a program sends, and one
strict JSON parser built on it.

PostgreSQL refuses NUL (U+0000) in text and JSON columns, and no database encoding holds a
lone UTF-16 surrogate (U+D800..U+DFFF); either used to surface as a database error, a 500.
The web and CLI boundaries run every incoming string (names, form answers, reasons, query
strings, headers, JSON bodies) through here and refuse such text with an InvalidArgumentError
naming the field, in the usual `details.fields` shape. Nested JSON is walked without
recursion and refused past MAX_DEPTH levels, deeper than any form or profile needs.

parse_json is the strict loader: Python's json module accepts what cannot be stored or sent
back as JSON (NaN/Infinity, and 1e400 which becomes infinity; integers of thousands of
digits; lone surrogates; NUL; nesting deep enough to exhaust the recursion limit of whatever
walks it next), each of which used to end in a 500 or in an answer that is not valid JSON.
Range and precision of the numbers a field means are checked where it is read
(engine.numbers); the limits here only keep values storable and echoable.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from engine.errors import InvalidArgumentError
from engine.numbers import MAX_JSON_INT, refusal

MAX_DEPTH = 32  # levels of nested objects and lists in a JSON value

_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """What makes value unstorable (a NUL or a lone surrogate), or None when it is fine."""
    found = _BAD.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must not contain lone surrogate characters (invalid Unicode)"


def refuse(field: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{field}: {message}", details={"fields": {field: [message]}})


def check_text(value: str, field: str) -> str:
    """value, if it may be stored; else InvalidArgumentError naming field."""
    problem = text_problem(value)
    if problem is not None:
        raise refuse(field, problem)
    return value


def json_problems(value: Any, field: str = "", *, max_depth: int = MAX_DEPTH
                  ) -> dict[str, list[str]]:
    """Field path -> problems for every unstorable string (or key) in a JSON value, and for
    nesting deeper than max_depth. Paths are dotted (`data.notes`, `tasks.0`); a bad key is
    reported at its parent's path, so the key itself is never echoed."""
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        found = problems.setdefault(path or "(body)", [])
        if message not in found:
            found.append(message)

    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                add(path, problem)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            add(path, f"is nested more than {max_depth} levels deep")
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                key_text = str(key)
                problem = text_problem(key_text)
                if problem is not None:
                    add(path, f"has a field name that {problem}")
                    continue
                stack.append((child, f"{path}.{key_text}" if path else key_text, depth + 1))
        else:
            for index, child in enumerate(item):
                stack.append((child, f"{path}.{index}" if path else str(index), depth + 1))
    return problems


def check_json(value: Any, field: str = "") -> Any:
    """value, if every string in it may be stored and it is not nested too deep; else
    InvalidArgumentError with every problem in details.fields."""
    problems = json_problems(value, field)
    if problems:
        first = next(iter(problems))
        raise InvalidArgumentError(f"{first}: {problems[first][0]}",
                                   details={"fields": problems})
    return value


# -- strict JSON: what the API and CLI accept ----------------------------------------------

MAX_INTEGER_DIGITS = len(str(MAX_JSON_INT))  # 18: fits the 64-bit integers every JSON
# library and database reads
MAX_NUMBER_TEXT = 64  # characters of one number written in JSON


class _Refused(ValueError):
    """Raised from inside json.loads by a hook, with the message for the client."""


def _constant(name: str) -> Any:
    raise _Refused("is not valid JSON")  # NaN, Infinity, -Infinity: no JSON number


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"has a whole number of more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_TEXT:
        raise _Refused(f"has a number written with more than {MAX_NUMBER_TEXT} characters")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("has a number too large to hold (it would be infinite)")
    return value


def is_json(text: str) -> bool:
    """Whether text is JSON by its syntax alone (no number is converted, so this is cheap
    whatever it holds). NaN and Infinity are not JSON: text that says them is text."""
    try:
        json.loads(text, parse_int=str, parse_float=str, parse_constant=_not_json)
    except RecursionError:
        return True  # JSON, nested too deeply: parse_json says so
    except ValueError:
        return False
    return True


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | str, *, field: str = "(body)", max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of raw (UTF-8), or InvalidArgumentError naming the field (or, for a
    bad string or key inside, its dotted path below field)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise refusal(field, "is not UTF-8 text") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer,
                           parse_float=_float)
    except _Refused as err:
        raise refusal(field, str(err)) from None
    except RecursionError:
        raise refusal(field, f"is nested more than {max_depth} levels deep") from None
    except ValueError:  # JSONDecodeError, and int() of a too-long literal
        raise refusal(field, "is not valid JSON") from None
    problems = json_problems(value, "" if field == "(body)" else field, max_depth=max_depth)
    if problems:
        first = next(iter(problems))
        raise InvalidArgumentError(f"{first}: {problems[first][0]}",
                                   details={"fields": problems})
    return value
