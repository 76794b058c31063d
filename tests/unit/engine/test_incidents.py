"""Incidents: an uncaught BPMN error or escalation, and a step that cannot be evaluated (a
`wait until:` on an empty date), put the case in `error` with the reason, keep what the
caseworker entered, and `retry_case` resumes exactly the failed step (issue 11, items 3-4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dsl import compile_pathway
from engine import CaseView, Engine
from engine.model import Timer
from tests.case_steps import open_steps
from tests.incident_bundles import (
    caught_by_boundary,
    caught_by_boundary_and_event_subprocess,
    caught_by_event_subprocess,
    dated_wait,
    rethrown_by_event_subprocess,
    thrower,
    uncaught_in_subprocess,
)
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def types(engine: Engine, case_id: int) -> list[str]:
    return [e.type for e in engine.events(case_id)]


def start_and_check(engine: Engine, files: dict[str, str]) -> int:
    engine.publish(files, "incident.bpmn")
    client = engine.add_client("Ada")
    case = engine.start_case("incident", client.id or 0)
    [view] = case.tasks
    assert view.task.step == "check"
    engine.complete_task(view.task.id, {})
    return case.case.id or 0


# -- item 3: uncaught errors and escalations are incidents ---------------------------------


@pytest.mark.parametrize("kind, code, name", [
    ("error", "E42", "Funding refused"),
    ("escalation", "ESC1", "Needs a manager"),
])
def test_uncaught_error_or_escalation_end_event_is_an_incident(
        engine: Engine, kind: str, code: str, name: str) -> None:
    case_id = start_and_check(engine, thrower(kind))
    record = engine.get_case(case_id).case
    assert record.status == "error"
    assert record.error is not None
    assert record.error["kind"] == {"error": "bpmn_error", "escalation": "escalation"}[kind]
    assert (record.error["code"], record.error["name"], record.error["step"]) == (code, name,
                                                                                 "fail")
    assert code in record.error["message"] and name in record.error["message"]
    assert "case_completed" not in types(engine, case_id)
    last = engine.events(case_id)[-1]
    assert last.type == "error" and last.data["code"] == code and last.step == "fail"
    assert [c.id for c in engine.list_cases(status="error")] == [case_id]
    assert "task_completed" in types(engine, case_id)


def test_retry_on_the_same_version_fails_again_as_an_incident(engine: Engine) -> None:
    case_id = start_and_check(engine, thrower("error"))
    retried = engine.retry_case(case_id, actor="admin")
    assert retried.case.status == "error" and retried.case.error is not None
    assert retried.case.error["code"] == "E42"
    assert types(engine, case_id)[-2:] == ["case_retried", "error"]
    assert "case_completed" not in types(engine, case_id)


def test_retry_on_a_version_whose_end_event_no_longer_throws_completes(
        engine: Engine) -> None:
    case_id = start_and_check(engine, thrower("error"))
    engine.publish(thrower("none"), "incident.bpmn")
    retried = engine.retry_case(case_id, version=2)
    assert retried.case.status == "completed" and retried.case.version == 2
    assert retried.case.error is None
    assert types(engine, case_id)[-1] == "case_completed"


def test_retry_on_a_version_adding_a_boundary_to_a_started_subprocess_fails_again(
        engine: Engine) -> None:
    """The boundary event of version 2 was never armed for a subprocess this case started
    on version 1 (SpiffWorkflow arms it when the subprocess starts), so the retried throw is
    still caught by nothing: the case is an incident again, never silently completed. A
    version whose end event no longer throws is the fix for such a case."""
    case_id = start_and_check(engine, uncaught_in_subprocess())
    assert engine.get_case(case_id).case.status == "error"
    engine.publish(caught_by_boundary("error"), "incident.bpmn")
    retried = engine.retry_case(case_id, version=2)
    assert retried.case.status == "error" and retried.case.error is not None
    assert retried.case.error["code"] == "E42"


def check_then_handle(engine: Engine, case: CaseView) -> None:
    """Completing the case's first task throws, and what catches it leads to `handle` with
    the case active and clear of error; completing handle completes the case."""
    engine.complete_task(case.tasks[0].task.id, {})
    view = engine.get_case(case.case.id or 0)
    assert view.case.status == "active" and view.case.error is None
    assert [t.task.step for t in view.tasks] == ["handle"]
    engine.complete_task(view.tasks[0].task.id, {})
    assert engine.get_case(case.case.id or 0).case.status == "completed"


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_error_caught_by_a_boundary_event_follows_the_boundary_path(
        engine: Engine, kind: str) -> None:
    engine.publish(caught_by_boundary(kind), "incident.bpmn")
    client = engine.add_client("Bo")
    case = engine.start_case("incident", client.id or 0)
    check_then_handle(engine, case)


def test_error_caught_by_an_error_event_subprocess_runs_it(engine: Engine) -> None:
    engine.publish(caught_by_event_subprocess(), "incident.bpmn")
    client = engine.add_client("Cy")
    case = engine.start_case("incident", client.id or 0)
    assert [t.task.step for t in case.tasks] == ["check"]
    check_then_handle(engine, case)
    assert "error" not in types(engine, case.case.id or 0)


@pytest.mark.parametrize("kind", ["error", "escalation"])
@pytest.mark.parametrize("catches", ["code", "any"])
def test_an_event_subprocess_catches_its_code_or_any_code_without_a_ref(
        engine: Engine, kind: str, catches: str) -> None:
    case_id = start_and_check(engine, caught_by_event_subprocess(kind, catches=catches))
    view = engine.get_case(case_id)
    assert view.case.status == "active" and view.case.error is None
    assert open_steps(engine, case_id) == ["handle"]


@pytest.mark.parametrize("kind, code", [("error", "E42"), ("escalation", "ESC1")])
def test_an_event_subprocess_for_another_code_leaves_the_throw_an_incident(
        engine: Engine, kind: str, code: str) -> None:
    case_id = start_and_check(engine, caught_by_event_subprocess(kind, catches="other"))
    record = engine.get_case(case_id).case
    assert record.status == "error" and record.error is not None
    assert (record.error["code"], record.error["step"]) == (code, "fail")
    assert open_steps(engine, case_id) == []
    assert "case_completed" not in types(engine, case_id)


def start_parallel(engine: Engine, files: dict[str, str]) -> int:
    """Start the case and complete `check` (beside it, on its own branch, `beside` is open)."""
    engine.publish(files, "incident.bpmn")
    client = engine.add_client("Ed")
    case = engine.start_case("incident", client.id or 0)
    assert sorted(t.task.step for t in case.tasks) == ["beside", "check"]
    [check] = [t for t in case.tasks if t.task.step == "check"]
    engine.complete_task(check.task.id, {})
    return case.case.id or 0


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_an_interrupting_event_subprocess_cancels_the_work_beside_it(
        engine: Engine, kind: str) -> None:
    case_id = start_parallel(engine, caught_by_event_subprocess(kind, thrown_from="parallel"))
    assert open_steps(engine, case_id) == ["handle"]
    [view] = engine.get_case(case_id).tasks
    engine.complete_task(view.task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


def test_an_interrupting_escalation_stops_the_path_it_was_thrown_on(engine: Engine) -> None:
    """The intermediate throw goes on to `after`, but the event subprocess cancels it."""
    case_id = start_and_check(engine, caught_by_event_subprocess(
        "escalation", thrown_from="intermediate"))
    assert open_steps(engine, case_id) == ["handle"]


@pytest.mark.parametrize("thrown_from, beside", [("intermediate", "after"),
                                                 ("parallel", "beside")])
def test_a_non_interrupting_escalation_event_subprocess_runs_beside_the_work(
        engine: Engine, thrown_from: str, beside: str) -> None:
    files = caught_by_event_subprocess("escalation", interrupting=False,
                                       thrown_from=thrown_from)
    case_id = start_parallel(engine, files) if thrown_from == "parallel" \
        else start_and_check(engine, files)
    assert open_steps(engine, case_id) == sorted([beside, "handle"])
    for view in engine.get_case(case_id).tasks:
        assert engine.get_case(case_id).case.status == "active"
        engine.complete_task(view.task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


def test_an_error_event_subprocess_is_interrupting_even_when_marked_otherwise(
        engine: Engine) -> None:
    """BPMN: an error start event always interrupts (isInterrupting="false" is not valid
    on it)."""
    case_id = start_parallel(engine, caught_by_event_subprocess(
        "error", interrupting=False, thrown_from="parallel"))
    assert open_steps(engine, case_id) == ["handle"]


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_a_throw_inside_a_subprocess_is_caught_by_the_process_event_subprocess(
        engine: Engine, kind: str) -> None:
    case_id = start_and_check(engine, caught_by_event_subprocess(kind,
                                                                 thrown_from="subprocess"))
    view = engine.get_case(case_id)
    assert view.case.status == "active" and view.case.error is None
    assert open_steps(engine, case_id) == ["handle"]
    engine.complete_task(view.tasks[0].task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


@pytest.mark.parametrize("thrown_from", ["end", "subprocess"])
def test_the_event_subprocess_works_on_the_data_the_throw_was_made_with(
        engine: Engine, thrown_from: str) -> None:
    """BPMN: an event subprocess shares its process's data; SpiffWorkflow would start it
    from the data the case started with, and the case would end without `noted`."""
    case_id = start_and_check(engine, caught_by_event_subprocess(thrown_from=thrown_from))
    [view] = engine.get_case(case_id).tasks
    assert view.task.step == "handle"
    engine.complete_task(view.task.id, {})
    record = engine.get_case(case_id).case
    assert record.status == "completed"
    assert record.data["noted"] == "before the throw"
    assert record.data["client"]["name"] == "Ada"


@pytest.mark.parametrize("kind", ["error", "escalation"])
def test_a_boundary_event_on_the_throwing_subprocess_wins_over_the_event_subprocess(
        engine: Engine, kind: str) -> None:
    """BPMN: the innermost handler catches. The boundary event on `sub` is closer to the
    throw than the process's event subprocess, which must not start (nor cancel the
    boundary's path)."""
    engine.publish(caught_by_boundary_and_event_subprocess(kind), "incident.bpmn")
    client = engine.add_client("Flo")
    case = engine.start_case("incident", client.id or 0)
    engine.complete_task(case.tasks[0].task.id, {})
    case_id = case.case.id or 0
    assert open_steps(engine, case_id) == ["handle"]
    [view] = engine.get_case(case_id).tasks
    engine.complete_task(view.task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


def test_retry_on_a_version_whose_event_subprocess_catches_the_throw_runs_it(
        engine: Engine) -> None:
    """Unlike a boundary event (armed only when its activity starts), a process-level event
    subprocess of the new version catches the retried throw."""
    case_id = start_and_check(engine, caught_by_event_subprocess(catches="other"))
    assert engine.get_case(case_id).case.status == "error"
    engine.publish(caught_by_event_subprocess(), "incident.bpmn")
    retried = engine.retry_case(case_id, version=2)
    assert retried.case.status == "active" and retried.case.error is None
    assert [t.task.step for t in retried.tasks] == ["handle"]
    engine.complete_task(retried.tasks[0].task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


@pytest.mark.parametrize("kind, code", [("error", "E42"), ("escalation", "ESC1")])
def test_a_throw_from_inside_the_event_subprocess_is_an_incident_not_a_loop(
        engine: Engine, kind: str, code: str) -> None:
    """BPMN: a throw inside an event subprocess goes to the scope around the process, not
    back to the event subprocess itself (which restarted it, forever)."""
    case_id = start_and_check(engine, rethrown_by_event_subprocess(kind))
    record = engine.get_case(case_id).case
    assert record.status == "error" and record.error is not None
    assert (record.error["code"], record.error["step"]) == (code, "handled")
    assert "case_completed" not in types(engine, case_id)


def test_an_interrupting_event_subprocess_cancels_a_timer_beside_it(
        engine: Engine, uow: FakeUnitOfWorkFactory) -> None:
    files = caught_by_event_subprocess(thrown_from="parallel")
    beside = ('<bpmn:userTask id="beside" name="Beside"><bpmn:incoming>f3</bpmn:incoming>'
              '<bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>')
    assert beside in files["incident.bpmn"]
    files["incident.bpmn"] = files["incident.bpmn"].replace(beside, (
        '<bpmn:intermediateCatchEvent id="beside" name="Beside"><bpmn:incoming>f3'
        '</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:intermediateCatchEvent>'))
    engine.publish(files, "incident.bpmn")
    client = engine.add_client("Gil")
    case = engine.start_case("incident", client.id or 0)
    case_id = case.case.id or 0
    assert [t.step for t in timers_of(uow, case_id)] == ["beside"]
    engine.complete_task(case.tasks[0].task.id, {})
    assert open_steps(engine, case_id) == ["handle"]
    assert timers_of(uow, case_id) == []


def test_a_case_after_one_that_triggered_the_event_subprocess_still_completes(
        engine: Engine) -> None:
    """Every case of a version shares its spec: triggering the event subprocess in one case
    must not leave it armed in the next, where it kept a finished case open (active, with
    nothing to do) under SpiffWorkflow's own wiring."""
    engine.publish(caught_by_event_subprocess(thrown_from="choice"), "incident.bpmn")
    outcomes = []
    for name in ("Fine One", "Refused Two", "Fine Three"):
        client = engine.add_client(name)
        case = engine.start_case("incident", client.id or 0)
        engine.complete_task(case.tasks[0].task.id, {})
        view = engine.get_case(case.case.id or 0)
        outcomes.append((view.case.status, [t.task.step for t in view.tasks]))
    assert outcomes == [("completed", []), ("active", ["handle"]), ("completed", [])]


def test_an_event_subprocess_never_starts_without_its_throw(engine: Engine) -> None:
    """The case runs its normal path: the event subprocess waits, unseen, and the case
    completes when the normal path ends (here the end event throws nothing)."""
    files = caught_by_event_subprocess()
    throwing = ('<bpmn:incoming>f3</bpmn:incoming><bpmn:errorEventDefinition '
                'errorRef="err_funding"/></bpmn:endEvent>')
    assert throwing in files["incident.bpmn"]
    files["incident.bpmn"] = files["incident.bpmn"].replace(
        throwing, "<bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>")
    case_id = start_and_check(engine, files)
    assert engine.get_case(case_id).case.status == "completed"


# -- item 4: a wait whose date cannot be worked out ----------------------------------------


def publish_dsl(engine: Engine, doc: dict[str, Any]) -> None:
    compiled = compile_pathway(doc)
    engine.publish(compiled.files(), compiled.bpmn_file)


def timers_of(uow: FakeUnitOfWorkFactory, case_id: int) -> list[Timer]:
    return uow.store.data.timers.get(case_id, [])


@pytest.mark.parametrize("fields", [{}, {"release_date": None}])
def test_wait_until_an_empty_date_saves_the_completion_and_is_an_incident(
        engine: Engine, uow: FakeUnitOfWorkFactory, fields: dict[str, Any]) -> None:
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Di", fields)
    case = engine.start_case("dated_wait", client.id or 0)
    result = engine.complete_task(case.tasks[0].task.id, {"notes": "met at the gate"})
    assert result.status == "error" and result.tasks == []
    assert result.error is not None and result.error["step"] == "until_release"
    record = engine.get_case(case.case.id or 0).case
    assert record.status == "error" and record.error is not None
    assert record.error["step"] == "until_release"
    assert "release_date" in record.error["message"]
    assert "until_release" in record.error["message"]
    assert record.data["notes"] == "met at the gate"  # the answers are saved
    assert types(engine, record.id or 0)[-2:] == ["task_completed", "error"]
    assert engine.get_case(record.id or 0).tasks == []
    assert [c.id for c in engine.list_cases(status="error")] == [record.id]


def test_retry_without_a_fix_fails_again_rather_than_leaving_an_active_case(
        engine: Engine) -> None:
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Ed")
    case = engine.start_case("dated_wait", client.id or 0)
    engine.complete_task(case.tasks[0].task.id, {})
    retried = engine.retry_case(case.case.id or 0)
    assert retried.case.status == "error"
    assert retried.case.error is not None and retried.case.error["step"] == "until_release"


def test_retry_with_the_date_fixed_schedules_the_wait_and_it_fires(
        engine: Engine, uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Flo")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    retried = engine.retry_case(case_id, data={"client": {"release_date": "2026-02-01"}},
                                actor="admin")
    assert retried.case.status == "active" and retried.case.error is None
    assert [(t.step, t.due_at) for t in timers_of(uow, case_id)] == [
        ("until_release", datetime(2026, 2, 1, tzinfo=UTC))]
    assert engine.get_client(client.id or 0).fields["release_date"] == "2026-02-01"
    retry_event = next(e for e in engine.events(case_id) if e.type == "case_retried")
    assert retry_event.data["data"] == {"client": {"release_date": "2026-02-01"}}
    assert engine.fire_due_timers(datetime(2026, 2, 1, 9, tzinfo=UTC)) == 1
    assert [t.task.step for t in engine.get_case(case_id).tasks] == ["follow_up"]


def test_retry_on_a_version_whose_wait_has_a_default_schedules_it(
        engine: Engine, uow: FakeUnitOfWorkFactory) -> None:
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Gus")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    publish_dsl(engine, dated_wait(default="2026-03-01"))
    retried = engine.retry_case(case_id, version=2)
    assert retried.case.status == "active" and retried.case.version == 2
    assert [t.due_at for t in timers_of(uow, case_id)] == [datetime(2026, 3, 1, tzinfo=UTC)]


def test_retry_with_a_past_date_fires_the_wait_at_once(engine: Engine) -> None:
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Hal")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    retried = engine.retry_case(case_id, data={"client": {"release_date": "2025-12-01"}})
    assert retried.case.status == "active"
    assert [t.task.step for t in retried.tasks] == ["follow_up"]


def test_retry_data_must_be_json_and_client_fields_of_their_declared_type(
        engine: Engine) -> None:
    from engine import FormValidationError
    from engine.errors import InvalidArgumentError
    publish_dsl(engine, dated_wait())
    client = engine.add_client("Ivy")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {})
    with pytest.raises(FormValidationError):
        engine.retry_case(case_id, data={"client": {"release_date": "next tuesday"}})
    with pytest.raises(InvalidArgumentError):
        engine.retry_case(case_id, data={"client": "not a mapping"})
    for reserved in ("referral", "pathways_exit"):  # what the engine writes itself
        with pytest.raises(InvalidArgumentError, match="reserved"):
            engine.retry_case(case_id, data={reserved: "x"})
    assert engine.get_case(case_id).case.status == "error"


def test_a_wait_failing_in_one_parallel_branch_does_not_strand_the_others(
        engine: Engine, uow: FakeUnitOfWorkFactory) -> None:
    """Found by test_retry_properties: the failing wait stopped the split from reaching the
    branches beside it, and after retry the case waited at the join for branches that never
    started: active, in nobody's inbox."""
    doc = dated_wait()
    doc["steps"][1:] = [{"parallel": "both", "branches": [
        {"steps": [{"wait": "until_release", "until": "release_date"}]},
        {"steps": [{"task": "visit", "role": "worker", "title": "Visit"}]},
        {"steps": [{"task": "call", "role": "worker", "title": "Call"}]},
    ]}, {"task": "follow_up", "role": "worker", "title": "Follow up"}]
    publish_dsl(engine, doc)
    client = engine.add_client("Jo")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    assert engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {}).status == "error"
    retried = engine.retry_case(case_id, data={"client": {"release_date": "2026-02-01"}})
    assert retried.case.status == "active"
    assert sorted(t.task.step for t in retried.tasks) == ["call", "visit"]
    assert [t.step for t in timers_of(uow, case_id)] == ["until_release"]
    for view in retried.tasks:
        engine.complete_task(view.task.id, {})
    assert engine.fire_due_timers(datetime(2026, 2, 1, 9, tzinfo=UTC)) == 1
    assert [t.task.step for t in engine.get_case(case_id).tasks] == ["follow_up"]


def test_wait_until_an_optional_form_date_left_empty_is_fixed_by_retry_data(
        engine: Engine, uow: FakeUnitOfWorkFactory) -> None:
    doc = dated_wait()
    del doc["client_fields"]
    doc["steps"][0]["form"]["release_date"] = {"type": "date", "title": "Release date, if known"}
    publish_dsl(engine, doc)
    client = engine.add_client("Kit")
    case_id = engine.start_case("dated_wait", client.id or 0).case.id or 0
    result = engine.complete_task(engine.get_case(case_id).tasks[0].task.id, {"notes": "n/a"})
    assert result.status == "error"
    error = engine.get_case(case_id).case.error
    assert error is not None and error["step"] == "until_release"
    assert "release_date" in error["message"]
    retried = engine.retry_case(case_id, data={"release_date": "2026-02-01"})
    assert retried.case.status == "active"
    assert [t.due_at for t in timers_of(uow, case_id)] == [datetime(2026, 2, 1, tzinfo=UTC)]
