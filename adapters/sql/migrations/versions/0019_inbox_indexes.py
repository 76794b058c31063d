"""The inbox is filtered, counted, sorted and paged in SQL (issue 17): indexes on the open
rows by version and step (its versions and step filters), by due date (its default sort,
read a page at a time) and by assignee (the "mine" scope).

Revision ID: 0019_inbox_indexes
Revises: 0018_migration_round_waits
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019_inbox_indexes"
down_revision: str | Sequence[str] | None = "0018_migration_round_waits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_inbox_tasks_status_pathway_version_step", ["status", "pathway", "version", "step"]),
    ("ix_inbox_tasks_status_due", ["status", "due"]),
    ("ix_inbox_tasks_status_assignee", ["status", "assignee"]),
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "inbox_tasks", columns)


def downgrade() -> None:
    for name, _columns in _INDEXES:
        op.drop_index(name, table_name="inbox_tasks")
