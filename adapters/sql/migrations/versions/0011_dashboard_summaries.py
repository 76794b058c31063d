"""The dashboard's summaries, kept as events are written, filled in from the events stored.

A cold dashboard read every event of a pathway and computed in Python (158 s at 100,000
clients). adapters.sql.summaries now keeps, in the transaction of each event it summarises,
one narrow row per event the figures read (with its hours worked out), the strings of its
data (so the privacy rule is applied at read time), one row per case (its start and last
task) and tasks per caseworker and month; the figures are GROUP BY queries over them.

The tables are declared here as they are at this revision (a later change to
adapters.sql.tables must not change what this step creates), and filled by summarising every
stored event the way new events are (adapters.sql.summaries.rebuild).

Revision ID: 0011_summaries
Revises: 0010_revision
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sql import summaries

revision: str = "0011_summaries"
down_revision: str | Sequence[str] | None = "0010_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("summary_events", "summary_event_names", "summary_cases", "summary_activity")


def upgrade() -> None:
    op.create_table(
        "summary_events",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("pathway", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("step", sa.String, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task", sa.String, nullable=True),
        sa.Column("outcome", sa.String, nullable=True),
        sa.Column("value", sa.Integer, nullable=True),
        sa.Column("counted", sa.Boolean, nullable=True),
        sa.Column("truthy", sa.Boolean, nullable=True),
        sa.Column("arm", sa.Integer, nullable=True),
        sa.Column("split", sa.Boolean, nullable=True),
        sa.Column("hours", sa.Float, nullable=True),
        sa.Column("hours_from_start", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.create_index("ix_summary_events_pathway_type_step", "summary_events",
                    ["pathway", "type", "step"])
    op.create_table(
        "summary_event_names",
        sa.Column("case_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", "name"),
    )
    op.create_index("ix_summary_event_names_name", "summary_event_names", ["name"])
    op.create_table(
        "summary_cases",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("pathway", sa.String, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_summary_cases_pathway", "summary_cases", ["pathway"])
    op.create_table(
        "summary_activity",
        sa.Column("pathway", sa.String, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("pathway", "actor", "month"),
    )
    summaries.rebuild(op.get_bind(), steps=False)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
