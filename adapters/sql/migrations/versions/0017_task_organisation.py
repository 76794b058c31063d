"""A task may be open to one organisation only, worked out from the case data when it became
ready (DSL `organisation:` on a task: whichever organisation accepted the referral).

Revision ID: 0017_task_organisation
Revises: 0016_migration_progress
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_task_organisation"
down_revision: str | Sequence[str] | None = "0016_migration_progress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.add_column(sa.Column("organisation", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.drop_column("organisation")
