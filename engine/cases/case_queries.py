"""Reading cases: one case with its open tasks, lists of cases and tasks, event logs.

Queries of the Engine facade, each in a read-only unit of work.
"""

from __future__ import annotations

from engine.errors import DefinitionError
from engine.model import CaseRecord, Event, InboxTask
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
