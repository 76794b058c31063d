"""A person's task's due time, from its `due` property.

Forms: "P2D" (from when the task became ready), "client.release_date" or "move_in_date" (a
date in the case data), "client.release_date - P7D" / "+ P1D" (that date moved by a
duration), and any other expression of the language that gives a date: "working_days(20)",
"add_working_days(referral_date, 5)", "move_in_date + P1M + P1D". Expressions read the
engine's clock (`today()` is the day of `now`).

A reminder's or an escalation's boundary timer computes the same time (the same rule, data
and command time, since the timer starts in the same engine step as its task) moved by its
offset, through `DUE_FUNCTION` called from the timer's expression.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.dotted import dig
from engine.errors import ScriptError
from engine.workflow.clock import add_duration, current_time, parse_timestamp, running_at
from engine.workflow.expressions import evaluate, is_duration_literal

# The name a compiled reminder's or escalation's timeDate calls: pathways_due("P7D", "-P2D")
DUE_FUNCTION = "pathways_due"
# A task without a due time (its date field empty) has no time to remind before: its timers
# wait for this date, i.e. until the task is done and cancels them.
NEVER = "9999-12-31T00:00:00+00:00"

_DUE = re.compile(
    r"^\s*(?:(?!P[0-9T])(?P<base>[A-Za-z_][\w.]*)\s*)?(?:(?P<sign>[+-])?\s*(?P<duration>P[0-9YMWDTHS.,]+))?\s*$"
)


def is_simple_due(rule: str) -> bool:
    """Whether the rule is a duration, a date field, or a date field plus or minus a
    duration (read without the expression language)."""
    return _DUE.match(rule) is not None


def compute_due(rule: str | None, data: dict[str, Any], now: datetime) -> datetime | None:
    """A user task's due time from its `due` property (the forms above).

    A rule naming a date the case does not have gives no due time rather than a wrong one.
    """
    if not rule:
        return None
    match = _DUE.match(rule)
    if match is None:
        return _expression_due(rule, data, now)
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
    try:
        return add_duration(base, duration, -1 if sign == "-" else 1)
    except OverflowError:  # a date near year 9999 moved past it: no due time, not a crash
        return None


def _expression_due(rule: str, data: dict[str, Any], now: datetime) -> datetime | None:
    """The date an expression gives (a duration: from now); None when it gives none, such
    as a date field the case has not got."""
    try:
        with running_at(now):
            value = evaluate(rule, data)
    except ScriptError:
        return None
    if not isinstance(value, str):
        return None
    if is_duration_literal(value):
        try:
            return add_duration(now, value)
        except (OverflowError, ValueError):
            return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def due_moved(data: dict[str, Any], rule: str, offset: str) -> str:
    """The task's due time (rule, computed at the command's time) moved by offset ("-P2D"
    before it, "P3D" after it), as ISO text for a timeDate; NEVER when it has none."""
    due = compute_due(rule, data, current_time())
    if due is None:
        return NEVER
    sign = -1 if offset.strip().startswith("-") else 1
    return add_duration(due, offset.strip().lstrip("+-"), sign).isoformat()
