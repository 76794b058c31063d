"""Group commit on SQLite and PostgreSQL (issue 19, item 3): a worker's timers due at once
fire in batches of one transaction, each case in a savepoint, so the commit (which waits for
the disk in the default durability) is paid once a batch, not once a case; a case that fails
mid-batch is rolled back to its savepoint alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event, select

from adapters.sql import tables
from engine.cases import case_commands
from engine.model import NewEvent
from engine.ports import UnitOfWorkFactory
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.integration.engines import fresh_engine
from tests.integration.test_worker_isolation import damage
from tests.unit.engine.fakes import FakeClock


@contextmanager
def counted_commits(db_engine: SqlEngine) -> Iterator[list[int]]:
    commits = [0]

    def commit(*_: object) -> None:
        commits[0] += 1

    event.listen(db_engine, "commit", commit)
    try:
        yield commits
    finally:
        event.remove(db_engine, "commit", commit)


@pytest.fixture(autouse=True)
def batches_bounded_by_cases_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded test machine may take more than the batch's time bound for a few cases."""
    monkeypatch.setattr(case_commands, "TIMER_BATCH_SECONDS", 600.0)


def _timed_cases(uow_factory: UnitOfWorkFactory, clock: FakeClock, count: int) -> list[int]:
    """`count` cases of a pathway whose timer falls due a day after they start."""
    setup = fresh_engine(uow_factory, clock)
    setup.publish(*bundle("timed_script", "total = 1"))
    client = setup.add_client("Ann")
    return [setup.start_case("timed_script", client.id or 0).case.id or 0
            for _ in range(count)]


