"""SQL storage for the engine: SQLAlchemy Core on SQLite or PostgreSQL, migrated by Alembic.

The names below load on first use, so importing one module of the package (the tables, the
engine factory) does not import every repository, Alembic and the workflow engine."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.sql.database import make_engine
    from adapters.sql.schema import current_revision, upgrade
    from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory

_WHERE = {"make_engine": "database", "current_revision": "schema", "upgrade": "schema",
          "SqlAlchemyUnitOfWork": "unit_of_work", "SqlAlchemyUnitOfWorkFactory": "unit_of_work"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"adapters.sql.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'adapters.sql' has no attribute {name!r}")


__all__ = [
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "current_revision",
    "make_engine",
    "upgrade",
]
