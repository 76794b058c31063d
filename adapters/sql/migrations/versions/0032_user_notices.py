"""What each user was last told (issue 18, item 10): when they last looked at the inbox,
whether they want the daily e-mail digest and the day it last went; and the open tasks by
creation time, which the nav's "new since you looked" counts seek in.

Revision ID: 0032_user_notices
Revises: 0029_case_notes
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_user_notices"
down_revision: str | Sequence[str] | None = "0029_case_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_notices",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("inbox_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("digest_sent_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("username", name="pk_user_notices"),
    )
    op.create_index("ix_inbox_tasks_open_created_at", "inbox_tasks", ["created_at"],
                    postgresql_where=sa.text("status = 'open'"),
                    sqlite_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index("ix_inbox_tasks_open_created_at", table_name="inbox_tasks")
    op.drop_table("user_notices")
