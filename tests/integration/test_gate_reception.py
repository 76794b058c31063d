"""The hand-written BPMN gate reception pathway (tests/data/gate_reception.bpmn) end to end.

Every test drives the real Engine, with the real SpiffWorkflow, on a freshly migrated
database (SQLite and PostgreSQL, through the `uow_factory` fixture), and reads back what
happened from the case's event log: which steps ran, which way each gateway went, which
timers fired and which messages were thrown.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.definition_files import read_bundle
from engine import CompletionResult, Engine
from engine.model import Event
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock

BPMN = Path(__file__).resolve().parents[1] / "data" / "gate_reception.bpmn"
PATHWAY = "gate_reception"

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # assessment in prison, four weeks to go
RELEASE_DATE = "2026-02-01"
RELEASE = datetime(2026, 2, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)

NEEDS = ("accommodation", "benefits", "substance_misuse", "mental_health", "family",
         "employment")
GATE_WORKER_STEPS = {"gate_meeting", "gate_follow_up"}

# The `due` property of each user task: a fixed date from the client's release date, or a
# duration from the moment the task became ready.
FIXED_DUE = {
    "needs_assessment": RELEASE - timedelta(days=7),
    "gate_meeting": RELEASE,
    "first_week_support": RELEASE + timedelta(days=7),
}
RELATIVE_DUE = {
    "gate_follow_up": timedelta(days=2),
    "weekly_contact": timedelta(days=2),
    "exit_review": timedelta(days=7),
    **{f"refer_{need}": timedelta(days=5) for need in NEEDS},
}


# -- fixtures -----------------------------------------------------------------------------

RELOADED = pytest.mark.parametrize("engine", ["cached", "reloaded"], indirect=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def engine(request: pytest.FixtureRequest, uow_factory: UnitOfWorkFactory,
           clock: FakeClock) -> Engine:
    """The engine with the pathway published. Tests marked with RELOADED also run with no
    live workflows kept between commands, so every command loads the stored state."""
    reload_every_command = getattr(request, "param", "cached") == "reloaded"
    engine = (Engine(uow=uow_factory, clock=clock, live_cases=0) if reload_every_command
              else Engine(uow=uow_factory, clock=clock))
    files, main = read_bundle(BPMN)
    published = engine.publish(files, main, note="shipped definition")
    assert (published.pathway, published.version) == (PATHWAY, 1)
    return engine


# -- helpers ------------------------------------------------------------------------------


def start(engine: Engine, name: str = "Dan") -> int:
    client = engine.add_client(name, {"release_date": RELEASE_DATE})
    assert client.id is not None
    case = engine.start_case(PATHWAY, client.id, actor="cara")
    assert case.case.id is not None
    assert [view.task.step for view in case.tasks] == ["needs_assessment"]
    return case.case.id


def open_steps(engine: Engine, case_id: int) -> list[str]:
    return sorted(view.task.step for view in engine.list_tasks(case_id=case_id))


def complete(engine: Engine, case_id: int, step: str, data: Mapping[str, Any],
             actor: str = "cara") -> CompletionResult:
    """Complete the one open task of `step` in the case."""
    views = [v for v in engine.list_tasks(case_id=case_id) if v.task.step == step]
    assert len(views) == 1, f"expected one open {step}, open: {open_steps(engine, case_id)}"
    [view] = views
    assert view.task.role == expected_role(step)
    assert view.schema is not None and view.task.form == f"gate_reception.{step}.schema.json"
    result = engine.complete_task(view.task.id, data, actor=actor)
    assert result.status != "error", engine.get_case(case_id).case.error
    return result


def advance(engine: Engine, clock: FakeClock, delta: timedelta) -> int:
    """Move the clock on and fire whatever timers are due; how many fired."""
    clock.current += delta
    return engine.fire_due_timers(clock.now())


def advance_to(engine: Engine, clock: FakeClock, when: datetime) -> int:
    assert when >= clock.now()
    return advance(engine, clock, when - clock.now())


def needs_assessment(*needs: str, risk_level: str = "medium") -> dict[str, Any]:
    assert set(needs) <= set(NEEDS)
    return {**{f"needs_{need}": need in needs for need in NEEDS}, "risk_level": risk_level,
            "notes": "Assessed on the wing."}


def referral(need: str) -> dict[str, Any]:
    data: dict[str, Any] = {f"{need}_referral_made": True,
                            f"{need}_provider": f"{need} provider"}
    if need == "family":
        data["family_contact_consent"] = True
    return data


FIRST_WEEK = {"accommodation_status": "hostel", "benefits_claim_made": True,
              "gp_registered": False}


def to_first_week(engine: Engine, clock: FakeClock, case_id: int, *needs: str,
                  met_at_gate: bool = True) -> CompletionResult:
    """Assessment, release day and (if not met) a successful follow-up, then first week."""
    complete(engine, case_id, "needs_assessment", needs_assessment(*needs))
    advance_to(engine, clock, RELEASE + timedelta(hours=7))
    result = complete(engine, case_id, "gate_meeting", {"met_at_gate": met_at_gate},
                      actor="gus")
    if not met_at_gate:
        assert [v.task.step for v in result.tasks] == ["gate_follow_up"]
        advance(engine, clock, timedelta(days=1))
        result = complete(engine, case_id, "gate_follow_up",
                          {"contact_made": True, "contact_method": "probation_office"},
                          actor="gus")
    assert [v.task.step for v in result.tasks] == ["first_week_support"]
    advance(engine, clock, timedelta(days=4))
    return complete(engine, case_id, "first_week_support", FIRST_WEEK)


def last_scheduled(engine: Engine, case_id: int, step: str) -> datetime:
    scheduled = [e for e in engine.events(case_id)
                 if e.type == "timer_scheduled" and e.step == step]
    assert scheduled, f"no {step} timer was scheduled"
    return datetime.fromisoformat(scheduled[-1].data["due"])


def weekly_contact(engine: Engine, clock: FakeClock, case_id: int, *, still_engaged: bool,
                   check_early: bool = True) -> CompletionResult:
    """Let the week pass (the task must appear only then) and record the contact."""
    assert "weekly_contact" not in open_steps(engine, case_id)
    if check_early:
        due = last_scheduled(engine, case_id, "wait_week")
        assert due == clock.now() + WEEK
        assert engine.fire_due_timers(due - SECOND) == 0
        assert "weekly_contact" not in open_steps(engine, case_id)
    assert advance(engine, clock, WEEK) == 1
    assert open_steps(engine, case_id).count("weekly_contact") == 1
    return complete(engine, case_id, "weekly_contact",
                    {"contact_made": True, "still_engaged": still_engaged})


def exit_review(engine: Engine, case_id: int, reason: str) -> CompletionResult:
    assert open_steps(engine, case_id) == ["exit_review"]
    result = complete(engine, case_id, "exit_review",
                      {"exit_reason": reason, "notes": "Case closed."})
    assert (result.status, result.tasks) == ("completed", [])
    return result


def expected_role(step: str) -> str:
    return "gate_worker" if step in GATE_WORKER_STEPS else "caseworker"


def completed_steps(events: Iterable[Event]) -> list[str]:
    return [e.step or "" for e in events if e.type == "task_completed"]


def decisions(events: Iterable[Event]) -> list[tuple[str, list[str]]]:
    return [(e.step or "", e.data["taken"]) for e in events if e.type == "decision"]


def fired(events: Iterable[Event]) -> list[str]:
    return [e.step or "" for e in events if e.type == "timer_fired"]


def messages(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if e.type == "message_sent"]


def timers_left(uow_factory: UnitOfWorkFactory, case_id: int) -> list[str]:
    with uow_factory() as uow:
        return sorted(timer.step for timer in uow.timers.for_case(case_id))


def finished_log(engine: Engine, case_id: int, cancelled: Iterable[str] = ()) -> list[Event]:
    """The completed case's log, checked for what every log must satisfy.

    Every task announced as ready was completed exactly once, except tasks of the steps in
    `cancelled` (one each), which an interrupting event took away.
    """
    assert engine.get_case(case_id).case.status == "completed"
    assert engine.list_tasks(case_id=case_id) == []
    events = engine.events(case_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "case_started"
    assert events[0].data == {"pathway": PATHWAY, "version": 1, "client": events[0].data["client"]}
    assert events[-1].type == "case_completed"
    assert [e.type for e in events].count("case_completed") == 1
    assert all(e.type != "error" for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    ready = {e.data["task"]: e for e in events if e.type == "task_ready"}
    assert len(ready) == [e.type for e in events].count("task_ready")
    done = [e.data["task"] for e in events if e.type == "task_completed"]
    assert len(set(done)) == len(done) and set(done) <= set(ready)
    never_done = sorted(ready[task].step or "" for task in set(ready) - set(done))
    assert never_done == sorted(cancelled)
    for event in ready.values():
        check_ready_event(event)
    return events


def check_ready_event(event: Event) -> None:
    step = event.step or ""
    assert event.data["role"] == expected_role(step), step
    assert event.data["title"]
    assert event.data["due"] is not None, f"{step} has a due rule but no due date"
    due = datetime.fromisoformat(event.data["due"])
    expected = FIXED_DUE[step] if step in FIXED_DUE else event.at + RELATIVE_DUE[step]
    assert due == expected, step


# -- 1. met at the gate, no needs, three weekly contacts -------------------------------------


@RELOADED
def test_met_at_gate_without_needs_disengages_after_three_contacts(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory) -> None:
    case_id = start(engine)
    result = to_first_week(engine, clock, case_id)
    # no needs: straight into community support, which waits a week before any contact
    assert result.tasks == []
    assert timers_left(uow_factory, case_id) == ["twelve_month_exit", "wait_week"]

    weekly_contact(engine, clock, case_id, still_engaged=True)
    weekly_contact(engine, clock, case_id, still_engaged=True)
    last = weekly_contact(engine, clock, case_id, still_engaged=False)
    assert [v.task.step for v in last.tasks] == ["exit_review"]
    assert timers_left(uow_factory, case_id) == []  # the 12-month timer went with the loop
    exit_review(engine, case_id, "disengaged")

    events = finished_log(engine, case_id)
    assert completed_steps(events) == ["needs_assessment", "gate_meeting",
                                       "first_week_support", *["weekly_contact"] * 3,
                                       "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gw_engaged"]),
        ("gw_referrals", ["gw_referrals_done"]),
        ("gw_continue", ["gw_next_week"]),
        ("gw_continue", ["gw_next_week"]),
        ("gw_continue", ["community_support_disengaged"]),
    ]
    assert fired(events) == ["wait_week"] * 3
    assert messages(events) == []
    assert engine.get_case(case_id).case.data["contact_count"] == 3


# -- 2. not met, found on follow-up, one need ----------------------------------------------


@pytest.mark.parametrize("need", NEEDS)
def test_follow_up_contact_then_single_need_gets_only_its_referral(
        engine: Engine, clock: FakeClock, need: str) -> None:
    case_id = start(engine)
    result = to_first_week(engine, clock, case_id, need, met_at_gate=False)
    assert [v.task.step for v in result.tasks] == [f"refer_{need}"]

    result = complete(engine, case_id, f"refer_{need}", referral(need))
    assert result.tasks == []  # the join did not wait for referrals that were never made
    weekly_contact(engine, clock, case_id, still_engaged=False)
    exit_review(engine, case_id, "disengaged")

    events = finished_log(engine, case_id)
    assert completed_steps(events) == ["needs_assessment", "gate_meeting", "gate_follow_up",
                                       "first_week_support", f"refer_{need}",
                                       "weekly_contact", "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gate_follow_up"]),
        ("gw_follow_up", ["gw_engaged"]),
        ("gw_referrals", [f"refer_{need}"]),
        ("gw_continue", ["community_support_disengaged"]),
    ]
    referral_steps = {e.step for e in events
                      if e.type == "task_ready" and (e.step or "").startswith("refer_")}
    assert referral_steps == {f"refer_{need}"}
    assert [m.data["name"] for m in messages(events)] == (
        ["family_referral"] if need == "family" else [])


# -- 3. all six needs at once ----------------------------------------------------------------


@RELOADED
def test_all_needs_open_six_referrals_in_parallel_and_the_join_waits_for_all(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory) -> None:
    case_id = start(engine)
    result = to_first_week(engine, clock, case_id, *NEEDS)
    referrals = [f"refer_{need}" for need in NEEDS]
    assert sorted(v.task.step for v in result.tasks) == sorted(referrals)

    order = list(NEEDS)
    random.Random(20260201).shuffle(order)
    assert order != list(NEEDS)
    for done, need in enumerate(order, start=1):
        clock.current += timedelta(hours=3)
        result = complete(engine, case_id, f"refer_{need}", referral(need))
        waiting = sorted(f"refer_{n}" for n in order[done:])
        assert sorted(v.task.step for v in result.tasks) == waiting
        if waiting:  # community support must not start before the last referral
            assert timers_left(uow_factory, case_id) == []
    assert timers_left(uow_factory, case_id) == ["twelve_month_exit", "wait_week"]
    assert engine.get_case(case_id).case.data["contact_count"] == 0
    # parallel referrals each keep their own fields through the join
    data = engine.get_case(case_id).case.data
    assert {need: data.get(f"{need}_referral_made") for need in NEEDS} == dict.fromkeys(
        NEEDS, True)

    weekly_contact(engine, clock, case_id, still_engaged=False)
    exit_review(engine, case_id, "disengaged")

    events = finished_log(engine, case_id)
    assert completed_steps(events) == ["needs_assessment", "gate_meeting",
                                       "first_week_support",
                                       *[f"refer_{need}" for need in order],
                                       "weekly_contact", "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gw_engaged"]),
        ("gw_referrals", referrals),
        ("gw_continue", ["community_support_disengaged"]),
    ]
    ready = [e.step for e in events if e.type == "task_ready"
             and (e.step or "").startswith("refer_")]
    assert sorted(ready) == sorted(referrals)  # all six became ready together, once each
    [message] = messages(events)
    assert message.data["name"] == "family_referral"


# -- 4. not met, not found ------------------------------------------------------------------


def test_failed_follow_up_goes_straight_to_exit_review_as_not_engaged(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory) -> None:
    case_id = start(engine)
    complete(engine, case_id, "needs_assessment", needs_assessment("accommodation", "family"))
    advance_to(engine, clock, RELEASE + timedelta(hours=7))
    result = complete(engine, case_id, "gate_meeting",
                      {"met_at_gate": False, "notes": "Released early, not at the gate."},
                      actor="gus")
    assert [v.task.step for v in result.tasks] == ["gate_follow_up"]
    advance(engine, clock, timedelta(days=2))
    result = complete(engine, case_id, "gate_follow_up",
                      {"contact_made": False, "contact_method": "phone"}, actor="gus")
    assert [v.task.step for v in result.tasks] == ["exit_review"]
    assert timers_left(uow_factory, case_id) == []
    exit_review(engine, case_id, "not_engaged")

    events = finished_log(engine, case_id)
    assert completed_steps(events) == ["needs_assessment", "gate_meeting", "gate_follow_up",
                                       "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gate_follow_up"]),
        ("gw_follow_up", ["gw_case_ending"]),
    ]
    review = [e for e in events if e.type == "task_completed"][-1]
    assert review.data["data"]["exit_reason"] == "not_engaged"
    assert not any(e.type in ("timer_scheduled", "message_sent") for e in events)


# -- 5. the 12-month boundary timer -----------------------------------------------------------


@RELOADED
@pytest.mark.parametrize("contact_open", [False, True],
                         ids=["waiting_for_the_week", "weekly_contact_open"])
def test_twelve_months_end_community_support_and_open_exit_review(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory,
        contact_open: bool) -> None:
    case_id = start(engine)
    to_first_week(engine, clock, case_id, "employment")
    complete(engine, case_id, "refer_employment", referral("employment"))
    support_began = clock.now()
    deadline = last_scheduled(engine, case_id, "twelve_month_exit")
    assert deadline == support_began.replace(year=support_began.year + 1)

    for _ in range(3):
        weekly_contact(engine, clock, case_id, still_engaged=True)
    if contact_open:  # the fourth week's contact is open, and stays so for months
        assert advance(engine, clock, WEEK) == 1
        assert open_steps(engine, case_id) == ["weekly_contact"]
        assert timers_left(uow_factory, case_id) == ["twelve_month_exit"]
        assert engine.fire_due_timers(deadline - SECOND) == 0
        assert open_steps(engine, case_id) == ["weekly_contact"]
    else:  # the fourth week's timer and the 12-month timer are due at the same round
        assert timers_left(uow_factory, case_id) == ["twelve_month_exit", "wait_week"]

    seen = len(engine.events(case_id))
    assert advance_to(engine, clock, deadline + timedelta(days=1)) == (1 if contact_open else 2)
    round_events = engine.events(case_id)[seen:]
    assert sorted(fired(round_events)) == (
        ["twelve_month_exit"] if contact_open else ["twelve_month_exit", "wait_week"])
    assert not any(e.type == "task_ready" and e.step == "weekly_contact" for e in round_events)
    assert open_steps(engine, case_id) == ["exit_review"]  # the weekly loop was cancelled
    assert timers_left(uow_factory, case_id) == []
    exit_review(engine, case_id, "completed_12_months")

    events = finished_log(engine, case_id,
                          cancelled=["weekly_contact"] if contact_open else [])
    assert completed_steps(events) == ["needs_assessment", "gate_meeting",
                                       "first_week_support", "refer_employment",
                                       *["weekly_contact"] * 3, "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gw_engaged"]),
        ("gw_referrals", ["refer_employment"]),
        *[("gw_continue", ["gw_next_week"])] * 3,
    ]


# -- 6. 52 weekly contacts -------------------------------------------------------------------


def test_fifty_two_contacts_end_the_loop_by_the_counter(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory) -> None:
    case_id = start(engine)
    to_first_week(engine, clock, case_id)
    deadline = last_scheduled(engine, case_id, "twelve_month_exit")

    for week in range(1, 53):
        result = weekly_contact(engine, clock, case_id, still_engaged=True,
                                check_early=week in (1, 52))
        if week < 52:
            assert result.tasks == []
    assert [v.task.step for v in result.tasks] == ["exit_review"]
    assert clock.now() < deadline  # 52 weeks fit in 12 months: the counter ended the loop
    assert timers_left(uow_factory, case_id) == []
    assert engine.get_case(case_id).case.data["contact_count"] == 52
    exit_review(engine, case_id, "completed_12_months")

    events = finished_log(engine, case_id)
    assert completed_steps(events) == ["needs_assessment", "gate_meeting",
                                       "first_week_support", *["weekly_contact"] * 52,
                                       "exit_review"]
    assert decisions(events) == [
        ("gw_met_at_gate", ["gw_engaged"]),
        ("gw_referrals", ["gw_referrals_done"]),
        *[("gw_continue", ["gw_next_week"])] * 51,
        ("gw_continue", ["community_support_completed"]),
    ]
    assert fired(events) == ["wait_week"] * 52
    assert engine.fire_due_timers(deadline + timedelta(days=30)) == 0


# -- 7. the family_referral message ------------------------------------------------------------


@RELOADED
def test_family_need_throws_family_referral_which_stays_pending(
        engine: Engine, clock: FakeClock, uow_factory: UnitOfWorkFactory) -> None:
    case_id = start(engine, "Frank")
    client_id = engine.get_case(case_id).case.client_id
    to_first_week(engine, clock, case_id, "family", "benefits")
    complete(engine, case_id, "refer_benefits", referral("benefits"))
    assert messages(engine.events(case_id)) == []  # thrown after the family referral only
    complete(engine, case_id, "refer_family",
             {"family_referral_made": True, "family_provider": "Ormiston Families",
              "family_contact_consent": True})

    events = engine.events(case_id)
    [sent] = messages(events)
    referred = next(e for e in events if e.type == "task_completed" and e.step == "refer_family")
    assert sent.seq > referred.seq
    assert sent.data["name"] == "family_referral"
    assert sent.data["payload"] == {
        "client": {"id": client_id, "name": "Frank", "release_date": RELEASE_DATE},
        "risk_level": "medium",
        "family_referral_made": True,
        "family_contact_consent": True,
        "referred_from": "gate_reception",
    }
    with uow_factory() as uow:
        [pending] = uow.messages.pending(client_id)
    assert (pending.id, pending.name, pending.sender_case_id) == (
        sent.data["message"], "family_referral", case_id)
    assert pending.payload == sent.data["payload"]

    # nothing waits for it: it is neither delivered nor starts a case
    assert engine.deliver_messages() == 0
    assert engine.deliver_messages(client_id) == 0
    assert [c.id for c in engine.list_cases()] == [case_id]

    weekly_contact(engine, clock, case_id, still_engaged=False)
    exit_review(engine, case_id, "disengaged")
    assert engine.deliver_messages() == 0
    assert [c.id for c in engine.list_cases()] == [case_id]
    with uow_factory() as uow:
        assert [m.id for m in uow.messages.pending()] == [pending.id]
    assert len(messages(finished_log(engine, case_id))) == 1


# -- 8. roles and due dates -------------------------------------------------------------------


def test_ready_tasks_carry_role_and_due_date_from_the_bpmn(
        engine: Engine, clock: FakeClock) -> None:
    case_id = start(engine)
    [assessment] = engine.list_tasks(case_id=case_id)
    assert assessment.task.role == "caseworker"
    assert assessment.task.due == datetime(2026, 1, 25, tzinfo=UTC)  # release - 7 days
    complete(engine, case_id, "needs_assessment", needs_assessment("mental_health"))
    [gate] = engine.list_tasks(case_id=case_id)
    assert (gate.task.step, gate.task.role) == ("gate_meeting", "gate_worker")
    assert gate.task.due == RELEASE

    advance_to(engine, clock, RELEASE + timedelta(hours=8))
    complete(engine, case_id, "gate_meeting", {"met_at_gate": False}, actor="gus")
    [follow_up] = engine.list_tasks(case_id=case_id)
    assert (follow_up.task.role, follow_up.task.due) == ("gate_worker",
                                                         clock.now() + timedelta(days=2))
    complete(engine, case_id, "gate_follow_up", {"contact_made": True}, actor="gus")
    [first_week] = engine.list_tasks(case_id=case_id)
    assert first_week.task.due == RELEASE + timedelta(days=7)
    complete(engine, case_id, "first_week_support", FIRST_WEEK)
    [refer] = engine.list_tasks(case_id=case_id)
    assert (refer.task.step, refer.task.due) == ("refer_mental_health",
                                                 clock.now() + timedelta(days=5))
    complete(engine, case_id, "refer_mental_health", referral("mental_health"))
    advance(engine, clock, WEEK)
    [contact] = engine.list_tasks(case_id=case_id)
    assert (contact.task.step, contact.task.role) == ("weekly_contact", "caseworker")
    assert contact.task.due == clock.now() + timedelta(days=2)
    complete(engine, case_id, "weekly_contact", {"contact_made": False, "still_engaged": False})
    [review] = engine.list_tasks(case_id=case_id)
    assert review.task.due == clock.now() + timedelta(days=7)
    exit_review(engine, case_id, "disengaged")

    events = finished_log(engine, case_id)  # checks every task_ready event's role and due
    ready = {e.step: e.data for e in events if e.type == "task_ready"}
    assert ready["needs_assessment"]["due"] == "2026-01-25T00:00:00+00:00"
    assert ready["gate_meeting"]["due"] == "2026-02-01T00:00:00+00:00"
    assert [e.data["role"] for e in events if e.type == "task_ready"] == [
        "caseworker", "gate_worker", "gate_worker", "caseworker", "caseworker", "caseworker",
        "caseworker"]
