"""What every repository module shares: dialect-specific inserts and row mapping."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

DIALECT_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def insert_if_absent(connection: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a duplicate is skipped without aborting the transaction.

    PostgreSQL aborts the whole transaction on a unique violation, so "try and catch" would
    not do; both backends spell the clause the same way.
    """
    return DIALECT_INSERTS[connection.dialect.name](table).on_conflict_do_nothing()
