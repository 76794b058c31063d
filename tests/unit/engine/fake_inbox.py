"""The inbox reads of the in-memory storage (engine.ports.InboxRepository.open_versions,
search, count), written plainly in Python from the port's description."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from engine.model import CaseRecord, Client, InboxHit, InboxQuery, InboxTask, TaskGrant


def granted(grant: TaskGrant, task: InboxTask) -> bool:
    if grant.everything:
        return True
    return ((task.pathway, task.version) not in grant.hidden
            and task.organisation in (None, grant.organisation)
            and (grant.roles is None or task.role in grant.roles)
            and (task.role is None
                 or (task.pathway, task.version, task.role) not in grant.denied))


def _late(task: InboxTask, now: datetime) -> bool:
    return task.due is not None and task.due < now


def _in_scope(query: InboxQuery, task: InboxTask) -> bool:
    return {"mine": task.assignee == query.username, "role": True,
            "unassigned": task.assignee is None}[query.scope]


def all_scopes(query: InboxQuery, tasks: Iterable[InboxTask], cases: dict[int, CaseRecord],
               clients: dict[int, Client]) -> list[InboxHit]:
    """The query's hits in every scope (data filters are left to the caller)."""
    found = []
    for task in tasks:
        case = cases.get(task.case_id)
        if (case is None or case.status != "active" or not granted(query.grant, task)
                or (query.client_id is not None and case.client_id != query.client_id)
                or any(value is not None and getattr(task, name) != value for name, value in
                       (("pathway", query.pathway), ("version", query.version),
                        ("step", query.step)))):
            continue
        client = clients.get(case.client_id)
        found.append(InboxHit(task, case.client_id, client.name if client else ""))
    return found


def search(query: InboxQuery, hits: list[InboxHit]) -> list[InboxHit]:
    chosen = [h for h in hits if _in_scope(query, h.task)
              and (query.overdue is None or _late(h.task, query.now) == query.overdue)]
    return _sorted(chosen, query.sort)


def count(query: InboxQuery, hits: list[InboxHit]) -> dict[str, int]:
    found = {scope: sum(_in_scope(InboxQuery(query.grant, query.username, query.now,
                                             scope=scope), h.task) for h in hits)
             for scope in ("mine", "role", "unassigned")}
    found["overdue"] = sum(_in_scope(query, h.task) and _late(h.task, query.now)
                           for h in hits)
    return found


def _sorted(hits: list[InboxHit], sort: str) -> list[InboxHit]:
    far = datetime.max.replace(tzinfo=UTC)
    key, reverse = sort.removeprefix("-"), sort.startswith("-")
    hits = sorted(hits, key=lambda h: (h.task.created_at or far, h.task.id))
    keys: dict[str, Any] = {
        "created": lambda h: h.task.created_at or far,
        "client": lambda h: (h.client_name.casefold(), h.client_id),
        "pathway": lambda h: (h.task.pathway, h.task.version),
        "step": lambda h: h.task.step, "title": lambda h: h.task.title}
    if key == "due":
        dated = sorted((h for h in hits if h.task.due is not None),
                       key=lambda h: h.task.due or far, reverse=reverse)
        return dated + [h for h in hits if h.task.due is None]
    return sorted(hits, key=keys[key], reverse=reverse)
