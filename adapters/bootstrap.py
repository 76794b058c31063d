"""The one place that builds real things: database, unit of work, clock and the services."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from adapters.metrics_dir import check_multiprocess_dir
from adapters.notifications import make_notifier
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from adapters.smtp import SmtpNotifier
from adapters.sql.database import make_engine
from adapters.sql.schema import head_revision, upgrade_if_behind
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from engine import Engine
from engine.accounts import Accounts
from engine.ports import Clock, PasswordHasher
from engine.ports import Observer as EngineObserver
from engine.workflow import SystemClock

if TYPE_CHECKING:
    from engine.casework import Attachments, Casework
    from engine.outcomes import Outcomes

log = logging.getLogger(__name__)


@dataclass
class Application:
    settings: Settings
    database: SqlEngine
    engine: Engine
    accounts: Accounts
    schema_ready: bool = False
    _schema_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # The services below are made when first used (the CLI's commands use one or none; the
    # web app uses all): a command starts without loading what it does not use.
    @functools.cached_property
    def casework(self) -> Casework:
        from engine.casework import Casework

        return Casework(self.engine, self.engine.uow, self.engine.clock,
                        break_glass=timedelta(minutes=self.settings.break_glass_minutes))

    @functools.cached_property
    def outcomes(self) -> Outcomes:
        from engine.outcomes import Outcomes

        return Outcomes(self.engine.uow, self.engine.clock)

    @functools.cached_property
    def attachments(self) -> Attachments:
        from adapters.attachment_store import make_store
        from adapters.clamd import make_scanner
        from engine.casework import Attachments

        found = self.settings.attachments
        return Attachments(self.casework, make_store(found, self.settings.database_url),
                           make_scanner(found.clamd), max_bytes=found.max_bytes)

    def close(self) -> None:
        self.database.dispose()

    def ensure_schema(self, *, check: bool = False) -> None:
        """Bring the schema to the newest revision if it is not there: a database that was
        unreachable at start, or created empty since, works without a restart. Once the
        schema is known to be current this costs nothing, unless `check` (the health
        check) asks again. Raises OperationalError while the database cannot be reached."""
        if self.schema_ready and not check:
            return
        with self._schema_lock:
            upgrade_if_behind(self.database, self.settings.database_url)
            self.schema_ready = True

    def unready(self) -> str | None:
        """Why this process cannot serve now (None: it can): the database cannot be used,
        or its schema is not at this code's newest revision (one small query, after
        migrating a database that was empty or unreachable at start: ensure_schema)."""
        try:
            self.ensure_schema()
            with self.database.connect() as connection:
                revision = connection.execute(
                    text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as err:
            kind = type(getattr(err, "orig", None) or err).__name__
            log.warning("not ready: the database cannot be used (%s)", kind)
            return f"the database cannot be used ({kind})"
        except Exception as err:  # Alembic cannot reach this code's revision (a newer schema)
            log.warning("not ready: the schema cannot be brought to this code's revision "
                        "(%s)", type(err).__name__)
            return "the database schema cannot be brought to this code's revision"
        if revision is None or revision != head_revision():
            log.warning("not ready: the database schema is at %s, this code at %s", revision,
                        head_revision())
            return "the database schema is not at this code's revision"
        return None


def bootstrap(settings: Settings, *, migrate: bool = True,
              hasher: PasswordHasher | None = None, clock: Clock | None = None) -> Application:
    """Wire an Application; with migrate, bring the schema to the newest Alembic revision.

    `hasher` replaces the slow production password hasher (tests use a cheap one); `clock`
    the system clock (tests move a fake one on: past an idle session, a break-glass time box).
    `notify` steps reach people through the notifier the settings name (PATHWAYS_NOTIFIER).
    A database that cannot be reached now is migrated when it first answers (see
    Application.ensure_schema); one that answers but fails to migrate raises here."""
    check_multiprocess_dir()
    database = make_engine(settings.database_url, settings.durability)
    ready = False
    if migrate:
        try:
            database.connect().close()
        except OperationalError as err:
            log.warning("database unreachable at start, migrating when it answers: %s",
                        type(err.orig or err).__name__)
        else:
            upgrade_if_behind(database, settings.database_url)
            ready = True
    uow = SqlAlchemyUnitOfWorkFactory(database)
    clock = clock or SystemClock()
    engine = Engine(uow=uow, clock=clock,
                    live_cases=settings.live_cases,
                    script_time_limit=settings.script_time_limit,
                    notifier=SmtpNotifier(settings.smtp) if settings.smtp is not None
                    else make_notifier(settings.notifier),
                    observer=_Metrics())
    accounts = Accounts(uow=uow, clock=clock, hasher=hasher or WerkzeugPasswordHasher(),
                        session_idle=timedelta(minutes=settings.session_idle_minutes),
                        session_lifetime=timedelta(hours=settings.session_hours))
    return Application(settings=settings, database=database, engine=engine, accounts=accounts,
                       schema_ready=ready)


class _Metrics:
    """The engine's observer, adapters.metrics.EngineMetrics, loading prometheus_client when
    the engine first reports a command (reading commands report none)."""

    @functools.cached_property
    def _metrics(self) -> EngineObserver:
        from adapters.metrics import EngineMetrics

        return EngineMetrics()

    def command_done(self, kind: str, outcome: str, seconds: float) -> None:
        self._metrics.command_done(kind, outcome, seconds)

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None:
        self._metrics.step_done(case_id, outcome, seconds)
