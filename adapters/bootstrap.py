"""The one place that builds real things: database, unit of work, clock, engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine as SqlEngine

from adapters.notifications import NullNotifier
from adapters.settings import Settings
from adapters.sql import SqlAlchemyUnitOfWorkFactory, make_engine, upgrade
from engine import Engine
from engine.clock import SystemClock


@dataclass
class Application:
    settings: Settings
    database: SqlEngine
    engine: Engine

    def close(self) -> None:
        self.database.dispose()


def bootstrap(settings: Settings, *, migrate: bool = True) -> Application:
    """Wire an Application; with migrate, bring the schema to the newest Alembic revision."""
    if migrate:
        upgrade(settings.database_url)
    database = make_engine(settings.database_url)
    engine = Engine(uow=SqlAlchemyUnitOfWorkFactory(database), clock=SystemClock(),
                    live_cases=settings.live_cases,
                    script_time_limit=settings.script_time_limit,
                    notifier=NullNotifier())
    return Application(settings=settings, database=database, engine=engine)
