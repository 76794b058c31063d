"""Workers that scale out: several `pathways worker` processes on one PostgreSQL database
fire every due timer exactly once between them, each doing a share; on a SQLite database a
second worker refuses to start, and a killed worker's lock goes with its process.

The workers are real processes (`python -m adapters.cli worker`), as in production.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Table, text
from sqlalchemy import Engine as SqlEngine

from adapters.sql import tables
from adapters.sql.database import make_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.sql.worker_lock import LOCK_SUFFIX
from engine import Engine
from engine.model import Message
from tests.bundles import bundle
from tests.databases import copy_sqlite_file
from tests.unit.engine.fakes import FakeClock

CASES = 10_000
WORKERS = 4
MESSAGES = 40
REAL_CASES = 3  # started through the engine; the others are copies of the first one's rows


def _wait_then_end() -> tuple[dict[str, str], str]:
    """timed_script with its review left out: start, a day's wait, a script, the end (no
    open task, so copied cases share no inbox row)."""
    files, main = bundle("timed_script", "total = 1")
    files[main] = (files[main]
                   .replace('<bpmn:outgoing>f3</bpmn:outgoing></bpmn:scriptTask>',
                            '<bpmn:outgoing>f4</bpmn:outgoing></bpmn:scriptTask>')
                   .replace('sourceRef="review" targetRef="end"', 'sourceRef="compute" '
                            'targetRef="end"'))
    cut = files[main].index('    <bpmn:userTask id="review"')
    files[main] = files[main][:cut] + files[main][files[main].index(
        '    <bpmn:endEvent'):]
    files[main] = files[main].replace(
        '    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="review"/>\n', '')
    return files, main


def _worker(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PATHWAYS_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "adapters.cli", "--json", "worker", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _columns(table: Table, *leave_out: str) -> list[str]:
    return [f'"{c.name}"' for c in table.columns if c.name not in leave_out]


def _copy_case(connection: Connection, template: int, copies: int) -> list[int]:
    """`copies` new cases with the template case's rows (case, events, timers): real cases
    the engine loads like any other, made in three statements instead of 10,000 commands.
    The copies' timers fall due up to ten minutes apart, in an order unlike their ids."""
    cols = ", ".join(_columns(tables.cases, "id"))
    last = connection.scalar(text("SELECT max(id) FROM cases"))
    connection.execute(text(f"INSERT INTO cases ({cols}) SELECT {cols} FROM cases, "
                            "generate_series(1, :n) WHERE id = :template"),
                       {"n": copies, "template": template})
    event_cols = _columns(tables.events, "id", "case_id")
    connection.execute(text(
        f"INSERT INTO events (case_id, {', '.join(event_cols)}) "
        f"SELECT n.id, {', '.join('e.' + c for c in event_cols)} FROM events e, cases n "
        "WHERE e.case_id = :template AND n.id > :last ORDER BY n.id, e.seq"),
        {"template": template, "last": last})
    connection.execute(text(
        "INSERT INTO timers (case_id, task_id, step, due_at) "
        "SELECT n.id, t.task_id, t.step, t.due_at - make_interval(secs => (n.id * 7919) % 600) "
        "FROM timers t, cases n WHERE t.case_id = :template AND n.id > :last"),
        {"template": template, "last": last})
    return list(connection.scalars(text("SELECT id FROM cases WHERE id > :last"),
                                   {"last": last}))


