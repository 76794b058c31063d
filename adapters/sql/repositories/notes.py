"""Storage of case notes (engine.note_ports): added, never changed."""

from __future__ import annotations

import builtins
from dataclasses import replace

from sqlalchemy import select

from adapters.sql import tables
from adapters.sql.repositories.common import SqlRepository, columns_of, insert_id, record_from
from engine.model import CaseNote


class SqlCaseNoteRepository(SqlRepository):
    """Contacts and notes recorded on clients (revision 0029)."""

    def add(self, note: CaseNote) -> CaseNote:
        return replace(note, id=insert_id(self._connection, tables.case_notes,
                                          columns_of(note)))

    def for_client(self, client_id: int) -> builtins.list[CaseNote]:
        n = tables.case_notes
        rows = self._connection.execute(
            select(n).where(n.c.client_id == client_id).order_by(n.c.id))
        return [record_from(CaseNote, row) for row in rows]
