"""engine.ports.UnitOfWork over SQLAlchemy: one Connection, one transaction, every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from adapters.sql import repositories as sql
from adapters.sql.database import READ_ONLY
from engine.ports import Repositories


class SqlAlchemyUnitOfWork(Repositories):
    """A transaction begun on entry; leaving the with-block rolls back whatever was not committed.

    On SQLite the transaction begins with BEGIN IMMEDIATE (see database.make_engine), so a
    unit of work holds the write lock from entry to commit or exit; a read-only one begins
    a plain BEGIN with query_only set (PostgreSQL: SET TRANSACTION READ ONLY), so queries
    never wait for writers and any write in them fails. After commit() the
    repositories stay usable: the next statement begins a new transaction.
    """

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self.read_only = read_only

    def __enter__(self) -> Self:
        connection = self._engine.connect()
        try:
            if self.read_only:
                connection.execution_options(**{READ_ONLY: True})
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._bind(connection)
        return self

    def _bind(self, connection: Connection) -> None:
        """Give the unit of work every repository of engine.ports.Repositories (typed there),
        on its one Connection."""
        self.versions = sql.SqlVersionRepository(connection)
        self.clients = sql.SqlClientRepository(connection)
        self.cases = sql.SqlCaseRepository(connection)
        self.inbox = sql.SqlInboxRepository(connection)
        self.events = sql.SqlEventLog(connection)
        self.timers = sql.SqlTimerRepository(connection)
        self.messages = sql.SqlMessageRepository(connection)
        self.allocations = sql.SqlAllocationRepository(connection)
        self.migrations = sql.SqlMigrationRepository(connection)
        self.organisations = sql.SqlOrganisationRepository(connection)
        self.users = sql.SqlUserRepository(connection)
        self.tokens = sql.SqlTokenRepository(connection)
        self.sessions = sql.SqlSessionRepository(connection)
        self.consents = sql.SqlConsentRepository(connection)
        self.access_log = sql.SqlAccessLog(connection)
        self.drafts = sql.SqlDraftRepository(connection)
        self.outcomes = sql.SqlOutcomeRepository(connection)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self._active()
        self._connection = None
        try:
            connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        self._active().commit()

    def rollback(self) -> None:
        self._active().rollback()

    def _active(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self._connection


class SqlAlchemyUnitOfWorkFactory:
    """engine.ports.UnitOfWorkFactory: a fresh unit of work per call, sharing one Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, read_only=read_only)
