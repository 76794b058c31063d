"""Turning a case's `notification_requested` events into Notifications, and recording a
notification that could not be sent.

The event keeps who and the message as written; the message is rendered here, when it is
sent, from the case's data then (engine.workflow.message_templates), so no client's details
are copied into the event log. Whom it reaches:

* a role: the active caseworkers and team leads who may do that role's tasks (their pathway
  roles and their organisation, as for the inbox; admins, who may do any task, are not
  anyone's people);
* `assignee`: a reminder's or escalation's task's assignee, else (nobody has claimed it) the
  people of the task's role; for a notify step, the person who completed the case's latest
  task;
* `team_lead`: the active users whose job is `team_lead` in the organisations the role the
  notification is about is open to (a role open to every organisation: the pathway owner's
  team leads, or every team lead when the pathway has no owner).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.model import NewEvent, User
from engine.ports import Notification, UnitOfWork
from engine.workflow.definition_model import (
    NOTIFY_KIND,
    NOTIFY_MESSAGE,
    NOTIFY_ROLE,
    NOTIFY_TASK,
    NOTIFY_TO,
    ParsedDefinition,
)
from engine.workflow.message_templates import render

ASSIGNEE, TEAM_LEAD = "assignee", "team_lead"
NOTIFICATION_FAILED = "notification_failed"


def notification_request(task: Any, props: Mapping[str, str]) -> dict[str, Any]:
    """What a notify (or a task's reminder or escalation) asks for: who, and the message as
    written (rendered only when sent, so the log keeps no client's details); for a reminder
    or an escalation, the task it is about, with its due time."""
    data: dict[str, Any] = {"to": props[NOTIFY_TO], "message": props.get(NOTIFY_MESSAGE, "")}
    if props.get(NOTIFY_ROLE):
        data["role"] = props[NOTIFY_ROLE]
    about = props.get(NOTIFY_TASK)
    if about:
        held = _reminded_task(task, about)
        data["about"] = about
        data["kind"] = props.get(NOTIFY_KIND) or "reminder"
        if held is not None:
            data["task"] = str(held.id)
            data["due"] = held._get_internal_data("pathways_due")
            data["title"] = held.task_spec.bpmn_name or about
    return data


def _reminded_task(task: Any, step: str) -> Any | None:
    """The user task a reminder's or escalation's path is about: a child of the split that
    holds it and its boundary events (SpiffWorkflow's BoundaryEventSplit), found upwards."""
    parent = task.parent
    while parent is not None:
        for child in parent.children:
            spec = child.task_spec
            if str(spec.bpmn_id or spec.name) == step and spec.manual:
                return child
        parent = parent.parent
    return None


def build_notification(uow: UnitOfWork, case_id: int, client_id: int, event: NewEvent,
                       parsed: ParsedDefinition, data: Mapping[str, Any]) -> Notification:
    """The Notification a notification_requested event asks for, its message rendered and
    its recipients (usernames) found."""
    request = event.data
    to = str(request.get("to", ""))
    due = request.get("due")
    about = request.get("about")
    # a sensitive task's title may say what it is (a health assessment): never sent
    hidden = parsed.sensitive_pathway or (about and parsed.sensitive_steps.get(str(about)))
    title = "a task" if hidden else request.get("title")
    values = {**data, "case": case_id, "due": str(due)[:10] if due else None, "task": title}
    role, recipients = _recipients(uow, case_id, request, parsed)
    kind = str(request.get("kind") or "notify")
    # a notify step's id may say what a sensitive pathway or step is about: never sent
    step = None if parsed.sensitive_pathway or (
        event.step and parsed.sensitive_steps.get(event.step)) else event.step
    subject = {"reminder": f"Reminder: {title}", "escalation": f"Overdue: {title}"}.get(
        kind, f"Case {case_id}: {step or 'notification'}")
    return Notification(case_id=case_id, client_id=client_id, to_role=to,
                        message=render(str(request.get("message", "")), values),
                        step=event.step, subject=subject, recipients=tuple(recipients),
                        role=role, kind=kind)


def _recipients(uow: UnitOfWork, case_id: int, request: Mapping[str, Any],
                parsed: ParsedDefinition) -> tuple[str | None, list[str]]:
    """(the lane role the notification is for, the usernames it reaches)."""
    to = str(request.get("to", ""))
    about_role = request.get("role")
    if to not in (ASSIGNEE, TEAM_LEAD) or to in parsed.role_organisations \
            or to in parsed.role_titles:
        return to, _role_holders(uow.users.list(), to, parsed)
    if to == TEAM_LEAD:
        return about_role, _team_leads(uow.users.list(), about_role, parsed)
    task_id = request.get("task")
    if task_id:
        row = uow.inbox.get(str(task_id))
        if row is not None and row.assignee:
            return row.role, [row.assignee]
        role = row.role if row is not None else about_role
        return role, _role_holders(uow.users.list(), role, parsed)
    actors = [e.actor for e in uow.events.list(case_id)
              if e.type == "task_completed" and e.actor]
    return about_role, actors[-1:]


def _role_holders(users: Iterable[User], role: str | None, parsed: ParsedDefinition
                  ) -> list[str]:
    return [u.username for u in users
            if u.active and u.role in ("caseworker", "team_lead")
            and (not u.pathway_roles or role in u.pathway_roles)
            and parsed.role_open_to(role, u.organisation)]


def _team_leads(users: Iterable[User], role: str | None, parsed: ParsedDefinition
                ) -> list[str]:
    leads = [u for u in users if u.active and u.role == TEAM_LEAD]
    allowed = parsed.role_organisations.get(role) if role else None
    if allowed:
        return [u.username for u in leads if u.organisation in allowed]
    if parsed.owner:
        return [u.username for u in leads if u.organisation == parsed.owner]
    return [u.username for u in leads]


def failure_event(notification: Notification, reason: str, now: datetime) -> NewEvent:
    """The event that says a notification was not sent, with what it was for and why (no
    message text: it may name the client)."""
    return NewEvent(type=NOTIFICATION_FAILED, at=now, step=notification.step, data={
        "to": notification.to_role, "recipients": list(notification.recipients),
        "kind": notification.kind, "reason": reason[:500]})


def record_failure(uow: UnitOfWork, case_id: int, event: NewEvent) -> bool:
    """Append a notification_failed event to the case (numbered under its revision, as every
    event of a case is); whether the case was there to take it."""
    record = uow.cases.get(case_id)
    if record is None or record.id is None:
        return False
    expected = record.revision
    first_seq = record.event_seq + 1
    record.event_seq += 1
    uow.cases.save(record, expected)
    uow.events.append(record.id, [event], first_seq=first_seq)
    return True
