"""engine.ports.UnitOfWork over SQLAlchemy: one Connection, one transaction, every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from adapters.sql.repositories import (
    SqlAccessLog,
    SqlAllocationRepository,
    SqlCaseRepository,
    SqlClientRepository,
    SqlConsentRepository,
    SqlDraftRepository,
    SqlEventLog,
    SqlInboxRepository,
    SqlMessageRepository,
    SqlMigrationRepository,
    SqlOrganisationRepository,
    SqlOutcomeRepository,
    SqlSessionRepository,
    SqlTimerRepository,
    SqlTokenRepository,
    SqlUserRepository,
    SqlVersionRepository,
)
from engine.ports import (
    AccessLog,
    AllocationRepository,
    CaseRepository,
    ClientRepository,
    ConsentRepository,
    DraftRepository,
    EventLog,
    InboxRepository,
    MessageRepository,
    MigrationRepository,
    OrganisationRepository,
    OutcomeRepository,
    SessionRepository,
    TimerRepository,
    TokenRepository,
    UserRepository,
    VersionRepository,
)


class SqlAlchemyUnitOfWork:
    """A transaction begun on entry; leaving the with-block rolls back whatever was not committed.

    On SQLite the transaction begins with BEGIN IMMEDIATE (see database.make_engine), so a
    unit of work holds the write lock from entry to commit or exit. After commit() the
    repositories stay usable: the next statement begins a new transaction.
    """

    versions: VersionRepository
    clients: ClientRepository
    cases: CaseRepository
    inbox: InboxRepository
    events: EventLog
    timers: TimerRepository
    messages: MessageRepository
    allocations: AllocationRepository
    migrations: MigrationRepository
    # accounts
    organisations: OrganisationRepository
    users: UserRepository
    tokens: TokenRepository
    sessions: SessionRepository
    # casework
    consents: ConsentRepository
    access_log: AccessLog
    drafts: DraftRepository
    # outcomes
    outcomes: OutcomeRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        connection = self._engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self.versions = SqlVersionRepository(connection)
        self.clients = SqlClientRepository(connection)
        self.cases = SqlCaseRepository(connection)
        self.inbox = SqlInboxRepository(connection)
        self.events = SqlEventLog(connection)
        self.timers = SqlTimerRepository(connection)
        self.messages = SqlMessageRepository(connection)
        self.allocations = SqlAllocationRepository(connection)
        self.migrations = SqlMigrationRepository(connection)
        # accounts
        self.organisations = SqlOrganisationRepository(connection)
        self.users = SqlUserRepository(connection)
        self.tokens = SqlTokenRepository(connection)
        self.sessions = SqlSessionRepository(connection)
        # casework
        self.consents = SqlConsentRepository(connection)
        self.access_log = SqlAccessLog(connection)
        self.drafts = SqlDraftRepository(connection)
        # outcomes
        self.outcomes = SqlOutcomeRepository(connection)
        return self

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

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine)
