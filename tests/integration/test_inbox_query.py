"""The inbox filtered, counted, sorted and paged in SQL lists exactly what the Python inbox
did (tests/integration/inbox_reference.py: every open row loaded, then filtered and sorted),
for every user, scope, sort and filter, on random data, on SQLite and PostgreSQL (issue 17)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import insert

from adapters.sql import tables
from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.casework import INBOX_SCOPES, INBOX_SORTS, Casework
from engine.casework.casework_views import Inbox
from engine.model import User, name_key
from engine.ports import UnitOfWorkFactory
from tests.integration.inbox_reference import reference_inbox
from tests.unit.engine.fakes import FakeClock

PATHWAY = """
pathway: {name}
title: {name} {n}
organisation: council
roles:
  coordinator: {{title: Coordinator, organisations: [council]}}
  support_worker: {{title: Support worker, organisations: [{support}]}}
  anyone: {{title: Anyone}}
  reach_z: {{title: Outreach, organisations: [shelter]}}
  reacha: {{title: Reach A, organisations: [council]}}
steps:
  - task: referral
    role: coordinator
    title: Refer
  - task: support_plan
    role: support_worker
    title: Plan
  - task: review
    role: anyone
    title: Review
  - task: outreach
    role: reach_z
    title: Reach out
  - task: follow_up
    role: reacha
    title: Follow up
