"""Reading cases: one case with its open tasks, lists of cases and tasks, event logs.

Queries of the Engine facade, each in a read-only unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from engine.errors import DefinitionError
from engine.model import CaseNote, CaseRecord, Event, InboxTask
from engine.ports import UnitOfWork
from engine.workflow.case_runtime import CaseRuntime, CaseView, TaskView


def get_case(rt: CaseRuntime, case_id: int) -> CaseView:
    with rt.uow(read_only=True) as uow:
        record = rt.case(uow, case_id)
        return CaseView(record, _views(rt, uow, uow.inbox.list(case_id=case_id)))


def list_cases(rt: CaseRuntime, *, pathway: str | None, status: str | None,
               client_id: int | None) -> list[CaseRecord]:
    with rt.uow(read_only=True) as uow:
        return uow.cases.list(pathway=pathway, status=status, client_id=client_id)


def list_tasks(rt: CaseRuntime, *, case_id: int | None, role: str | None,
               pathway: str | None) -> list[TaskView]:
    """Open tasks with their forms. A task whose version cannot be loaded is listed with
    no form and its problem, so one broken version does not hide every other task."""
    views = []
    with rt.uow(read_only=True) as uow:
        for row in uow.inbox.list(case_id=case_id, role=role, pathway=pathway):
            try:
                views += _views(rt, uow, [row])
            except DefinitionError as err:
                views.append(TaskView(row, None, problem=err.message))
    return views


def _views(rt: CaseRuntime, uow: UnitOfWork, rows: list[InboxTask]) -> list[TaskView]:
    views = []
    for row in rows:
        parsed = rt.parsed(uow, row.pathway, row.version)
        views.append(TaskView(row, parsed.form_schema(row.form)))
    return views


def events(rt: CaseRuntime, case_id: int) -> list[Event]:
    with rt.uow(read_only=True) as uow:
        rt.case(uow, case_id)
        return uow.events.list(case_id)


def data_revision(rt: CaseRuntime) -> int:
    """Changes whenever a commit changes data: what computed figures are cached by."""
    with rt.uow(read_only=True) as uow:
        return uow.data_revision()


def cases_and_events(rt: CaseRuntime, pathway: str) -> tuple[list[CaseRecord], list[Event]]:
    """The pathway's cases and all their events, read together in two statements
    (figures over every case; never one read per case)."""
    with rt.uow(read_only=True) as uow:
        return uow.cases.list(pathway=pathway), uow.events.list_all(pathway=pathway)


class CaseStream:
    """Every case (of a pathway), and each with its events, streamed from one read-only
    unit of work: the storage reads them in batches as they are consumed, so memory does not
    grow with their number, and every pass sees the same snapshot (what an export of every
    case reads; see Engine.streamed)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def cases(self, pathway: str | None = None) -> Iterator[CaseRecord]:
        """The cases, oldest first, without their state."""
        return self._uow.cases.stream(pathway=pathway)

    def with_events(self, pathway: str | None = None
                    ) -> Iterator[tuple[CaseRecord, list[Event]]]:
        """Each case, oldest first, with its events in log order: two streams (cases by id,
        events by case then seq) merged, never one read per case."""
        events = self._uow.events.stream_all(pathway=pathway)
        pending = next(events, None)
        for case in self.cases(pathway):
            mine: list[Event] = []
            while pending is not None and case.id is not None and pending.case_id <= case.id:
                if pending.case_id == case.id:
                    mine.append(pending)
                pending = next(events, None)
            yield case, mine

    def notes(self, *, since: date | None = None, pathway: str | None = None
              ) -> Iterator[tuple[CaseNote, tuple[str, int] | None]]:
        """Every note on a client (contact on or after `since`; about a case of `pathway`),
        in the order recorded, with its case's pathway and version (None: about no case)."""
        return self._uow.notes.stream(since=since, pathway=pathway)

    def note_counts(self, cases: Iterable[CaseRecord], pathway: str | None = None
                    ) -> Iterator[tuple[CaseRecord, int]]:
        """Each of `cases` (oldest first, of `pathway`: some of self.cases(pathway), in its
        order) with how many notes are about it: two streams merged, never a read per case."""
        counts = self._uow.notes.counts_by_case(pathway=pathway)
        pending = next(counts, None)
        for case in cases:
            while pending is not None and case.id is not None and pending[0] < case.id:
                pending = next(counts, None)
            found = pending is not None and pending[0] == case.id
            yield case, pending[1] if found and pending is not None else 0
