"""Outcome imports and matched comparison groups say when their data was extracted.

A cohort's result, and any payment on it, exists only when every member's outcome windows have
closed by the date the outcome data was extracted (issue 12, item 1): a fact of the data, not
of the day it was imported. `extracted_on` is nullable: rows imported before this revision did
not say, and their extraction date stays unknown (no cohort is complete on them alone).

Revision ID: 0009_extracted
Revises: 0008_data
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_extracted"
down_revision: str | Sequence[str] | None = "0008_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("outcome_imports", "comparison_subjects")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("extracted_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of outcome_imports would break the
    # foreign key outcome_events holds on it
    for table in _TABLES:
        op.drop_column(table, "extracted_on")
