"""How far a running migration has got: the cases it will check, how many it has checked,
and when it last said so.

A migration of many cases runs in the background (web/migration_pages.py); its page, on any
node, shows this while it runs, and a run whose process died is seen to have stopped.

Revision ID: 0016_migration_progress
Revises: 0015_definition_drafts
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_migration_progress"
down_revision: str | Sequence[str] | None = "0015_definition_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.add_column(sa.Column("planned", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("checked", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("progressed_at", sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.drop_column("progressed_at")
        batch.drop_column("checked")
        batch.drop_column("planned")
