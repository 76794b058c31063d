"""What the worker has yet to do, for /metrics: due timers and how late the oldest is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from adapters.sql import tables


@dataclass(frozen=True)
class Backlog:
    due_timers: int  # timers due now or earlier, not yet fired
    oldest_due: datetime | None  # when the earliest of them fell due


def backlog(database: Engine, now: datetime) -> Backlog:
    """One statement on the timers' due_at index: the number of due timers and the earliest
    due time. A case in error has none (its timers are withdrawn), so a due timer is work
    the worker has not reached yet."""
    t = tables.timers
    with database.connect() as connection:
        count, oldest = connection.execute(
            select(func.count(), func.min(t.c.due_at)).where(t.c.due_at <= now)).one()
    return Backlog(due_timers=int(count), oldest_due=oldest)
