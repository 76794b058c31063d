"""Storage of outcomes: outcome events, their import files, comparison rates and groups."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Row, delete, select, update

from adapters.sql import tables
from adapters.sql.repositories.common import (
    SqlRepository,
    columns_of,
    insert_id,
    insert_id_if_absent,
    insert_if_absent,
    matching,
    record_from,
    records_from,
)
from engine.errors import ConflictError
from engine.model import (
    ComparisonEvent,
    ComparisonRate,
    ComparisonSubject,
    OutcomeEvent,
    OutcomeImport,
)
from engine.workflow import current_time


class SqlOutcomeRepository(SqlRepository):
    """Outcome events, the files they were imported from, and comparison groups."""

    def add_import(self, record: OutcomeImport) -> OutcomeImport | None:
        new_id = insert_id_if_absent(self._connection, tables.outcome_imports,
                                     columns_of(record))
        return None if new_id is None else replace(record, id=new_id)

    def import_by_sha256(self, sha256: str) -> OutcomeImport | None:
        i = tables.outcome_imports
        return self._one(_outcome_import, select(i).where(i.c.sha256 == sha256))

    def imports(self) -> builtins.list[OutcomeImport]:
        i = tables.outcome_imports
        return [_outcome_import(row)
                for row in self._connection.execute(select(i).order_by(i.c.id))]

    def set_import_count(self, import_id: int, imported: int) -> None:
        i = tables.outcome_imports
        self._connection.execute(update(i).where(i.c.id == import_id).values(imported=imported))

    def set_import_extracted_on(self, import_id: int, day: date) -> None:
        i = tables.outcome_imports
        self._connection.execute(update(i).where(i.c.id == import_id).values(extracted_on=day))

    def set_group_extracted_on(self, group: str, day: date) -> None:
        s = tables.comparison_subjects
        self._connection.execute(update(s).where(s.c.group_name == group)
                                 .values(extracted_on=day))

    def add_event(self, event: OutcomeEvent) -> OutcomeEvent | None:
        created_at = event.created_at or current_time()
        new_id = insert_id_if_absent(self._connection, tables.outcome_events,
                                     columns_of(event, created_at=created_at))
        return None if new_id is None else replace(event, id=new_id, created_at=created_at)

    def events(self, *, client_id: int | None = None, kind: str | None = None
               ) -> builtins.list[OutcomeEvent]:
        e = tables.outcome_events
        return records_from(OutcomeEvent, self._connection.execute(
            select(e).where(*matching((e.c.client_id, client_id), (e.c.kind, kind)))
            .order_by(e.c.client_id, e.c.occurred_on, e.c.recorded_on, e.c.kind, e.c.id)))

    def occurrences(self, kind: str) -> builtins.list[tuple[int, date, date]]:
        e = tables.outcome_events
        return [(client, occurred, recorded) for client, occurred, recorded
                in self._connection.execute(select(e.c.client_id, e.c.occurred_on,
                                                   e.c.recorded_on).where(e.c.kind == kind))]

    def kinds(self) -> builtins.set[str]:
        e = tables.outcome_events
        return set(self._connection.execute(select(e.c.kind).distinct()).scalars())

    def set_rate(self, rate: ComparisonRate) -> ComparisonRate:
        set_at = rate.set_at or current_time()
        new_id = insert_id(self._connection, tables.comparison_rates,
                           columns_of(rate, set_at=set_at))
        return replace(rate, id=new_id, set_at=set_at)

    def rates(self, *, cohort: str | None = None, kind: str | None = None
              ) -> builtins.list[ComparisonRate]:
        r = tables.comparison_rates
        filters = matching((r.c.cohort, cohort), (r.c.kind, kind))
        rows = self._connection.execute(select(r).where(*filters).order_by(r.c.id))
        return [record_from(ComparisonRate, row) for row in rows]

    def add_subjects(self, subjects: Sequence[ComparisonSubject]) -> None:
        if not subjects:
            return
        now = current_time()
        table = tables.comparison_subjects
        inserted = self._connection.execute(
            insert_if_absent(self._connection, table)
            .returning(table.c.group_name, table.c.subject), [
            columns_of(s, leave_out=("group",), group_name=s.group,
                       events=[{"occurred_on": e.occurred_on.isoformat(),
                                "recorded_on": e.recorded_on.isoformat()} for e in s.events],
                       imported_at=s.imported_at or now)
            for s in subjects]).all()
        if len(inserted) < len(subjects):  # all or nothing, the transaction kept usable
            for group, subject in inserted:
                self._connection.execute(delete(table).where(
                    table.c.group_name == group, table.c.subject == subject))
            raise ConflictError("a comparison subject is held in its group already",
                                details={"groups": sorted({s.group for s in subjects})})

    def subjects(self, group: str) -> builtins.list[ComparisonSubject]:
        s = tables.comparison_subjects
        rows = self._connection.execute(
            select(s).where(s.c.group_name == group).order_by(s.c.subject))
        return [record_from(
                    ComparisonSubject, row, group=row.group_name,
                    events=tuple(ComparisonEvent(date.fromisoformat(e["occurred_on"]),
                                                 date.fromisoformat(e["recorded_on"]))
                                 for e in row.events))
                for row in rows]

    def groups(self) -> builtins.list[str]:
        s = tables.comparison_subjects
        return list(self._connection.execute(
            select(s.c.group_name).distinct().order_by(s.c.group_name)).scalars())


def _outcome_import(row: Row[Any]) -> OutcomeImport:
    return record_from(OutcomeImport, row)
