"""What the API returns: engine records as the JSON the OpenAPI document describes."""

from __future__ import annotations

from typing import Any

from engine.casework import (
    InboxProblem,
    InboxRow,
)
from engine.model import (
    CaseRecord,
    Client,
    Consent,
    Draft,
    InboxTask,
)
from engine.plain import to_plain
from web.api.schemas import CASE_BRIEF_PROPERTIES, TASK_PROPERTIES


def task_json(task: InboxTask) -> dict[str, Any]:
    return {name: to_plain(getattr(task, name)) for name in TASK_PROPERTIES}


def inbox_task_json(row: InboxRow) -> dict[str, Any]:
    return {**task_json(row.task), "client_id": row.client_id, "client_name": row.client_name,
            "overdue": row.overdue, "problem": row.problem}


def inbox_problem_json(problem: InboxProblem) -> dict[str, Any]:
    """A version the inbox could not load, in the error shape (details empty for anyone but
    an admin: see Casework.inbox)."""
    details = {} if problem.pathway is None else {
        "pathway": problem.pathway, "version": problem.version, "tasks": problem.tasks}
    return {"code": "invalid_definition", "message": problem.message, "details": details}


def case_brief_json(case: CaseRecord) -> dict[str, Any]:
    return {name: to_plain(getattr(case, name)) for name in CASE_BRIEF_PROPERTIES}


def draft_json(draft: Draft) -> dict[str, Any]:
    return {"task_id": draft.task_id, "case_id": draft.case_id, "data": to_plain(draft.data),
            "saved_at": to_plain(draft.saved_at)}


def client_json(client: Client) -> dict[str, Any]:
    return {"id": client.id, "name": client.name, "fields": to_plain(client.fields),
            "created_at": to_plain(client.created_at)}


def consent_json(consent: Consent) -> dict[str, Any]:
    return to_plain(consent)  # type: ignore[no-any-return]


def maybe_task_json(task: InboxTask | None) -> dict[str, Any] | None:
    return task_json(task) if task is not None else None
