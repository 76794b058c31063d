"""The task inbox and the operations on one task."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine import access
from engine.casework import (
    COUNT_CAP,
    INBOX_SCOPES,
    INBOX_SORTS,
    PER_PAGE_MAX,
    Inbox,
    TaskPage,
)
from engine.errors import ForbiddenError, InvalidArgumentError
from engine.numbers import MAX_ID
from engine.plain import to_plain
from web.api.common import api_user, bp
from web.api.openapi import operation
from web.api.schemas import BOOL, INT, TEXT, request_body
from web.api.shapes import (
    case_brief_json,
    draft_json,
    inbox_problem_json,
    inbox_task_json,
    maybe_task_json,
    task_json,
)
from web.boundary import query_id, query_number
from web.security import application

PER_PAGE = 50  # tasks a page lists unless limit says otherwise


def _query_data(problems: dict[str, list[str]]) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for item in request.args.getlist("data"):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            problems.setdefault("data", []).append(f"{item!r}: write it as field=value")
            continue
        found[key.strip()] = value
    return found or None


_INBOX_QUERY = (
    {"name": "scope", "schema": {"type": "string", "enum": list(INBOX_SCOPES),
                                 "default": "role"},
     "description": "mine: assigned to me; role: every task I may do; unassigned"},
    {"name": "pathway", "schema": TEXT},
    {"name": "version", "schema": INT},
    {"name": "step", "schema": TEXT},
    {"name": "client", "schema": INT, "description": "a client id"},
    {"name": "data", "schema": {"type": "array", "items": TEXT}, "explode": True,
     "style": "form", "description": "case data filters, each field=value (dotted field "
     "names such as client.release_date; a non-text value compares as JSON: true, 3)"},
    {"name": "overdue", "schema": BOOL,
     "description": "true: only overdue tasks; false: only the others"},
    {"name": "sort", "schema": {"type": "string", "enum": list(INBOX_SORTS),
                                "default": "due"}},
    {"name": "limit", "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX,
                                 "default": PER_PAGE},
     "description": "the most tasks to list (a page)"},
    {"name": "offset", "schema": {"type": "integer", "minimum": 0, "default": 0},
     "description": "tasks to skip (next_offset of the page before)"},
)


@bp.get("/tasks")
@operation("The task inbox", tag="tasks", result="Inbox", query=_INBOX_QUERY,
           errors=(400, 403), description="Open tasks the user may do, across every "
           "version of every pathway, with the counts of each scope, a page at a time "
           "(limit, offset; total counts every page). pathway and step take ids (or the "
           "names the inbox shows); one that names no published pathway, version or step "
           "is a 400 naming the field. Designers and commissioners have no inbox (403).")
def inbox() -> ResponseReturnValue:
    user = api_user()
    if user.role not in access.TASK_ROLES:
        raise ForbiddenError("the task inbox is for caseworkers, team leads and admins",
                             details={"role": user.role})
    args = request.args
    problems: dict[str, list[str]] = {}
    scope = args.get("scope") or "role"
    if scope not in INBOX_SCOPES:
        problems["scope"] = [f"must be one of {', '.join(INBOX_SCOPES)}"]
    sort = args.get("sort") or "due"
    if sort not in INBOX_SORTS:
        problems["sort"] = [f"must be one of {', '.join(INBOX_SORTS)}"]
    version = query_id("version", problems)
    client = query_id("client", problems)
    overdue_text = (args.get("overdue") or "").lower()
    overdue = {"true": True, "false": False}.get(overdue_text)
    if overdue_text and overdue is None:
        problems["overdue"] = ["must be true or false"]
    data = _query_data(problems)
    limit = query_number("limit", problems, default=PER_PAGE, minimum=1, maximum=PER_PAGE_MAX)
    offset = query_number("offset", problems, default=0, minimum=0, maximum=MAX_ID)
    if problems:
        raise InvalidArgumentError("invalid query parameters", details={"fields": problems})
    result: Inbox = application().casework.inbox(
        user, scope=scope, pathway=args.get("pathway") or None, version=version,
        step=args.get("step") or None, client_id=client, data=data, overdue=overdue,
        sort=sort, limit=limit, offset=offset, count_cap=COUNT_CAP)
    return jsonify({"tasks": [inbox_task_json(row) for row in result.rows],
                    "counts": result.counts,
                    "problems": [inbox_problem_json(p) for p in result.problems],
                    "over": sorted(result.over), "total_over": result.total_over,
                    "total": result.total, "limit": limit, "offset": offset,
                    "next_offset": _next_offset(result, limit, offset)})


def _next_offset(result: Inbox, limit: int, offset: int) -> int | None:
    """The next page's offset, or None after the last (past a count that stopped at its
    cap, a full page may have a next one)."""
    after = offset + len(result.rows)
    more = after < result.total or (result.total_over and len(result.rows) == limit)
    return after if more else None


@bp.post("/tasks/reassign")
@operation("Reassign tasks", tag="tasks", result="TaskList", body="ReassignRequest",
           errors=(400, 403, 404, 422),
           description="Assign the tasks (all or none) to a user of your organisation, or "
           "with to=null make them unassigned. Team leads and admins only.")
def reassign() -> ResponseReturnValue:
    body = request_body("ReassignRequest")
    done = application().casework.reassign(api_user(), body["tasks"], body["to"])
    return jsonify({"tasks": [task_json(task) for task in done]})


@bp.get("/tasks/<task_id>")
@operation("A task with its form", tag="tasks", result="TaskDetail", errors=(404, 422),
           description="The task, its form's JSON Schema, the values prefilled from the "
           "client record and the user's draft. The view is written to the access log.")
def task(task_id: str) -> ResponseReturnValue:
    page: TaskPage = application().casework.task(api_user(), task_id)
    return jsonify({
        "task": {**task_json(page.task), "overdue": page.overdue, "may_act": page.may_act},
        "case": case_brief_json(page.case),
        "client": {"id": page.client.id, "name": page.client.name},
        "schema": page.schema,
        "prefill": to_plain(page.prefill),
        "draft": draft_json(page.draft) if page.draft is not None else None,
        "values": to_plain(page.values),
    })


@bp.post("/tasks/<task_id>/claim")
@operation("Claim a task", tag="tasks", result="TaskResult", errors=(403, 404, 422),
           description="Assign the task to yourself. A task assigned to someone else can be "
           "taken over only by a team lead or an admin (403).")
def claim(task_id: str) -> ResponseReturnValue:
    return jsonify({"task": task_json(application().casework.claim(api_user(), task_id))})


@bp.post("/tasks/<task_id>/unclaim")
@operation("Give a task back", tag="tasks", result="TaskResult", errors=(403, 404, 422),
           description="Make the task unassigned (its assignee, a team lead or an admin).")
def unclaim(task_id: str) -> ResponseReturnValue:
    return jsonify({"task": task_json(application().casework.unclaim(api_user(), task_id))})


@bp.put("/tasks/<task_id>/draft")
@operation("Save a draft", tag="tasks", result="DraftResult", body="FormData",
           errors=(400, 403, 404, 422),
           description="Keep part-filled form data for later (not validated against the "
           "form); replaces your draft of the task.")
def save_draft(task_id: str) -> ResponseReturnValue:
    body = request_body("FormData")
    draft = application().casework.save_draft(api_user(), task_id, body["data"])
    return jsonify({"draft": draft_json(draft)})


@bp.post("/tasks/<task_id>/complete")
@operation("Complete a task", tag="tasks", result="Completion", body="FormData",
           errors=(400, 403, 404, 409, 422),
           description="Submit the form. Data that does not fit it saves nothing: 422 with "
           "details.fields. Drafts of the task are dropped; next_task is the next open task "
           "of the same client you may do.")
def complete(task_id: str) -> ResponseReturnValue:
    body = request_body("FormData")
    done = application().casework.complete(api_user(), task_id, body["data"])
    return jsonify({"case_id": done.case_id, "status": done.status,
                    "next_task": maybe_task_json(done.next_task), "error": to_plain(done.error)})
