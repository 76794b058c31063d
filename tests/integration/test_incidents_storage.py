"""Incidents on real databases (SQLite file and PostgreSQL): an uncaught BPMN error, and a
wait whose date is empty, are stored as `error` cases with their reason, listed by status,
and retried from the stored state by another process (issue 11, items 3-4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dsl import compile_pathway
from engine.ports import UnitOfWorkFactory
from tests.incident_bundles import caught_by_event_subprocess, dated_wait, thrower
from tests.integration.engines import fresh_engine
from tests.unit.engine.fakes import FakeClock


def test_uncaught_bpmn_error_is_a_stored_incident_retried_on_a_fixed_version(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    first = fresh_engine(uow_factory, clock)
    first.publish(thrower("error"), "incident.bpmn")
    client = first.add_client("Ada")
    case = first.start_case("incident", client.id or 0)
    result = first.complete_task(case.tasks[0].task.id, {})
    assert result.status == "error"

    second = fresh_engine(uow_factory, clock)
    [listed] = second.list_cases(status="error")
    assert listed.id == case.case.id and listed.error is not None
    assert (listed.error["kind"], listed.error["code"], listed.error["name"],
            listed.error["step"]) == ("bpmn_error", "E42", "Funding refused", "fail")
    again = second.retry_case(listed.id or 0)
    assert again.case.status == "error" and again.case.error is not None
    assert again.case.error["code"] == "E42"

    third = fresh_engine(uow_factory, clock)
    third.publish(thrower("none"), "incident.bpmn")
    fixed = third.retry_case(listed.id or 0, version=2, actor="designer")
    assert fixed.case.status == "completed" and fixed.case.version == 2
    assert [e.type for e in third.events(listed.id or 0)].count("error") == 2


def test_empty_wait_date_is_a_stored_incident_and_retry_schedules_the_wait(
        uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
    first = fresh_engine(uow_factory, clock)
    compiled = compile_pathway(dated_wait())
    first.publish(compiled.files(), compiled.bpmn_file)
    client = first.add_client("Bea")
    case = first.start_case("dated_wait", client.id or 0)
    result = first.complete_task(case.tasks[0].task.id, {"notes": "seen at the gate"})
    assert result.status == "error" and result.tasks == []

    second = fresh_engine(uow_factory, clock)
    stored = second.get_case(case.case.id or 0)
    assert stored.case.status == "error" and stored.tasks == []
    assert stored.case.data["notes"] == "seen at the gate"
    assert stored.case.error is not None and stored.case.error["step"] == "until_release"
    assert "release_date" in stored.case.error["message"]
    assert second.retry_case(case.case.id or 0).case.status == "error"  # nothing fixed yet

    third = fresh_engine(uow_factory, clock)
    retried = third.retry_case(case.case.id or 0,
                               data={"client": {"release_date": "2026-02-01"}})
    assert retried.case.status == "active" and retried.tasks == []
    assert third.get_client(client.id or 0).fields["release_date"] == "2026-02-01"
    fourth = fresh_engine(uow_factory, clock)
    assert fourth.fire_due_timers(datetime(2026, 1, 31, tzinfo=UTC)) == 0
    assert fourth.fire_due_timers(datetime(2026, 2, 1, 1, tzinfo=UTC)) == 1
    assert [t.task.step for t in fourth.get_case(case.case.id or 0).tasks] == ["follow_up"]


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_a_throw_caught_by_an_event_subprocess_round_trips_through_storage(
        uow_factory: UnitOfWorkFactory, clock: FakeClock, kind: str) -> None:
    """Each step in another process, from the stored case only: the event subprocess is
    started by the throw (inside the embedded subprocess `sub`), cancels the rest, keeps the
    thrower's data, and the case completes; a later case of the version is not affected."""
    first = fresh_engine(uow_factory, clock)
    first.publish(caught_by_event_subprocess(kind, thrown_from="subprocess"), "incident.bpmn")
    client = first.add_client("Ada")
    case = first.start_case("incident", client.id or 0)
    case_id = case.case.id or 0
    [check] = case.tasks

    second = fresh_engine(uow_factory, clock)
    result = second.complete_task(check.task.id, {})
    assert result.status == "active" and result.error is None

    third = fresh_engine(uow_factory, clock)
    stored = third.get_case(case_id)
    assert stored.case.status == "active" and stored.case.error is None
    assert [t.task.step for t in stored.tasks] == ["handle"]
    assert third.list_cases(status="error") == []
    third.complete_task(stored.tasks[0].task.id, {})

    fourth = fresh_engine(uow_factory, clock)
    done = fourth.get_case(case_id)
    assert done.case.status == "completed" and done.tasks == []
    assert done.case.data["noted"] == "before the throw"
    assert "error" not in [e.type for e in fourth.events(case_id)]
    later = fourth.start_case("incident", client.id or 0)
    assert [t.task.step for t in later.tasks] == ["check"]
