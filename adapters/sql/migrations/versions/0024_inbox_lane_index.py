"""The inbox filtered by pathway and step when the step's open tasks are in a lane the user
may not do (issue 17): an index of the open tasks by (pathway, step, role, version), which
the role rule, stated as the ranges of (role, version) between the denied lanes, seeks in
(adapters.sql.repositories.inbox_queries._lanes_between). On PostgreSQL the role column is
compared in code point order (COLLATE "C"), the order those ranges are worked out in and
the one SQLite's BINARY already has; and statistics of the tasks' status, pathway, role
and version together (their commonest combinations) tell the planner how few open tasks of
a pathway a range of the other lanes holds: estimated column by column it took one to hold
thousands and read the step's every task to find none. Not the step: with it, the planner
also knew a step's open tasks exactly, and then counted a busy step's tasks of one assignee
by walking every task in case order (on the benchmark, 30 ms where 2 ms had done).

Revision ID: 0024_inbox_lane_index
Revises: 0023_inbox_page_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_inbox_lane_index"
down_revision: str | Sequence[str] | None = "0023_inbox_page_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_inbox_tasks_open_pathway_step_lane"
_STATISTICS = "st_inbox_tasks_lanes"
_OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("inbox_tasks", "role", type_=sa.String(collation="C"),
                        existing_type=sa.String(), existing_nullable=True)
    op.create_index(_NAME, "inbox_tasks", ["pathway", "step", "role", "version"],
                    postgresql_where=_OPEN, sqlite_where=_OPEN)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS {_STATISTICS} (mcv) "
                   "ON status, pathway, role, version FROM inbox_tasks")
        op.execute("ANALYZE inbox_tasks")


def downgrade() -> None:
    op.drop_index(_NAME, table_name="inbox_tasks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP STATISTICS {_STATISTICS}")
        op.alter_column("inbox_tasks", "role", type_=sa.String(),
                        existing_type=sa.String(collation="C"), existing_nullable=True)
