"""A task, as a caseworker works it: its page, claim, reassign, drafts, completion."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from engine import access
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import Completion, Reassignment, TaskPage
from engine.casework.task_start import record_task_started, retrying
from engine.errors import ForbiddenError, InvalidArgumentError, NotFoundError
from engine.model import CaseRecord, Draft, InboxTask, User
from engine.plain import to_plain
from engine.ports import UnitOfWork
from engine.workflow.forms import CLIENT_PREFIX, SAVE_TO, computed_fields, computed_values

PREFILL = "x-pathways-prefill"


def task(cw: CaseworkContext, user: User, task_id: str) -> TaskPage:
    """The task page: its form, prefilled from the client record, and the user's draft.
    The view is written to the access log."""
    with cw.uow() as uow:
        task = cw.visible_task(uow, user, task_id)
        case = uow.cases.get(task.case_id, with_state=False)
        if case is None:
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
        client = uow.clients.get(case.client_id)
        if client is None:
            raise NotFoundError(f"no client {case.client_id}")
        definition = cw.definition(uow, task.pathway, task.version)
        schema = definition.form_schema(task.form) if definition else None
        prefill: dict[str, Any] = {}
        for name, prop in ((schema or {}).get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            source = prop.get(PREFILL) or prop.get(SAVE_TO)
            if isinstance(source, str) and source.startswith(CLIENT_PREFIX):
                client_field = source.removeprefix(CLIENT_PREFIX)
                if client_field in client.fields:
                    prefill[name] = client.fields[client_field]
        draft = uow.drafts.get(task_id, user.username)
        cw.log_access(uow, user, "view_task", case.client_id, task=task_id, case=case.id)
        uow.commit()
    return TaskPage(task=task, case=case, client=client, schema=schema, prefill=prefill,
                    draft=draft, values=_shown_values(schema, prefill, draft, case.data),
                    overdue=task.due is not None and task.due < cw.clock.now(),
                    may_act=access.may_act_on(user, task))


def _shown_values(schema: dict[str, Any] | None, prefill: Mapping[str, Any],
                  draft: Draft | None, case_data: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows: the prefill overlaid with the draft, and the computed fields as
    they stand now (worked out again when the task is completed), whatever a draft says of
    them."""
    computed = computed_fields(schema)
    values = {name: value for name, value in {**prefill, **(draft.data if draft else {})}.items()
              if name not in computed}
    values.update(computed_values(schema, values, case_data, strict=False))
    return values


def claim(cw: CaseworkContext, user: User, task_id: str) -> InboxTask:
    """Assign the task to the user. A task assigned to someone else can be taken over
    only by a team lead or an admin. The task's first claim records `task_started`."""
    return retrying(lambda: _claim(cw, user, task_id))


def _claim(cw: CaseworkContext, user: User, task_id: str) -> InboxTask:
    with cw.uow() as uow:
        task = cw.acting_task(uow, user, task_id)
        record_task_started(uow, task, user.username, "claim", cw.clock.now)
        if task.assignee != user.username:
            uow.inbox.assign(task_id, user.username)
            cw.log_access(uow, user, "claim", cw.case_client(uow, task.case_id),
                          task=task_id, previous=task.assignee)
        uow.commit()
    return dataclasses.replace(task, assignee=user.username)


def unclaim(cw: CaseworkContext, user: User, task_id: str) -> InboxTask:
    """Make the task unassigned again (the assignee, a team lead or an admin)."""
    with cw.uow() as uow:
        task = cw.acting_task(uow, user, task_id)
        if task.assignee is not None:
            uow.inbox.assign(task_id, None)
            cw.log_access(uow, user, "unclaim", cw.case_client(uow, task.case_id),
                          task=task_id, previous=task.assignee)
            uow.commit()
    return dataclasses.replace(task, assignee=None)


def reassign(cw: CaseworkContext, lead: User, task_ids: Sequence[str], to_username: str | None
             ) -> list[InboxTask]:
    """Assign tasks (all or none) to a user, or with None make them unassigned.

    Only team leads and admins. A team lead reassigns to users of their own organisation;
    the new assignee must be active and allowed to do every one of the tasks.
    """
    return _reassign(cw, lead, task_ids, to_username, every=True)[0]


