"""The case notes table (kept beside tables.py, which re-exports it, on the same metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from adapters.sql.table_types import UtcDateTime, metadata

# contacts and notes caseworkers record on a client outside tasks (revision 0029): added,
# never changed; the author's organisation kept with each (engine.casework.case_notes)
case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=True),
    Column("contact_on", Date, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("minutes", Integer, nullable=True),
    Column("text", Text, nullable=False),
    Column("author", String, nullable=False),
    Column("organisation", String, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index(None, "client_id"),
)
