"""The storage port of case notes (kept beside engine.ports, which re-exports it)."""

from __future__ import annotations

import builtins
from typing import Protocol

from engine.model import CaseNote


class CaseNoteRepository(Protocol):
    """Contacts and notes recorded on clients: never changed, only added to."""

    def add(self, note: CaseNote) -> CaseNote:
        """Store a new note; returns it with its id."""
        ...

    def for_client(self, client_id: int) -> builtins.list[CaseNote]:
        """The client's notes, in the order recorded."""
        ...
