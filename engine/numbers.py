"""Numbers people type, parsed with explicit bounds and precision.

Every number that comes from a person or a file (a form, a query string, an API body, a CLI
option, a CSV cell) goes through here, never through bare `int()`, `float()` or `Decimal()`:
those accept `1E+999999999`, `Infinity`, `NaN` and 4,000-digit integers, and arithmetic on
such values can hold the interpreter for minutes. Only plain decimal notation is accepted
(no exponent, no infinities), its length is checked before anything is converted, and the
value must lie within the bounds the caller states. A refusal is an InvalidArgumentError
naming the field, with the usual `details.fields` shape.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from engine.errors import InvalidArgumentError

_INTEGER = re.compile(r"[+-]?\d{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:\d{1,18})?(?:\.\d{1,18})?")
MAX_TEXT = 40  # longer text is refused before any parsing


MAX_ID = 2**31 - 1  # ids and version numbers: INTEGER columns on PostgreSQL and SQLite


def refusal(field: str, message: str) -> InvalidArgumentError:
    """The error for a value typed into `field`, in the usual details.fields shape."""
    return InvalidArgumentError(f"{field}: {message}", details={"fields": {field: [message]}})


def _text(value: object, field: str) -> str:
    if isinstance(value, bool):
        raise refusal(field, "must be a number, not true or false")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise refusal(field, "must be a finite number")
        value = repr(value)
    text = str(value).strip()
    if not text:
        raise refusal(field, "is required")
    if len(text) > MAX_TEXT:
        raise refusal(field, f"is too long to be a number here (over {MAX_TEXT} characters)")
    return text


def parse_int(value: object, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum], from text or an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = _text(value, field)
        if not _INTEGER.fullmatch(text):
            raise refusal(field, "must be a whole number (digits only)")
        number = int(text)
    if not minimum <= number <= maximum:
        raise refusal(field, f"must be between {minimum} and {maximum}")
    return number


def parse_decimal(value: object, *, field: str, minimum: Decimal | int,
                  maximum: Decimal | int, places: int) -> Decimal:
    """A decimal number in [minimum, maximum] with at most `places` digits after the point,
    from text, an int or a finite float (taken by its shortest representation)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if abs(value) < 10 ** 18 else "9" * (MAX_TEXT + 1)
    else:
        text = _text(value, field)
    if len(text) > MAX_TEXT:
        raise refusal(field, f"is too long to be a number here (over {MAX_TEXT} characters)")
    if not _DECIMAL.fullmatch(text) or not any(c.isdigit() for c in text):
        raise refusal(field, "must be a number written with digits and at most one point "
                             "(no exponent)")
    number = Decimal(text)
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        raise refusal(field, f"has more than {places} digits after the point")
    if not Decimal(minimum) <= number <= Decimal(maximum):
        raise refusal(field, f"must be between {minimum} and {maximum}")
    return number


# -- JSON: numbers in request bodies, CLI data and CSV cells ------------------------------

MAX_JSON_INT = 10 ** 18 - 1  # what a JSON integer may be (18 digits)


def number_problem(value: object) -> str | None:
    """Why an already-parsed JSON number is out of bounds (not finite, or an integer beyond
    MAX_JSON_INT), or None (also for anything that is not a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > MAX_JSON_INT:
        return f"must be a whole number between {-MAX_JSON_INT} and {MAX_JSON_INT}"
    if isinstance(value, float) and (not math.isfinite(value) or abs(value) > MAX_JSON_INT):
        return f"must be a finite number between {-MAX_JSON_INT} and {MAX_JSON_INT}"
    return None
