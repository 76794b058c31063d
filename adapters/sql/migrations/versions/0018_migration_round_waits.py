"""A case a migration refused only because of the round of a repeat it was in waits for its
next round and then moves by itself: the migration's result for it records the repeat it
waits for, whether it still waits, and when (at the start of which round) it moved.

Revision ID: 0018_migration_round_waits
Revises: 0017_task_organisation
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_migration_round_waits"
down_revision: str | Sequence[str] | None = "0017_task_organisation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("migration_cases") as batch:
        batch.add_column(sa.Column("waits_for_round", sa.String(), nullable=True))
        batch.add_column(sa.Column("waiting", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("moved_at_round", sa.Integer(), nullable=True))
        batch.create_index("ix_migration_cases_case_id", ["case_id"])


def downgrade() -> None:
    with op.batch_alter_table("migration_cases") as batch:
        batch.drop_index("ix_migration_cases_case_id")
        batch.drop_column("moved_at_round")
        batch.drop_column("moved_at")
        batch.drop_column("waiting")
        batch.drop_column("waits_for_round")
