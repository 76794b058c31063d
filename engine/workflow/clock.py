"""The engine's notion of "now", and SpiffWorkflow timers that obey it.

SpiffWorkflow's timer definitions read `datetime.now()` directly. To fire timers "as of" a
given time (`pathways timers run --now ...`, tests, replays) every command runs inside
`running_at(now)`, and the timer classes below read that time instead. A ContextVar keeps
concurrent commands in different threads apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

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
    parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
    if sign >= 0:
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(parsed, start)
    else:
        delta = -TimerEventDefinition.get_timedelta_from_end(parsed, start)
    return start + delta


def _is_relative_cycle(expression: str) -> bool:
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    return len(parts) == 2 and parts[1].startswith("P")


def timer_value_key(position: int) -> str:
    """The internal-data key of the due time of a task's timer at that position."""
    return "event_value" if position == 0 else f"event_value_{position}"


def _timer_keys(definition: Any, my_task: Any) -> tuple[str, str]:
    """The internal-data keys of a timer's due time and fired flag on its task.

    SpiffWorkflow keeps one `event_value` and one `event_fired` per task, but an event-based
    gateway (or a multiple event) holds several timers on one task: they shared the first
    one's due time and all fired with it, taking several branches. The first timer of a task
    keeps SpiffWorkflow's keys; each further one (by position among the task's timers) gets
    keys of its own.
    """
    combined = getattr(getattr(my_task.task_spec, "event_definition", None),
                       "event_definitions", None) or []
    timers = [d for d in combined if isinstance(d, TimerEventDefinition)]
    position = next((i for i, d in enumerate(timers) if d is definition), 0)
    if position == 0:
        return "event_value", "event_fired"
    return timer_value_key(position), f"event_fired_{position}"


def _shown(value: Any) -> str:
    return "empty" if value is None or value == "" else f"not a date or duration: {value!r}"


def _timer_failure(my_task: Any, problem: str, expression: str) -> WorkflowTaskException:
    """A timer whose time cannot be worked out fails as its own step (a recorded incident the
    case can be retried from), never as a raw exception from whatever ran before it."""
    return WorkflowTaskException(f"{problem} (from {expression})", task=my_task)


class ClockDurationTimer(DurationTimerEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        now = current_time()
        value_key, fired_key = _timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if not isinstance(expression, str) or not expression.strip():
                raise _timer_failure(my_task, f"the duration to wait is {_shown(expression)}",
                                     self.expression)
            try:
                event_value = add_duration(now, expression).isoformat()
            except (ScriptError, ValueError, TypeError) as err:
                raise _timer_failure(my_task, f"the duration to wait is not valid: {err}",
                                     self.expression) from err
            my_task._set_internal_data(**{value_key: event_value})
        if TimerEventDefinition.get_datetime(event_value) <= now:
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockTimeDateTimer(TimeDateEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        value_key, fired_key = _timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if isinstance(event_value, datetime | date):
                event_value = event_value.isoformat()
            if not isinstance(event_value, str) or not event_value.strip():
                raise _timer_failure(my_task, f"the date to wait until is {_shown(event_value)}",
                                     self.expression)
            try:
                check_duration(event_value)
                TimerEventDefinition.parse_time_or_duration(event_value)
            except (ScriptError, ValueError, TypeError) as err:
                raise _timer_failure(my_task, f"the date to wait until, {event_value!r}, is not "
                                     f"a date: {err}", self.expression) from err
            my_task._set_internal_data(**{value_key: event_value})
        if TimerEventDefinition.parse_time_or_duration(event_value) <= current_time():
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockCycleTimer(CycleTimerEventDefinition):  # type: ignore[misc]
    def cycle_complete(self, my_task: Any) -> bool:
        now = current_time()
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            check_duration(expression)
            cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(
                expression)
            if _is_relative_cycle(expression):
                start = now + duration  # "R3/P1D" counts from the command's time
            event_value = {"cycles": cycles, "next": start.isoformat(),
                           "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event
                                       + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


# Each SpiffWorkflow timer class and the clock-aware class that replaces it in parsed specs.
# A fired timer can land in a case's stored state (an event-based gateway keeps the events it
# saw), so engine.workflow.state registers a serializer converter for every class listed here.
CLOCK_TIMERS: dict[type[TimerEventDefinition], type[TimerEventDefinition]] = {
    DurationTimerEventDefinition: ClockDurationTimer,
    TimeDateEventDefinition: ClockTimeDateTimer,
    CycleTimerEventDefinition: ClockCycleTimer,
}
