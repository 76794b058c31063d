"""engine.numbers: typed numbers are bounded before they are converted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import InvalidArgumentError
from engine.numbers import parse_decimal, parse_int


@pytest.mark.parametrize("text", ["1E+999999999", "1e400", "Infinity", "-inf", "nan", "0x10",
                                  "9" * 4300, "1_000", "", "  ", "1.2.3", "--1", "."])
def test_refuses_what_is_not_plain_decimal(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        parse_decimal(text, field="rate", minimum=0, maximum=10_000, places=4)
    assert "rate" in refused.value.details["fields"]


@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, 10 ** 5000],
                         ids=["inf", "nan", "bool", "huge"])
def test_refuses_non_finite_and_huge_values(value: object) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_decimal(value, field="rate", minimum=0, maximum=10_000, places=4)


def test_accepts_plain_numbers_within_bounds() -> None:
    assert parse_decimal(" 155.5 ", field="r", minimum=0, maximum=1000, places=2) == \
        Decimal("155.5")
    assert parse_decimal(3, field="r", minimum=0, maximum=10, places=0) == Decimal(3)
    assert parse_decimal(0.25, field="r", minimum=0, maximum=1, places=2) == Decimal("0.25")
    assert parse_int("+42", field="n", minimum=1, maximum=100) == 42


def test_bounds_and_places_are_enforced_with_the_field_named() -> None:
    with pytest.raises(InvalidArgumentError, match="between 1 and 100"):
        parse_int("101", field="size", minimum=1, maximum=100)
    with pytest.raises(InvalidArgumentError, match="2 digits after"):
        parse_decimal("1.234", field="price", minimum=0, maximum=10, places=2)
    with pytest.raises(InvalidArgumentError, match="whole number"):
        parse_int("9" * 30, field="size", minimum=1, maximum=100)
    with pytest.raises(InvalidArgumentError, match="whole number"):
        parse_int("1.5", field="size", minimum=1, maximum=100)
