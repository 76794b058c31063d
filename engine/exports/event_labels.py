"""What every export says of a recorded event: the activity it is about, the branch a
decision took, the task instance it belongs to (the XES log and the event CSV agree)."""

from __future__ import annotations

from engine.model import Event

TASK_EVENTS = frozenset({"task_ready", "task_started", "task_completed"})


def event_name(event: Event) -> str:
    """The activity an event is about: its step, else its type (an outcome event without
    a step: the outcome)."""
    if event.step:
        return event.step
    if event.type == "outcome_recorded" and event.data.get("outcome"):
        return str(event.data["outcome"])
    return event.type


def decision_branch(event: Event) -> tuple[str, str, str]:
    """(gateway, branch, flow ids) of a `decision` event: the branch is the taken flow's name,
    else the name or id of the step it leads to; several (an inclusive gateway) are joined
    by " | ". Decisions recorded before flows were named fall back to their targets."""
    data = event.data
    labels = data.get("branches") or data.get("taken_names") or data.get("taken") or []
    flows = data.get("flows") or []
    return (str(data.get("gateway") or event.step or ""), " | ".join(map(str, labels)),
            " | ".join(map(str, flows)))


def task_instance(event: Event) -> str | None:
    """The task id of a task's event (ready, started, completed): the activity instance
    those events share, so a tool pairs a task's schedule, start and complete."""
    task = event.data.get("task") if event.type in TASK_EVENTS else None
    return str(task) if task else None
