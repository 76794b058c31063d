"""The one place that builds real things: database, unit of work, clock and the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine as SqlEngine

from adapters.notifications import NullNotifier
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from adapters.sql import SqlAlchemyUnitOfWorkFactory, make_engine, upgrade
from engine import Engine
from engine.accounts import Accounts
from engine.casework import Casework
from engine.clock import SystemClock
from engine.outcomes import Outcomes
from engine.ports import Clock, PasswordHasher


@dataclass
class Application:
    settings: Settings
    database: SqlEngine
    engine: Engine
    accounts: Accounts
    casework: Casework
    outcomes: Outcomes

    def close(self) -> None:
        self.database.dispose()


def bootstrap(settings: Settings, *, migrate: bool = True,
              hasher: PasswordHasher | None = None, clock: Clock | None = None) -> Application:
    """Wire an Application; with migrate, bring the schema to the newest Alembic revision.

    `hasher` replaces the slow production password hasher (tests use a cheap one); `clock`
    the system clock (tests move a fake one on: past an idle session, a break-glass time box)."""
    if migrate:
        upgrade(settings.database_url)
    database = make_engine(settings.database_url)
    uow = SqlAlchemyUnitOfWorkFactory(database)
    clock = clock or SystemClock()
    engine = Engine(uow=uow, clock=clock,
                    live_cases=settings.live_cases,
                    script_time_limit=settings.script_time_limit,
                    notifier=NullNotifier())
    accounts = Accounts(uow=uow, clock=clock, hasher=hasher or WerkzeugPasswordHasher(),
                        session_idle=timedelta(minutes=settings.session_idle_minutes),
                        session_lifetime=timedelta(hours=settings.session_hours))
    casework = Casework(engine, uow, clock,
                        break_glass=timedelta(minutes=settings.break_glass_minutes))
    return Application(settings=settings, database=database, engine=engine, accounts=accounts,
                       casework=casework, outcomes=Outcomes(uow, clock))