"""
# lanes each version opens to other organisations than the last (council may do support
# in version 2 only), and lanes whose order by code point (Python's, SQLite's) is not a
# language's ("reach_z" before "reacha"; en_US puts it after, ignoring "_"): the role rule
# of a query naming a pathway is the ranges between the denied lanes in that order
SUPPORT = ("st_mungos, shelter", "st_mungos, shelter, council")
ORGS = ("council", "st_mungos", "shelter")
ROLES = (None, "coordinator", "support_worker", "anyone", "gone", "reach_z", "reacha",
         "reach", "reachb", "Reach", "réach", "support_worker2", "a", "zz")
NAMES = ("ann", "Ann", "ÁNN", "bob", "Bob", "éva", "Éva", "zoë", "Zoë", "", "al", "Al b")
USERS = (
    User(1, "ada", "Ada", "council", "admin"),
    User(2, "cora", "Cora", "council", "caseworker"),
    User(3, "sam", "Sam", "st_mungos", "caseworker"),
    User(4, "lea", "Lea", "shelter", "team_lead"),
    User(5, "pia", "Pia", "shelter", "caseworker", pathway_roles=("support_worker",)),
    User(6, "ned", "Ned", "council", "caseworker", active=False),
    User(7, "dee", "Dee", "council", "designer"),
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _world(uow: UnitOfWorkFactory) -> Casework:
    clock = FakeClock(NOW)
    engine = Engine(uow=uow, clock=clock)
    for name in ("housing", "tenancy"):
        for n in range(2):  # two versions each
            compiled = compile_pathway(load_pathway(
                PATHWAY.format(name=name, n=n, support=SUPPORT[n]), "p.yaml"))
            engine.publish(compiled.files(), compiled.bpmn_file)
    return Casework(engine, uow, clock)


def _value(rng: random.Random) -> Any:
    return rng.choice(["high", "low", "3", 3, 3.5, True, False, None, {"level": "high"},
                       ["high"]])


def _fill(db: SqlEngine, rng: random.Random, count: int) -> None:
    """count cases (a client each, some sharing names) with 0-3 inbox rows each."""
    stamps = [NOW + timedelta(days=d) for d in (-3, -1, 0, 2)]
    with db.begin() as connection:
        for number in range(1, count + 1):
            name = rng.choice(NAMES)  # search_name as the client repository stores it
            connection.execute(insert(tables.clients).values(
                id=number, name=name, search_name=name_key(name), fields={}, created_at=NOW))
            pathway, version = rng.choice(["housing", "tenancy"]), rng.choice([1, 2])
            data = {"risk": _value(rng), "client": {"area": rng.choice(["north", "south"])}}
            connection.execute(insert(tables.cases).values(
                id=number, pathway=pathway, version=version, client_id=number,
                status=rng.choice(["active"] * 4 + ["completed"]), state={}, data=data,
                revision=1, event_seq=0, waiting_for=[], created_at=NOW, updated_at=NOW))
            for task in range(rng.randint(0, 3)):
                connection.execute(insert(tables.inbox_tasks).values(
                    id=f"t{rng.randint(0, 99):02d}-{number}-{task}", case_id=number,
                    pathway=pathway, version=version,
                    step=rng.choice(["referral", "support_plan", "review", "outreach"]),
                    title=rng.choice(["Refer", "Plan", "review", "Réview"]),
                    role=rng.choice(ROLES), form=None,
                    due=rng.choice([None, *stamps]), status=rng.choice(["open"] * 5 + ["closed"]),
                    created_at=rng.choice(stamps), closed_at=None, completed_by=None,
                    assignee=rng.choice([None, None, "cora", "sam", "lea", "pia"]),
                    organisation=rng.choice([None, None, *ORGS])))


def _ids(result: Inbox) -> list[str]:
    return [r.task.id for r in result.rows]


def _same(new: Inbox, old: Inbox) -> None:
    assert [(r.task, r.client_id, r.client_name, r.due, r.overdue, r.assignee, r.problem)
            for r in new.rows] == [
        (r.task, r.client_id, r.client_name, r.due, r.overdue, r.assignee, r.problem)
        for r in old.rows]
    assert new.counts == old.counts
    assert new.problems == old.problems
    assert new.total == len(old.rows)


def _queries(rng: random.Random) -> list[dict[str, Any]]:
    """Every scope and sort with no filter, then random filters."""
    plain = [{"scope": scope, "sort": sort} for scope in INBOX_SCOPES for sort in INBOX_SORTS]
    filtered = [{
        "scope": rng.choice(INBOX_SCOPES), "sort": rng.choice(INBOX_SORTS),
        "pathway": rng.choice([None, "housing", "tenancy"]), "version": rng.choice([None, 1, 2]),
        "step": rng.choice([None, None, "review", "referral", "support_plan", "outreach"]),
        "client_id": rng.choice([None, None, None, rng.randint(1, 40)]),
        "overdue": rng.choice([None, True, False]),
        "data": rng.choice([None, None, {"risk": "high"}, {"risk": "3"}, {"risk": "true"},
                            {"risk": "null"}, {"client.area": "north"},
                            {"risk": '{"level": "high"}'}, {"risk.level": "high"}]),
    } for _ in range(25)]
    return plain + filtered


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_inbox_lists_what_the_python_inbox_did(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, seed: int) -> None:
    rng = random.Random(seed)
    work = _world(uow_factory)
    _fill(db_engine, rng, 40)
    for user in USERS:
        for query in _queries(rng):
            wanted = {"pathway": None, "version": None, "step": None, "client_id": None,
                      "data": None, "overdue": None, **query}
            old = reference_inbox(work, user, **wanted)
            new = work.inbox(user, **wanted)
            _same(new, old)
            per_page = rng.choice([1, 3, 7])
            for offset in range(0, len(old.rows) + 1, per_page):
                page = work.inbox(user, **wanted, limit=per_page, offset=offset)
                assert _ids(page) == _ids(old)[offset:offset + per_page], (user, query)
                assert page.counts == old.counts and page.total == len(old.rows)
                if offset > per_page:  # the first two pages are enough for the cap
                    continue
                capped = work.inbox(user, **wanted, limit=per_page, offset=offset,
                                    count_cap=CAP)
                if wanted["data"]:  # checked here row by row: counted exactly
                    assert (capped.counts, capped.total) == (old.counts, len(old.rows))
                else:
                    _same_capped(capped, old, offset, per_page)


CAP = 2  # a count cap the random data often passes


def _same_capped(page: Inbox, old: Inbox, offset: int, per_page: int) -> None:
    """With a count cap: the same page; each count exact up to the cap (and offset), the
    rest marked over; total exact unless marked, and never more than there are."""
    cap = CAP + offset
    assert _ids(page) == _ids(old)[offset:offset + per_page]
    assert page.counts == {name: min(n, cap) for name, n in old.counts.items()}
    assert page.over == {name for name, n in old.counts.items() if n > cap}
    if page.total_over:
        assert offset + len(page.rows) <= page.total <= len(old.rows)
    else:
        assert page.total == len(old.rows)


def test_tasks_of_one_step_are_listed_in_one_order(uow_factory: UnitOfWorkFactory,
                                                   db_engine: SqlEngine) -> None:
    """Open tasks that tie on every sort key (same step, created together) come by task id,
    whichever order storage holds them in."""
    work = _world(uow_factory)
    with db_engine.begin() as connection:
        connection.execute(insert(tables.clients).values(id=1, name="Pat", fields={},
                                                         created_at=NOW))
        connection.execute(insert(tables.cases).values(
            id=1, pathway="housing", version=1, client_id=1, status="active", state={},
            data={}, revision=1, event_seq=0, waiting_for=[], created_at=NOW, updated_at=NOW))
        for task_id in ("b", "c", "a"):
            connection.execute(insert(tables.inbox_tasks).values(
                id=task_id, case_id=1, pathway="housing", version=1, step="review",
                title="Review", role="anyone", form=None, due=None, status="open",
                created_at=NOW, closed_at=None, completed_by=None, assignee=None,
                organisation=None))
    for sort in INBOX_SORTS:
        assert _ids(work.inbox(USERS[1], sort=sort)) == ["a", "b", "c"], sort
