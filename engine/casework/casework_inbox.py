"""The caseworker's inbox: open tasks the user may do, filtered, counted, sorted and paged.

Storage does the work (InboxRepository.search and count): the access rules that depend on
the definition (lane roles open to organisations) are worked out once per request from the
few published versions (their parsed definitions are cached) into a TaskGrant, which
storage tests row by row with the per-task columns (role, organisation). The SQL
statements per page do not grow with the number of cases. Case-data filters alone are
checked here, on the rows storage narrowed down (a field the user may not see must not
filter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal, get_args

from engine import access
from engine.access import privacy
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_views import Inbox, InboxChoices, InboxProblem, InboxRow
from engine.casework.inbox_choices import choices, resolve
from engine.dotted import dig
from engine.errors import DefinitionError, InvalidArgumentError
from engine.model import CaseRecord, InboxHit, InboxQuery, TaskGrant, User
from engine.ports import UnitOfWork
from engine.workflow.definition_model import ParsedDefinition

InboxScope = Literal["mine", "role", "unassigned"]
INBOX_SCOPES: tuple[str, ...] = get_args(InboxScope)
InboxSort = Literal["due", "-due", "created", "-created", "client", "-client", "pathway",
                    "step", "title"]
INBOX_SORTS: tuple[str, ...] = get_args(InboxSort)
PER_PAGE_MAX = 500  # rows one page may list
COUNT_CAP = 500  # the web page and the API count this many tasks past the page's offset


_MISSING = object()
# version -> why its definition cannot be loaded, and how many open tasks it has
_Unloadable = dict[tuple[str, int], tuple[DefinitionError, int]]
_Loaded = ParsedDefinition | DefinitionError | None


def _matches(actual: Any, wanted: str) -> bool:
    """A case-data filter: the value as text (JSON for non-strings: true, 3, null)."""
    if actual is _MISSING:
        return False
    if isinstance(actual, str):
        return actual == wanted
    return json.dumps(actual) == wanted or str(actual) == wanted


def _check(scope: str, sort: str, limit: int | None, offset: int) -> None:
    if scope not in INBOX_SCOPES:
        raise InvalidArgumentError(f"unknown inbox scope {scope!r}; use one of "
                                   f"{', '.join(INBOX_SCOPES)}", details={"scope": scope})
    if sort not in INBOX_SORTS:
        raise InvalidArgumentError(f"unknown sort {sort!r}; use one of "
                                   f"{', '.join(INBOX_SORTS)}", details={"sort": sort})
    if limit is not None and not 1 <= limit <= PER_PAGE_MAX:
        raise InvalidArgumentError(f"limit must be from 1 to {PER_PAGE_MAX}",
                                   details={"limit": limit})
    if offset < 0:
        raise InvalidArgumentError("offset must be 0 or more", details={"offset": offset})


def inbox(cw: CaseworkContext, user: User, *, scope: str, pathway: str | None,
          version: int | None, step: str | None, client_id: int | None,
          data: Mapping[str, str] | None, overdue: bool | None, sort: str,
          limit: int | None = None, offset: int = 0, count_cap: int | None = None,
          with_saved: bool = False, drafts: bool = False,
          since: datetime | None = None) -> Inbox:
    """Open tasks the user may do, across every version of every pathway.

    scope: "mine" (assigned to the user), "role" (every task the user may do, whoever it
    is assigned to) or "unassigned". data filters on case data (dotted keys such as
    client.release_date; a non-text value compares as JSON: true, 3). overdue: True for
    only overdue tasks, False for only the others. sort: due (undated last), -due,
    created, -created, client, -client (by name), pathway, step, title; tasks that tie
    keep the order they were created in, then by task id. pathway and step: ids, or the
    names the inbox shows (engine.casework.inbox_choices.resolve); one that names nothing
    is InvalidArgumentError with details.fields. limit and offset: the page
    (limit None: every row from offset); Inbox.total counts the rows of every page.
    count_cap: count at most count_cap + offset tasks of each count (Inbox.over names those
    that stopped there, Inbox.total_over says total did), so a page's cost does not grow
    with the number of open tasks; None counts them all. with_saved: Inbox.saved lists
    the user's saved filters (the web page's list: one query in the same transaction).
    drafts: only the tasks with a draft the user saved ("my drafts"). since: only the
    tasks created after it (the nav's links to what is new).
    """
    _check(scope, sort, limit, offset)
    empty = {name: 0 for name in (*INBOX_SCOPES, "overdue")}
    if not (user.active and user.role in access.TASK_ROLES):
        return Inbox([], empty, [], total=0)
    now = cw.clock.now()
    with cw.uow(read_only=True) as uow:
        offered, loaded, pathway, step = _versions(cw, uow, user, pathway, version, step)
        unloadable = _unloadable(uow, loaded, pathway, version, step)
        query = InboxQuery(grant(user, loaded), user.username, now, scope=scope,
                           pathway=pathway, version=version, step=step, client_id=client_id,
                           data=tuple((data or {}).items()), overdue=overdue, sort=sort,
                           drafts_of=user.username if drafts else None,
                           created_after=since)
        saved = uow.saved_filters.list(user.username) if with_saved else []
        if query.data:
            hits, counts = _filtered(cw, uow, user, query)
            total = len(hits)
            hits = hits[offset:None if limit is None else offset + limit]
        else:
            cap = None if count_cap is None else count_cap + offset
            counts = uow.inbox.count(query, cap=cap)
            total = _total(counts, scope, overdue)
            hits = uow.inbox.search(query, limit=limit, offset=offset)
    rows = [_row(hit, now, unloadable) for hit in hits]
    found = Inbox(rows, counts, _inbox_problems(user, unloadable), total=total,
                  choices=offered, saved=saved)
    return found if query.data or count_cap is None else _capped(found, count_cap + offset,
                                                                scope, overdue, offset)


def _versions(cw: CaseworkContext, uow: UnitOfWork, user: User, pathway: str | None,
              version: int | None, step: str | None
              ) -> tuple[InboxChoices, dict[tuple[str, int], _Loaded], str | None, str | None]:
    """What the filters offer the user, the versions under the filters (parsed, or why
    not), and the pathway and step ids the filters name (see inbox_choices.resolve)."""
    versions = uow.versions.list()
    every: dict[tuple[str, int], _Loaded] = {
        (v.pathway, v.number): cw.loaded(uow, v.pathway, v.number) for v in versions}
    pathway, step = resolve(choices(user, versions, every, takeable=False), pathway,
                            version, step)
    loaded = {key: found for key, found in every.items()
              if pathway in (None, key[0]) and version in (None, key[1])}
    return choices(user, versions, every), loaded, pathway, step


def inbox_choices(cw: CaseworkContext, user: User) -> InboxChoices:
    """What the inbox's filters offer (for a page whose filters could not be used)."""
    if not (user.active and user.role in access.TASK_ROLES):
        return InboxChoices()
    with cw.uow(read_only=True) as uow:
        versions = uow.versions.list()
        return choices(user, versions, {(v.pathway, v.number): cw.loaded(uow, v.pathway, v.number)
                                  for v in versions})


def _capped(found: Inbox, cap: int, scope: str, overdue: bool | None, offset: int) -> Inbox:
    """The inbox counted up to cap + 1: the counts past cap marked over and shown as cap,
    total a lower bound if its count stopped there."""
    over = frozenset(name for name, n in found.counts.items() if n > cap)
    counts = {name: min(n, cap) for name, n in found.counts.items()}
    total = max(_total(counts, scope, overdue), offset + len(found.rows))
    return replace(found, counts=counts, total=total, over=over,
                   total_over=("overdue" if overdue else scope) in over)


def grant(user: User, loaded: Mapping[tuple[str, int], _Loaded]) -> TaskGrant:
    """Which tasks of these versions the user may do (access.may_do_task as storage tests
    it): a version that cannot be loaded only for an admin, who may do everything."""
    if user.role == "admin":
        return TaskGrant(everything=True)
    denied = frozenset(
        (pathway, version, role)
        for (pathway, version), found in loaded.items()
        if isinstance(found, ParsedDefinition)
        for role in found.role_organisations
        if not found.role_open_to(role, user.organisation))
    return TaskGrant(
        hidden=frozenset(key for key, found in loaded.items()
                         if isinstance(found, DefinitionError)),
        organisation=user.organisation, denied=denied,
        roles=frozenset(user.pathway_roles) if user.pathway_roles else None)


def _unloadable(uow: UnitOfWork, loaded: Mapping[tuple[str, int], _Loaded],
                pathway: str | None, version: int | None, step: str | None) -> _Unloadable:
    """The versions that cannot be loaded and have open tasks under the filters (counted
    only when there are such versions)."""
    broken = {key: found for key, found in loaded.items() if isinstance(found, DefinitionError)}
    if not broken:
        return {}
    tasks = uow.inbox.open_versions(pathway=pathway, version=version, step=step)
    return {key: (found, tasks[key]) for key, found in broken.items() if tasks.get(key)}


def _total(counts: Mapping[str, int], scope: str, overdue: bool | None) -> int:
    if overdue is None:
        return counts[scope]
    return counts["overdue"] if overdue else counts[scope] - counts["overdue"]


def _row(hit: InboxHit, now: datetime, unloadable: _Unloadable) -> InboxRow:
    task = hit.task
    broken = unloadable.get((task.pathway, task.version))
    return InboxRow(task, hit.client_id, hit.client_name, task.due,
                    task.due is not None and task.due < now, task.assignee,
                    problem=broken[0].message if broken else None)


def _filtered(cw: CaseworkContext, uow: UnitOfWork, user: User, query: InboxQuery
              ) -> tuple[list[InboxHit], dict[str, int]]:
    """With case-data filters: every row storage narrowed them to (in every scope, sorted),
    checked here one case at a time; the chosen scope's rows and the counts."""
    hits = _data_matches(cw, uow, user, query)
    in_scope = {
        "mine": [h for h in hits if h.task.assignee == user.username],
        "role": hits,
        "unassigned": [h for h in hits if h.task.assignee is None],
    }
    chosen = in_scope[query.scope]
    counts = {name: len(found) for name, found in in_scope.items()}
    late = [h for h in chosen if h.task.due is not None and h.task.due < query.now]
    counts["overdue"] = len(late)
    if query.overdue is not None:
        late_ids = {h.task.id for h in late}
        chosen = late if query.overdue else [h for h in chosen if h.task.id not in late_ids]
    return chosen, counts


def _data_matches(cw: CaseworkContext, uow: UnitOfWork, user: User, query: InboxQuery
                  ) -> list[InboxHit]:
    """The rows (of every scope, overdue or not) whose case passes the data filters."""
    cases: dict[int, CaseRecord | None] = {}
    redactors: dict[int, privacy.Redactor] = {}
    hits = []
    for hit in uow.inbox.search(replace(query, scope="role", overdue=None)):
        case_id = hit.task.case_id
        if case_id not in cases:
            cases[case_id] = uow.cases.get(case_id, with_state=False)
        case = cases[case_id]
        if case is not None and _passes(cw, uow, user, case, dict(query.data), redactors):
            hits.append(hit)
    return hits


def _passes(cw: CaseworkContext, uow: UnitOfWork, user: User, case: CaseRecord,
            data: Mapping[str, str], redactors: dict[int, privacy.Redactor]) -> bool:
    """Whether the case's data matches every filter, each on a field the user may see (a
    filter must not tell what the record hides)."""
    if not all(_matches(dig(case.data, key, _MISSING), wanted) for key, wanted in data.items()):
        return False
    return all(cw.redactor(uow, user, case, redactors).field_visible(case, key)
               for key in data)


def _inbox_problems(user: User, unloadable: _Unloadable) -> list[InboxProblem]:
    """What the inbox could not show: per version for an admin (listed and marked), one
    vague notice for anyone else (where and how many would tell what they may not see).
    Counted before the case filters: a filter on case data cannot be judged for them."""
    if not unloadable:
        return []
    if not access.may_see_unloadable(user):
        return [InboxProblem("Some tasks cannot be shown: the definition of a pathway "
                             "version cannot be loaded. An admin can see which.")]
    found = []
    for (pathway, version), (err, count) in sorted(unloadable.items()):
        found.append(InboxProblem(
            f"{count} task{'s' if count != 1 else ''} of {pathway} v{version} cannot be "
            f"opened: its definition cannot be loaded ({err.message})",
            pathway=pathway, version=version, tasks=count, reason=err.message))
    return found
