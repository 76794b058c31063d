"""The engine's notion of "now", and SpiffWorkflow timers that obey it.

SpiffWorkflow's timer definitions read `datetime.now()` directly. To fire timers "as of" a
given time (`pathways timers run --now ...`, tests, replays) every command runs inside
`running_at(now)`, and the timer classes of engine.workflow.clock_timers read that time
instead. A ContextVar keeps concurrent commands in different threads apart. This module
loads no SpiffWorkflow (storage reads the time through it), except to add a fractional
duration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import ScriptError
from engine.workflow.dates import is_duration_literal, shift_datetime

_now: ContextVar[datetime | None] = ContextVar("pathways_now", default=None)

# SpiffWorkflow adds years and months one calendar month at a time, in Python: "P9999999999Y"
# would loop for hours, and "P99999999999999999999D" overflows. A timer or due date further
# off than this is a mistake in the definition, refused before anything is computed.
MAX_DURATION_YEARS = 1000
_DAY = 86400
_DATE_PART = re.compile(r"(\d+(?:[.,]\d*)?)([YMWD])")
_TIME_PART = re.compile(r"(\d+(?:[.,]\d*)?)([HMS])")
_DATE_SECONDS = {"Y": 366 * _DAY, "M": 31 * _DAY, "W": 7 * _DAY, "D": _DAY}
_TIME_SECONDS = {"H": 3600, "M": 60, "S": 1}


def check_duration(expression: Any) -> None:
    """Refuse (ScriptError) an ISO-8601 duration or recurring interval whose durations add
    up to more than MAX_DURATION_YEARS, or that writes a number with over 15 digits."""
    if not isinstance(expression, str):
        return
    for part in expression.upper().replace("--", "/").split("/"):
        if "P" not in part:
            continue
        date_text, _, time_text = part[part.index("P") + 1:].partition("T")
        seconds = 0.0
        for text, table, pattern in ((date_text, _DATE_SECONDS, _DATE_PART),
                                     (time_text, _TIME_SECONDS, _TIME_PART)):
            for number, unit in pattern.findall(text):
                if len(number) > 15:
                    raise _too_long(expression)
                seconds += float(number.replace(",", ".")) * table[unit]
        if seconds > MAX_DURATION_YEARS * 366 * _DAY:
            raise _too_long(expression)


def _too_long(expression: str) -> ScriptError:
    return ScriptError(f"the duration {expression[:40]!r} is longer than "
                       f"{MAX_DURATION_YEARS} years (definitions may not compute values this "
                       "large)", details={"duration": expression[:100]})


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def current_time() -> datetime:
    """The time of the command being run, or the system time outside of one."""
    value = _now.get()
    return value if value is not None else datetime.now(UTC)


@contextmanager
def running_at(now: datetime) -> Iterator[datetime]:
    if now.tzinfo is None:
        raise ValueError("the engine works in timezone-aware times; got a naive datetime")
    token = _now.set(now.astimezone(UTC))
    try:
        yield now
    finally:
        _now.reset(token)


def monotonic_times(previous: datetime | None, times: Iterable[datetime]) -> list[datetime]:
    """Stamps for events appended after one stamped `previous` (None: the first of a
    case): each time as given, unless that is before the stamp before it, then that stamp.
    Event times so never go back as sequence numbers go up, whatever the clocks of the
    processes writing them; the events of one command share its instant (no time is made
    up), and (at, seq) orders a case's history."""
    stamps: list[datetime] = []
    for at in times:
        if previous is not None and at < previous:
            at = previous
        stamps.append(at)
        previous = at
    return stamps


def parse_timestamp(value: str) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (naive values are taken as UTC)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def add_duration(start: datetime, iso_duration: str, sign: int = 1) -> datetime:
    """start plus (or minus) an ISO-8601 duration, months and years by the calendar: a month
    after 31 January is the last day of February (SpiffWorkflow's own arithmetic gave 3
    March), a month before 31 March too."""
    check_duration(iso_duration)
    if is_duration_literal(iso_duration.strip().upper()):  # whole numbers: by the calendar
        return shift_datetime(start, iso_duration, sign)
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
    if sign >= 0:
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
    else:
        delta = -TimerEventDefinition.get_timedelta_from_end(parsed, start)
    return start + delta


def timer_value_key(position: int) -> str:
    """The internal-data key of the due time of a task's timer at that position."""
    return "event_value" if position == 0 else f"event_value_{position}"
