"""Documents on clients' records (issue 18, item 2): one row per uploaded document, with
the random key its bytes are stored under (a folder or S3, never the database).

Revision ID: 0030_attachments
Revises: 0032_user_notices
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_attachments"
down_revision: str | Sequence[str] | None = "0032_user_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(), nullable=False),
        sa.Column("organisation", sa.String(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"],
                                name="fk_attachments_client_id_clients"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_attachments_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.UniqueConstraint("key", name="uq_attachments_key"),
    )
    op.create_index("ix_attachments_client_id", "attachments", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_attachments_client_id", table_name="attachments")
    op.drop_table("attachments")
