"""When work on a task began: the `task_started` event, recorded once per task.

A task becoming ready (`task_ready`) says when it started waiting in an inbox; process mining
(XES `lifecycle:transition` "start") also needs when someone began working on it: the first
claim or the first draft saved. Casework records it in the same transaction as the claim or
the draft.

The case's events are numbered by the engine from the case record's `event_seq`, under its
revision (engine.cases.services), so the event is appended the same way: the case record is saved
with event_seq moved on, at the revision it was read at. A command that changed the case
meanwhile makes that save fail with ConflictError; `retrying` runs the claim or draft again,
which then finds the event if the other writer recorded it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar

from engine.errors import ConflictError
from engine.model import InboxTask, NewEvent
from engine.ports import UnitOfWork

TASK_STARTED = "task_started"
StartedVia = Literal["claim", "draft"]
# Attempts of a claim or draft whose case another command changed meanwhile: each such
# command commits in milliseconds, so a few attempts are plenty.
ATTEMPTS = 5

T = TypeVar("T")


def record_task_started(uow: UnitOfWork, task: InboxTask, actor: str, via: StartedVia,
                        now: Callable[[], datetime]) -> bool:
    """Append the task's `task_started` event (step, actor; data: task id and `via`) unless
    the case already has one for it, or is no longer active. Whether it was appended.

    The case is read before its log: a start another writer commits after the case was read
    moves the case's revision, so this save conflicts and the retry finds that start. Read
    the other way round, a start committed between the two reads is missed and the case read
    is already at its revision, so the start would be recorded twice."""
    record = uow.cases.get(task.case_id)
    if record is None or record.id is None or record.status != "active":
        return False
    if any(e.type == TASK_STARTED and e.data.get("task") == task.id
           for e in uow.events.list(task.case_id)):
        return False
    expected = record.revision
    first_seq = record.event_seq + 1
    record.event_seq += 1
    event = NewEvent(type=TASK_STARTED, at=now(), step=task.step, actor=actor,
                     data={"task": task.id, "via": via})
    uow.cases.save(record, expected)  # ConflictError if another command changed the case
    uow.events.append(record.id, [event], first_seq=first_seq)
    return True


def retrying(attempt: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """attempt(), run again when it meets a concurrent change (ConflictError); the last
    attempt's conflict is raised."""
    for _ in range(attempts - 1):
        try:
            return attempt()
        except ConflictError:
            continue
    return attempt()
