"""Pathways' YAML being written in the browser, kept per designer until published.

The designer's editor (web/editor_pages.py) saves what is typed a moment after each change:
one draft per designer and pathway ("" for a new pathway), with the version it started
from, so nothing typed is lost and a draft of an older version is not taken for the newest.

Revision ID: 0015_definition_drafts
Revises: 0014_outcome_name_index
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_definition_drafts"
down_revision: str | Sequence[str] | None = "0014_outcome_name_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "definition_drafts",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "pathway", name="pk_definition_drafts"),
    )


def downgrade() -> None:
    op.drop_table("definition_drafts")
