"""The per-step figures kept as increments, filled in from the summaries stored.

The dashboard's step figures were GROUP BY queries and window functions over one summary
row per task event: at 10,000 clients 2.4 s of a 5.2 s cold page, and more than linear in
the events. adapters.sql.step_summaries now keeps, with each task event, one row per case
and step, the figures per group of cases (pathway, version, arm, step) as increments, and
each value a median is taken of with its bucket; summary_cases gains the version its steps
are counted under and its split arm; summary_events an index by outcome (a case's outcomes
and the outcomes' names are read by it, not from every summary of the pathway).

The tables are declared here as they are at this revision, summary_cases' new columns are
filled from cases and the split allocations already summarised, and the steps from the
task events already summarised (adapters.sql.step_summaries.rebuild): the events themselves
are not read again.

Revision ID: 0012_step_summaries
Revises: 0011_summaries
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sql import step_summaries

revision: str = "0012_step_summaries"
down_revision: str | Sequence[str] | None = "0011_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("summary_case_steps", "summary_step_groups", "summary_step_values",
           "summary_step_buckets")


def _group() -> list[sa.Column[object]]:
    """The columns that name a group of cases: pathway, version, arm (0: none), step."""
    return [sa.Column("pathway", sa.String, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("arm", sa.Integer, nullable=False),
            sa.Column("step", sa.String, nullable=False)]


def upgrade() -> None:
    with op.batch_alter_table("summary_cases") as batch:
        batch.add_column(sa.Column("version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("arm", sa.Integer, nullable=True))
    op.create_table(
        "summary_case_steps",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        *_group(),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("ready", sa.Boolean, nullable=False),
        sa.Column("done_seq", sa.Integer, nullable=True),
        sa.Column("from_start", sa.Float, nullable=True),
        sa.Column("completions", sa.Integer, nullable=False),
        sa.Column("hours_sum", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "step"),
    )
    op.create_index("ix_summary_case_steps_group_first", "summary_case_steps",
                    ["pathway", "version", "arm", "step", "first_at", "case_id", "first_seq"])
    op.create_table(
        "summary_step_groups",
        *_group(),
        sa.Column("reached", sa.Integer, nullable=False),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("completions", sa.Integer, nullable=False),
        sa.Column("hours_sum", sa.Float, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_case", sa.Integer, nullable=True),
        sa.Column("first_seq", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("pathway", "version", "arm", "step"),
    )
    op.create_table(
        "summary_step_values",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(5), nullable=False),
        *_group(),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("hours", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", "kind"),
    )
    op.create_index("ix_summary_step_values_group_bucket", "summary_step_values",
                    ["pathway", "version", "arm", "step", "kind", "bucket", "hours"])
    op.create_table(
        "summary_step_buckets",
        *_group(),
        sa.Column("kind", sa.String(5), nullable=False),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("pathway", "version", "arm", "step", "kind", "bucket"),
    )
    op.create_index("ix_summary_events_outcomes", "summary_events",
                    ["pathway", "type", "outcome", "case_id", "seq"])
    op.execute("UPDATE summary_cases SET version = "
               "(SELECT cases.version FROM cases WHERE cases.id = summary_cases.case_id)")
    op.execute(  # the arm of the first split allocation (0: it named no version)
        "UPDATE summary_cases SET arm = (SELECT COALESCE(s.arm, 0) FROM summary_events s "
        "WHERE s.case_id = summary_cases.case_id AND s.type = 'version_allocated' "
        "AND s.split ORDER BY s.seq LIMIT 1)")
    step_summaries.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_summary_events_outcomes", "summary_events")
    for table in reversed(_TABLES):
        op.drop_table(table)
    with op.batch_alter_table("summary_cases") as batch:
        batch.drop_column("arm")
        batch.drop_column("version")
