"""Signals on real databases: a thrown signal is a broadcast to every case in its scope that
waits for it (the same client's cases, or every client's when the definition says
programme-wide), unlike a message, which goes to one case."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from engine import Engine
from engine.errors import DefinitionError
from engine.model import CaseRecord, Message
from engine.ports import UnitOfWorkFactory
from tests.bundles import DATA, bundle, edited_bundle
from tests.unit.engine.fakes import FakeClock


def programme_bundle(scope: str) -> tuple[dict[str, str], str]:
    text = (DATA / "signal_programme.bpmn").read_text().replace("SCOPE", scope)
    return {"signal_programme.bpmn": text}, "signal_programme.bpmn"


def thrower_with_scope(engine: Engine, scope: str) -> tuple[int, int, CaseRecord]:
    """signal_catcher and signal_programme (whose signal_scope is `scope`) published, the
    clients Ann and Bob added and Ann's signal_programme case started: the two clients' ids
    and that throwing case."""
    engine.publish(*bundle("signal_catcher"))
    engine.publish(*programme_bundle(scope))
    ann, bob = engine.add_client("Ann"), engine.add_client("Bob")
    thrower = engine.start_case("signal_programme", ann.id or 0).case
    return ann.id or 0, bob.id or 0, thrower


HOUSING_FOUND = '<bpmn:signal id="housing_found" name="housing_found" />'


def housing_found_with(extension: str) -> str:
    """The housing_found signal's declaration, carrying `extension` in its extensionElements."""
    return ('<bpmn:signal id="housing_found" name="housing_found"><bpmn:extensionElements>'
            f"{extension}</bpmn:extensionElements></bpmn:signal>")


def steps(engine: Engine, case_id: int | None) -> list[str]:
    return sorted(view.task.step for view in engine.get_case(case_id or 0).tasks)


def event_types(engine: Engine, case_id: int | None) -> list[str]:
    return [event.type for event in engine.events(case_id or 0)]


def finish_only_task(engine: Engine, case_id: int | None) -> None:
    [view] = engine.get_case(case_id or 0).tasks
    engine.complete_task(view.task.id, {})


def test_a_signal_reaches_every_waiting_case_of_the_client_and_no_other(engine: Engine) -> None:
    for name in ("signal_thrower", "signal_catcher", "signal_boundary"):
        engine.publish(*bundle(name))
    ann, bob = engine.add_client("Ann"), engine.add_client("Bob")
    thrower = engine.start_case("signal_thrower", ann.id or 0).case
    catcher = engine.start_case("signal_catcher", ann.id or 0).case
    second_catcher = engine.start_case("signal_catcher", ann.id or 0).case
    boundary = engine.start_case("signal_boundary", ann.id or 0).case
    other_client = engine.start_case("signal_catcher", bob.id or 0).case
    assert "housing_found" in catcher.waiting_for

    finish_only_task(engine, thrower.id)  # throws housing_found (intermediate throw event)

    # a broadcast: both catchers, not just the first one found
    for case in (catcher, second_catcher):
        assert steps(engine, case.id) == ["move_in"]
        assert "signal_received" in event_types(engine, case.id)
        assert "message_received" not in event_types(engine, case.id)
    # the non-interrupting boundary event adds a task and keeps the one it is attached to
    assert steps(engine, boundary.id) == ["note_housing", "search"]
    # another client's case does not hear it
    assert steps(engine, other_client.id) == []
    assert engine.get_case(other_client.id or 0).case.waiting_for == ["housing_found"]
    sent = [e for e in engine.events(thrower.id or 0) if e.type == "signal_sent"]
    assert [e.data["name"] for e in sent] == ["housing_found"]
    assert sent[0].data["scope"] == "client"
    assert "message_sent" not in event_types(engine, thrower.id)
    received = next(e for e in engine.events(catcher.id or 0) if e.type == "signal_received")
    assert received.data["name"] == "housing_found"
    assert received.data["from_case"] == thrower.id

    finish_only_task(engine, thrower.id)  # the signal end event throws support_ended
    assert engine.get_case(thrower.id or 0).case.status == "completed"
    assert [e.data["name"] for e in engine.events(thrower.id or 0)
            if e.type == "signal_sent"] == ["housing_found", "support_ended"]
    # the interrupting boundary event ends the job search; the noted housing stays to do
    assert steps(engine, boundary.id) == ["note_housing"]
    assert [e.data["name"] for e in engine.events(boundary.id or 0)
            if e.type == "signal_received"] == ["housing_found", "support_ended"]
    assert engine.deliver_messages() == 0  # nothing is left pending


