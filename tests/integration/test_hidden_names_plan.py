"""The dashboard finds a pathway's events hidden by the names in their data (the privacy rule's
sensitive pathways and steps, step_figures.hidden_by_name) reading only that pathway's name
rows, on SQLite and PostgreSQL: not every event of every pathway that names them (issue 17).

At 100,000 clients the hidden names (pathway names such as mental_health_referral) are in
189,604 name rows across every pathway and event type; each of the three reads of a cold
dashboard joined them all to the pathway's events to find few or none (0.3 to 1.1 s each on
PostgreSQL). What a plan reads does not depend on the machine, so this is checked by the
plans: with the hidden names in every event of another pathway and in two events of one case
of this one (and most of the programme's events elsewhere, naming nothing), PostgreSQL's
reads of this pathway's figures read no more name rows and summarised events than that
case has (before: 702 name rows and 20,750 events per read); SQLite's search the names by
pathway (or the corrected case's by case) and the events by key, never by name alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy import Engine as SqlEngine

from adapters.sql import tables
from engine.model import CaseRecord, Client, NewEvent
from engine.ports import UnitOfWorkFactory
from engine.summary_ports import HiddenSteps
from tests.databases import statements_sent

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GATE = "gate"
SENSITIVE = "mental_health_referral"
HIDDEN = HiddenSteps(steps={1: frozenset({"refer"})}, everywhere=frozenset({SENSITIVE}))
CASES = 25
BULK = 20_000

# plans depend on what a table held before (its pages stay after a DELETE): a schema of its own
pytestmark = pytest.mark.fresh_schema


def _events(named: dict[str, str], number: int) -> list[NewEvent]:
    """A case's events, each type the figures read, with `named` in their data."""
    at = T0 + timedelta(days=number)
    found = [NewEvent("case_started", at, data={"pathway": "x"}),
             NewEvent("version_allocated", at, data={"policy": "split", "version": 1,
                                                     **named})]
    for step in range(6):
        moment = at + timedelta(hours=step + 1)
        name = GATE if step == 5 else f"step{step}"
        found += [NewEvent("task_ready", moment, name, None, {"task": f"t{step}", **named}),
                  NewEvent("task_completed", moment + timedelta(minutes=30), name, "amy",
                           {"task": f"t{step}", "answer": "low", **named})]
    found.append(NewEvent("outcome_recorded", at + timedelta(days=1), None, None,
                          {"outcome": GATE, "value": True, **named}))
    return found


def _programme(db: SqlEngine, storage: UnitOfWorkFactory) -> int:
    """CASES cases of "referrals" whose every event names the hidden names, CASES of
    "housing" of which two events (a completion and an outcome) name one; and BULK events
    of a third pathway naming nothing, most of the programme's events as at national size
    (where a planner would not read every event of a type to find a pathway's few). The
    id of the housing case with the hidden events."""
    hidden = 0
    with storage() as uow:
        for number in range(2 * CASES):
            pathway = "referrals" if number % 2 else "housing"
            client = uow.clients.add(Client(None, f"Client {number}", {
                "release_date": "2026-01-01"}, created_at=T0))
            case = uow.cases.add(CaseRecord(None, pathway, 1, client.id or 0, "active", {},
                                            created_at=T0, updated_at=T0))
            events = _events({"via": SENSITIVE, "next": "refer"} if pathway == "referrals"
                             else {"note": "routine"}, number)
            if number == 2 * CASES - 2:  # the last housing case
                hidden = case.id or 0
                events[-2] = NewEvent("task_completed", events[-2].at, GATE, "amy",
                                      {"task": "t5", "referral": SENSITIVE})
                events[-1] = NewEvent("outcome_recorded", events[-1].at, None, None,
                                      {"outcome": GATE, "value": True, "via": SENSITIVE})
            uow.events.append(case.id or 0, events)
        client = uow.clients.add(Client(None, "Bulk", {}, created_at=T0))
        bulk = uow.cases.add(CaseRecord(None, "bulk", 1, client.id or 0, "active", {},
                                        created_at=T0, updated_at=T0)).id or 0
        uow.commit()
    types = ("task_ready", "task_completed", "version_allocated", "outcome_recorded")
    with db.begin() as connection:  # the programme's other events, which name nothing
        connection.execute(insert(tables.summary_events), [
            {"case_id": bulk, "seq": seq, "pathway": "bulk", "type": types[seq % 4],
             "step": GATE, "at": T0, "split": True, "outcome": GATE}
            for seq in range(1, BULK + 1)])
    return hidden


