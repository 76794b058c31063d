"""The caseworker's inbox in SQL: the open tasks of active cases a user may do, filtered,
counted, sorted and paged by the database (engine.casework.casework_inbox works out the
TaskGrant; engine.model.InboxQuery says what is asked).

The order is the one Python's sorts gave: text by code point (COLLATE "C" on PostgreSQL,
SQLite's BINARY), client names case-folded (SQLite: Python's str.casefold, registered on
every connection by adapters.sql.database; PostgreSQL: lower(), which differs only for the
few letters whose case folding is not their lower case, such as ß: the stored
clients.search_name, Python's str.lower, indexed with the client's id so that a page sorted
by client reads the clients in order instead of sorting every open task's), ties by
creation time then task id. Every case has its client (a foreign key that is never null):
the join is an inner one, which lets PostgreSQL start from the clients' index.
"""

from __future__ import annotations

import builtins
import itertools
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from adapters.sql import tables
from adapters.sql.repositories.common import SqlRepository, record_from
from engine.model import InboxHit, InboxQuery, InboxTask, TaskGrant

OPEN = "open"  # as adapters.sql.repositories.workflow.OPEN
SQLITE_CASEFOLD = "pathways_casefold"  # str.casefold, a function of every SQLite connection

_T = tables.inbox_tasks
_CASES = tables.cases
_CLIENTS = tables.clients
_DRAFTS = tables.drafts
# "open" written into the statement, not bound: a partial index on the open tasks (WHERE
# status = 'open') serves only a query whose text says so; SQLite never matches a bound
# parameter to it, nor does PostgreSQL's generic plan of a prepared statement
IS_OPEN = _T.c.status == literal_column(f"'{OPEN}'")


class InboxQueries(SqlRepository):
    """The inbox's reads (a part of SqlInboxRepository)."""

    def open_versions(self, *, pathway: str | None = None, version: int | None = None,
                      step: str | None = None) -> dict[tuple[str, int], int]:
        statement = (select(_T.c.pathway, _T.c.version, func.count())
                     .where(IS_OPEN, *_step_filters(pathway, version, step))
                     .group_by(_T.c.pathway, _T.c.version))
        return {(p, v): int(n) for p, v, n in self._connection.execute(statement).all()}

    def search(self, query: InboxQuery, *, limit: int | None = None, offset: int = 0
               ) -> builtins.list[InboxHit]:
        dialect = self._connection.dialect.name
        name = func.coalesce(_CLIENTS.c.name, "")
        statement = (
            select(_T, _CASES.c.client_id, name.label("client_name"))
            .select_from(_T.join(_CASES, _CASES.c.id == _T.c.case_id)
                         .join(_CLIENTS, _CLIENTS.c.id == _CASES.c.client_id))
            .where(*_conditions(query, dialect), _scope(query), *_overdue(query))
            .order_by(*_order(query.sort, name, dialect))
            .limit(limit).offset(offset or None))
        return [InboxHit(record_from(InboxTask, row), row.client_id, row.client_name)
                for row in self._connection.execute(statement).all()]

    def count(self, query: InboxQuery, *, cap: int | None = None) -> dict[str, int]:
        if cap is not None:
            return self._capped_count(query, cap)
        late = and_(_T.c.due.is_not(None), _T.c.due < query.now)
        statement = (
            select(func.count(case((_T.c.assignee == query.username, 1))),
                   func.count(),
                   func.count(case((_T.c.assignee.is_(None), 1))),
                   func.count(case((and_(_scope(query), late), 1))))
            .select_from(_T.join(_CASES, _CASES.c.id == _T.c.case_id))
            .where(*_conditions(query, self._connection.dialect.name)))
        mine, role, unassigned, overdue = self._connection.execute(statement).one()
        return {"mine": int(mine), "role": int(role), "unassigned": int(unassigned),
                "overdue": int(overdue)}

    def _capped_count(self, query: InboxQuery, cap: int) -> dict[str, int]:
        """Each count stops at cap + 1 rows (one statement, four subqueries): the database
        reads at most that many rows of each, in index order, instead of every open task."""
        conditions = _conditions(query, self._connection.dialect.name)
        late = and_(_T.c.due.is_not(None), _T.c.due < query.now)

        def upto(*more: ColumnElement[bool]) -> Any:
            rows = (select(_T.c.id).select_from(_T.join(_CASES, _CASES.c.id == _T.c.case_id))
                    .where(*conditions, *more).limit(cap + 1).subquery())
            return select(func.count()).select_from(rows).scalar_subquery()

        statement = select(upto(_T.c.assignee == query.username), upto(),
                           upto(_T.c.assignee.is_(None)), upto(_scope(query), late))
        mine, role, unassigned, overdue = self._connection.execute(statement).one()
        return {"mine": int(mine), "role": int(role), "unassigned": int(unassigned),
                "overdue": int(overdue)}


def _step_filters(pathway: str | None, version: int | None, step: str | None
                  ) -> list[ColumnElement[bool]]:
    wanted = ((_T.c.pathway, pathway), (_T.c.version, version), (_T.c.step, step))
    return [column == value for column, value in wanted if value is not None]


def _conditions(query: InboxQuery, dialect: str) -> list[ColumnElement[bool]]:
    """The query's tasks in every scope: open, of an active case, granted, filtered."""
    found = [IS_OPEN, _CASES.c.status == "active",
             _granted(query.grant, query.pathway, query.version),
             *_step_filters(query.pathway, query.version, query.step)]
    if query.client_id is not None:
        found.append(_CASES.c.client_id == query.client_id)
    if query.created_after is not None:
        found.append(_T.c.created_at > query.created_after)
    if query.drafts_of is not None:
        found.append(exists().where(_DRAFTS.c.task_id == _T.c.id,
                                    _DRAFTS.c.username == query.drafts_of))
    found.extend(_data_candidate(key, wanted, dialect) for key, wanted in query.data
                 if '"' not in key)
    return found


