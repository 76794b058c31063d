"""The bounds on every figure a payment statement works with, and the problems-by-field list
that the mechanism's, the programme file's and a cohort's checks fill.

Whatever a figure came from (the programme file, imported outcome data, a form), the
statement's arithmetic is exact (fractions), so one 10^999999999 or 4,000-digit figure would
hold the interpreter for minutes. The bounds are far beyond any real programme.
"""

from __future__ import annotations

from decimal import Decimal

from engine.errors import InvalidArgumentError

MAX_PEOPLE = 10_000_000
MAX_EVENTS = 1_000_000_000
MAX_AMOUNT = Decimal(10) ** 12  # pounds
MAX_RATE = Decimal(1_000_000)
MAX_PER = 1_000_000
MAX_PLACES = 6

Problems = dict[str, list[str]]
"""Field path -> what is wrong with it: InvalidArgumentError's details["fields"]."""


def invalid(message: str, problems: Problems) -> InvalidArgumentError:
    """The error listing every problem, by field path."""
    listed = "; ".join(f"{where}: {', '.join(messages)}" for where, messages in problems.items())
    return InvalidArgumentError(f"{message}: {listed}", details={"fields": problems})


def add_problem(problems: Problems, where: str, message: str) -> None:
    problems.setdefault(where, []).append(message)


def not_count(value: object) -> bool:
    """Not a whole number (a bool is not one either)."""
    return isinstance(value, bool) or not isinstance(value, int)


def too_big(value: object, maximum: int) -> bool:
    """A count outside 0..maximum (checked before any arithmetic on it)."""
    return isinstance(value, int) and not isinstance(value, bool) and not (
        -maximum <= value <= maximum)


def out_of_bounds(value: object, maximum: Decimal) -> str | None:
    """Why a decimal figure is beyond what the statement works with (None: it is not)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return None  # the caller's type check says what is wrong
    if isinstance(value, int):
        return None if abs(value) <= maximum else f"must be at most {maximum}"
    if not value.is_finite():
        return None
    if value.copy_abs() > maximum:  # copy_abs: no context, so no Overflow
        return f"must be at most {maximum}"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        return f"must have at most {MAX_PLACES} digits after the point"
    return None
