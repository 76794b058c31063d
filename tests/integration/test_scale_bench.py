"""The national-scale bench (bench/scale.py, issue 17 item 1) on a small size: the data it
copies in SQL is whole (every reference found, ids unique, JSON as the engine writes it),
copied cases load and go on through the engine, and the measuring code fills every row."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from adapters import demo
from adapters.bootstrap import Application
from adapters.sql import answer_summaries, tables
from bench.scale import application, measure
from bench.scale_build import Built, build
from bench.scale_measure import Measured

CLIENTS = 150  # the templates (and the runs that found them) are about 70 of them

# (table, column, referenced table): every reference the copies must keep
REFERENCES = (
    ("cases", "client_id", "clients"), ("consents", "client_id", "clients"),
    ("events", "case_id", "cases"), ("inbox_tasks", "case_id", "cases"),
    ("timers", "case_id", "cases"), ("summary_events", "case_id", "cases"),
    ("summary_event_names", "case_id", "cases"), ("summary_cases", "case_id", "cases"),
    ("summary_case_steps", "case_id", "cases"), ("summary_step_values", "case_id", "cases"),
    ("outcome_events", "client_id", "clients"))


@pytest.fixture
def built(database_url: str) -> Iterator[tuple[Application, Built, str]]:
    app = application(database_url)
    try:
        yield app, build(app, CLIENTS, CLIENTS * 40, trials=3, progress=lambda _: None), \
            database_url
    finally:
        app.close()


def _scalar(app: Application, sql: str) -> int:
    with app.database.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_the_copied_data_is_whole(built: tuple[Application, Built, str]) -> None:
    app, done, _ = built
    assert done.clients == CLIENTS
    assert done.cases > CLIENTS and done.events > CLIENTS * 20 and done.open_tasks > 0
    for table, column, target in REFERENCES:
        assert _scalar(app, f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                            f"(SELECT 1 FROM {target} r WHERE r.id = t.{column})") == 0, table
    # every case's events numbered 1..event_seq, its start naming its own client
    assert _scalar(app, "SELECT count(*) FROM cases c WHERE c.event_seq != "
                        "(SELECT count(*) FROM events e WHERE e.case_id = c.id)") == 0
    started = app.engine.events
    for case in app.engine.list_cases():
        assert case.id is not None
        first = started(case.id)[0]
        assert first.type == "case_started" and first.data["client"] == case.client_id
        client = case.data.get("client")
        if isinstance(client, dict):
            assert client["id"] == case.client_id
    # every open task is its own (task ids unique across copies), with a live case
    assert _scalar(app, "SELECT count(DISTINCT id) FROM inbox_tasks") == _scalar(
        app, "SELECT count(*) FROM inbox_tasks")
    # every copied client (numbered after the templates) has its template's consents
    assert _scalar(app, f"SELECT count(*) FROM clients c WHERE c.id > "
                        f"{max(done.templates.clients)} AND NOT EXISTS (SELECT 1 FROM "
                        "consents k WHERE k.client_id = c.id)") == 0
    assert _scalar(app, "SELECT count(*) FROM clients WHERE lower(name) LIKE '%smith%'") > 0
    # the answers' values counted as the copies' data holds them (each names its client)
    expected: Counter[tuple[str, str, str, str]] = Counter()
    for case in app.engine.list_cases():
        expected.update((case.pathway, *key) for key, added in answer_summaries.changes(
            {}, answer_summaries.answers_of(case.data)).items() if added)
    with app.database.connect() as connection:
        counted = {(row.pathway, row.name, row.value_key, row.value): row.cases
                   for row in connection.execute(select(tables.summary_answers))}
    assert counted == dict(expected) and counted


def test_copied_cases_load_and_go_on(built: tuple[Application, Built, str]) -> None:
    app, done, _ = built
    engine = app.engine
    copies = [c for c in engine.list_cases() if (c.id or 0) > 0
              and c.client_id not in done.templates.clients]
    rng = random.Random(3)
    for case in rng.sample(copies, 12):
        assert engine.get_case(case.id or 0).case.id == case.id
    with_tasks = [c for c in copies if c.status == "active" and engine.list_tasks(case_id=c.id)]
    completed = 0
    for case in rng.sample(with_tasks, min(6, len(with_tasks))):
        task = engine.list_tasks(case_id=case.id)[0]
        result = engine.complete_task(task.task.id, demo._answers(task.schema, rng),
                                      actor=demo._actor_for(task.task.role))
        assert result.error is None
        completed += 1
    assert completed >= 3


def test_every_row_is_measured(built: tuple[Application, Built, str]) -> None:
    app, _, url = built
    found = Measured()
    measure(app, url, found, repeat=1, budget=0.0)
    names = [row.what for row in found.rows]
    for wanted in ("inbox page (role)", "inbox page (mine)", "inbox page (pathway+step)",
                   "API /tasks?scope=mine", "client search 'smith'", "client record",
                   "task page (its case)", "dashboard page, cold", "dashboard page, warm",
                   "dashboard cohorts.csv, warm",
                   "server RSS (peak)", "CLI start (pathways --help)",
                   "CLI start, reading (pathways definitions list)", "CLI cases show",
                   "export cases (CSV)", "export xes", "export xes: peak RSS",
                   "table events (with indexes)", "database size"):
        assert wanted in names
    for row in found.rows:
        assert row.figure is not None, row.what
        if row.what.startswith(("inbox", "API", "client", "dashboard")):
            assert row.statements, row.what
