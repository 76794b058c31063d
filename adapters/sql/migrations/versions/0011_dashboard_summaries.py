"""The dashboard's summaries, kept as events are written, filled in from the events stored.

A cold dashboard read every event of a pathway and computed in Python (158 s at 100,000
clients). adapters.sql.summaries now keeps, in the transaction of each event it summarises,
one narrow row per event the figures read (with its hours worked out), the strings of its
data (so the privacy rule is applied at read time), one row per case (its start and last
task) and tasks per caseworker and month; the figures are GROUP BY queries over them.

The tables are created from adapters.sql.tables as they are at this revision, and filled by
summarising every stored event the way new events are (adapters.sql.summaries.rebuild).

Revision ID: 0011_summaries
Revises: 0010_revision
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from adapters.sql import summaries, tables

revision: str = "0011_summaries"
down_revision: str | Sequence[str] | None = "0010_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (tables.summary_events, tables.summary_event_names, tables.summary_cases,
           tables.summary_activity)


def upgrade() -> None:
    connection = op.get_bind()
    for table in _TABLES:
        table.create(connection)
    summaries.rebuild(connection)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_TABLES):
        table.drop(connection)
