"""The storage port of case notes (kept beside engine.ports, which re-exports it)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import date
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

    def stream(self, *, since: date | None = None, pathway: str | None = None
               ) -> Iterator[tuple[CaseNote, tuple[str, int] | None]]:
        """Every note (contact on or after `since`; about a case of `pathway`, which leaves
        out the notes about no case), in the order recorded, each with its case's pathway
        and version (None: about no case), read in batches as they are consumed: memory
        does not grow with their number (`pathways export notes`)."""
        ...

    def counts_by_case(self, *, pathway: str | None = None) -> Iterator[tuple[int, int]]:
        """(case id, how many notes are about it) for every case (of `pathway`) that has a
        note, by case id, read in batches as consumed (`export cases`' notes column)."""
        ...
