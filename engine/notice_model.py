"""What users are told about their work (the nav's counts, the daily digest): values of
engine.model kept in a module of their own, which engine.model re-exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class UserNotices:
    """What one user was last told (revision 0032): when they last looked at the inbox
    (None: never), whether they want the daily e-mail digest, the day it last went."""

    username: str
    inbox_seen_at: datetime | None = None
    digest: bool = False
    digest_sent_on: date | None = None


@dataclass(frozen=True)
class InboxNews:
    """The nav's counts: open tasks assigned to the user and of the user's roles created
    since seen (None: since ever), and those overdue; each at most the cap it was counted
    to (over names those that stopped there)."""

    mine: int
    role: int
    overdue: int
    seen: datetime | None = None
    over: frozenset[str] = frozenset()
