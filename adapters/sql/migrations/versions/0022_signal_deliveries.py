"""A routed signal's deliveries are kept until made (issue 17): one row per case that waited
for it when it was routed and per case its start events begin, written in the routing's
transaction and deleted in each delivery's, so a crash or a busy case never loses it.

Revision ID: 0022_signal_deliveries
Revises: 0021_inbox_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_signal_deliveries"
down_revision: str | Sequence[str] | None = "0021_inbox_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("pathway", sa.String(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signal_deliveries"),
        sa.ForeignKeyConstraint(["signal_id"], ["messages.id"],
                                name="fk_signal_deliveries_signal_id_messages"),
    )
    op.create_index("ix_signal_deliveries_signal_id", "signal_deliveries", ["signal_id"])


def downgrade() -> None:
    op.drop_index("ix_signal_deliveries_signal_id", table_name="signal_deliveries")
    op.drop_table("signal_deliveries")
