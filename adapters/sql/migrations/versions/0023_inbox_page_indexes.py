"""The inbox's first page at 100,000 open tasks (issue 17): partial indexes on the open
tasks in the inbox's default order (due date, then creation time), alone, by assignee (the
"mine" scope) and by pathway and step (its step filter), so that a page reads its rows in
order and stops, sorting only the few tasks that tie on both, instead of every open task
that shares a due date.

Revision ID: 0023_inbox_page_indexes
Revises: 0021_inbox_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_inbox_page_indexes"
down_revision: str | Sequence[str] | None = "0022_signal_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = sa.text("status = 'open'")
_INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("ix_inbox_tasks_open_due", []),
    ("ix_inbox_tasks_open_assignee_due", ["assignee"]),
    ("ix_inbox_tasks_open_pathway_step_due", ["pathway", "step"]),
)


def upgrade() -> None:
    for name, leading in _INDEXES:
        op.create_index(name, "inbox_tasks", [*leading, "due", "created_at"],
                        postgresql_where=_OPEN, sqlite_where=_OPEN)


def downgrade() -> None:
    for name, _leading in _INDEXES:
        op.drop_index(name, table_name="inbox_tasks")
