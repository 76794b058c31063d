"""Tables of the work a routed signal still owes (kept beside tables.py, which re-exports
them, on the same metadata)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from adapters.sql.table_types import UtcDateTime, metadata

# A routed signal's deliveries not yet made: one row per case that waited for it when it
# was routed (case_id, with the case's client), or per pathway its start event begins
# (pathway, with the client to start it for). Written with the routing, deleted with the
# delivery, in the same transactions (engine.cases.message_commands).
signal_deliveries = Table(
    "signal_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("signal_id", Integer, ForeignKey("messages.id"), nullable=False),
    Column("case_id", Integer, nullable=True),
    Column("pathway", String, nullable=True),
    Column("client_id", Integer, nullable=True),
    Column("routed_at", UtcDateTime, nullable=False),
    Index(None, "signal_id"),
)