def _granted(grant: TaskGrant, pathway: str | None = None, version: int | None = None
             ) -> ColumnElement[bool]:
    """engine.access.may_do_task as a condition on the task's columns (pathway, version:
    the query's filter, when it names them)."""
    if grant.everything:
        return true()
    found = [or_(_T.c.organisation.is_(None), _T.c.organisation == grant.organisation)]
    by_pathway: dict[str, list[int]] = defaultdict(list)
    for hidden_pathway, hidden_version in sorted(grant.hidden):
        by_pathway[hidden_pathway].append(hidden_version)
    if by_pathway:
        found.append(not_(or_(*(and_(_T.c.pathway == p, _T.c.version.in_(vs))
                                for p, vs in by_pathway.items()))))
    if grant.roles is not None:
        found.append(_T.c.role.in_(sorted(grant.roles)))
    if pathway is not None:  # the filter's pathway only: its denied lanes as allowed ranges
        lanes = sorted((role, v) for p, v, role in grant.denied
                       if p == pathway and version in (None, v))
        if lanes:
            found.append(_lanes_between(lanes))
    elif grant.denied:
        found.append(_not_denied(grant.denied))
    return and_(*found)


def _not_denied(denied: frozenset[tuple[str, int, str]]) -> ColumnElement[bool]:
    """The role rule across pathways: no lane, or not a denied lane of the task's version
    (a negative condition no index serves: each task read is tested)."""
    lanes: dict[tuple[str, int], list[str]] = defaultdict(list)
    for pathway, version, role in sorted(denied):
        lanes[(pathway, version)].append(role)
    return or_(_T.c.role.is_(None), not_(or_(*(
        and_(_T.c.pathway == p, _T.c.version == v, _T.c.role.in_(roles))
        for (p, v), roles in lanes.items()))))


def _lanes_between(denied: list[tuple[str, int]]) -> ColumnElement[bool]:
    """The role rule within one pathway, stated positively: no lane, a role between two
    consecutive denied roles (or before the first, after the last), or a denied role in a
    version between two consecutive versions denying it, which is every (role, version) but
    the denied ones. Each range is a seek in the index of open tasks by (pathway, step,
    role, version) (revision 0024, with statistics of a pathway's lanes and versions
    together that tell PostgreSQL how few rows a range holds), so a step whose open tasks
    are all in a denied lane costs nothing to find empty, where "not denied" read each one
    of them. The ranges follow Python's order of the roles, by code point: PostgreSQL's
    role column compares so (COLLATE "C", revision 0024), as SQLite's BINARY does."""
    versions: dict[str, list[int]] = defaultdict(list)
    for role, version in denied:
        versions[role].append(version)
    found = [_T.c.role.is_(None), *_between(_T.c.role, sorted(versions))]
    for role, numbers in versions.items():
        found.extend(and_(_T.c.role == role, between)
                     for between in _between(_T.c.version, sorted(numbers)))
    return or_(*found)


def _between(column: ColumnElement[Any], points: list[Any]) -> list[ColumnElement[bool]]:
    """The open ranges of column's values other than points (sorted, distinct)."""
    bounds = [None, *points, None]
    return [and_(*([column > low] if low is not None else []),
                 *([column < high] if high is not None else []))
            for low, high in itertools.pairwise(bounds)]


def _data_candidate(key: str, wanted: str, dialect: str) -> ColumnElement[bool]:
    """Case data that may match the filter (the caller checks each row): the text wanted
    at the dotted key, or a value there that is not text (true, 3, null compare as JSON)."""
    keys = key.split(".")
    data = _CASES.c.data
    if dialect == "sqlite":
        where = "$" + "".join(f'."{part}"' for part in keys)
        kind, text = func.json_type(data, where), func.json_extract(data, where)
        return or_(and_(kind == "text", text == wanted), kind != "text")
    kind = func.jsonb_typeof(func.jsonb_extract_path(data, *keys))
    return or_(and_(kind == "string", func.jsonb_extract_path_text(data, *keys) == wanted),
               kind != "string")


def _scope(query: InboxQuery) -> ColumnElement[bool]:
    if query.scope == "mine":
        return _T.c.assignee == query.username
    if query.scope == "unassigned":
        return _T.c.assignee.is_(None)
    return true()


def _overdue(query: InboxQuery) -> list[ColumnElement[bool]]:
    if query.overdue is None:
        return []
    late = and_(_T.c.due.is_not(None), _T.c.due < query.now)
    return [late if query.overdue else not_(late)]


def _order(sort: str, name: ColumnElement[Any], dialect: str) -> list[Any]:
    """The ORDER BY of sort: its key, then creation time and task id (ascending)."""

    def text(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column if dialect == "sqlite" else column.collate("C")

    key, descending = sort.removeprefix("-"), sort.startswith("-")
    ties = [_T.c.created_at, text(_T.c.id)]
    if key == "due":
        return [(_T.c.due.desc() if descending else _T.c.due.asc()).nulls_last(), *ties]
    if key == "created":
        return [_T.c.created_at.desc() if descending else _T.c.created_at, text(_T.c.id)]
    if key == "client":  # PostgreSQL: the stored lowered name, indexed with the client id
        folded = func.pathways_casefold(name) if dialect == "sqlite" \
            else _CLIENTS.c.search_name
        keys = [folded, _CLIENTS.c.id]
        return [*(k.desc() if descending else k for k in keys), *ties]
    leading = {"pathway": [text(_T.c.pathway), _T.c.version], "step": [text(_T.c.step)],
               "title": [text(_T.c.title)]}[key]
    return [*leading, *ties]
