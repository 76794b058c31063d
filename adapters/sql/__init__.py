"""SQL storage for the engine: SQLAlchemy Core on SQLite or PostgreSQL, migrated by Alembic."""

from adapters.sql.database import make_engine
from adapters.sql.schema import current_revision, upgrade
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory

__all__ = [
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "current_revision",
    "make_engine",
    "upgrade",
]
