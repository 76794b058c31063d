"""A case the worker could not move, put in error with the reason.

The stored state is left as it was before the failed command, so `cases retry` (on a fixed
version if need be) runs the same step again. Open tasks and timers are withdrawn as for any
case in error, so later rounds do not try it again. CaseRuntime.record_failure does it in a
transaction of its own; a group commit (engine.workflow.group_commit) in its batch's, so no
other worker can take the case between the failure and its record.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from engine.model import CaseRecord, NewEvent
from engine.ports import UnitOfWork

log = logging.getLogger("engine.services")  # the worker's log lines keep their logger's name


def failure_reason(err: BaseException, limit: int = 300) -> str:
    """One short line saying why something failed, for a case's error and the worker's log.

    A database driver's error wraps the real one (`orig`) and appends the statement and its
    parameters, case data included: only the first line of the underlying error is kept.
    """
    cause = getattr(err, "orig", None) or err
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failure_message(during: str, err: BaseException) -> str:
    """What the case's error and the worker's log say: what was being done, and why it
    failed."""
    return f"{during} failed: {failure_reason(err)}"


def log_failure(case_id: int, message: str, put: bool) -> None:
    """The worker's one line for a case it could not move (put in error, or not active)."""
    if put:
        log.warning("case %s: %s; the case is now in error", case_id, message)
    else:
        log.warning("case %s: %s; the case is no longer active: left as it is", case_id,
                    message)


def log_unrecorded(case_id: int, message: str, second: BaseException) -> None:
    """The worker's line for a failure it could not record either (the database): the next
    round tries the case again."""
    log.warning("case %s: %s; putting it in error failed too: %s", case_id, message,
                failure_reason(second))


def put_in_error(uow: UnitOfWork, case_id: int, err: Exception, now: datetime, *,
                 during: str, due_by: datetime | None = None,
                 details: dict[str, Any] | None = None) -> tuple[str, bool]:
    """Put the case in `error` in uow's transaction, uncommitted: (the message, True), or
    (the message, False) when it is no longer active and is left as it is. With `due_by` (a
    timer failure) the error names the earliest timer then due, step and task."""
    message = failure_message(during, err)
    record = uow.cases.get(case_id)
    if record is None or record.status != "active":
        return message, False
    _save_in_error(uow, record, err, now, message, due_by, details or {})
    return message, True


def _save_in_error(uow: UnitOfWork, record: CaseRecord, err: Exception, now: datetime,
                   message: str, due_by: datetime | None, details: dict[str, Any]) -> None:
    """Save the case in error with one `error` event; withdraw its tasks and timers."""
    assert record.id is not None
    case_id = record.id
    due = sorted((t.due_at, t.step, t.task_id) for t in uow.timers.for_case(case_id)
                 if due_by is not None and t.due_at <= due_by)
    _, step, task = due[0] if due else (None, None, None)
    error = {"message": message, "step": step, "task": task, "line": None,
             "kind": type(getattr(err, "orig", None) or err).__name__, **details}
    expected = record.revision
    record.status, record.error, record.waiting_for = "error", error, []
    record.updated_at = now
    first_seq = record.event_seq + 1
    record.event_seq += 1
    uow.cases.save(record, expected)
    uow.events.append(case_id, [NewEvent(type="error", at=now, step=step, data=error)],
                      first_seq=first_seq)
    uow.inbox.replace_open(case_id, [])
    uow.timers.replace(case_id, [])
