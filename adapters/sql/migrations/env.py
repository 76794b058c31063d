"""Alembic environment: migrates the Connection adapters.sql.schema hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from adapters.sql.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations through adapters.sql.schema (it passes a Connection to Alembic)"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them; batch mode does that
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
