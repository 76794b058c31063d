"""SpiffWorkflow's timers made to obey the engine's clock (engine.workflow.clock): each
timer class reads the time of the command being run, not `datetime.now()`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from engine.errors import ScriptError
from engine.workflow.clock import (
    add_duration,
    check_duration,
    current_time,
    timer_value_key,
)


def _is_relative_cycle(expression: str) -> bool:
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    return len(parts) == 2 and parts[1].startswith("P")


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
