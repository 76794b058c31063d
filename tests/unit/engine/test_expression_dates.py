"""Dates in the expression language: durations, month ends, working days, the engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.workflow.clock import add_duration, running_at
from engine.workflow.dates import add_working_days, is_working_day
from engine.workflow.expressions import ExpressionError, evaluate, names, parse

DATA = {"move_in_date": "2026-01-31", "offer_date": "2028-01-31",
        "visit_at": "2026-01-31T10:30:00+00:00", "score": 3,
        "client": {"release_date": "2026-03-31"}}


@pytest.mark.parametrize("source, expected", [
    ("move_in_date + P1M", "2026-02-28"),  # 31 Jan + 1 month: the last day of February
    ("offer_date + P1M", "2028-02-29"),  # a leap year
    ("client.release_date - P1M", "2026-02-28"),
    ("move_in_date + P14D", "2026-02-14"),
    ("move_in_date + P2W", "2026-02-14"),
    ("move_in_date + P1Y6M", "2027-07-31"),
    ("'2026-08-31' + P6M", "2027-02-28"),
    ("'2027-08-31' + P6M", "2028-02-29"),
    ("P1M + move_in_date", "2026-02-28"),
    ("move_in_date + P1M + P1D", "2026-03-01"),  # the month clamped first, then the day
    ("visit_at + P1M", "2026-02-28T10:30:00+00:00"),  # a date-time stays one
    ("move_in_date + PT12H", "2026-01-31T12:00:00"),
    ("P1M + P1D", "P1M1D"),
    ("P1M", "P1M"),  # a duration as a result is its ISO text, as case data holds it
    ("[P7D, P1M]", ["P7D", "P1M"]),
    ("move_in_date + P1M > '2026-02-27'", True),
    ("days_between(move_in_date, move_in_date + P1M)", 28),
])
def test_a_date_moves_by_a_duration(source: str, expected: object) -> None:
    assert evaluate(source, DATA) == expected


@pytest.mark.parametrize("source, message", [
    ("move_in_date + 7", "add a duration such as P7D, not a number (7)"),
    ("move_in_date - 7", "subtract a duration such as P7D, not a number (7)"),
    ("7 + move_in_date", "add a duration such as P7D, not a number (7)"),
    ("move_in_date - client.release_date", "use days_between(first, second)"),
    ("score + P1D", "a duration such as P7D can only be added to or taken from a date"),
    ("P1D - move_in_date", "a duration such as P7D can only be added to or taken from a date"),
    ("'soon' + P1D", "a duration such as P7D can only be added to or taken from a date"),
    ("'2026-02-30' + P1D", "is not a date"),
    ("'9999-12-31' + P1D", "leaves the calendar's years 1 to 9999"),
    ("'9999-12-31' + P1M", "leaves the calendar's years 1 to 9999"),
    ("'0001-01-01' - P1D", "leaves the calendar's years 1 to 9999"),
    ("add_working_days('9999-12-31', 3)", "leaves the calendar's years 1 to 9999"),
])
def test_date_arithmetic_that_makes_no_sense_says_why(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, DATA)
    assert message in caught.value.message


def test_a_duration_is_a_value_not_an_undefined_name() -> None:
    assert names("move_in_date + P1M") == {"move_in_date"}
    assert "not defined" not in str(evaluate("move_in_date + P1M", DATA))


@pytest.mark.parametrize("source, offset", [
    ("move_in_date + P1X", 15), ("P3Q", 0), ("move_in_date - PT5Q", 15), ("P1M2", 0),
    ("move_in_date + P1W2D", 15),  # weeks stand alone in ISO 8601
])
def test_a_misspelt_duration_is_named_where_it_is(source: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(source)
    assert caught.value.message.startswith(f"{source[offset:].split()[0]} is not an ISO-8601 "
                                           "duration: write P, then whole numbers")
    assert caught.value.offset == offset


def test_a_duration_past_the_bounds_is_refused_when_parsed() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("move_in_date + P99999999999Y")
    assert "longer than 1000 years" in caught.value.message
    assert caught.value.offset == 15


def test_a_field_named_like_a_word_starting_with_p_is_still_a_field() -> None:
    assert evaluate("plan + P1D", {"plan": "2026-01-01"}) == "2026-01-02"
    assert names("plan") == {"plan"}


# -- working days -----------------------------------------------------------------------------


@pytest.mark.parametrize("start, count, expected", [
    ("2026-12-23", 1, "2026-12-24"),
    ("2026-12-24", 1, "2026-12-29"),  # Christmas (Fri), the weekend, Boxing Day moved to Mon 28
    ("2027-12-24", 1, "2027-12-29"),  # Christmas and Boxing Day both moved: Mon 27 and Tue 28
    ("2026-12-31", 1, "2027-01-04"),  # New Year's Day (Fri), then the weekend
    ("2026-04-02", 1, "2026-04-07"),  # Good Friday 3 April, Easter Monday 6 April 2026
    ("2027-03-25", 1, "2027-03-30"),  # Good Friday 26 March, Easter Monday 29 March 2027
    ("2026-12-29", -1, "2026-12-24"),
    ("2026-12-25", 0, "2026-12-25"),
    ("2026-01-05", 5, "2026-01-12"),  # Mon + 5 working days: the next Mon
    ("2026-12-01", 20, "2026-12-31"),  # "panel within 20 working days" over Christmas
])
def test_working_days_skip_weekends_and_bank_holidays_in_england_and_wales(
        start: str, count: int, expected: str) -> None:
    assert add_working_days(start, count) == expected
    assert evaluate(f"add_working_days('{start}', {count})", {}) == expected


def test_bank_holidays_are_those_of_england_and_wales() -> None:
    assert not is_working_day(datetime(2026, 8, 31).date())  # late summer (not Scotland's)
    assert is_working_day(datetime(2026, 8, 3).date())  # Scotland's summer holiday
    assert is_working_day(datetime(2026, 3, 17).date())  # St Patrick's Day: N. Ireland only


@pytest.mark.parametrize("source, message", [
    ("working_days(1.5)", "must be a whole number, not 1.5"),
    ("working_days('20')", "must be a whole number, not '20'"),
    ("working_days(true)", "must be a whole number, not True"),
    ("working_days(100000)", "more than the 10000 allowed"),
    ("add_working_days('someday', 2)", "'someday' is not a date"),
])
def test_working_days_refuse_what_is_not_a_count_of_days(source: str, message: str) -> None:
    with running_at(datetime(2026, 12, 1, tzinfo=UTC)), pytest.raises(ExpressionError) as caught:
        evaluate(source, {})
    assert message in caught.value.message


# -- the engine's clock ------------------------------------------------------------------------


def test_today_and_working_days_follow_the_clock_the_engine_runs_on() -> None:
    with running_at(datetime(2027, 1, 1, 9, tzinfo=UTC)):
        assert evaluate("today()", {}) == "2027-01-01"
        assert evaluate("working_days(1)", {}) == "2027-01-04"
        assert evaluate("working_days(20)", {}) == "2027-01-29"
        assert evaluate("move_in_date + P1M < today()", DATA) is True
    with running_at(datetime(2026, 2, 1, tzinfo=UTC)):
        assert evaluate("move_in_date + P1M < today()", DATA) is False


def test_a_waits_duration_clamps_month_ends_like_expressions_do() -> None:
    start = datetime(2026, 1, 31, 9, tzinfo=UTC)
    assert add_duration(start, "P1M") == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert add_duration(datetime(2026, 3, 31, tzinfo=UTC), "P1M", -1) == datetime(
        2026, 2, 28, tzinfo=UTC)
    assert add_duration(start, "P1DT2H") == datetime(2026, 2, 1, 11, tzinfo=UTC)
    assert add_duration(start, "PT1.5H") == datetime(2026, 1, 31, 10, 30, tzinfo=UTC)
