"""Unit tests of the engine's commands on in-memory fakes (the real SpiffWorkflow runs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine import ConflictError, DefinitionError, Engine, FormValidationError
from engine.errors import CaseStateError, NotFoundError
from engine.model import CaseRecord
from tests.bundles import bundle, intake_sent_its_referral
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


def publish(engine: Engine, name: str, script: str | None = None) -> None:
    files, main = bundle(name, script)
    engine.publish(files, main)


def types(engine: Engine, case_id: int) -> list[str]:
    return [e.type for e in engine.events(case_id)]


def test_publish_is_versioned_and_idempotent(engine: Engine) -> None:
    files, main = bundle("intake")
    first = engine.publish(files, main, note="first")
    again = engine.publish(files, main)
    assert (first.pathway, first.version, first.changed) == ("intake", 1, True)
    assert (again.version, again.changed, again.hash) == (1, False, first.hash)
    files[main] = files[main].replace('name="Assess needs"', 'name="Assess all needs"')
    second = engine.publish(files, main, note="renamed")
    assert (second.version, second.changed) == (2, True)
    assert [v.number for v in engine.versions("intake")] == [1, 2]


def test_form_missing_from_bundle_is_a_located_error(engine: Engine) -> None:
    files, main = bundle("intake")
    del files["intake.assess.schema.json"]
    with pytest.raises(DefinitionError) as caught:
        engine.publish(files, main)
    assert "intake.assess.schema.json" in caught.value.message
    assert caught.value.element == "assess"


def test_malformed_xml_names_file_and_line(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        engine.publish({"bad.bpmn": "<definitions>\n  <process id='x'>\n</definitions>"},
                       "bad.bpmn")
    assert (caught.value.file, caught.value.line) == ("bad.bpmn", 3)
    assert caught.value.message.startswith("bad.bpmn:3:")


def test_case_runs_high_risk_branch_with_events(engine: Engine, clock: FakeClock) -> None:
    publish(engine, "intake")
    client = engine.add_client("Ann", {"release_date": "2026-02-01"})
    case = engine.start_case("intake", client.id or 0, actor="amy")
    [task] = case.tasks
    assert (task.task.step, task.task.role, task.task.title) == ("assess", "caseworker",
                                                                  "Assess needs")
    assert task.schema is not None and task.schema["title"] == "Assess needs"
    assert task.task.due is not None and task.task.due.date().isoformat() == "2026-01-25"

    result = engine.complete_task(task.task.id, {"risk": "high", "needs_housing": True},
                                  actor="amy")
    [meet] = result.tasks
    assert meet.task.step == "meet" and meet.task.role == "gate_worker"
    assert meet.task.due == clock.now() + timedelta(days=1)
    result = engine.complete_task(meet.task.id, {}, actor="gus")
    assert sorted(t.task.step for t in result.tasks) == ["acknowledge", "follow_up"]
    for view in result.tasks:
        last = engine.complete_task(view.task.id, {})
    assert last.status == "completed" and last.tasks == []
    events = engine.events(case.case.id or 0)
    decision = next(e for e in events if e.type == "decision")
    assert decision.data["taken"] == ["meet"]
    assert decision.data["taken_names"] == ["Meet at the gate"]
    completed = [e for e in events if e.type == "task_completed"]
    assert completed[0].actor == "amy" and completed[0].data["data"]["risk"] == "high"
    assert types(engine, case.case.id or 0)[0] == "case_started"
    assert types(engine, case.case.id or 0)[-1] == "case_completed"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_invalid_data_names_each_field_and_saves_nothing(engine: Engine) -> None:
    publish(engine, "intake")
    client = engine.add_client("Ann")
    case = engine.start_case("intake", client.id or 0)
    before = types(engine, case.case.id or 0)
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(case.tasks[0].task.id,
                             {"risk": "extreme", "children": -1, "seen_on": "not a date",
                              "shoe_size": 9})
    fields = caught.value.fields
    assert set(fields) == {"risk", "children", "seen_on", "needs_housing", "shoe_size"}
    assert fields["needs_housing"] == ["this field is required"]
    assert types(engine, case.case.id or 0) == before
    assert engine.get_case(case.case.id or 0).tasks[0].task.id == case.tasks[0].task.id


def test_formless_task_takes_only_an_empty_submission(engine: Engine) -> None:
    publish(engine, "loop_checkin")
    client = engine.add_client("Bo", {"checkins": 1})
    case = engine.start_case("loop_checkin", client.id or 0)
    with pytest.raises(FormValidationError):
        engine.complete_task(case.tasks[0].task.id, {"anything": 1})
    assert engine.complete_task(case.tasks[0].task.id, {}).status == "completed"


def test_timer_fires_only_when_due(engine: Engine, clock: FakeClock) -> None:
    publish(engine, "intake")
    client = engine.add_client("Cy")
    case = engine.start_case("intake", client.id or 0)
    engine.complete_task(case.tasks[0].task.id, {"risk": "low", "needs_housing": False})
    case_id = case.case.id or 0
    assert engine.get_case(case_id).tasks == []
    assert "timer_scheduled" in types(engine, case_id)
    assert engine.fire_due_timers(clock.now() + timedelta(days=6)) == 0
    assert engine.fire_due_timers(clock.now() + timedelta(days=7, seconds=1)) == 1
    assert sorted(t.task.step for t in engine.get_case(case_id).tasks) == ["acknowledge",
                                                                           "follow_up"]
    assert "timer_fired" in types(engine, case_id)


def test_thrown_message_starts_a_case_of_the_waiting_pathway(engine: Engine) -> None:
    publish(engine, "intake")
    client, case_id = intake_sent_its_referral(engine, "Di")
    sent = [e for e in engine.events(case_id) if e.type == "message_sent"]
    assert sent[0].data["name"] == "family_referral"
    # Nobody waits for it yet: it is kept, not lost.
    assert engine.list_cases(pathway="family_intake") == []
    publish(engine, "family_intake")
    assert engine.deliver_messages() == 1
    [family] = engine.list_cases(pathway="family_intake")
    assert family.client_id == client.id
    view = engine.get_case(family.id or 0)
    assert [t.task.step for t in view.tasks] == ["contact_family"]
    assert "message_received" in types(engine, family.id or 0)
    assert engine.deliver_messages() == 0


def test_loop_of_600_iterations_completes_exactly(engine: Engine) -> None:
    publish(engine, "loop_checkin")
    client = engine.add_client("Ed", {"checkins": 600})
    case_id = engine.start_case("loop_checkin", client.id or 0).case.id or 0
    done = 0
    while True:
        tasks = engine.get_case(case_id).tasks
        if not tasks:
            break
        engine.complete_task(tasks[0].task.id, {})
        done += 1
    case = engine.get_case(case_id).case
    assert (done, case.status, case.data["count"]) == (600, "completed", 600)
    assert len(case.state["tasks"]) < 20


@pytest.mark.parametrize("script", [
    "x = __import__('os').system('id')",
    "x = ().__class__.__base__.__subclasses__()",
    "import os",
])
def test_escaping_scripts_are_refused_at_publish(engine: Engine, script: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        publish(engine, "scripted", script)
    assert caught.value.element == "compute"
    assert "not allowed" in caught.value.message


@pytest.mark.parametrize("script, kind", [
    ("x = getattr((), '__cla' + 'ss__')", "error"),
    ("x = open('/etc/passwd').read()", "NameError"),
    ("x = 1 / 0", "ZeroDivisionError"),
    ("n = 0\nwhile True:\n    n = n + 1", "ScriptTimeout"),
])
def test_failing_script_puts_case_in_error_and_retry_on_fixed_version(
        script: str, kind: str, clock: FakeClock) -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, script_time_limit=0.2)
    publish(engine, "scripted", script)
    client = engine.add_client("Flo")
    case = engine.start_case("scripted", client.id or 0)
    assert case.case.status == "error"
    assert case.case.error is not None and case.case.error["step"] == "compute"
    if kind != "error":
        assert kind in case.case.error["kind"] + case.case.error["message"]
    assert types(engine, case.case.id or 0)[-1] == "error"
    with pytest.raises(NotFoundError):
        engine.retry_case(case.case.id or 0, version=99)
    publish(engine, "scripted", "x = 1")
    fixed = engine.retry_case(case.case.id or 0, version=2, actor="admin")
    assert fixed.case.status == "active" and fixed.case.version == 2
    assert [t.task.step for t in fixed.tasks] == ["review"]


def test_stale_task_and_unknown_things_are_clear_errors(engine: Engine) -> None:
    publish(engine, "loop_checkin")
    client = engine.add_client("Gil", {"checkins": 2})
    case = engine.start_case("loop_checkin", client.id or 0)
    first = case.tasks[0].task.id
    engine.complete_task(first, {})
    with pytest.raises(NotFoundError):
        engine.complete_task(first, {})
    with pytest.raises(NotFoundError):
        engine.start_case("nope", client.id or 0)
    with pytest.raises(NotFoundError):
        engine.start_case("loop_checkin", 9999)


def test_cancel_closes_tasks_and_timers(engine: Engine) -> None:
    publish(engine, "loop_checkin")
    client = engine.add_client("Hal", {"checkins": 3})
    case = engine.start_case("loop_checkin", client.id or 0)
    view = engine.cancel_case(case.case.id or 0, actor="lead", reason="moved away")
    assert view.case.status == "cancelled" and view.tasks == []
    assert types(engine, case.case.id or 0)[-1] == "case_cancelled"
    with pytest.raises(CaseStateError):
        engine.cancel_case(case.case.id or 0)


def test_conflicting_saves_lose_with_conflict(engine: Engine) -> None:
    publish(engine, "loop_checkin")
    client = engine.add_client("Ida", {"checkins": 5})
    case = engine.start_case("loop_checkin", client.id or 0)
    store_uow = engine._uow  # the fake factory: simulate a second writer between load and save
    with store_uow() as uow:
        record = uow.cases.get(case.case.id)
        uow.cases.save(record, record.revision)
        uow.commit()
    engine._live = type(engine._live)(0)
    with store_uow() as uow:
        stale = uow.cases.get(case.case.id)
    stale.revision -= 1
    with store_uow() as uow, pytest.raises(ConflictError):
        uow.cases.save(stale, stale.revision)


def test_a_command_racing_another_writer_loses_with_conflict(
        engine: Engine, uow: FakeUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer commits the case between the engine's load and its save: the engine's
    command fails with ConflictError, and the other writer's change is what stays."""
    publish(engine, "loop_checkin")
    client = engine.add_client("Ida", {"checkins": 5})
    case_id = engine.start_case("loop_checkin", client.id or 0).case.id or 0
    load = engine._load

    def load_then_race(unit: Any, record: CaseRecord, parsed: Any) -> Any:
        monkeypatch.setattr(engine, "_load", load)  # race once
        with uow() as other:
            theirs = other.cases.get(case_id)
            assert theirs is not None
            theirs.data = {**theirs.data, "theirs": True}
            other.cases.save(theirs, theirs.revision)
            other.commit()
        return load(unit, record, parsed)

    monkeypatch.setattr(engine, "_load", load_then_race)
    with pytest.raises(ConflictError):
        engine.cancel_case(case_id)
    with uow() as unit:
        stored = unit.cases.get(case_id)
    assert stored is not None and stored.status == "active" and stored.data["theirs"] is True


