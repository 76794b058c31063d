"""Each BPMN construct the issue lists, run through the engine on fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import DefinitionError, Engine
from tests.bundles import bundle
from tests.case_steps import open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.engine.test_engine import publish


def complete_step(engine: Engine, case_id: int, step: str, data: dict[str, object] | None = None
                  ) -> None:
    [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
    engine.complete_task(view.task.id, data or {})


def test_message_wakes_a_waiting_case_of_the_same_client(engine: Engine) -> None:
    publish(engine, "wake")
    publish(engine, "booker")
    ann = engine.add_client("Ann")
    bob = engine.add_client("Bob")
    waiting = engine.start_case("wake", ann.id or 0).case.id or 0
    other = engine.start_case("wake", bob.id or 0).case.id or 0
    complete_step(engine, waiting, "prepare")
    complete_step(engine, other, "prepare")
    assert open_steps(engine, waiting) == []
    booking = engine.start_case("booker", ann.id or 0).case.id or 0
    complete_step(engine, booking, "book")
    assert open_steps(engine, waiting) == ["attend"]
    assert open_steps(engine, other) == []  # Bob's case is not woken by Ann's booking
    woken = engine.get_case(waiting).case
    assert woken.data["appointment"] == {"on": "2026-03-01", "with": "Mind"}
    received = [e for e in engine.events(waiting) if e.type == "message_received"]
    assert received[0].data["from_case"] == booking


def test_message_sent_before_anyone_waits_is_kept_until_they_do(engine: Engine) -> None:
    publish(engine, "wake")
    publish(engine, "booker")
    ann = engine.add_client("Ann")
    booking = engine.start_case("booker", ann.id or 0).case.id or 0
    complete_step(engine, booking, "book")
    waiting = engine.start_case("wake", ann.id or 0).case.id or 0
    complete_step(engine, waiting, "prepare")  # now it waits: the kept message arrives
    assert open_steps(engine, waiting) == ["attend"]


def test_call_activities_in_the_same_file_and_to_a_published_pathway(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as caught:
        publish(engine, "needs_consent")
    assert "sign_consent" in caught.value.message
    publish(engine, "sign_consent")
    result = engine.publish(*bundle("needs_consent"))
    assert result.changed and result.pathway == "needs_consent"
    client = engine.add_client("Cy")
    case_id = engine.start_case("needs_consent", client.id or 0).case.id or 0
    assert open_steps(engine, case_id) == ["sign"]
    complete_step(engine, case_id, "sign")
    assert open_steps(engine, case_id) == ["tick"]
    complete_step(engine, case_id, "tick")
    assert open_steps(engine, case_id) == ["support"]
    complete_step(engine, case_id, "support")
    assert engine.get_case(case_id).case.status == "completed"


def test_date_timer_and_a_non_interrupting_cycle_boundary(engine: Engine,
                                                          clock: FakeClock) -> None:
    publish(engine, "dated")
    release = clock.now() + timedelta(days=10)
    client = engine.add_client("Di", {"release_date": release.isoformat()})
    case_id = engine.start_case("dated", client.id or 0).case.id or 0
    assert engine.fire_due_timers(release - timedelta(minutes=1)) == 0
    assert engine.fire_due_timers(release + timedelta(minutes=1)) == 1
    assert open_steps(engine, case_id) == ["welcome"]
    # The daily nudge (R2/P1D) fires twice while welcome stays open, then stops.
    assert engine.fire_due_timers(release + timedelta(hours=23)) == 0
    assert engine.fire_due_timers(release + timedelta(days=1, minutes=2)) == 1
    assert open_steps(engine, case_id) == ["chase", "welcome"]
    assert engine.fire_due_timers(release + timedelta(days=2, minutes=2)) == 1
    assert engine.fire_due_timers(release + timedelta(days=9)) == 0
    assert open_steps(engine, case_id) == ["chase", "chase", "welcome"]
    fired = [e.step for e in engine.events(case_id) if e.type == "timer_fired"]
    assert fired == ["until_release", "nudge", "nudge"]
    complete_step(engine, case_id, "welcome")
    while tasks := engine.get_case(case_id).tasks:
        engine.complete_task(tasks[0].task.id, {})
    assert engine.get_case(case_id).case.status == "completed"


def test_service_task_without_a_connector_is_a_recorded_error(engine: Engine) -> None:
    publish(engine, "service")
    client = engine.add_client("Ed")
    case = engine.start_case("service", client.id or 0).case
    assert case.status == "error"
    assert case.error is not None
    assert "pnc/lookup" in case.error["message"] and case.error["step"] == "lookup"


def test_schema_invalid_bpmn_is_located(engine: Engine) -> None:
    files, main = bundle("loop_checkin")
    files[main] = files[main].replace('<bpmn:userTask id="checkin" name="Daily check-in">',
                                      '<bpmn:userTask id="checkin" name="Daily check-in">'
                                      '<bpmn:bogus/>')
    with pytest.raises(DefinitionError) as caught:
        engine.publish(files, main)
    error = caught.value
    assert error.file == main and error.line == 12
    assert "bogus" in error.message and error.message.startswith(f"{main}:12")


def test_broken_condition_is_refused_at_publish_with_its_element(engine: Engine) -> None:
    files, main = bundle("intake")
    files[main] = files[main].replace("risk in ['high', 'very high']", "risk in ['high'")
    with pytest.raises(DefinitionError) as caught:
        engine.publish(files, main)
    # the flow that carries the condition, on its line (the gateway is its source)
    assert (caught.value.element, caught.value.line) == ("high", 17)


def test_timers_run_fires_everything_due(engine: Engine, clock: FakeClock) -> None:
    publish(engine, "intake")
    client = engine.add_client("Many")
    for _ in range(7):
        case = engine.start_case("intake", client.id or 0)
        engine.complete_task(case.tasks[0].task.id, {"risk": "low", "needs_housing": False})
    assert engine.fire_due_timers(clock.now() + timedelta(days=8)) == 7
    assert engine.fire_due_timers(clock.now() + timedelta(days=8)) == 0


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def notify(self, notification: object) -> None:
        self.sent.append(notification)


def test_declared_outcome_notify_refer_save_to_and_exit_reason(clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    publish(engine, "sign_consent")
    publish(engine, "declared")
    client = engine.add_client("Flo", {"phone": "0100"})
    case = engine.start_case("declared", client.id or 0)
    assert case.tasks[0].schema is not None
    case_id = case.case.id or 0
    engine.complete_task(case.tasks[0].task.id, {"phone": "0777", "housed": True})
    # the story told once: the new number is on the shared client record
    assert engine.get_client(client.id or 0).fields["phone"] == "0777"
    events = {e.type: e for e in engine.events(case_id)}
    assert events["client_updated"].data == {"fields": {"phone": "0777"}}
    assert events["outcome_recorded"].data == {"outcome": "engaged", "value": True}
    assert events["notification_requested"].data["to"] == "probation"
    assert len(notifier.sent) == 1
    assert events["referral_made"].data == {"pathway": "sign_consent"}
    [referred] = engine.list_cases(pathway="sign_consent")
    assert referred.data["referral"]["from_case"] == case_id
    # the referring case waits for the referred one to complete
    assert engine.get_case(case_id).case.status == "active"
    sign = engine.get_case(referred.id or 0).tasks[0]
    engine.complete_task(sign.task.id, {})
    done = engine.get_case(case_id).case
    assert done.status == "completed"
    assert done.exit_reason == "completed"
    assert done.data["refer_consent_result"]["case"] == referred.id
    assert engine.events(case_id)[-1].data == {"exit_reason": "completed"}
