"""Each answer's values among a pathway's cases, kept as cases are written (issue 17).

A cold dashboard found which answers its tables may be split by from their distinct values,
read from every case's data: each case's JSON document decompressed and unpacked, most of
the page's time at 100,000 clients. adapters.sql.answer_summaries now counts, per pathway,
top-level answer and value, the cases holding it, in the transaction of each write of a
case's data; this step makes the table (declared here as it is at this revision) and counts
the cases already stored the way new writes are (answer_summaries.rebuild).

Revision ID: 0025_answer_summaries
Revises: 0024_inbox_lane_index
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sql import answer_summaries

revision: str = "0025_answer_summaries"
down_revision: str | Sequence[str] | None = "0024_inbox_lane_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_answers",
        sa.Column("pathway", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("value_key", sa.String, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("cases", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("pathway", "name", "value_key"),
    )
    answer_summaries.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("summary_answers")
