"""The dashboard's count of answer values (kept beside tables.py, which re-exports it, on the
same metadata)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, Text

from adapters.sql.table_types import metadata

# how many of a pathway's cases hold each value at each top-level answer of their data
# (adapters.sql.answer_summaries): which answers are worth splitting by, without reading
# every case's data. Name and value are keys: the JSON text, or a digest of a long one.
summary_answers = Table(
    "summary_answers",
    metadata,
    Column("pathway", String, nullable=False),
    Column("name", String, nullable=False),
    Column("value_key", String, nullable=False),
    Column("value", Text, nullable=False),  # the value as JSON text
    Column("cases", Integer, nullable=False),
    PrimaryKeyConstraint("pathway", "name", "value_key"),
)
