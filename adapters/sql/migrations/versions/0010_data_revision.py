"""A data revision: a counter every unit of work that changes the data figures come from
bumps as it commits (issue 12, item 9).

The dashboard keys what it computed by this number, so a chart image or a CSV after the page
reuses the page's figures instead of reading every case again, and a change is seen at once.

Revision ID: 0010_revision
Revises: 0009_extracted
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_revision"
down_revision: str | Sequence[str] | None = "0009_extracted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    op.drop_table("data_revision")