def test_forty_due_timers_fire_in_two_commits_and_each_fires_once(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    cases = _timed_cases(uow_factory, clock, 40)

    worker = fresh_engine(uow_factory, clock)
    with counted_commits(db_engine) as commits:
        assert worker.fire_due_timers(clock.now() + timedelta(days=2)) == 40
    assert commits[0] == -(-40 // case_commands.TIMER_BATCH_CASES)  # 32 + 8
    reader = fresh_engine(uow_factory, clock)
    for case_id in cases:
        assert open_steps(reader, case_id) == ["review"], case_id
        assert [e.type for e in reader.events(case_id)].count("timer_fired") == 1, case_id
    assert worker.fire_due_timers(clock.now() + timedelta(days=3)) == 0


def test_a_case_failing_mid_batch_is_undone_alone(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    setup = fresh_engine(uow_factory, clock)
    setup.publish(*bundle("timed_script", "total = 1"))
    client = setup.add_client("Ann")
    before = [setup.start_case("timed_script", client.id or 0).case.id or 0 for _ in range(3)]
    setup.publish(*bundle("timed_script", "numbers = (n for n in [1, 2])"))
    unstorable = setup.start_case("timed_script", client.id or 0).case.id or 0  # fails writing
    after = [setup.start_case("timed_script", client.id or 0, version=1).case.id or 0
             for _ in range(3)]
    damaged = after[1]
    damage(db_engine, damaged)

    worker = fresh_engine(uow_factory, clock)
    with counted_commits(db_engine) as commits:
        assert worker.fire_due_timers(clock.now() + timedelta(days=2)) == 5
    assert commits[0] == 1  # each failure is recorded in the batch
    reader = fresh_engine(uow_factory, clock)
    for case_id in [*before, after[0], after[2]]:
        assert open_steps(reader, case_id) == ["review"], case_id
    for case_id in (unstorable, damaged):
        case = reader.get_case(case_id).case
        assert case.status == "error", case_id
        types = [e.type for e in reader.events(case_id)]
        assert "timer_fired" not in types and types[-1] == "error", (case_id, types)


def _answer_count(db_engine: SqlEngine, pathway: str, name: str) -> dict[str, int]:
    a = tables.summary_answers
    with db_engine.connect() as connection:
        return dict(connection.execute(select(a.c.value, a.c.cases).where(
            a.c.pathway == pathway, a.c.name == name)).all())


def test_a_batch_holds_no_pathway_wide_count_until_its_commit(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    """Every case of a pathway that sets an answer adds to one row of the pathway's counts
    (adapters.sql.answer_summaries). Written as each case is saved, a batch held that row
    from its first case to its commit, and the other workers' batches waited for it one
    after another (the four-worker test took 201 s against 88): the counts are written
    at the commit, so a batch mid-way holds no row a case of another worker needs."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    first, second = _timed_cases(uow_factory, clock, 2)
    with uow_factory() as batch:  # a batch mid-way: its first case saved, not committed
        _set_total(batch, first)
        with uow_factory() as other:  # another worker's case: waits for no row of it
            other._active().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            _set_total(other, second)
            other.commit()
        assert _answer_count(db_engine, "timed_script", "total") == {"1": 1}
        batch.commit()
    assert _answer_count(db_engine, "timed_script", "total") == {"1": 2}


def test_a_batch_holds_no_step_group_until_its_commit(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    """The same for the dashboard's step groups (adapters.sql.step_summaries): every case
    whose timer leads to a task adds to its step's group row as the task becomes ready."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time anyway")
    first, second = _timed_cases(uow_factory, clock, 2)
    with uow_factory() as batch:
        with batch.savepoint():  # as group_commit runs each case
            _task_ready(batch, first, clock)
        with uow_factory() as other:
            other._active().exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            _task_ready(other, second, clock)
            other.commit()
        assert _reached(db_engine, "review") == 1
        batch.commit()
    assert _reached(db_engine, "review") == 2


def test_a_case_undone_to_its_savepoint_leaves_the_step_groups_as_they_were(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    kept, undone = _timed_cases(uow_factory, clock, 2)
    with uow_factory() as batch:
        with pytest.raises(RuntimeError), batch.savepoint():
            _task_ready(batch, undone, clock)
            raise RuntimeError("the case's command failed after its events")
        with batch.savepoint():
            _task_ready(batch, kept, clock)
        batch.commit()
    assert _reached(db_engine, "review") == 1


def _task_ready(uow: Any, case_id: int, clock: FakeClock) -> None:
    record = uow.cases.get(case_id)
    assert record is not None
    uow.events.append(case_id, [NewEvent(type="task_ready", at=clock.now(), step="review",
                                         data={"task": f"t{case_id}"})],
                      first_seq=record.event_seq + 1)


def _reached(db_engine: SqlEngine, step: str) -> int | None:
    g = tables.summary_step_groups
    with db_engine.connect() as connection:
        found: int | None = connection.scalar(select(g.c.reached).where(g.c.step == step))
        return found


def test_a_case_undone_to_its_savepoint_leaves_the_counts_as_they_were(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock) -> None:
    kept, undone = _timed_cases(uow_factory, clock, 2)
    with uow_factory() as batch:
        with pytest.raises(RuntimeError), batch.savepoint():
            _set_total(batch, undone)
            raise RuntimeError("the case's command failed after its save")
        with batch.savepoint():
            _set_total(batch, kept)
        batch.commit()
    assert _answer_count(db_engine, "timed_script", "total") == {"1": 1}
    with uow_factory() as uow:  # the undone case saved again in one transaction: counted once
        with pytest.raises(RuntimeError), uow.savepoint():
            _set_total(uow, undone)
            raise RuntimeError("undone")
        _set_total(uow, undone)
        uow.commit()
    assert _answer_count(db_engine, "timed_script", "total") == {"1": 2}


def _set_total(uow: Any, case_id: int) -> None:
    record = uow.cases.get(case_id)
    assert record is not None
    uow.cases.save(replace(record, data={**record.data, "total": 1}), record.revision)


def test_a_case_another_worker_fired_after_it_failed_here_is_not_put_in_error(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A case whose timer fails in a batch is rolled back to its savepoint, which releases
    its claim. Recorded as failed only after the batch's commit, another worker could claim
    it in between and fire it (a passing fault: a lock timeout, a dropped connection), and
    the first worker then put a case that had moved on in error. The failure is recorded in
    the batch, under a claim of its own, or not at all when the case is no longer the
    failed one's."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: no other worker fires mid-batch")
    (flaky,) = _timed_cases(uow_factory, clock, 1)
    fire = case_commands.refresh_timers
    faults = [flaky]

    def fails_once(uow: Any, record: Any, workflow: Any, parsed: Any) -> Any:
        if record.id in faults:
            faults.remove(record.id)
            raise RuntimeError("a passing fault")
        return fire(uow, record, workflow, parsed)

    monkeypatch.setattr(case_commands, "refresh_timers", fails_once)
    when = clock.now() + timedelta(days=2)
    first, other = fresh_engine(uow_factory, clock), fresh_engine(uow_factory, clock)
    first_connection: list[Any] = []
    other_fired: list[int] = []

    def other_worker_between(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        """The first statement the first worker sends after its case failed and was rolled
        back to its savepoint: the other worker fires due timers then, on a connection of
        its own."""
        if faults or other_fired or connection is not first_connection[0]:
            return
        if statement.startswith("ROLLBACK TO SAVEPOINT"):
            return
        other_fired.append(other.fire_due_timers(when))

    def note_first(connection: Any, *_: Any) -> None:
        if not first_connection:
            first_connection.append(connection)

    event.listen(db_engine, "before_cursor_execute", note_first)
    event.listen(db_engine, "before_cursor_execute", other_worker_between)
    try:
        first.fire_due_timers(when)
    finally:
        event.remove(db_engine, "before_cursor_execute", other_worker_between)
        event.remove(db_engine, "before_cursor_execute", note_first)
    reader = fresh_engine(uow_factory, clock)
    types = [e.type for e in reader.events(flaky)]
    case = reader.get_case(flaky).case
    if other_fired == [1]:  # the other worker fired it: it is not in error
        assert (case.status, open_steps(reader, flaky)) == ("active", ["review"]), types
        assert "error" not in types and types.count("timer_fired") == 1, types
    else:  # the failure was recorded first: the other worker found nothing to fire
        assert case.status == "error" and "timer_fired" not in types, types
