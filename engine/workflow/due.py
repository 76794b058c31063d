"""A user task's due time from its `due` rule, and the times reminders and escalations fire.

The rule is the DSL's `due` as compiled ("P7D", "client.release_date - P7D"). The runner
computes a task's due time when the task becomes ready; a reminder's or an escalation's
boundary timer computes the same time (the same rule, data and command time, since the timer
starts in the same engine step as its task) moved by its offset, through `DUE_FUNCTION`
called from the timer's expression.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.dotted import dig
from engine.workflow.clock import add_duration, current_time, parse_timestamp

_DUE = re.compile(
    r"^\s*(?:(?!P[0-9T])(?P<base>[A-Za-z_][\w.]*)\s*)?(?:(?P<sign>[+-])?\s*(?P<duration>P[0-9YMWDTHS.,]+))?\s*$"
)
# The name a compiled reminder's or escalation's timeDate calls: pathways_due("P7D", "-P2D")
DUE_FUNCTION = "pathways_due"
# A task without a due time (its date field empty) has no time to remind before: its timers
# wait for this date, i.e. until the task is done and cancels them.
NEVER = "9999-12-31T00:00:00+00:00"


def compute_due(rule: str | None, data: dict[str, Any], now: datetime) -> datetime | None:
    """A user task's due time from its `due` property.

    Forms: "P2D" (from when the task became ready), "client.release_date" (a date in the
    case data), "client.release_date - P7D" / "+ P1D" (that date moved by a duration).
    A rule naming a date the case does not have gives no due time rather than a wrong one.
    """
    if not rule:
        return None
    match = _DUE.match(rule)
    if match is None:
        return None
    base_name, sign, duration = match.group("base"), match.group("sign"), match.group("duration")
    if base_name is None:
        base = now
    else:
        raw = dig(data, base_name)
        if not isinstance(raw, str):
            return None
        try:
            base = parse_timestamp(raw)
        except ValueError:
            return None
    if duration is None:
        return base
    return add_duration(base, duration, -1 if sign == "-" else 1)


def due_moved(data: dict[str, Any], rule: str, offset: str) -> str:
    """The task's due time (rule, computed at the command's time) moved by offset ("-P2D"
    before it, "P3D" after it), as ISO text for a timeDate; NEVER when it has none."""
    due = compute_due(rule, data, current_time())
    if due is None:
        return NEVER
    sign = -1 if offset.strip().startswith("-") else 1
    return add_duration(due, offset.strip().lstrip("+-"), sign).isoformat()
