"""The storage port of what users are told about their work (engine.casework.notices), kept
beside engine.ports, which re-exports it."""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Protocol

from engine.model import InboxNews, InboxQuery, UserNotices


class NoticeRepository(Protocol):
    """What each user was last told about their work (the nav's counts, the digest)."""

    def news(self, query: InboxQuery, *, cap: int) -> InboxNews:
        """query's open tasks (scope and filters aside) new since query.username last
        looked at the inbox (assigned to them; any), and those overdue at query.now: one
        statement, each count stopping at cap + 1 rows."""
        ...

    def get(self, username: str) -> UserNotices: ...

    def mark_seen(self, username: str, at: datetime) -> None:
        """The user looked at the inbox at `at`."""
        ...

    def set_digest(self, username: str, wanted: bool) -> None: ...

    def digest_users(self) -> builtins.list[str]:
        """Who asked for the daily digest, by username."""
        ...

    def take_digest(self, username: str, day: date) -> bool:
        """Mark the user's digest of day sent; False if it was already (or not wanted)."""
        ...

    def release_digest(self, username: str, day: date) -> None:
        """Undo take_digest of day (the digest could not be sent)."""
        ...
