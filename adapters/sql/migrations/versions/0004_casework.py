"""Casework: task assignment, consents, the access log and task drafts.

Revision ID: 0004
Revises: 0003
Create Date: 2025-12-09
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.add_column(sa.Column("assignee", sa.String(), nullable=True))
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", _timestamp(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_consents_client_id_clients"
        ),
    )
    op.create_index("ix_consents_client_id", "consents", ["client_id"])
    op.create_table(
        "access_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("organisation", sa.String(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_client_id", "access_log", ["client_id"])
    op.create_index("ix_access_log_username", "access_log", ["username"])
    op.create_table(
        "drafts",
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("saved_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "username", name="pk_drafts"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_drafts_case_id_cases"),
    )
    op.create_index("ix_drafts_case_id", "drafts", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_drafts_case_id", table_name="drafts")
    op.drop_table("drafts")
    op.drop_index("ix_access_log_username", table_name="access_log")
    op.drop_index("ix_access_log_client_id", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_consents_client_id", table_name="consents")
    op.drop_table("consents")
    with op.batch_alter_table("inbox_tasks") as batch:
        batch.drop_column("assignee")