def reassign_each(cw: CaseworkContext, lead: User, task_ids: Sequence[str],
                  to_username: str | None) -> Reassignment:
    """reassign, task by task: every task that can be is reassigned (in one transaction),
    and each that cannot is listed with why (not found, or the new assignee may not do
    it). A target who is not an active user of the lead's organisation is still a
    NotFoundError for the whole request: nothing could be reassigned to them."""
    done, refused = _reassign(cw, lead, task_ids, to_username, every=False)
    return Reassignment(done, refused)


def _target(uow: UnitOfWork, lead: User, to_username: str | None) -> User | None:
    if to_username is None:
        return None
    target = uow.users.by_username(to_username)
    if target is None or not target.active or (
            lead.role != "admin" and target.organisation != lead.organisation):
        raise NotFoundError(f"no active user {to_username!r} in your organisation",
                            details={"user": to_username})
    return target


def _reassign(cw: CaseworkContext, lead: User, task_ids: Sequence[str],
              to_username: str | None, *, every: bool
              ) -> tuple[list[InboxTask], list[tuple[str, str]]]:
    if not access.is_lead(lead):
        raise ForbiddenError("only a team lead or an admin can reassign tasks",
                             details={"role": lead.role})
    done: list[InboxTask] = []
    refused: list[tuple[str, str]] = []
    with cw.uow() as uow:
        target = _target(uow, lead, to_username)
        tasks = []
        for task_id in dict.fromkeys(task_ids):
            try:
                tasks.append(cw.visible_task(uow, lead, task_id))
            except NotFoundError:
                if every:
                    raise
                refused.append((task_id, "not found (done already, or not your team's)"))
        if target is not None:
            cannot = [t.id for t in tasks if not cw.may_do(uow, target, t)]
            if cannot and every:
                raise InvalidArgumentError(
                    f"{to_username} may not do task(s) {', '.join(cannot)}",
                    details={"user": to_username, "tasks": cannot})
            refused += [(t, f"{to_username} may not do it") for t in cannot]
            tasks = [t for t in tasks if t.id not in cannot]
        for task in tasks:
            uow.inbox.assign(task.id, to_username)
            cw.log_access(uow, lead, "reassign", cw.case_client(uow, task.case_id),
                          task=task.id, previous=task.assignee, to=to_username)
            done.append(dataclasses.replace(task, assignee=to_username))
        uow.commit()
    return done, refused


def save_draft(cw: CaseworkContext, user: User, task_id: str, data: Mapping[str, Any]) -> Draft:
    """Keep part-filled form data for later (not validated); replaces the user's draft.
    The task's first draft (unless it was claimed before) records `task_started`."""
    if not isinstance(data, Mapping):
        raise InvalidArgumentError("a draft must be a JSON object")
    plain = to_plain(dict(data))
    return retrying(lambda: _save_draft(cw, user, task_id, plain))


def _save_draft(cw: CaseworkContext, user: User, task_id: str, data: dict[str, Any]) -> Draft:
    with cw.uow() as uow:
        task = cw.acting_task(uow, user, task_id)
        record_task_started(uow, task, user.username, "draft", cw.clock.now)
        draft = Draft(task_id=task_id, case_id=task.case_id, username=user.username,
                      data=data, saved_at=cw.clock.now())
        uow.drafts.save(draft)
        uow.commit()
    return draft


def complete(cw: CaseworkContext, user: User, task_id: str, data: Mapping[str, Any]) -> Completion:
    """Complete the task (the form is validated; invalid data saves nothing), drop its
    drafts, and offer the next open task of the same client the user may do: the access
    check, the completion, the drafts and the next task in one transaction."""
    following: list[InboxTask | None] = []

    def guard(uow: UnitOfWork) -> int | CaseRecord:
        task, case = cw.acting(uow, user, task_id)
        uow.drafts.delete(task_id)
        return case if case is not None else task.case_id

    def finish(uow: UnitOfWork, case: CaseRecord) -> None:
        following.append(cw.next_task(uow, user, case.client_id, case.id))

    result = cw.engine.complete_task(task_id, data, actor=user.username, guard=guard,
                                     finish=finish)
    error = None
    if result.error is not None:
        with cw.uow(read_only=True) as uow:
            case = uow.cases.get(result.case_id, with_state=False)
            shown = cw.redactor(uow, user, case, {}).case(case) if case else None
            error = shown.error if shown is not None else {"message": access.HIDDEN}
    return Completion(result.case_id, result.status, result.tasks, following[0], error)
