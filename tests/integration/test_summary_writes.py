"""A step's summary writes sent as one statement on PostgreSQL (adapters.sql.summary_writes)
store the rows the separate statements store (issue 19): the same writes of the engine
(start, complete with answers, a migration to another version, more steps) on PostgreSQL,
where they are batched, and on SQLite, where each is a statement of its own, leave every
summary table equal row for row."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters import demo
from adapters.sql import SqlAlchemyUnitOfWorkFactory, tables
from engine import Engine
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.unit.engine.fakes import FakeClock

SUMMARIES = ("summary_events", "summary_event_names", "summary_cases", "summary_case_steps",
             "summary_step_groups", "summary_step_values", "summary_step_buckets",
             "summary_activity", "summary_answers")


def _writes(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The summary tables after the same writes on the database at `url`."""
    with migrated_engine(url) as database:
        clock = FakeClock()
        engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=clock)
        engine.publish(*bundle("gate_reception"))
        clients = [engine.add_client(name, {"release_date": "2026-02-01"}).id or 0
                   for name in ("Ann", "Bo", "Cy")]
        cases = [engine.start_case("gate_reception", client, actor="cara").case.id or 0
                 for client in clients]
        rng = random.Random(7)
        for number in range(6):
            for case_id in cases:
                clock.advance(hours=1.37 + number / 7)
                _complete_open(engine, case_id, rng)
            if number == 2:  # the cases' steps follow them to another version
                files, main = bundle("gate_reception")
                engine.publish({**files, main: files[main] + "<!-- version 2 -->\n"}, main)
                engine.migrate("gate_reception", 1, 2, actor="cara")
        with database.connect() as connection:
            return {name: sorted((tuple(row) for row in connection.execute(select(
                *(column for column in tables.metadata.tables[name].columns
                  if column.name != "task")))), key=repr)  # a task's id is random
                    for name in SUMMARIES}


def _complete_open(engine: Engine, case_id: int, rng: random.Random) -> None:
    """Complete the case's first open task by step (if any: the ids are random, so not by
    id) with plausible answers to its form."""
    tasks = sorted(engine.list_tasks(case_id=case_id), key=lambda view: view.task.step)
    if tasks:
        engine.complete_task(tasks[0].task.id, demo._answers(tasks[0].schema, rng),
                             actor="cara")


def test_summaries_written_in_one_statement_are_those_written_one_by_one(
        migrated_database_url: str, tmp_path: Path) -> None:
    if migrated_database_url.startswith("sqlite"):
        pytest.skip("SQLite writes each summary on its own: the reference")
    batched = _writes(migrated_database_url)
    one_by_one = _writes(f"sqlite:///{tmp_path / 'reference.db'}")
    assert all(batched[name] for name in SUMMARIES if name != "summary_event_names")
    assert batched == one_by_one
