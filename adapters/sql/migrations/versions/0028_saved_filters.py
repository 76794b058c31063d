"""Inbox filters a user names and keeps (issue 18, item 4): one row per user and name, the
inbox's query string, listed on that user's inbox only.

Revision ID: 0028_saved_filters
Revises: 0025_answer_summaries
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_saved_filters"
down_revision: str | Sequence[str] | None = "0025_answer_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_filters"),
        sa.UniqueConstraint("username", "name", name="uq_saved_filters_username_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_filters")
