"""The times a task's reminders and escalations fire, from its due time.

The rule is the DSL's `due` as compiled ("P7D", "client.release_date - P7D"). The runner
computes a task's due time when the task becomes ready (engine.workflow.runner.compute_due);
a reminder's or an escalation's boundary timer computes the same time (the same rule, data
and command time, since the timer starts in the same engine step as its task) moved by its
offset, through `DUE_FUNCTION` called from the timer's expression.
"""

from __future__ import annotations

from typing import Any

from engine.workflow.clock import add_duration, current_time

# The name a compiled reminder's or escalation's timeDate calls: pathways_due("P7D", "-P2D")
DUE_FUNCTION = "pathways_due"
# A task without a due time (its date field empty) has no time to remind before: its timers
# wait for this date, i.e. until the task is done and cancels them.
NEVER = "9999-12-31T00:00:00+00:00"


def due_moved(data: dict[str, Any], rule: str, offset: str) -> str:
    """The task's due time (rule, computed at the command's time) moved by offset ("-P2D"
    before it, "P3D" after it), as ISO text for a timeDate; NEVER when it has none."""
    from engine.workflow.runner import compute_due  # runner imports this, via the sandbox

    due = compute_due(rule, data, current_time())
    if due is None:
        return NEVER
    sign = -1 if offset.strip().startswith("-") else 1
    return add_duration(due, offset.strip().lstrip("+-"), sign).isoformat()