@pytest.mark.parametrize("order", ["reversed", "sorted"])
def test_state_reloads_whatever_order_storage_keeps_tasks_in(order: str,
                                                             clock: FakeClock) -> None:
    """Task data is stored as deltas from the parent; a child read first must not lose it."""
    from engine.workflow.state import load_state

    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, live_cases=0)
    publish(engine, "intake")
    client = engine.add_client("Jo", {"release_date": "2026-02-01"})
    case = engine.start_case("intake", client.id or 0)
    engine.complete_task(case.tasks[0].task.id, {"risk": "high", "needs_housing": True})
    with engine._uow() as uow:
        record = uow.cases.get(case.case.id)
        parsed = engine._parsed(uow, record.pathway, record.version)
    tasks = record.state["tasks"]
    record.state["tasks"] = (dict(reversed(list(tasks.items()))) if order == "reversed"
                             else dict(sorted(tasks.items())))
    workflow = load_state(record.state, parsed, engine.script_engine)
    [ready] = [t for t in workflow.get_tasks() if t.task_spec.name == "meet"]
    assert ready.data["risk"] == "high" and ready.data["client"]["name"] == "Jo"


def test_a_field_required_when_visible_is_required_only_when_its_condition_holds(
        engine: Engine) -> None:
    from dsl import compile_pathway, load_pathway

    compiled = compile_pathway(load_pathway("""
pathway: contact
title: Contact
roles:
  worker: {title: Worker}
steps:
  - task: call
    role: worker
    title: Call
    form:
      reached: {type: boolean, required: true, title: Reached}
      how: {type: choice, options: [phone, visit], required: true, visible_when: reached}
""", "contact.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Ann").id or 0
    task = engine.start_case("contact", client).tasks[0].task
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task.id, {"reached": True})
    assert caught.value.fields == {"how": ["this field is required when reached"]}
    assert engine.complete_task(task.id, {"reached": False}).status == "completed"
