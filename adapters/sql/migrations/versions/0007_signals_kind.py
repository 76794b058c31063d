"""Signals beside messages: a `kind` column tells one from the other, and a programme-wide
signal, which is for every client's cases, has no client (client_id becomes nullable).

Revision ID: 0007_signals
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_signals"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False,
                                   server_default="message"))
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Programme-wide signals have no client to keep them under; they go with the column.
    op.execute("DELETE FROM messages WHERE client_id IS NULL")
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("client_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("kind")
