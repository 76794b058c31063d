"""Initial schema: versions and bundles, clients, cases, inbox, events, timers, messages.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
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
        "bundles",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("files", _json(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_bundles"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("bundle_hash", sa.String(64), nullable=False),
        sa.Column("main_file", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("published_at", _timestamp(), nullable=False),
        sa.Column("start_messages", _json(), nullable=False),
        sa.Column("processes", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.ForeignKeyConstraint(
            ["bundle_hash"], ["bundles.hash"], name="fk_versions_bundle_hash_bundles"
        ),
        sa.UniqueConstraint("pathway", "number", name="uq_versions_pathway_number"),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("error", _json(none_as_null=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("waiting_for", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_cases_client_id_clients"),
    )
    op.create_index("ix_cases_pathway_status", "cases", ["pathway", "status"])
    op.create_index("ix_cases_client_id", "cases", ["client_id"])
    op.create_table(
        "inbox_tasks",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("pathway", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("form", sa.String(), nullable=True),
        sa.Column("due", _timestamp(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("closed_at", _timestamp(), nullable=True),
        sa.Column("completed_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_tasks"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_inbox_tasks_case_id_cases"),
    )
    op.create_index("ix_inbox_tasks_status_role", "inbox_tasks", ["status", "role"])
    op.create_index("ix_inbox_tasks_case_id", "inbox_tasks", ["case_id"])
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("step", sa.String(), nullable=True),
        sa.Column("data", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_events_case_id_cases"),
        sa.UniqueConstraint("case_id", "seq", name="uq_events_case_id_seq"),
    )
    op.create_table(
        "timers",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("due_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "task_id", name="pk_timers"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_timers_case_id_cases"),
    )
    op.create_index("ix_timers_due_at", "timers", ["due_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("sender_case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("delivered_case_id", sa.Integer(), nullable=True),
        sa.Column("delivered_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_messages_client_id_clients"
        ),
    )
    op.create_index(
        "ix_messages_client_id_delivered_at", "messages", ["client_id", "delivered_at"]
    )


def downgrade() -> None:
    for index, table in (
        ("ix_messages_client_id_delivered_at", "messages"),
        ("ix_timers_due_at", "timers"),
        ("ix_inbox_tasks_case_id", "inbox_tasks"),
        ("ix_inbox_tasks_status_role", "inbox_tasks"),
        ("ix_cases_client_id", "cases"),
        ("ix_cases_pathway_status", "cases"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("messages", "timers", "events", "inbox_tasks", "cases", "clients",
                  "versions", "bundles"):
        op.drop_table(table)
