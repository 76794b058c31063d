"""The nav's counts of new and overdue tasks read only the tasks they count, on SQLite and
PostgreSQL: each is a range of an index (created since the last look, due before now), not
a walk over every task the table holds.

At 100,000 clients (5.4 million events, 1.5 million inbox rows, `make bench-scale`) the
counts took 1.0 to 1.2 s on every page that shows them, because "new" was written as "the
user never looked, or created after the look": PostgreSQL served that OR from no index and
read the whole table. What a plan reads does not depend on the machine, so this is checked
by the plans themselves, not by timing them: on PostgreSQL, with nothing new and nothing
overdue among many open tasks, the counts read none of them; on SQLite (a programme on one
machine) they search the open tasks through an index, never the whole table, and sort
nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, insert
from sqlalchemy import Engine as SqlEngine

from adapters.sql import tables
from engine.model import InboxQuery, TaskGrant
from engine.ports import UnitOfWorkFactory
from tests.databases import statements_sent

# plans depend on what a table held before (its pages stay after a DELETE): a schema of its own
pytestmark = pytest.mark.fresh_schema

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TASKS = 300
CAP = 99


def _open_tasks(db: SqlEngine) -> None:
    """TASKS open tasks the user may do, all created (and due) in the future of nothing:
    created before the user's last look, not due, assigned to nobody."""
    with db.begin() as connection:
        connection.execute(insert(tables.clients).values(id=1, name="Pat", search_name="pat",
                                                         fields={}, created_at=NOW))
        connection.execute(insert(tables.cases).values(
            id=1, pathway="housing", version=1, client_id=1, status="active", state={},
            data={}, revision=1, event_seq=0, waiting_for=[], created_at=NOW,
            updated_at=NOW))
        connection.execute(insert(tables.inbox_tasks), [
            {"id": f"t{number:04d}", "case_id": 1, "pathway": "housing", "version": 1,
             "step": "review", "title": "Review", "role": "anyone", "form": None,
             "due": None, "status": "open",
             "created_at": NOW - timedelta(days=10, minutes=number), "closed_at": None,
             "completed_by": None, "assignee": None, "organisation": None}
            for number in range(TASKS)])


def _counting_tasks(statement: str) -> bool:
    return "count(" in statement and "inbox_tasks" in statement


def _news_statement(db: SqlEngine, uow_factory: UnitOfWorkFactory,
                    grant: TaskGrant) -> tuple[str, Any]:
    with uow_factory() as uow:
        uow.notices.mark_seen("sam", NOW - timedelta(days=1))
        uow.commit()
    with statements_sent(db, _counting_tasks) as found, uow_factory(read_only=True) as uow:
        news = uow.notices.news(InboxQuery(grant, "sam", NOW), cap=CAP)
    assert (news.mine, news.role, news.overdue) == (0, 0, 0)
    assert len(found) == 1
    return found[0]


def _rows_read_on_postgres(connection: Connection, statement: str, parameters: Any) -> int:
    """Rows of inbox_tasks the plan read (returned or filtered out), as a planner would
    choose at national size: sequential scans off, since on a test's few hundred rows a
    scan of the whole table is what it would rightly choose."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node: dict[str, Any]) -> int:
        own = 0
        if node.get("Relation Name") == "inbox_tasks" or "inbox_tasks" in node.get(
                "Index Name", ""):
            loops = int(node.get("Actual Loops", 1))
            own = loops * (int(node.get("Actual Rows", 0))
                           + int(node.get("Rows Removed by Filter", 0))
                           + int(node.get("Rows Removed by Index Recheck", 0)))
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


def _sqlite_scans(connection: Connection, statement: str, parameters: Any) -> list[str]:
    """The plan's steps that read the whole of inbox_tasks or sort what they read (SQLite
    searches the open tasks through an index: see SqlNoticeRepository.news)."""
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [str(row[-1]) for row in rows
            if ("inbox_tasks" in str(row[-1]) and not str(row[-1]).startswith("SEARCH"))
            or "TEMP B-TREE" in str(row[-1])]


def test_the_nav_counts_read_no_task_when_nothing_is_new_or_late(
        db_engine: SqlEngine, uow_factory: UnitOfWorkFactory) -> None:
    _open_tasks(db_engine)
    for grant in (TaskGrant(everything=True),
                  TaskGrant(organisation="council", roles=frozenset({"anyone"}))):
        statement, parameters = _news_statement(db_engine, uow_factory, grant)
        with db_engine.begin() as connection:
            if db_engine.dialect.name == "postgresql":
                assert _rows_read_on_postgres(connection, statement, parameters) == 0, grant
            else:
                assert _sqlite_scans(connection, statement, parameters) == [], grant


def test_a_user_who_never_looked_reads_at_most_the_cap(
        db_engine: SqlEngine, uow_factory: UnitOfWorkFactory) -> None:
    """Never having looked, every task is new: the counts stop at the cap."""
    _open_tasks(db_engine)
    with uow_factory(read_only=True) as uow:
        news = uow.notices.news(InboxQuery(TaskGrant(everything=True), "sam", NOW), cap=CAP)
    assert (news.mine, news.role, news.overdue, news.over) == (0, CAP, 0, frozenset({"role"}))