def test_a_programme_wide_signal_reaches_every_client(engine: Engine) -> None:
    ann, bob, thrower = thrower_with_scope(engine, "programme")
    same_client = engine.start_case("signal_catcher", ann).case
    other_client = engine.start_case("signal_catcher", bob).case

    finish_only_task(engine, thrower.id)

    assert steps(engine, same_client.id) == ["move_in"]
    assert steps(engine, other_client.id) == ["move_in"]
    [sent] = [e for e in engine.events(thrower.id or 0) if e.type == "signal_sent"]
    assert sent.data["scope"] == "programme"


def test_client_scope_said_explicitly_is_the_default(engine: Engine) -> None:
    _ann, bob, thrower = thrower_with_scope(engine, "client")
    other_client = engine.start_case("signal_catcher", bob).case
    finish_only_task(engine, thrower.id)
    assert steps(engine, other_client.id) == []


def test_an_unknown_scope_is_refused_at_publish(engine: Engine) -> None:
    with pytest.raises(DefinitionError) as refused:
        engine.publish(*programme_bundle("everyone"))
    assert refused.value.element == "announce"
    assert "signal_scope" in refused.value.message
    assert engine.versions() == []


def test_a_signal_start_event_starts_a_case_for_the_client(engine: Engine) -> None:
    engine.publish(*bundle("signal_thrower"))
    engine.publish(*bundle("signal_started"))
    ann = engine.add_client("Ann")
    thrower = engine.start_case("signal_thrower", ann.id or 0).case
    finish_only_task(engine, thrower.id)
    assert engine.list_cases(pathway="signal_started") == []  # housing_found starts nothing
    finish_only_task(engine, thrower.id)  # support_ended
    [started] = engine.list_cases(pathway="signal_started")
    assert started.client_id == ann.id and started.status == "active"
    assert steps(engine, started.id) == ["follow_up"]
    types = event_types(engine, started.id)
    assert types[0] == "case_started" and "signal_received" in types


def test_a_signal_nobody_waits_for_is_recorded_and_dropped(engine: Engine) -> None:
    engine.publish(*bundle("signal_thrower"))
    ann = engine.add_client("Ann")
    thrower = engine.start_case("signal_thrower", ann.id or 0).case
    finish_only_task(engine, thrower.id)
    assert engine.get_case(thrower.id or 0).case.status == "active"
    assert "signal_sent" in event_types(engine, thrower.id)
    assert "error" not in event_types(engine, thrower.id)
    assert engine.deliver_messages() == 0
    # a case that starts waiting afterwards does not get yesterday's signal
    engine.publish(*bundle("signal_catcher"))
    late = engine.start_case("signal_catcher", ann.id or 0).case
    assert engine.deliver_messages() == 0
    assert steps(engine, late.id) == []
    assert engine.get_case(late.id or 0).case.waiting_for == ["housing_found"]


def test_messages_still_go_to_one_case(engine: Engine) -> None:
    """A message is not a broadcast: two cases waiting for it, one gets it."""
    engine.publish(*bundle("wake"))
    engine.publish(*bundle("booker"))
    ann = engine.add_client("Ann")
    waiting = [engine.start_case("wake", ann.id or 0).case for _ in range(2)]
    for case in waiting:
        finish_only_task(engine, case.id)
    booker = engine.start_case("booker", ann.id or 0).case
    while engine.get_case(booker.id or 0).tasks:
        finish_only_task(engine, booker.id)
    woken = [c for c in waiting if steps(engine, c.id) == ["attend"]]
    assert len(woken) == 1
    assert "message_received" in event_types(engine, woken[0].id)
    assert "message_sent" in event_types(engine, booker.id)


