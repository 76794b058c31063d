"""The dashboard's groups read a pathway's cases and their summaries only, on PostgreSQL:
the cases from their index alone, never the table whose rows hold every case's state, and
the case summaries of that pathway, not every pathway's (issue 17).

At 100,000 clients the cold dashboard's per-case GROUP BY (adapters.sql.case_groups) scanned
all 518,899 cases (702 MB) to keep gate reception's 159,638, and hashed every pathway's case
summaries to look them up: 0.76 s of a cold page's 0.96 s; 0.44 s now. What a plan reads
does not depend on the machine, so this is checked by the plans: with most of the
programme's cases on another pathway, the statements read the pathway's cases from the
index of cases by pathway (with what they are counted by, migration 0034), and no case
summary of another pathway.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select, true
from sqlalchemy import Engine as SqlEngine

from adapters.sql import tables
from engine.model import CaseRecord, Client, NewEvent
from engine.ports import UnitOfWorkFactory
from engine.summary_ports import HiddenSteps
from tests.databases import statements_sent

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CASES = 30
BULK = 5_000
NONE_HIDDEN = HiddenSteps()

# plans depend on what a table held before (its pages stay after a DELETE): a schema of its own
pytestmark = pytest.mark.fresh_schema


def _programme(db: SqlEngine, storage: UnitOfWorkFactory) -> None:
    """BULK cases of another pathway with their summaries, most of the programme's as at
    national size (made first: their ids come before and among the pathway's), then CASES
    cases of "housing" through the repositories."""
    with storage() as uow:
        owner = uow.clients.add(Client(None, "Ann", {"release_date": "2026-01-01"},
                                       created_at=T0)).id or 0
        uow.commit()
    with db.begin() as connection:
        bulk = connection.execute(insert(tables.cases).returning(tables.cases.c.id), [
            {"pathway": "bulk", "version": 1, "client_id": owner, "status": "active",
             "state": {"a": "state, as big as a case's"}, "data": {}, "revision": 1,
             "created_at": T0, "updated_at": T0} for _ in range(BULK)]).scalars().all()
        connection.execute(insert(tables.summary_cases), [
            {"case_id": case_id, "pathway": "bulk", "started_at": T0, "version": 1,
             "arm": 0} for case_id in bulk])
    with storage() as uow:
        for _ in range(CASES):
            case = uow.cases.add(CaseRecord(None, "housing", 1, owner, "active", {},
                                            created_at=T0, updated_at=T0))
            uow.events.append(case.id or 0, [
                NewEvent("case_started", T0, data={"pathway": "housing"}),
                NewEvent("outcome_recorded", T0, None, None, {"outcome": "gate",
                                                             "value": True})])
        uow.commit()


def _group_reads(db: SqlEngine, storage: UnitOfWorkFactory) -> list[tuple[str, Any]]:
    """The per-case statements the housing dashboard's groups run."""
    with statements_sent(db, lambda statement: "per_case" in statement) as found, \
            storage(read_only=True) as uow:
        uow.summaries.case_groups("housing", NONE_HIDDEN, outcome="gate", step="gate",
                                  answer=None, days=30)
        uow.summaries.client_groups("housing", NONE_HIDDEN, outcome="reconviction",
                                    start_field="release_date", step="gate", answer=None,
                                    days=30)
    assert len(found) == 2
    return found


def _reads(connection: Connection, statement: str, parameters: Any
           ) -> list[tuple[str, str, int]]:
    """(node type, table, rows read: returned or filtered out) of each scan of the cases
    (not the cases joined by id under another name) and of the case summaries, as a planner
    would choose at national size: sequential scans and nested loops off, since on a test's
    few thousand rows a scan of the whole table, or a look-up case by case, is what it would
    rightly choose (at 100,000 clients it hashes the joins)."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_nestloop = off")
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: list[tuple[str, str, int]] = []

    def walk(node: dict[str, Any]) -> None:
        table = node.get("Relation Name")
        if table in ("cases", "summary_cases") and node.get("Alias") == table:
            found.append((node["Node Type"], table, int(node.get("Actual Loops", 1)) * (
                int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
                + int(node.get("Rows Removed by Index Recheck", 0)))))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_the_groups_read_the_pathway_s_cases_from_their_index_and_its_summaries_only(
        db_engine: SqlEngine, uow_factory: UnitOfWorkFactory) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("an index's INCLUDE columns are PostgreSQL's")
    _programme(db_engine, uow_factory)
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # what autovacuum does after a bulk load: statistics, and the visibility map an
        # index-only scan needs
        connection.exec_driver_sql("VACUUM ANALYZE cases")
        connection.exec_driver_sql("VACUUM ANALYZE summary_cases")
    for statement, parameters in _group_reads(db_engine, uow_factory):
        with db_engine.begin() as connection:
            reads = _reads(connection, statement, parameters)
        cases = [(kind, rows) for kind, table, rows in reads if table == "cases"]
        summaries = [rows for _, table, rows in reads if table == "summary_cases"]
        assert cases == [("Index Only Scan", CASES)], reads
        assert summaries and all(rows <= CASES for rows in summaries), reads


OTHER_STEP = "review"  # a few cases record the outcome again there
AT_OTHER = 3
NOT_OUTCOMES = ((4, "task_ready"), (5, "task_completed"), (6, "task_ready"), (7, "case_started"))


def _outcomes_among_other_events(db: SqlEngine, storage: UnitOfWorkFactory) -> None:
    """BULK cases of "housing", each with a true "gate" outcome recorded at one step,
    AT_OTHER of them with one more at OTHER_STEP; what else the cases record (4 events each,
    none an outcome), and as many events on another pathway: most summarised events are not
    outcomes, as at national size (summaries written directly, as the bench's builder
    multiplies them)."""
    with storage() as uow:
        owner = uow.clients.add(Client(None, "Ann", {}, created_at=T0)).id or 0
        uow.commit()
    with db.begin() as connection:
        ids = connection.execute(insert(tables.cases).returning(tables.cases.c.id), [
            {"pathway": "housing", "version": 1, "client_id": owner, "status": "active",
             "state": {}, "data": {}, "revision": 1, "created_at": T0, "updated_at": T0}
            for _ in range(BULK)]).scalars().all()
        connection.execute(insert(tables.summary_cases), [
            {"case_id": case_id, "pathway": "housing", "started_at": T0, "version": 1,
             "arm": 0} for case_id in ids])
        outcome = {"pathway": "housing", "type": "outcome_recorded", "at": T0,
                   "outcome": "gate", "value": 1, "counted": False, "truthy": True}
        others = [{"case_id": case_id, "seq": seq + offset, "pathway": pathway, "type": kind,
                   "step": "gate_meeting", "at": T0}
                  for pathway, offset in (("housing", 0), ("other", 10)) for case_id in ids
                  for seq, kind in NOT_OUTCOMES]
        connection.execute(insert(tables.summary_events), [
            {**outcome, "case_id": case_id, "seq": 2, "step": "gate_meeting"}
            for case_id in ids] + [
            {**outcome, "case_id": case_id, "seq": 3, "step": OTHER_STEP}
            for case_id in ids[:AT_OTHER]])
        connection.execute(insert(tables.summary_events), others)  # no outcome columns


def test_the_planner_counts_a_pathway_s_events_of_one_outcome(
        db_engine: SqlEngine, uow_factory: UnitOfWorkFactory) -> None:
    """An outcome's name is only ever on outcome_recorded events, and a true one only on
    those, so the conditions the dashboard reads a pathway's outcomes by go together; the
    planner multiplied their shares as if they did not. At 100,000 clients it expected 45 of
    gate reception's 89,804 true met_at_gate events, and chose its plans for 45. With
    statistics on the columns together (migration 0035) and the truth compared as a value
    (= true, which those statistics cover, not IS TRUE), it expects about what is there."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("extended statistics are PostgreSQL's")
    _outcomes_among_other_events(db_engine, uow_factory)
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE summary_events")
    s = tables.summary_events
    with db_engine.connect() as connection:
        for shown in ([], [s.c.truthy == true()]):
            query = select(s.c.case_id).where(s.c.pathway == "housing",
                                              s.c.type == "outcome_recorded",
                                              s.c.outcome == "gate", *shown)
            compiled = query.compile(connection)
            plan = connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            expected = plan[0]["Plan"]["Plan Rows"]
            there = len(connection.execute(query).all())
            assert there / 2 <= expected <= there * 2, (shown, expected, there)