@pytest.fixture
def migrated_postgres_url(postgres_url: str, request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("recorded_postgres_migration").replay(postgres_url)
    return postgres_url


@pytest.fixture
def postgres_engine(migrated_postgres_url: str) -> Iterator[SqlEngine]:
    engine = make_engine(migrated_postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.slow  # 10,000 cases fired by real processes: minutes on a loaded 2-core machine
def test_four_workers_fire_ten_thousand_due_timers_exactly_once_each(
        migrated_postgres_url: str, postgres_engine: SqlEngine) -> None:
    # started two days ago on the real clock: the workers (real processes) find them due
    clock = FakeClock(datetime.now(UTC) - timedelta(days=2))
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(postgres_engine), clock=clock)
    engine.publish(*_wait_then_end())
    client = engine.add_client("Ann")
    real = [engine.start_case("timed_script", client.id or 0).case.id or 0
            for _ in range(REAL_CASES)]
    with postgres_engine.begin() as connection:
        copies = _copy_case(connection, real[0], CASES - REAL_CASES)
    everyone = set(real) | set(copies)
    assert len(everyone) == CASES
    assert engine.due_timers(datetime.now(UTC))[0] == CASES

    began = time.monotonic()
    workers = [_worker(migrated_postgres_url, "--until-idle", "--interval", "0")
               for _ in range(WORKERS)]
    outputs = [worker.communicate(timeout=600) for worker in workers]
    elapsed = time.monotonic() - began
    print(f"\n{WORKERS} workers fired {CASES} timers in {elapsed:.1f} s")

    assert [worker.returncode for worker in workers] == [0] * WORKERS, outputs
    shares = [sum(json.loads(line)["fired"] for line in out.splitlines())
              for out, _ in outputs]
    assert sum(shares) == CASES
    assert all(share > 0 for share in shares), shares  # every worker did some
    fired = _fired_per_case(postgres_engine)
    with postgres_engine.connect() as connection:
        statuses = dict(connection.execute(text(
            "SELECT status, count(*) FROM cases GROUP BY status")).all())
    assert set(fired) == everyone
    assert set(fired.values()) == {1}  # each fired exactly once
    assert statuses == {"completed": CASES}
    assert engine.due_timers(datetime.now(UTC)) == (0, None)


def _fired_per_case(engine: SqlEngine) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(connection.execute(text(
            "SELECT case_id, count(*) FROM events WHERE type = 'timer_fired' "
            "GROUP BY case_id")).all())


def test_a_worker_killed_with_sigkill_mid_round_leaves_the_rest_to_another(
        migrated_postgres_url: str, postgres_engine: SqlEngine) -> None:
    clock = FakeClock(datetime.now(UTC) - timedelta(days=2))
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(postgres_engine), clock=clock)
    engine.publish(*_wait_then_end())
    first = engine.start_case("timed_script", engine.add_client("Di").id or 0).case.id or 0
    with postgres_engine.begin() as connection:
        everyone = {first, *_copy_case(connection, first, 199)}
    killed = _worker(migrated_postgres_url, "--until-idle", "--interval", "0")
    try:
        deadline = time.monotonic() + 120
        while len(_fired_per_case(postgres_engine)) < 20:  # well into its round
            assert killed.poll() is None and time.monotonic() < deadline, "no timer fired"
            time.sleep(0.05)
    finally:
        killed.send_signal(signal.SIGKILL)  # mid-case: its open transaction is rolled back
        killed.communicate(timeout=60)
    before = _fired_per_case(postgres_engine)
    assert 20 <= len(before) < len(everyone)
    second = _worker(migrated_postgres_url, "--until-idle", "--interval", "0")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    fired = _fired_per_case(postgres_engine)
    assert set(fired) == everyone and set(fired.values()) == {1}
    assert sum(json.loads(line)["fired"] for line in out.splitlines()) == len(everyone) - len(
        before)


def test_a_worker_stopped_mid_firing_leaves_its_case_to_the_next(
        migrated_postgres_url: str, postgres_engine: SqlEngine) -> None:
    """A worker's claim lives in its transaction: a transaction left open by a stopped
    worker holds its case (the others pass it over), and when it rolls back the case is
    fired once by the next worker."""
    clock = FakeClock(datetime.now(UTC) - timedelta(days=2))
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(postgres_engine), clock=clock)
    engine.publish(*_wait_then_end())
    client = engine.add_client("Bo")
    held, other = (engine.start_case("timed_script", client.id or 0).case.id or 0
                   for _ in range(2))
    uows = SqlAlchemyUnitOfWorkFactory(postgres_engine)
    now = datetime.now(UTC)
    with uows() as dying:  # a worker stopped after its claim, before its commit
        assert dying.timers.claim_due(now) == held
        with uows() as uow:
            assert uow.timers.claim_due(now) == other  # the held case is passed over
        assert engine.fire_due_timers(now) == 1  # only the other one
    assert engine.fire_due_timers(now) == 1  # rolled back: the held case fires now
    for case_id in (held, other):
        assert [e.type for e in engine.events(case_id)].count("timer_fired") == 1


