"""Case notes (issue 18, item 2): contacts and notes a caseworker records on a client outside
tasks, optionally about one of the client's cases, with the author's organisation.

Revision ID: 0029_case_notes
Revises: 0028_saved_filters
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_case_notes"
down_revision: str | Sequence[str] | None = "0028_saved_filters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("contact_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("organisation", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_case_notes"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"],
                                name="fk_case_notes_client_id_clients"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name="fk_case_notes_case_id_cases"),
    )
    op.create_index("ix_case_notes_client_id", "case_notes", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_case_notes_client_id", table_name="case_notes")
    op.drop_table("case_notes")