def _dashboard_reads(db: SqlEngine, storage: UnitOfWorkFactory) -> list[tuple[str, Any]]:
    """The statements reading the names that the housing dashboard's figures run."""
    with statements_sent(db, lambda statement: "summary_event_names" in statement) as found, \
            storage(read_only=True) as uow:
        summaries = uow.summaries
        summaries.step_figures("housing", HIDDEN)
        summaries.case_groups("housing", HIDDEN, outcome=GATE, step=GATE, answer=None,
                              days=30)
        summaries.client_groups("housing", HIDDEN, outcome="reconviction",
                                start_field="release_date", step=GATE, answer=None, days=30)
        summaries.case_facts("housing", HIDDEN, outcome=GATE, step=GATE)
        assert summaries.outcome_names("housing", HIDDEN) == [GATE]
    assert len(found) >= 5
    return found


def _rows_read_on_postgres(connection: Connection, statement: str, parameters: Any
                           ) -> dict[str, int]:
    """Rows of summary_event_names and summary_events the plan read (returned or filtered
    out), as a planner would choose at national size: sequential scans off, since on a
    test's few hundred rows a scan of the whole table is what it would rightly choose."""
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = connection.exec_driver_sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    read = {"summary_event_names": 0, "summary_events": 0}

    def walk(node: dict[str, Any]) -> None:
        table = node.get("Relation Name")  # a scan of the table or of an index of it
        if table in read:  # (a bitmap's index scan counted in the heap scan over it)
            read[table] += int(node.get("Actual Loops", 1)) * (
                int(node.get("Actual Rows", 0))
                + int(node.get("Rows Removed by Filter", 0))
                + int(node.get("Rows Removed by Index Recheck", 0)))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return read


def _sqlite_name_searches(connection: Connection, statement: str, parameters: Any
                          ) -> list[str]:
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [str(row[-1]) for row in rows if "summary_event" in str(row[-1])]


def _hidden_cases_rows(connection: Connection, case_id: int) -> dict[str, int]:
    """The name rows and summarised events of the housing case with events hidden by name:
    the most the reads may read (the hidden events, and the case's when it is corrected)."""
    return {table.name: connection.execute(
                select(func.count()).select_from(table).where(table.c.case_id == case_id)
            ).scalar_one()
            for table in (tables.summary_event_names, tables.summary_events)}


def test_the_hidden_events_are_found_among_the_pathway_s_names_only(
        db_engine: SqlEngine, uow_factory: UnitOfWorkFactory) -> None:
    hidden_case = _programme(db_engine, uow_factory)
    with db_engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")  # the planners know what the tables hold
        most = _hidden_cases_rows(connection, hidden_case)
    reads, searches = [], []
    for statement, parameters in _dashboard_reads(db_engine, uow_factory):
        with db_engine.begin() as connection:
            if db_engine.dialect.name == "postgresql":
                reads.append(_rows_read_on_postgres(connection, statement, parameters))
            else:
                searches.append(_sqlite_name_searches(connection, statement, parameters))
    assert all(read[table] <= most[table] for read in reads for table in most), (most, reads)
    assert all(_by_pathway_or_case(found) for found in searches), searches


def _by_pathway_or_case(plan: list[str]) -> bool:
    """SQLite's plan searches the names by pathway (or the few cases' by case) and the
    events by key."""
    names = [step for step in plan if "summary_event_names" in step]
    return bool(names) and all(step.startswith("SEARCH") for step in plan) and all(
        "(pathway=?" in step or "(case_id=?" in step for step in names) and all(
        "(case_id=?" in step for step in plan if step not in names)
