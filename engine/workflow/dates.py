"""Calendar arithmetic for the DSL: ISO-8601 durations, dates moved by them, working days.

A month after 31 January is the last day of February (28th, or 29th in a leap year), as a
person counts it: python-dateutil's relativedelta adds years and months first, clamps the
day to the month's length, then adds weeks, days and time. Working days skip weekends and
the bank holidays of England and Wales, from the maintained `holidays` package.

Case data holds dates as ISO text ('2026-03-01', or a date-time for client fields), so a
moved date is given back as ISO text of the same kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta

# ISO 8601 with whole numbers: at least one part, T before the time; weeks stand alone
# (`P1W2D` is not ISO 8601, and SpiffWorkflow refuses it in timers and due rules)
DURATION = re.compile(
    r"P(?!$)(?:(?P<weeks>\d+)W|(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?)")
# a name written as a duration attempt: P then a digit, or PT then a digit (`P1X`, `PT5Q`)
DURATION_LIKE = re.compile(r"PT?\d\w*")
DURATION_HELP = ("write P, then whole numbers with Y (years), M (months), D (days), and after "
                 "T: H (hours), M (minutes), S (seconds), e.g. P7D, P1M, P1Y6M, PT12H; or "
                 "weeks alone, e.g. P2W")
MAX_WORKING_DAYS = 10_000  # about 40 years: bounds the day-by-day count
# England and Wales share their bank holidays; `holidays` lists them as GB subdivision ENG
BANK_HOLIDAY_COUNTRY, BANK_HOLIDAY_REGION = "GB", "ENG"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_duration_literal(name: str) -> bool:
    """Whether a bare name in an expression is an ISO-8601 duration (`P1M`, `P14D`)."""
    return DURATION.fullmatch(name) is not None


def looks_like_duration(name: str) -> bool:
    """Whether a bare name was meant as a duration: valid or misspelt (`P1X`)."""
    return DURATION_LIKE.fullmatch(name) is not None


@dataclass(frozen=True)
class Duration:
    """An ISO-8601 duration as written (`P1M`), and what it adds to a date."""

    text: str

    def __post_init__(self) -> None:
        if DURATION.fullmatch(self.text) is None:
            raise ValueError(f"{self.text!r} is not an ISO-8601 duration: {DURATION_HELP}")

    @property
    def delta(self) -> relativedelta:
        match = DURATION.fullmatch(self.text)
        assert match is not None  # checked when made
        part = {unit: int(number) if number else 0
                for unit, number in match.groupdict().items()}
        return relativedelta(years=part["years"], months=part["months"], weeks=part["weeks"],
                             days=part["days"], hours=part["hours"], minutes=part["minutes"],
                             seconds=part["seconds"])

    @property
    def has_time(self) -> bool:
        return "T" in self.text

    def __str__(self) -> str:
        return self.text

    def plus(self, other: Duration) -> Duration:
        """The two durations together, as one ISO-8601 duration."""
        first, second = self.delta, other.delta
        parts = (("Y", first.years + second.years), ("M", first.months + second.months),
                 ("D", first.days + second.days))
        times = (("H", first.hours + second.hours), ("M", first.minutes + second.minutes),
                 ("S", first.seconds + second.seconds))
        text = "P" + "".join(f"{n}{unit}" for unit, n in parts if n)
        if any(n for _, n in times):
            text += "T" + "".join(f"{n}{unit}" for unit, n in times if n)
        return Duration(text if text != "P" else "P0D")


def is_date_value(value: Any) -> bool:
    """A date as the expression language sees one: a date, or ISO text starting YYYY-MM-DD."""
    if isinstance(value, date):
        return True
    return isinstance(value, str) and _ISO_DATE.match(value.strip()) is not None


def shift(value: Any, duration: Duration, sign: int = 1) -> str:
    """An ISO date (or date-time) moved by the duration, as ISO text of the same kind; a
    date moved by hours, minutes or seconds becomes a date-time. ValueError if value is
    not a date."""
    moment, has_time = _as_moment(value)
    delta = duration.delta if sign >= 0 else -duration.delta
    try:
        moved = moment + delta
    except (OverflowError, ValueError) as err:
        raise ValueError(_out_of_range(value)) from err
    if has_time or duration.has_time:
        return moved.isoformat()
    return moved.date().isoformat()


def duration_sum(first: Any, second: Any, sign: int) -> Any:
    """first + second (sign 1) or first - second (sign -1) where either is a Duration: a date
    moved, or two durations together; NotImplemented when neither is a Duration; TypeError
    for any other use of one."""
    if not isinstance(first, Duration) and not isinstance(second, Duration):
        return NotImplemented
    if isinstance(second, Duration) and is_date_value(first):
        return shift(first, second, sign)
    if isinstance(first, Duration) and sign > 0:
        if is_date_value(second):
            return shift(second, first)
        if isinstance(second, Duration):
            return first.plus(second)
    raise TypeError("a duration such as P7D can only be added to or taken from a date, or "
                    f"added to another duration, not used with {first!r} and {second!r}")


def shift_datetime(moment: datetime, duration: str, sign: int = 1) -> datetime:
    """moment moved by an ISO-8601 duration, months clamped to the month's last day."""
    delta = Duration(duration.strip().upper()).delta
    try:
        result: datetime = moment + (delta if sign >= 0 else -delta)
    except ValueError as err:  # relativedelta's "year 10000 is out of range"
        raise OverflowError(_out_of_range(moment.isoformat())) from err
    return result


def _as_moment(value: Any) -> tuple[datetime, bool]:
    """(the value as a datetime, whether it carried a time of day)."""
    if isinstance(value, datetime):
        return value, True
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), False
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a date: write dates as YYYY-MM-DD") from None
        return parsed, len(text) > 10
    raise ValueError(f"{value!r} is not a date")


def as_date(value: Any) -> date:
    """A date from a date, a date-time or ISO text; ValueError otherwise."""
    return _as_moment(value)[0].date()


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> frozenset[date]:
    import holidays  # loads its calendars: only when a working day is counted

    found = holidays.country_holidays(BANK_HOLIDAY_COUNTRY, subdiv=BANK_HOLIDAY_REGION,
                                      years=year)
    return frozenset(found)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday in England and Wales (substitute days
    included: Boxing Day on a Saturday moves the holiday to the Monday)."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: Any, count: Any) -> str:
    """The date `count` working days after `start` (before it when count is negative), the
    start itself not counted; count 0 gives the start. ISO text."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"the number of working days must be a whole number, not {count!r}")
    if abs(count) > MAX_WORKING_DAYS:
        raise ValueError(f"{count} working days is more than the {MAX_WORKING_DAYS} allowed")
    day = as_date(start)
    step = timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    try:
        while remaining:
            day += step
            if is_working_day(day):
                remaining -= 1
    except OverflowError as err:
        raise ValueError(_out_of_range(start)) from err
    return day.isoformat()


def _out_of_range(value: Any) -> str:
    return f"moving {value!r} leaves the calendar's years 1 to 9999"
