"""What each user was last told about their work (issue 18, item 10), kept beside
tables.py, which re-exports it, on the same metadata: when they last looked at the inbox
(the nav's "new" counts start there), whether they want the daily e-mail digest and the
day it was last sent (so the digest goes once a day however often it runs). Also the index
the "new since" counts seek in: the open tasks by creation time."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, String, Table, false, text

from adapters.sql.table_types import UtcDateTime, metadata

user_notices = Table(
    "user_notices",
    metadata,
    Column("username", String, primary_key=True),
    Column("inbox_seen_at", UtcDateTime, nullable=True),
    Column("digest", Boolean, nullable=False, server_default=false()),
    Column("digest_sent_on", Date, nullable=True),
)


def open_tasks_by_creation(inbox_tasks: Table) -> Index:
    """The open tasks in creation order (revision 0032): the nav's count of tasks new
    since the user last looked reads only those, not every open task."""
    return Index("ix_inbox_tasks_open_created_at", inbox_tasks.c.created_at,
                 postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'"))
