"""What the dashboard reads in bulk, on SQLite and PostgreSQL and in the fake alike (issue 12,
item 9): every case's events in one read, and the data revision its figures are kept by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.model import CaseRecord, Client, Event, NewEvent, Organisation, User, UserSession
from engine.ports import UnitOfWork, UnitOfWorkFactory

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _case(uow: UnitOfWork, pathway: str) -> int:
    client = uow.clients.add(Client(id=None, name="Ada")).id or 0
    case = uow.cases.add(CaseRecord(id=None, pathway=pathway, version=1, client_id=client,
                                    status="running", state={}))
    assert case.id is not None
    return case.id


def _events(count: int) -> list[NewEvent]:
    kinds = ("case_started", "task_ready", "task_completed", "outcome_recorded")
    return [NewEvent(kinds[n % 4], T0 + timedelta(hours=n), f"step{n % 3}", "ana",
                     {"n": n}) for n in range(count)]


def test_every_case_s_events_come_in_one_read_as_case_by_case(
        storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        ids = [_case(uow, pathway) for pathway in ("housing", "gate", "housing")]
        for number, case_id in enumerate(ids):
            uow.events.append(case_id, _events(3 + number))
        uow.commit()
    with storage() as uow:
        one_by_one: list[Event] = [e for case_id in sorted(ids)
                                   for e in uow.events.list(case_id)]
        assert uow.events.list_all() == one_by_one
        assert uow.events.list_all(pathway="housing") == [
            e for e in one_by_one if e.case_id in (ids[0], ids[2])]
        assert uow.events.list_all(types=("outcome_recorded", "case_started")) == [
            e for e in one_by_one if e.type in ("outcome_recorded", "case_started")]
        assert uow.events.list_all(pathway="nowhere") == []


def test_the_data_revision_moves_with_every_committed_change_only(
        storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        first = uow.data_revision()
        case_id = _case(uow, "housing")
        uow.commit()
    with storage() as uow:
        second = uow.data_revision()
        assert second != first  # a new case
        uow.events.append(case_id, _events(2))
        uow.commit()
    with storage() as uow:
        third = uow.data_revision()
        assert third != second  # new events
        uow.events.append(case_id, _events(1))
        uow.rollback()
    with storage() as uow:
        assert uow.data_revision() == third  # nothing kept, nothing changed


def test_signing_in_is_not_a_change_to_the_data(uow_factory: UnitOfWorkFactory) -> None:
    """A session's row changes on every request: were it a change of the data, nothing the
    dashboard computed could be kept from one request to the next."""
    with uow_factory() as uow:
        uow.organisations.put(Organisation("moj", "Ministry of Justice"))
        uow.users.add(User(None, "cam", "Cam", "moj", "commissioner"))
        uow.commit()
    with uow_factory() as uow:
        before = uow.data_revision()
        uow.sessions.add(UserSession(None, "cam", "0" * 64, T0, T0))
        uow.commit()
    with uow_factory() as uow:
        assert uow.data_revision() == before
        uow.clients.add(Client(id=None, name="Bo"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.data_revision() == before + 1
