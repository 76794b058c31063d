"""engine.ports.UnitOfWork over SQLAlchemy: one Connection, one transaction, every repository."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import Connection, Engine, event, insert, select, update

from adapters.sql import repositories as sql
from adapters.sql import step_summaries, summaries, tables
from adapters.sql.database import READ_ONLY
from adapters.sql.repositories.attachments import SqlAttachmentRepository
from adapters.sql.repositories.common import forget_waits
from adapters.sql.repositories.notices import SqlNoticeRepository
from engine.ports import REPOSITORY_NAMES, Repositories

# writes that change no figure: sign-in sessions, tokens, the access log, drafts, the counter
_NOT_DATA = frozenset({"user_sessions", "api_tokens", "access_log", "drafts",
                       "definition_drafts", "saved_filters", "user_notices",
                       "data_revision", "attachments"})
_WRITE = re.compile(r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)",
                    re.IGNORECASE)
_WROTE = "pathways_wrote_data"
_REVISION = select(tables.data_revision.c.revision).where(tables.data_revision.c.id == 1)
_BUMP = (update(tables.data_revision).where(tables.data_revision.c.id == 1)
         .values(revision=tables.data_revision.c.revision + 1))


def _note_write(connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    """Mark the connection's transaction as one that changed data (see data_revision)."""
    found = _WRITE.match(statement)
    if found is None:
        return
    table = found.group(1).lower()
    if table not in _NOT_DATA:
        connection.info[_WROTE] = True
    if table == "migration_cases":
        forget_waits(connection)


R = TypeVar("R")


class _Repository(Generic[R]):
    """A unit of work's repository, made when first asked for on the unit's connection and
    kept in the unit's own attributes (which shadow this) for the rest of it: most units use
    two or three of the 23, and making them all took 75 microseconds a unit."""

    def __init__(self, make: Callable[[Connection], R]) -> None:
        self._make = make
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, unit: SqlAlchemyUnitOfWork | None, owner: type) -> R:
        if unit is None:
            raise AttributeError(self._name)
        repository = self._make(unit._active())
        unit.__dict__[self._name] = repository
        return repository


class SqlAlchemyUnitOfWork(Repositories):
    """A transaction begun on entry; leaving the with-block rolls back whatever was not committed.

    On SQLite the transaction begins with BEGIN IMMEDIATE (see database.make_engine), so a
    unit of work holds the write lock from entry to commit or exit; a read-only one begins
    a plain BEGIN with query_only set (PostgreSQL: SET TRANSACTION READ ONLY), so queries
    never wait for writers and any write in them fails. After commit() the
    repositories stay usable: the next statement begins a new transaction.
    """

    versions = _Repository(sql.SqlVersionRepository)
    clients = _Repository(sql.SqlClientRepository)
    cases = _Repository(sql.SqlCaseRepository)
    inbox = _Repository(sql.SqlInboxRepository)
    events = _Repository(sql.SqlEventLog)
    timers = _Repository(sql.SqlTimerRepository)
    messages = _Repository(sql.SqlMessageRepository)
    allocations = _Repository(sql.SqlAllocationRepository)
    migrations = _Repository(sql.SqlMigrationRepository)
    organisations = _Repository(sql.SqlOrganisationRepository)
    users = _Repository(sql.SqlUserRepository)
    tokens = _Repository(sql.SqlTokenRepository)
    sessions = _Repository(sql.SqlSessionRepository)
    consents = _Repository(sql.SqlConsentRepository)
    access_log = _Repository(sql.SqlAccessLog)
    drafts = _Repository(sql.SqlDraftRepository)
    notes = _Repository(sql.SqlCaseNoteRepository)
    definition_drafts = _Repository(sql.SqlDefinitionDraftRepository)
    saved_filters = _Repository(sql.SqlSavedFilterRepository)
    notices = _Repository(SqlNoticeRepository)
    outcomes = _Repository(sql.SqlOutcomeRepository)
    summaries = _Repository(summaries.SqlDashboardSummaries)
    attachments = _Repository(SqlAttachmentRepository)

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self.read_only = read_only

    def __enter__(self) -> Self:
        connection = self._engine.connect()
        connection.info[_WROTE] = False
        step_summaries.restore(connection)  # nothing left by the last transaction on it
        try:
            if self.read_only:
                connection.execution_options(**{READ_ONLY: True})
            connection.begin()
        except BaseException:
            connection.close()
            raise
        for name in REPOSITORY_NAMES:  # made on first use, on this transaction's connection
            self.__dict__.pop(name, None)
        self._connection = connection
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
        """Commit; a transaction that changed data also adds one to the data revision, in
        the same transaction, so a reader never sees new data under an old revision."""
        connection = self._active()
        self.cases.write_counts()  # the answer counts and step groups: rows every case of a
        step_summaries.write_pending(connection)  # pathway shares, held from here to commit
        if connection.info.get(_WROTE):
            if connection.execute(_BUMP).rowcount == 0:  # a schema made without 0010's row
                connection.execute(insert(tables.data_revision).values(id=1, revision=1))
            connection.info[_WROTE] = False
        connection.commit()

    def rollback(self) -> None:
        connection = self._active()
        connection.info[_WROTE] = False
        self.cases.restore()
        step_summaries.restore(connection)
        connection.rollback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """SAVEPOINT ... RELEASE, or ROLLBACK TO it (and re-raise) when the block raises."""
        connection = self._active()
        step_summaries.defer(connection)  # several cases a transaction: see step_summaries
        nested = connection.begin_nested()
        marked, steps = self.cases.marked(), step_summaries.marked(connection)
        try:
            yield
        except BaseException:
            nested.rollback()
            self.cases.restore(marked)
            step_summaries.restore(connection, steps)
            raise
        nested.commit()

    def data_revision(self) -> int:
        """A number that changes whenever a commit changes data (cases, events, clients,
        outcomes, versions, users): what computed figures are cached by."""
        return int(self._active().execute(_REVISION).scalar_one_or_none() or 0)

    def _active(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self._connection


class SqlAlchemyUnitOfWorkFactory:
    """engine.ports.UnitOfWorkFactory: a fresh unit of work per call, sharing one Engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if not event.contains(engine, "before_cursor_execute", _note_write):
            event.listen(engine, "before_cursor_execute", _note_write)

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, read_only=read_only)