def test_a_signal_the_thrower_also_catches_still_reaches_the_other_cases(engine: Engine) -> None:
    """SpiffWorkflow keeps a signal caught inside the throwing case to itself; a broadcast
    reaches the other waiting cases as well."""
    engine.publish(*bundle("signal_self_catch"))
    engine.publish(*bundle("signal_catcher"))
    ann = engine.add_client("Ann")
    thrower = engine.start_case("signal_self_catch", ann.id or 0).case
    catcher = engine.start_case("signal_catcher", ann.id or 0).case
    finish_only_task(engine, thrower.id)
    assert steps(engine, thrower.id) == ["tell_landlord"]  # its own catch heard it
    assert steps(engine, catcher.id) == ["move_in"]
    assert event_types(engine, thrower.id).count("signal_sent") == 1


def test_a_signal_starts_an_event_subprocess(uow_factory: UnitOfWorkFactory) -> None:
    """A non-interrupting event subprocess whose start event catches the signal runs beside
    the case's work, in a fresh engine (as another process would load the case) too."""
    engine = Engine(uow=uow_factory, clock=FakeClock())
    engine.publish(*bundle("signal_event_subprocess"))
    engine.publish(*bundle("signal_thrower"))
    ann = engine.add_client("Ann")
    first = engine.start_case("signal_event_subprocess", ann.id or 0).case
    assert "housing_found" in first.waiting_for
    thrower = engine.start_case("signal_thrower", ann.id or 0).case
    other_process = Engine(uow=uow_factory, clock=FakeClock())
    finish_only_task(other_process, thrower.id)
    assert steps(engine, first.id) == ["claim", "update_address"]
    # a case started after that is armed the same way, and so is one started elsewhere
    for starter in (engine, Engine(uow=uow_factory, clock=FakeClock())):
        later = starter.start_case("signal_event_subprocess", ann.id or 0).case
        assert steps(starter, later.id) == ["claim"]
        assert later.waiting_for == ["housing_found"]


def test_a_signal_carries_its_payload_to_the_variable_the_catcher_names(engine: Engine) -> None:
    engine.publish(*edited_bundle("signal_thrower", HOUSING_FOUND, housing_found_with(
        "<spiffworkflow:payloadExpression>{'address': '1 High St'}"
        "</spiffworkflow:payloadExpression>")))
    engine.publish(*edited_bundle("signal_catcher", HOUSING_FOUND, housing_found_with(
        "<spiffworkflow:variableName>housing</spiffworkflow:variableName>")))
    ann = engine.add_client("Ann")
    thrower = engine.start_case("signal_thrower", ann.id or 0).case
    catcher = engine.start_case("signal_catcher", ann.id or 0).case
    finish_only_task(engine, thrower.id)
    [sent] = [e for e in engine.events(thrower.id or 0) if e.type == "signal_sent"]
    assert sent.data["payload"] == {"address": "1 High St"}
    finish_only_task(engine, catcher.id)
    assert engine.get_case(catcher.id or 0).case.data["housing"] == {"address": "1 High St"}


def test_two_routers_broadcast_a_signal_once(uow_factory: UnitOfWorkFactory) -> None:
    """The worker and a web process may route the same kept signal at once: one does."""
    engine = Engine(uow=uow_factory, clock=FakeClock())
    engine.publish(*bundle("signal_catcher"))
    ann = engine.add_client("Ann")
    catcher = engine.start_case("signal_catcher", ann.id or 0).case
    with uow_factory() as uow:  # a signal whose thrower stopped before routing it
        uow.messages.add(Message(id=None, name="housing_found", client_id=ann.id, payload=None,
                                 sender_case_id=None, created_at=FakeClock().now(),
                                 kind="signal"))
        uow.commit()
    reached = route_together(uow_factory)
    assert sorted(reached) == [0, 1]
    assert event_types(engine, catcher.id).count("signal_received") == 1
    assert steps(engine, catcher.id) == ["move_in"]


def route_together(uow_factory: Any) -> list[int]:
    """Two engines route what is pending at the same moment: how many cases each reached."""
    routers = [Engine(uow=uow_factory, clock=FakeClock()) for _ in range(2)]
    reached: list[int] = []
    barrier = threading.Barrier(2)

    def route(router: Engine) -> None:
        barrier.wait()
        reached.append(router.deliver_messages())

    threads = [threading.Thread(target=route, args=(router,)) for router in routers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reached
