"""The statements one step of a case sends the database (issue 17: round trips per command).

Each statement is a round trip to PostgreSQL, so the number a step sends is part of its cost
on a server, whatever the machine's speed. The count is pinned, per kind of statement: a
change that adds one to every step must say so here (and in the benchmark's figures), and
one that saves one lowers the pin. Counted with SQLAlchemy's own statement event, on SQLite
and PostgreSQL, for the benchmark's 10-step pathway (bench/data/linear10.bpmn) with the live
case cache on, as a server runs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event

from adapters.definition_files import read_bundle
from adapters.sql import SqlAlchemyUnitOfWorkFactory
from engine import Engine
from tests.bundles import bundle
from tests.databases import migrated_engine
from tests.unit.engine.fakes import FakeClock

LINEAR = Path(__file__).parents[2] / "bench" / "data" / "linear10.bpmn"

# What completing a task of a running case (neither the first nor the last) sends: the
# transaction, the case, its events, its inbox rows and the dashboard's summaries. On SQLite
# (no round trips: it runs in the process) each summary write is a statement of its own.
STEP = {
    "begin": 1,  # SQLite's BEGIN IMMEDIATE; psycopg's implicit BEGIN is not a statement
    # the case; then in one statement (adapters.sql.append_read) its last event (time,
    # hash), its summary row, when the completed task was made ready, its steps' summaries
    # and whether a migration waits for its next round
    "select": 2,
    # its events; their summaries (events, names, steps, groups, values, buckets, activity);
    # the next task's inbox row (a step that changes the case's answers sends one more, the
    # counts of their values: test_a_step_that_changes_the_answers_sends_one_more)
    "insert": 9,
    "update": 3,  # the case; the completed task's inbox row; data_revision
}
# On PostgreSQL the seven summary writes are one statement (adapters.sql.summary_writes: one
# data-modifying CTE each, WITH ... INSERT ...), sent after the events' INSERT.
POSTGRES_STEP = {
    "select": 2,
    "insert": 2,  # its events; the next task's inbox row
    "with": 1,  # the summaries: events, names, steps, groups, values, buckets, activity
    "update": 3,
}


def _kind(statement: str) -> str:
    return statement.split(None, 1)[0].lower()


def _count_step(url: str) -> Counter[str]:
    with migrated_engine(url) as database:
        engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        engine.publish(*read_bundle(LINEAR))
        client = engine.add_client("Step client")
        task_id = engine.start_case("linear10", client.id or 0).tasks[0].task.id
        task_id = engine.complete_task(task_id, {}).tasks[0].task.id  # warm: statements built
        with sending(database) as sent:
            result = engine.complete_task(task_id, {})
        assert result.status == "active" and result.tasks
    return Counter(_kind(statement) for statement in sent)


@contextmanager
def sending(database: SqlEngine) -> Iterator[list[str]]:
    """The statements sent to `database` inside the block, their whitespace made single."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(database, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(database, "before_cursor_execute", note)


def test_a_step_sends_the_pinned_statements(migrated_database_url: str) -> None:
    sent = _count_step(migrated_database_url)
    sent.pop("pragma", None)  # SQLite's query_only switch, only when a read came between
    expected = STEP if migrated_database_url.startswith("sqlite") else POSTGRES_STEP
    assert dict(sent) == expected


def test_a_step_that_changes_the_answers_sends_one_more(migrated_database_url: str) -> None:
    """The pinned step changes no answer, so sends nothing for them; one whose form changes
    the case's answers sends one statement more, an INSERT: the pathway's counts of answer
    values moved by the differences (adapters.sql.answer_summaries, one upsert), which the
    dashboard reads instead of every case's data."""
    with migrated_engine(migrated_database_url) as database:
        engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        engine.publish(*bundle("gate_reception"))
        client = engine.add_client("Step client")
        task_id = engine.start_case("gate_reception", client.id or 0).tasks[0].task.id
        with sending(database) as sent:
            engine.complete_task(task_id, {**{f"needs_{need}": need == "family" for need in (
                "accommodation", "benefits", "substance_misuse", "mental_health", "family",
                "employment")}, "risk_level": "medium", "notes": "Assessed."})
    answers = [s for s in sent if "summary_answers" in s]
    assert [_kind(s) for s in answers] == ["insert"], answers


def test_a_step_on_a_case_this_process_does_not_hold_reads_the_case_once(
        migrated_database_url: str) -> None:
    """A process that does not hold the case in memory (another process ran its last step,
    or it was evicted: most steps of a programme, bench/realistic.py) reads the case with
    its stored workflow at once, not first without it and then again with it. Besides the
    case it reads the task's inbox row (which case the task is of) and the one statement of
    adapters.sql.append_read."""
    with migrated_engine(migrated_database_url) as database:
        first = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        first.publish(*read_bundle(LINEAR))
        client = first.add_client("Step client")
        task_id = first.start_case("linear10", client.id or 0).tasks[0].task.id
        task_id = first.complete_task(task_id, {}).tasks[0].task.id
        fresh = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=FakeClock())
        fresh.load_definitions()  # as a server's warm-up does: no parse inside the step
        with sending(database) as sent:
            result = fresh.complete_task(task_id, {})
        assert result.status == "active" and result.tasks
    reads = [s for s in sent if _kind(s) == "select"]
    case_reads = [s for s in reads if " FROM cases WHERE cases.id = " in s]
    assert len(case_reads) == 1, case_reads
    assert "cases.state" in case_reads[0]
    assert len(reads) == 3, reads
