"""Documents on clients' records (kept beside tables.py, which re-exports it, on the same
metadata): what was uploaded, by whom, and the opaque key its bytes are stored under
(engine.attachment_ports.AttachmentStore), never the file itself."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table

from adapters.sql.table_types import UtcDateTime, metadata

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=True),
    Column("key", String(64), nullable=False, unique=True),  # random: see the engine's add
    Column("filename", String(200), nullable=False),  # shown and offered back, made safe
    Column("content_type", String(100), nullable=False),  # sniffed from the content
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("uploaded_by", String, nullable=False),
    Column("organisation", String, nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),
    Column("removed_by", String, nullable=True),
    Index(None, "client_id"),
)
