"""Outcomes: imported outcome events, the files they came from, comparison groups.

Revision ID: 0005
Revises: 0004
Create Date: 2026-01-12
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outcome_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("imported_at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outcome_imports"),
        sa.UniqueConstraint("sha256", name="uq_outcome_imports_sha256"),
    )
    op.create_table(
        "outcome_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outcome_events"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_outcome_events_client_id_clients"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["outcome_imports.id"],
            name="fk_outcome_events_import_id_outcome_imports",
        ),
        sa.UniqueConstraint(
            "client_id", "kind", "occurred_on", "recorded_on",
            name="uq_outcome_events_client_id_kind_occurred_on_recorded_on",
        ),
    )
    op.create_index("ix_outcome_events_kind_occurred_on", "outcome_events",
                    ["kind", "occurred_on"])
    op.create_table(
        "comparison_rates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cohort", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("group_size", sa.Integer(), nullable=False),
        sa.Column("per_100", sa.Float(), nullable=True),
        sa.Column("binary_rate", sa.Float(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("set_at", _timestamp(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_comparison_rates"),
    )
    op.create_index("ix_comparison_rates_cohort_kind", "comparison_rates", ["cohort", "kind"])
    op.create_table(
        "comparison_subjects",
        sa.Column("group_name", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=False),
        sa.Column("events", _json(), nullable=False),
        sa.Column("imported_at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("group_name", "subject", name="pk_comparison_subjects"),
    )


def downgrade() -> None:
    op.drop_table("comparison_subjects")
    op.drop_index("ix_comparison_rates_cohort_kind", table_name="comparison_rates")
    op.drop_table("comparison_rates")
    op.drop_index("ix_outcome_events_kind_occurred_on", table_name="outcome_events")
    op.drop_table("outcome_events")
    op.drop_table("outcome_imports")
