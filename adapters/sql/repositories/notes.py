"""Storage of case notes (engine.note_ports): added, never changed."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Row, func, select

from adapters.sql import tables
from adapters.sql.repositories.common import (
    SqlRepository,
    columns_of,
    insert_id,
    record_from,
    stream_rows,
)
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

    def stream(self, *, since: date | None = None, pathway: str | None = None
               ) -> Iterator[tuple[CaseNote, tuple[str, int] | None]]:
        n, c = tables.case_notes, tables.cases
        statement = select(n, c.c.pathway, c.c.version).select_from(
            n.outerjoin(c, c.c.id == n.c.case_id)).order_by(n.c.id)
        if since is not None:
            statement = statement.where(n.c.contact_on >= since)
        if pathway is not None:
            statement = statement.where(c.c.pathway == pathway)
        return stream_rows(self._connection, _with_case, statement)

    def counts_by_case(self, *, pathway: str | None = None) -> Iterator[tuple[int, int]]:
        n, c = tables.case_notes, tables.cases
        statement = select(n.c.case_id, func.count().label("notes")).where(n.c.case_id.is_not(None))
        if pathway is not None:
            statement = statement.join(c, c.c.id == n.c.case_id).where(c.c.pathway == pathway)
        return stream_rows(self._connection, _count,
                           statement.group_by(n.c.case_id).order_by(n.c.case_id))


def _with_case(row: Row[Any]) -> tuple[CaseNote, tuple[str, int] | None]:
    note = record_from(CaseNote, row)
    pathway, version = row._mapping["pathway"], row._mapping["version"]
    return note, None if pathway is None else (pathway, version)


def _count(row: Row[Any]) -> tuple[int, int]:
    return int(row._mapping["case_id"]), int(row._mapping["notes"])
