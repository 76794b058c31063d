"""What became of a task that is no longer open, for the person whose answers to it could not
be saved (a colleague completed it first, its case was cancelled or moved to another version,
or it ended): so the web can say what happened and what to do, with their answers kept.

Nothing is told of a task the user could not have worked on: the task must have been ready in
the case named (its task_ready event), and the user must be one who may do it, as the inbox's
checks decide (role, organisation, break-glass cases hidden from the uninvolved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.casework.casework_access import CARE_ACTIONS, CaseworkContext, glass_cases
from engine.model import CaseRecord, Client, Event, InboxTask, User

MOVES = ("case_migrated", "migration_reverted")


@dataclass(frozen=True)
class TaskFate:
    """kind: "completed" (by, at), "cancelled" (by, at), "moved" (to another version,
    at another step: a move that keeps the step keeps the task open), "ended" (the case
    completed or stopped) or "closed" (no longer open, nothing more known)."""

    kind: str
    task: InboxTask  # as it was when ready (its form, title, step)
    client: Client
    schema: dict[str, Any] | None  # the form it had
    by: str | None = None
    at: datetime | None = None
    version: int | None = None


def task_fate(cw: CaseworkContext, user: User, task_id: str, case_id: int
              ) -> TaskFate | None:
    """What became of task_id of case case_id; None when there is nothing the user may be
    told (no such task there, or not one the user may do)."""
    with cw.uow(read_only=True) as uow:
        case = uow.cases.get(case_id, with_state=False)
        events = uow.events.list(case_id) if case is not None else []
        ready = next((e for e in events if e.type == "task_ready"
                      and e.data.get("task") == task_id and e.step), None)
        if case is None or ready is None:
            return None
        was = _as_ready(case, events, ready, task_id)
        if not cw.may_do(uow, user, was) or _hidden(cw, uow, user, case):
            return None
        client = uow.clients.get(case.client_id)
        if client is None:
            return None
        kind, closing = _what_happened(events, ready, task_id, case)
        return TaskFate(kind, was, client, _schema(cw, uow, was),
                        closing.actor if closing else None, closing.at if closing else None,
                        closing.data.get("to_version") if closing else None)


def _schema(cw: CaseworkContext, uow: Any, task: InboxTask) -> dict[str, Any] | None:
    """The form the task had (None: none, or its version cannot be loaded)."""
    definition = cw.definition(uow, task.pathway, task.version)
    info = definition.user_tasks.get(task.step) if definition else None
    return definition.form_schema(info.form) if definition and info else None


def _as_ready(case: CaseRecord, events: Sequence[Event], ready: Event, task_id: str
              ) -> InboxTask:
    """The task as its task_ready event left it, at the version the case then ran."""
    version = case.version
    for event in events:  # the first move after it says which version it was ready in
        if event.seq > ready.seq and event.type in MOVES and \
                isinstance(event.data.get("from_version"), int):
            version = event.data["from_version"]
            break
    data = ready.data
    return InboxTask(id=task_id, case_id=case.id or 0, pathway=case.pathway, version=version,
                     step=ready.step or "", title=str(data.get("title") or ready.step),
                     role=data.get("role"), form=None, due=None,
                     organisation=data.get("organisation"))


def _hidden(cw: CaseworkContext, uow: Any, user: User, case: CaseRecord) -> bool:
    """A case started under break-glass is not told of to the uninvolved (as visible())."""
    if user.role == "admin":
        return False
    cases = uow.cases.of_same_client(case.id)
    log = uow.access_log.list(client_id=case.client_id, actions=CARE_ACTIONS)
    return case.id in glass_cases(cases, log) and not cw.involved(uow, user, cases, log)


def _what_happened(events: Sequence[Event], ready: Event, task_id: str, case: CaseRecord
                   ) -> tuple[str, Event | None]:
    """(kind, the event that closed the task) from the events after it was ready: its
    completion, else the case's cancellation, else its last move (a migration keeps the
    task of a step it keeps, so one may come before the completion)."""
    after = [e for e in events if e.seq > ready.seq]
    for kind, found in (
            ("completed", lambda e: e.type == "task_completed" and
             e.data.get("task") == task_id),
            ("cancelled", lambda e: e.type == "case_cancelled"),
            ("moved", lambda e: e.type in MOVES)):
        closing = next((e for e in reversed(after) if found(e)), None)
        if closing is not None:
            return kind, closing
    return ("ended" if case.status != "active" else "closed"), None