def test_four_workers_deliver_each_kept_message_once(
        migrated_postgres_url: str, postgres_engine: SqlEngine) -> None:
    uows = SqlAlchemyUnitOfWorkFactory(postgres_engine)
    engine = Engine(uow=uows, clock=FakeClock(datetime.now(UTC) - timedelta(days=1)))
    engine.publish(*bundle("wake"))
    waiting = []
    for number in range(MESSAGES):  # each client's case waits for its appointment
        case = engine.start_case("wake", engine.add_client(f"C{number}").id or 0)
        engine.complete_task(case.tasks[0].task.id, {})
        waiting.append(case.case)
    with uows() as uow:  # kept by a sender whose process stopped before routing them
        for case in waiting:
            uow.messages.add(Message(id=None, name="appointment_booked",
                                     client_id=case.client_id, payload={},
                                     sender_case_id=None, created_at=datetime.now(UTC)))
        uow.commit()
    workers = [_worker(migrated_postgres_url, "--until-idle", "--interval", "0")
               for _ in range(WORKERS)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * WORKERS, outputs
    assert sum(json.loads(line)["delivered"] for out, _ in outputs
               for line in out.splitlines()) == MESSAGES
    with uows() as uow:
        assert uow.messages.pending() == []
    for case in waiting:
        types = [e.type for e in engine.events(case.id or 0)]
        assert types.count("message_received") == 1, (case.id, types)


def test_a_message_another_worker_is_delivering_is_passed_over(
        postgres_engine: SqlEngine) -> None:
    uows = SqlAlchemyUnitOfWorkFactory(postgres_engine)
    engine = Engine(uow=uows, clock=FakeClock())
    client_id = engine.add_client("Cy").id
    with uows() as uow:
        message = uow.messages.add(Message(id=None, name="m", client_id=client_id,
                                           payload={}, sender_case_id=None,
                                           created_at=datetime.now(UTC)))
        uow.commit()
    assert message.id is not None
    with uows() as first:
        assert first.messages.claim(message.id)
        with uows() as second:
            assert not second.messages.claim(message.id)  # held: passed over, not waited for
    with uows() as uow:
        assert uow.messages.claim(message.id)  # released with the first transaction
        uow.messages.mark_delivered(message.id, None, datetime.now(UTC))
        uow.commit()
    with uows() as uow:
        assert not uow.messages.claim(message.id)  # delivered


# -- SQLite: one worker ------------------------------------------------------------------------


def _wait_for_round(worker: subprocess.Popen[str]) -> None:
    """Until the worker has reported its first round (so it holds its lock)."""
    assert worker.stdout is not None
    line = worker.stdout.readline()
    assert json.loads(line)["round"] == 1, line


def test_a_second_worker_on_one_sqlite_database_refuses_to_start(
        tmp_path: Path, migrated_sqlite_file: Path) -> None:
    database = tmp_path / "pathways.sqlite3"
    copy_sqlite_file(migrated_sqlite_file, database)
    url = f"sqlite:///{database}"
    first = _worker(url, "--interval", "0.2")
    try:
        _wait_for_round(first)
        second = _worker(url, "--rounds", "1")
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1
        error = json.loads(out)["error"]
        assert error["code"] == "conflict"
        assert error["message"].startswith(
            f"another worker (process {first.pid}) already runs on this SQLite database")
        assert "run several workers on PostgreSQL" in error["message"]
        assert error["details"]["lock"] == str(database) + LOCK_SUFFIX
    finally:
        first.send_signal(signal.SIGKILL)  # no clean-up of its own: the OS frees the lock
        first.communicate(timeout=60)
    third = _worker(url, "--rounds", "1")
    out, err = third.communicate(timeout=60)
    assert third.returncode == 0, err
    assert json.loads(out)["round"] == 1
