"""The inbox is filtered, counted, sorted and paged in SQL (issue 17): indexes on the open
rows by version and step (its step filters), by due date (its default sort, read a page at
a time) and by assignee (the "mine" scope); on cases by status, id and client, so the join
to active cases reads the index alone instead of every case's state.

Revision ID: 0021_inbox_indexes
Revises: 0020_client_search
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_inbox_indexes"
down_revision: str | Sequence[str] | None = "0020_client_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_inbox_tasks_status_pathway_version_step", "inbox_tasks",
     ["status", "pathway", "version", "step"]),
    ("ix_inbox_tasks_status_due", "inbox_tasks", ["status", "due"]),
    ("ix_inbox_tasks_status_assignee", "inbox_tasks", ["status", "assignee"]),
    ("ix_cases_status_id_client_id", "cases", ["status", "id", "client_id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in _INDEXES:
        op.drop_index(name, table_name=table)
