"""Allocation policies, and migrations of cases between versions with their per-case results.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(*, none_as_null: bool = False) -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "allocation_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("weights", _json(), nullable=False),
        sa.Column("seed", sa.String(), nullable=True),
        sa.Column("set_at", _timestamp(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_allocation_policies"),
    )
    op.create_index("ix_allocation_policies_pathway", "allocation_policies", ["pathway"])
    op.create_table(
        "migrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("filter", _json(), nullable=False),
        sa.Column("reverts", sa.Integer(), nullable=True),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_migrations"),
        sa.ForeignKeyConstraint(
            ["reverts"], ["migrations.id"], name="fk_migrations_reverts_migrations"
        ),
    )
    op.create_index("ix_migrations_pathway", "migrations", ["pathway"])
    op.create_table(
        "migration_cases",
        sa.Column("migration_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("from_step", sa.String(), nullable=True),
        sa.Column("to_step", sa.String(), nullable=True),
        sa.Column("before_state", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("before_revision", sa.Integer(), nullable=True),
        sa.Column("after_revision", sa.Integer(), nullable=True),
        sa.Column("reverted_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("migration_id", "case_id", name="pk_migration_cases"),
        sa.ForeignKeyConstraint(
            ["migration_id"], ["migrations.id"], name="fk_migration_cases_migration_id_migrations"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_migration_cases_case_id_cases"
        ),
        sa.ForeignKeyConstraint(
            ["reverted_by"], ["migrations.id"], name="fk_migration_cases_reverted_by_migrations"
        ),
    )


def downgrade() -> None:
    op.drop_table("migration_cases")
    op.drop_index("ix_migrations_pathway", table_name="migrations")
    op.drop_table("migrations")
    op.drop_index("ix_allocation_policies_pathway", table_name="allocation_policies")
    op.drop_table("allocation_policies")
