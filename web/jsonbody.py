"""The one strict JSON loader for everything that arrives as JSON (API bodies, CLI --data).

Python's json module accepts what cannot be stored or sent back as JSON: the constants
NaN/Infinity (and 1e400, which becomes infinity), integers of thousands of digits, lone
surrogates ("\\ud800"), NUL characters (refused by PostgreSQL) and nesting deep enough to
exhaust the recursion limit of whatever walks it next. Each of these used to end in a 500, or
in an answer that is not valid JSON. This loader refuses them all with an
InvalidArgumentError whose details.fields names where the problem is ("(body)" for the
document as a whole). Range and precision of numbers a field means are checked where the
field is read (engine.numbers); the limits here only keep values storable and echoable.
"""

from __future__ import annotations

import json
import math
from typing import Any

from engine.errors import InvalidArgumentError
from engine.text import MAX_DEPTH, json_problems

BODY = "(body)"
MAX_INTEGER_DIGITS = 18  # fits a 64-bit integer, which every JSON library and database reads
MAX_NUMBER_TEXT = 64  # characters of one number written in JSON


class _Refused(ValueError):
    """Raised from inside json.loads by a hook, with the message for the client."""


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


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


def _refuse(field: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"the request body is not valid JSON: {message}",
                                details={"fields": {field: [message]}})


def parse_json(raw: bytes | str, *, field: str = BODY, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of raw (UTF-8), or InvalidArgumentError naming the field (or, for a
    bad string or key inside, its dotted path below field)."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(field, "is not UTF-8 text") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer,
                           parse_float=_float)
    except _Refused as err:
        raise _refuse(field, str(err)) from None
    except RecursionError:
        raise _refuse(field, f"is nested more than {max_depth} levels deep") from None
    except ValueError:  # JSONDecodeError, and int() of a too-long literal
        raise _refuse(field, "is not valid JSON") from None
    problems = json_problems(value, "" if field == BODY else field, max_depth=max_depth)
    if problems:
        first = next(iter(problems))
        raise InvalidArgumentError(f"{first}: {problems[first][0]}",
                                   details={"fields": problems})
    return value
