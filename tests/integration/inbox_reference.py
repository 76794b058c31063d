"""The inbox as it was computed before storage did the work (issue 17): every open row
loaded, then filtered, counted and sorted in Python. Kept as the reference the SQL inbox is
compared with (tests/integration/test_inbox_query.py, bench/inbox.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, get_args

from engine import access
from engine.access import privacy
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import Inbox, InboxProblem, InboxRow
from engine.dotted import dig
from engine.errors import DefinitionError, InvalidArgumentError
from engine.model import CaseRecord, InboxTask, User
from engine.ports import UnitOfWork

InboxScope = Literal["mine", "role", "unassigned"]
INBOX_SCOPES: tuple[str, ...] = get_args(InboxScope)
InboxSort = Literal["due", "-due", "created", "-created", "client", "-client", "pathway",
                    "step", "title"]
INBOX_SORTS: tuple[str, ...] = get_args(InboxSort)


_MISSING = object()
# version -> why its definition cannot be loaded, and the ids of its tasks
_Unloadable = dict[tuple[str, int], tuple[DefinitionError, list[str]]]


def _matches(actual: Any, wanted: str) -> bool:
    """A case-data filter: the value as text (JSON for non-strings: true, 3, null)."""
    if actual is _MISSING:
        return False
    if isinstance(actual, str):
        return actual == wanted
    return json.dumps(actual) == wanted or str(actual) == wanted


def reference_inbox(cw: CaseworkContext, user: User, *, scope: str, pathway: str | None,
          version: int | None, step: str | None, client_id: int | None,
          data: Mapping[str, str] | None, overdue: bool | None, sort: str) -> Inbox:
    """Open tasks the user may do, across every version of every pathway.

    scope: "mine" (assigned to the user), "role" (every task the user may do, whoever it
    is assigned to) or "unassigned". data filters on case data (dotted keys such as
    client.release_date; a non-text value compares as JSON: true, 3). overdue: True for
    only overdue tasks, False for only the others. sort: due (undated last), -due,
    created, -created, client, -client (by name), pathway, step, title.
    """
    if scope not in INBOX_SCOPES:
        raise InvalidArgumentError(f"unknown inbox scope {scope!r}; use one of "
                                   f"{', '.join(INBOX_SCOPES)}", details={"scope": scope})
    if sort not in INBOX_SORTS:
        raise InvalidArgumentError(f"unknown sort {sort!r}; use one of "
                                   f"{', '.join(INBOX_SORTS)}", details={"sort": sort})
    now = cw.clock.now()
    rows: list[InboxRow] = []
    unloadable: _Unloadable = {}
    with cw.uow(read_only=True) as uow:
        if user.active and user.role in access.TASK_ROLES:
            tasks = _doable(cw, uow, user, uow.inbox.list(pathway=pathway, version=version,
                                                          step=step), unloadable)
            rows = _rows(cw, uow, user, tasks, client_id, data or {}, unloadable, now)
    in_scope = {
        "mine": [r for r in rows if r.assignee == user.username],
        "role": rows,
        "unassigned": [r for r in rows if r.assignee is None],
    }
    chosen = in_scope[scope]
    counts = {name: len(found) for name, found in in_scope.items()}
    counts["overdue"] = sum(r.overdue for r in chosen)
    if overdue is not None:
        chosen = [r for r in chosen if r.overdue == overdue]
    return Inbox(_sorted(chosen, sort, now), counts, _inbox_problems(user, unloadable))


def _doable(cw: CaseworkContext, uow: UnitOfWork, user: User, listed: Iterable[InboxTask],
            unloadable: _Unloadable) -> list[InboxTask]:
    """The listed tasks the user may do; those whose version cannot be loaded are noted
    in unloadable (and kept for an admin, who sees them marked)."""
    tasks = []
    for t in listed:
        loaded = cw.loaded(uow, t.pathway, t.version)
        if isinstance(loaded, DefinitionError):
            unloadable.setdefault((t.pathway, t.version), (loaded, []))[1].append(t.id)
            if access.may_see_unloadable(user):
                tasks.append(t)
        elif access.may_do_task(user, t, loaded):
            tasks.append(t)
    return tasks


def _rows(cw: CaseworkContext, uow: UnitOfWork, user: User, tasks: list[InboxTask],
          client_id: int | None, data: Mapping[str, str], unloadable: _Unloadable,
          now: datetime) -> list[InboxRow]:
    """The tasks of active cases (of the client, if given) that pass the data filters."""
    cases = {c.id: c for c in uow.cases.list(status="active", client_id=client_id)}
    names: dict[int, str] = {}
    redactors: dict[int, privacy.Redactor] = {}
    rows = []
    for task in tasks:
        case = cases.get(task.case_id)
        if case is None or not _passes(cw, uow, user, case, data, redactors):
            continue
        if case.client_id not in names:
            client = uow.clients.get(case.client_id)
            names[case.client_id] = client.name if client else ""
        broken = unloadable.get((task.pathway, task.version))
        rows.append(InboxRow(task, case.client_id, names[case.client_id], task.due,
                             task.due is not None and task.due < now, task.assignee,
                             problem=broken[0].message if broken else None))
    return rows


def _passes(cw: CaseworkContext, uow: UnitOfWork, user: User, case: CaseRecord,
            data: Mapping[str, str], redactors: dict[int, privacy.Redactor]) -> bool:
    """Whether the case's data matches every filter, each on a field the user may see (a
    filter must not tell what the record hides)."""
    if not data:
        return True
    if not all(_matches(dig(case.data, key, _MISSING), wanted) for key, wanted in data.items()):
        return False
    return all(cw.redactor(uow, user, case, redactors).field_visible(case, key)
               for key in data)


def _inbox_problems(user: User, unloadable: Mapping[tuple[str, int], tuple[
        DefinitionError, list[str]]]) -> list[InboxProblem]:
    """What the inbox could not show: per version for an admin (listed and marked), one
    vague notice for anyone else (where and how many would tell what they may not see).
    Counted before the case filters: a filter on case data cannot be judged for them."""
    if not unloadable:
        return []
    if not access.may_see_unloadable(user):
        return [InboxProblem("Some tasks cannot be shown: the definition of a pathway "
                             "version cannot be loaded. An admin can see which.")]
    found = []
    for (pathway, version), (err, task_ids) in sorted(unloadable.items()):
        count = len(task_ids)
        found.append(InboxProblem(
            f"{count} task{'s' if count != 1 else ''} of {pathway} v{version} cannot be "
            f"opened: its definition cannot be loaded ({err.message})",
            pathway=pathway, version=version, tasks=count, reason=err.message))
    return found


def _sorted(rows: list[InboxRow], sort: str, now: datetime) -> list[InboxRow]:
    far = datetime.max.replace(tzinfo=now.tzinfo)
    key = sort.removeprefix("-")
    reverse = sort.startswith("-")
    rows = sorted(rows, key=lambda r: (r.task.created_at or far, r.task.id))
    if key == "due":
        dated = sorted((r for r in rows if r.due is not None),
                       key=lambda r: r.due or far, reverse=reverse)
        return dated + [r for r in rows if r.due is None]
    if key == "created":
        return sorted(rows, key=lambda r: r.task.created_at or far, reverse=reverse)
    if key == "client":
        return sorted(rows, key=lambda r: (r.client_name.casefold(), r.client_id),
                      reverse=reverse)
    attribute = {"pathway": lambda r: (r.task.pathway, r.task.version),
                 "step": lambda r: (r.task.step,), "title": lambda r: (r.task.title,)}
    return sorted(rows, key=attribute[key])

