"""The payment statement's figures: exact fractions turned into its fields' Decimals, payments
rounded to the penny, and figures as its lines of arithmetic show them.

The rounding rule (engine.outcomes.payments): a payment is rounded to the penny, half up, once; the
fields are exact to 28 significant digits; the lines show rates and events to 2 decimal
places and reductions to 1 (more where needed to show which side of a threshold a reduction
falls), trailing zeros dropped: rounded for display only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from fractions import Fraction

MINUS = "\u2212"
TIMES = "\u00d7"
GE = "\u2265"
POUND = "\u00a3"

_PENNY = Decimal("0.01")
_FIELD_DIGITS = Context(prec=28)
_SHOW_DIGITS = Context(prec=60)


def exact(value: Fraction) -> Decimal:
    """A figure for a statement's field: exact to 28 significant digits."""
    with localcontext(_FIELD_DIGITS):
        return Decimal(value.numerator) / Decimal(value.denominator)


def pounds(value: Fraction) -> Decimal:
    """An amount already in whole pennies, as Decimal pounds with 2 places."""
    return exact(value).quantize(_PENNY)


def to_penny(amount: Fraction) -> Fraction:
    """Round half up to the penny (amounts here are never negative)."""
    pennies = math.floor(amount * 100 + Fraction(1, 2))
    return Fraction(pennies, 100)


def _rounded(value: Fraction, places: int) -> Decimal:
    with localcontext(_SHOW_DIGITS):
        whole = Decimal(value.numerator) / Decimal(value.denominator)
        return whole.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def figure(value: Fraction | int, places: int = 2) -> str:
    """A count or rate for a line: thousands separated, at most `places` decimals, trailing
    zeros dropped."""
    shown = _rounded(Fraction(value), places)
    text = f"{shown:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(value: Fraction, places: int = 1) -> str:
    return f"{_rounded(value, places):f}%"


def money(value: Fraction | Decimal | int) -> str:
    amount = _rounded(Fraction(value), 2)
    return f"{POUND}{amount:,.2f}"


def sum_shown(values: Sequence[Fraction | int], *, as_money: bool = False) -> str:
    """"1 + 2 = 3" (a single value: just it), as figures or as money."""
    show = money if as_money else figure
    total = sum(values, Fraction(0))
    if len(values) == 1:
        return show(total)
    return " + ".join(show(v) for v in values) + f" = {show(total)}"


def versus(reduction: Fraction, threshold: Fraction) -> str:
    """"8.4% < 10%" — with as many decimals as it takes for the shown figure to be on the
    right side of the threshold (9.96% is not shown as "10.0% < 10%")."""
    places = 1
    while places < 12 and reduction != threshold and _rounded(reduction, places) == _rounded(
            threshold, places):
        places += 1
    sign = GE if reduction >= threshold else "<"
    return f"{percent(reduction, places)} {sign} {figure(threshold, 12)}%"
