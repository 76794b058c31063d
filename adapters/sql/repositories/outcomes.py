"""Storage of outcomes: outcome events, their import files, comparison rates and groups."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    delete,
    insert,
    select,
    update,
)

from adapters.sql import tables
from adapters.sql.repositories.common import insert_if_absent
from engine.clock import current_time
from engine.errors import ConflictError
from engine.model import (
    ComparisonEvent,
    ComparisonRate,
    ComparisonSubject,
    OutcomeEvent,
    OutcomeImport,
)


class SqlOutcomeRepository:
    """Outcome events, the files they were imported from, and comparison groups."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_import(self, record: OutcomeImport) -> OutcomeImport | None:
        new_id = self._connection.execute(
            insert_if_absent(self._connection, tables.outcome_imports)
            .values(sha256=record.sha256, filename=record.filename, kind=record.kind,
                    rows=record.rows, imported=record.imported,
                    imported_at=record.imported_at, actor=record.actor,
                    extracted_on=record.extracted_on)
            .returning(tables.outcome_imports.c.id)
        ).scalar_one_or_none()
        return None if new_id is None else replace(record, id=new_id)

    def import_by_sha256(self, sha256: str) -> OutcomeImport | None:
        i = tables.outcome_imports
        row = self._connection.execute(select(i).where(i.c.sha256 == sha256)).one_or_none()
        return None if row is None else _outcome_import(row)

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
        new_id = self._connection.execute(
            insert_if_absent(self._connection, tables.outcome_events)
            .values(client_id=event.client_id, kind=event.kind, occurred_on=event.occurred_on,
                    recorded_on=event.recorded_on, source=event.source, detail=event.detail,
                    import_id=event.import_id, created_at=created_at)
            .returning(tables.outcome_events.c.id)
        ).scalar_one_or_none()
        return None if new_id is None else replace(event, id=new_id, created_at=created_at)

    def events(self, *, client_id: int | None = None, kind: str | None = None
               ) -> builtins.list[OutcomeEvent]:
        e = tables.outcome_events
        wanted = ((e.c.client_id, client_id), (e.c.kind, kind))
        filters = [column == value for column, value in wanted if value is not None]
        rows = self._connection.execute(
            select(e).where(*filters)
            .order_by(e.c.client_id, e.c.occurred_on, e.c.recorded_on, e.c.kind, e.c.id))
        return [OutcomeEvent(id=row.id, client_id=row.client_id, kind=row.kind,
                             occurred_on=row.occurred_on, recorded_on=row.recorded_on,
                             source=row.source, detail=row.detail, import_id=row.import_id,
                             created_at=row.created_at)
                for row in rows]

    def set_rate(self, rate: ComparisonRate) -> ComparisonRate:
        set_at = rate.set_at or current_time()
        new_id = self._connection.execute(
            insert(tables.comparison_rates)
            .values(cohort=rate.cohort, kind=rate.kind, group_size=rate.group_size,
                    per_100=rate.per_100, binary_rate=rate.binary_rate, source=rate.source,
                    set_at=set_at, set_by=rate.set_by)
            .returning(tables.comparison_rates.c.id)
        ).scalar_one()
        return replace(rate, id=new_id, set_at=set_at)

    def rates(self, *, cohort: str | None = None, kind: str | None = None
              ) -> builtins.list[ComparisonRate]:
        r = tables.comparison_rates
        wanted = ((r.c.cohort, cohort), (r.c.kind, kind))
        filters = [column == value for column, value in wanted if value is not None]
        rows = self._connection.execute(select(r).where(*filters).order_by(r.c.id))
        return [ComparisonRate(id=row.id, cohort=row.cohort, kind=row.kind,
                               group_size=row.group_size, per_100=row.per_100,
                               binary_rate=row.binary_rate, source=row.source,
                               set_at=row.set_at, set_by=row.set_by)
                for row in rows]

    def add_subjects(self, subjects: Sequence[ComparisonSubject]) -> None:
        if not subjects:
            return
        now = current_time()
        table = tables.comparison_subjects
        inserted = self._connection.execute(
            insert_if_absent(self._connection, table)
            .returning(table.c.group_name, table.c.subject), [
            {"group_name": s.group, "subject": s.subject, "kind": s.kind,
             "release_date": s.release_date,
             "events": [{"occurred_on": e.occurred_on.isoformat(),
                         "recorded_on": e.recorded_on.isoformat()} for e in s.events],
             "imported_at": s.imported_at or now, "actor": s.actor,
             "extracted_on": s.extracted_on}
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
        return [ComparisonSubject(
                    group=row.group_name, subject=row.subject, kind=row.kind,
                    release_date=row.release_date,
                    events=tuple(ComparisonEvent(date.fromisoformat(e["occurred_on"]),
                                                 date.fromisoformat(e["recorded_on"]))
                                 for e in row.events),
                    imported_at=row.imported_at, actor=row.actor,
                    extracted_on=row.extracted_on)
                for row in rows]

    def groups(self) -> builtins.list[str]:
        s = tables.comparison_subjects
        return list(self._connection.execute(
            select(s.c.group_name).distinct().order_by(s.c.group_name)).scalars())


def _outcome_import(row: Row[Any]) -> OutcomeImport:
    return OutcomeImport(id=row.id, sha256=row.sha256, filename=row.filename, kind=row.kind,
                         rows=row.rows, imported=row.imported, imported_at=row.imported_at,
                         actor=row.actor, extracted_on=row.extracted_on)
