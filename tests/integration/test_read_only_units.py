"""Read-only units of work: queries never queue behind writers, and never write.

On SQLite every writing unit of work takes the write lock at BEGIN IMMEDIATE; inbox,
dashboard and export reads use read-only ones (plain BEGIN, query_only) so they read the
last committed snapshot at once. On PostgreSQL they run in READ ONLY, REPEATABLE READ
transactions. Either way a read-only unit of work reads one snapshot throughout.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from adapters.sql.database import READ_ONLY, READ_ONLY_WORK_MEM
from engine import Engine
from engine.model import Client
from engine.ports import UnitOfWorkFactory
from tests.databases import migrated_engine
from tests.unit.engine.fakes import FakeClock


def test_sqlite_a_read_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    with migrated_engine(f"sqlite:///{tmp_path / 'reads.sqlite3'}") as database:
        uow_factory = SqlAlchemyUnitOfWorkFactory(database)
        engine = Engine(uow=uow_factory, clock=FakeClock())
        engine.add_client("Ada")
        with uow_factory() as writer:  # holds the write lock, its client not yet committed
            writer.clients.add(Client(id=None, name="Uncommitted"))
            started = time.monotonic()
            names = [c.name for c in engine.clients()]
            cases = engine.list_cases()
            waited = time.monotonic() - started
            writer.commit()
        assert names == ["Ada"] and cases == []
        assert waited < 2  # a writing unit of work would wait out busy_timeout (10 s)
        assert [c.name for c in engine.clients()] == ["Ada", "Uncommitted"]


def test_a_write_in_a_read_only_unit_of_work_fails_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    with uow_factory(read_only=True) as uow, pytest.raises(DBAPIError, match=r"(?i)read.?only"):
        uow.clients.add(Client(id=None, name="Sneaked in"))
    with uow_factory(read_only=True) as uow:
        uow.commit()  # the next statement begins the unit's next transaction: read-only too
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
            uow.clients.add(Client(id=None, name="Sneaked in later"))
    with uow_factory() as uow:
        assert uow.clients.list() == []


def test_a_connection_writes_again_after_a_read_only_unit_of_work(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """The pooled connection a read-only unit of work used is not left read-only."""
    for name in ("Ada", "Bob"):
        with uow_factory(read_only=True) as uow:
            uow.clients.list()
            uow.commit()
            uow.clients.list()
        with uow_factory() as uow:
            uow.clients.add(Client(id=None, name=name))
            uow.commit()
    with uow_factory(read_only=True) as uow:
        assert [c.name for c in uow.clients.list()] == ["Ada", "Bob"]


def test_a_read_only_unit_of_work_reads_one_snapshot_while_others_commit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Every statement of a read-only unit of work sees the data as of its first: the
    dashboard reads its groups of cases, then each step's counts, in several statements, and
    a case committed between them must not be in one and missing from the other (a step
    done by more cases than there are: the page failed with 'need successes <= n' while
    caseworkers wrote). On PostgreSQL a READ ONLY transaction in REPEATABLE READ; on SQLite
    a deferred transaction in WAL mode."""
    with uow_factory() as uow:
        uow.clients.add(Client(id=None, name="Ada"))
        uow.commit()
    with uow_factory(read_only=True) as reader:
        before = [c.name for c in reader.clients.list()]
        with uow_factory() as writer:
            writer.clients.add(Client(id=None, name="Committed meanwhile"))
            writer.commit()
        during = [c.name for c in reader.clients.list()]
    with uow_factory(read_only=True) as uow:
        after = [c.name for c in uow.clients.list()]
    assert before == during == ["Ada"]
    assert after == ["Ada", "Committed meanwhile"]


def test_postgresql_read_only_sorts_have_room_in_memory_and_writes_keep_the_server_s(
        postgres_url: str) -> None:
    """The dashboard's groups sort 100,000 cases' rows: in a read-only transaction its sorts
    may hold READ_ONLY_WORK_MEM (at the server's 4 MB they spilled to disk); a writing one,
    and the connection after either, keep the server's setting."""
    with migrated_engine(postgres_url) as engine:
        with engine.connect() as connection:
            server = connection.exec_driver_sql("SHOW work_mem").scalar()
        for _ in range(2):  # the same pooled connection, read-only then writing
            reading = engine.connect().execution_options(**{READ_ONLY: True})
            with reading as connection, connection.begin():
                assert connection.exec_driver_sql("SHOW work_mem").scalar() == \
                    READ_ONLY_WORK_MEM
            with engine.connect() as connection, connection.begin():
                assert connection.exec_driver_sql("SHOW work_mem").scalar() == server
    assert server != READ_ONLY_WORK_MEM
