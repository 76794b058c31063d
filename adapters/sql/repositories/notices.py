"""What each user was last told about their work, in SQL (revision 0032): the nav's counts
of new and overdue tasks, the inbox's last look, the daily digest's choice and last day."""

from __future__ import annotations

import builtins
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, update

from adapters.sql import tables
from adapters.sql.repositories.common import DIALECT_INSERTS, SqlRepository, record_from
from adapters.sql.repositories.inbox_queries import _conditions
from adapters.sql.table_types import UtcDateTime
from engine.model import InboxNews, InboxQuery, UserNotices

_N = tables.user_notices
_T = tables.inbox_tasks
_CASES = tables.cases
NEVER = datetime(1, 1, 1, tzinfo=UTC)  # before any task: "new" for a user who never looked


class SqlNoticeRepository(SqlRepository):
    """user_notices, and the nav's counts over the open tasks."""

    def news(self, query: InboxQuery, *, cap: int) -> InboxNews:
        """One statement: the last look, then each count read from its own index (the new
        ones by creation time, the user's by assignee, the late ones by due date), at most
        cap + 1 rows of each.

        "New" is a range of creation times (from the last look, or from the first moment
        for a user who never looked), never "no look, or later than it": PostgreSQL could
        serve that OR from no index and read every task the table ever held (1.5 million
        rows, a second a page at 100,000 clients). Each count is ordered as its index is
        (the user's by assignee, due, created; the new by creation time; the late by due
        date), so the planner walks that index from one end of its range and stops at
        cap + 1 rows or at the range's other end. SQLite, whose planner prefers the status
        index and would sort every open task to follow an order, reads the open tasks (a
        programme on one machine holds thousands, not millions)."""
        dialect = self._connection.dialect.name
        conditions = _conditions(query, dialect)
        seen = (select(_N.c.inbox_seen_at).where(_N.c.username == query.username)
                .scalar_subquery())
        new = _T.c.created_at > func.coalesce(seen, literal(NEVER, UtcDateTime()))

        def upto(order: tuple[ColumnElement[Any], ...], *more: ColumnElement[bool]) -> Any:
            rows = (select(_T.c.id).select_from(_T.join(_CASES, _CASES.c.id == _T.c.case_id))
                    .where(*conditions, *more).limit(cap + 1))
            if dialect == "postgresql":  # SQLite would sort every open task first
                rows = rows.order_by(*order)
            return select(func.count()).select_from(rows.subquery()).scalar_subquery()

        late = and_(_T.c.due.is_not(None), _T.c.due < query.now)
        row = self._connection.execute(select(
            seen, upto((_T.c.due, _T.c.created_at), _T.c.assignee == query.username, new),
            upto((_T.c.created_at.desc(),), new), upto((_T.c.due,), late))).one()
        counts = {"mine": int(row[1]), "role": int(row[2]), "overdue": int(row[3])}
        return InboxNews(**{k: min(n, cap) for k, n in counts.items()},
                         seen=row[0],
                         over=frozenset(k for k, n in counts.items() if n > cap))

    def get(self, username: str) -> UserNotices:
        found = self._connection.execute(select(_N).where(_N.c.username == username)).first()
        return UserNotices(username) if found is None else record_from(UserNotices, found)

    def _upsert(self, username: str, **values: Any) -> None:
        statement = DIALECT_INSERTS[self._connection.dialect.name](_N).values(
            username=username, **values)
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[_N.c.username], set_=values))

    def mark_seen(self, username: str, at: datetime) -> None:
        self._upsert(username, inbox_seen_at=at)

    def set_digest(self, username: str, wanted: bool) -> None:
        self._upsert(username, digest=wanted)

    def digest_users(self) -> builtins.list[str]:
        rows = self._connection.execute(
            select(_N.c.username).where(_N.c.digest).order_by(_N.c.username))
        return [row.username for row in rows]

    def take_digest(self, username: str, day: date) -> bool:
        taken = self._connection.execute(update(_N).where(
            _N.c.username == username, _N.c.digest,
            or_(_N.c.digest_sent_on.is_(None), _N.c.digest_sent_on < day))
            .values(digest_sent_on=day))
        return bool(taken.rowcount)

    def release_digest(self, username: str, day: date) -> None:
        self._connection.execute(update(_N).where(
            _N.c.username == username, _N.c.digest_sent_on == day).values(digest_sent_on=None))
