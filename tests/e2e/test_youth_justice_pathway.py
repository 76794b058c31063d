"""The youth justice referral order as shipped (definitions/youth_justice_referral_order.yaml),
driven on the real engine (SpiffWorkflow, the in-memory store) on a fixed clock: each
`fire_due_timers(when)` is what `pathways timers run --now WHEN` does, and a breach is a
message kept for the child (as another case, or a sender outside, leaves one) and routed,
as `pathways messages deliver` does.

The order is made on Wednesday 25 March 2026: its 20 working days run over Good Friday
(3 April) and Easter Monday (6 April), so the initial panel is due on Friday 24 April, not
28 days later (22 April). tests/e2e/test_new_pathways.py runs the paths without a breach.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Engine
from engine.access.privacy import Redactor, Sensitivity
from engine.model import Message
from tests.case_steps import complete
from tests.e2e.test_cli import Cli
from tests.unit.dsl.test_shipped import engine_with_everything
from tests.unit.engine.fakes import FakeClock

PATHWAY = "youth_justice_referral_order"
ORDER_DATE = "2026-03-25"
END_DATE = "2026-11-24"  # the contract on 24 April, an order of seven months
ORDER = {"order_date": ORDER_DATE, "order_months": 7, "offence": "Theft from a shop",
         "parent_must_attend": True, "case_manager": "yot_cm"}
ASSESSED = {"likelihood_of_reoffending": "low", "risk_of_serious_harm": "low",
            "in_education_training_employment": True, "school_or_college": "Jack Hunt"}
CONTRACT = {"child_attended": True, "contract_agreed": True,
            "contract_terms": ["community_reparation"], "order_end_date": END_DATE}


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T09:00:00+00:00")


@pytest.fixture
def world() -> tuple[Engine, FakeClock]:
    engine, clock = engine_with_everything()
    clock.current = at(ORDER_DATE)
    return engine, clock


class Order:
    """One child's referral order case, moved on by the test's clock."""

    def __init__(self, world: tuple[Engine, FakeClock]) -> None:
        self.engine, self.clock = world
        self.client = self.engine.add_client("Child", {}).id or 0
        self.case = self.engine.start_case(PATHWAY, self.client).case.id or 0

    def run_timers(self, day: str) -> int:
        """`pathways timers run --now <day>T09:00`, the clock moved there too."""
        self.clock.current = at(day)
        return self.engine.fire_due_timers(self.clock.now())

    def tasks(self) -> dict[str, Any]:
        return {view.task.step: view.task for view in self.engine.get_case(self.case).tasks}

    def titles(self) -> list[str]:
        return sorted(task.title for task in self.tasks().values())

    def do(self, step: str, answers: dict[str, Any] | None = None) -> None:
        complete(self.engine, self.case, step, answers)

    def breach(self, payload: Any = None) -> int:
        """A `breach_reported` message kept for the child, then routed."""
        with self.engine._uow() as unit:
            unit.messages.add(Message(id=None, name="breach_reported", client_id=self.client,
                                      payload=payload, sender_case_id=None,
                                      created_at=self.clock.now()))
            unit.commit()
        return self.engine.deliver_messages()

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.engine.events(self.case) if e.type == kind]

    def to_the_contract(self) -> None:
        self.do("order_received", ORDER)
        self.do("assessment", ASSESSED)
        self.do("victim_contact", {"victim_participation": "indirect_reparation"})
        self.run_timers("2026-04-24")
        self.do("initial_panel", CONTRACT)

    def review(self, day: str, decision: str = "continue", compliance: str = "good") -> str:
        """The next review's timer fires on `day`; the panel holds it. Its title."""
        assert self.run_timers(day) == 1
        title = self.tasks()["progress_review"].title
        self.do("progress_review", {"compliance": compliance, "panel_decision": decision})
        return str(title)

    @property
    def data(self) -> dict[str, Any]:
        return self.engine.get_case(self.case).case.data


def test_the_panel_is_due_20_working_days_after_the_order_over_easter_and_is_chased(
        world: tuple[Engine, FakeClock]) -> None:
    """The assessment goes to the case manager named at the order; the panel is due on 24
    April (Good Friday and Easter Monday skipped); its reminder goes three days before, to
    whoever holds it, and, a day overdue, the YOT manager is notified and gets a task."""
    order = Order(world)
    order.do("order_received", ORDER)
    tasks = order.tasks()
    assert tasks["assessment"].assignee == "yot_cm"
    order.do("assessment", ASSESSED)
    order.do("victim_contact", {"victim_participation": "declined"})
    [panel] = order.tasks().values()
    working = [date(2026, 3, d) for d in (26, 27, 30, 31)] + [
        date(2026, 4, d) for d in (1, 2, 7, 8, 9, 10, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24)]
    assert len(working) == 20 and date(2026, 4, 3) not in working
    assert panel.due is not None and panel.due.date() == working[-1] == date(2026, 4, 24)
    assert panel.due.date() != date.fromisoformat(ORDER_DATE) + timedelta(days=28)

    assert order.run_timers("2026-04-20") == 0  # more than three days before: nothing yet
    assert order.run_timers("2026-04-21") == 1
    [reminder] = order.events("notification_requested")
    assert (reminder.step, reminder.data["to"], reminder.data["kind"]) == (
        "initial_panel_reminder", "assignee", "reminder")
    assert reminder.data["due"].startswith("2026-04-24")
    assert order.run_timers("2026-04-24") == 0  # due today, not overdue yet
    assert order.run_timers("2026-04-25") == 1
    escalation = order.events("notification_requested")[-1]
    assert (escalation.step, escalation.data["to"]) == ("initial_panel_escalation",
                                                       "yot_manager")
    overdue = order.tasks()["initial_panel_overdue"]
    assert (overdue.role, overdue.title) == (
        "yot_manager", "Overdue: Initial youth offender panel and contract")
    order.do("initial_panel_overdue")
    order.do("initial_panel", CONTRACT)  # the panel meets, late: the order goes on
    assert order.tasks() == {}
    assert order.engine.get_case(order.case).case.waiting_for == ["breach_reported"]


def test_a_breach_interrupts_the_reviews_the_court_extends_the_order_and_it_ends_on_the_new_date(
        world: tuple[Engine, FakeClock]) -> None:
    """Two reviews; a breach between reviews interrupts the supervision: the YOT manager is
    told, the panel meets and refers the child to court, which extends the order; the
    supervision starts again and the reviews carry on at round 3; the old end date passes,
    and on the new one the order ends without a final panel."""
    order = Order(world)
    order.to_the_contract()
    assert order.review("2026-07-24") == "Progress review panel 1"
    assert order.review("2026-10-24", compliance="poor") == "Progress review panel 2"
    assert order.breach({"reported_by": "case manager"}) == 1
    assert order.titles() == ["Panel meeting (contract not kept)"]
    told = order.events("notification_requested")[-1]
    assert (told.step, told.data["to"]) == ("tell_yot_manager", "team_lead")
    # the answers given inside the supervision are still the case's
    assert [r["panel_decision"] for r in order.data["progress_reviews"]["rounds"]] == [
        "continue", "continue"]
    assert order.data["breach_reported"] == {"reported_by": "case manager"}
    order.do("breach_panel", {"breach_panel_decision": "refer_to_court",
                              "breach_reason": "Missed three reparation sessions"})
    order.do("court_hearing", {"court_decision": "order_extended",
                               "extended_end_date": "2027-02-24"})
    assert order.data["order_end_date"] == "2027-02-24"
    assert order.data["pathways_go_to_resume_supervision"] == 1
    assert not [name for name in order.data if name.startswith("pathways_round_")]

    assert order.run_timers(END_DATE) == 0  # the old end date: the order goes on
    assert order.review("2027-01-24") == "Progress review panel 3"  # rounds carry on
    assert order.run_timers("2027-02-23") == 0
    assert order.engine.get_case(order.case).case.status == "active"
    assert order.run_timers("2027-02-24") == 1  # its end date: the at: handler
    case = order.engine.get_case(order.case).case
    assert (case.status, case.exit_reason) == ("completed", "order_expired")
    outcomes = [(e.data["outcome"], e.data["value"]) for e in order.events("outcome_recorded")]
    assert outcomes == [("referral_order_contract_agreed", True),
                        ("referral_order_completed", False)]
    ended = order.events("notification_requested")[-1]
    assert (ended.step, ended.data["to"]) == ("order_end_reached", "yot_case_manager")


def test_the_panel_varies_the_contract_and_the_final_panel_counts_every_review(
        world: tuple[Engine, FakeClock]) -> None:
    """A breach the panel deals with itself: back to the reviews, which carry on their
    rounds; the final panel completes the order, and the reviews held before the breach
    are counted with those after it."""
    order = Order(world)
    order.to_the_contract()
    order.review("2026-07-24")
    assert order.breach() == 1
    order.do("breach_panel", {"breach_panel_decision": "contract_varied",
                              "contract_terms": ["community_reparation", "mentoring"]})
    assert order.titles() == []  # waiting three months for the next review
    assert order.review("2026-10-24", "final_panel_completed") == "Progress review panel 2"
    assert order.tasks()["closure"].assignee == "yot_cm"
    order.do("closure", {"reparation_hours_completed": 12, "ete_at_end": True})
    case = order.engine.get_case(order.case).case
    assert (case.status, case.exit_reason) == ("completed", "completed")
    outcomes = [(e.data["outcome"], e.data["value"]) for e in order.events("outcome_recorded")]
    assert outcomes == [("referral_order_contract_agreed", True),
                        ("referral_order_completed", True),
                        ("referral_order_review_panels", 2),
                        ("education_training_employment_at_end", True)]
    assert order.engine.get_case(order.case).case.waiting_for == []


def test_the_court_revokes_the_order_after_a_breach(world: tuple[Engine, FakeClock]) -> None:
    order = Order(world)
    order.to_the_contract()
    assert order.breach() == 1  # before the first review
    order.do("breach_panel", {"breach_panel_decision": "refer_to_court",
                              "breach_reason": "Further offence"})
    order.do("court_hearing", {"court_decision": "revoked_and_resentenced"})
    case = order.engine.get_case(order.case).case
    assert (case.status, case.exit_reason) == ("completed", "revoked_and_resentenced")
    assert ("referral_order_completed", False) in [
        (e.data["outcome"], e.data["value"]) for e in order.events("outcome_recorded")]


def test_the_seventh_breach_stops_the_case(world: tuple[Engine, FakeClock]) -> None:
    """The go_to goes back at most six times; the seventh report stops the case and tells
    the YOT manager."""
    order = Order(world)
    order.to_the_contract()
    for report in range(7):
        assert order.breach() == 1, report
        order.do("breach_panel", {"breach_panel_decision": "contract_varied"})
    case = order.engine.get_case(order.case).case
    assert (case.status, case.exit_reason) == ("completed", "supervision_stopped")
    assert [e.step for e in order.events("notification_requested")][-1] == \
        "tell_yot_manager_stopped"
    assert order.data["pathways_go_to_resume_supervision"] == 7


def test_a_viewer_without_offence_access_sees_nothing_of_the_breach_the_escalation_or_the_end(
        world: tuple[Engine, FakeClock]) -> None:
    """Everything the new constructs add to a case (the reminder and escalation, the overdue
    task, the breach message and its handler, the go_to, the end date) is left out for a
    viewer who may not see offences, and the notifications' texts name nothing of the
    order."""
    order = Order(world)
    order.do("order_received", ORDER)
    order.do("assessment", ASSESSED)
    order.do("victim_contact", {"victim_participation": "declined"})
    order.run_timers("2026-04-25")
    order.do("initial_panel_overdue")
    order.do("initial_panel", CONTRACT)
    order.breach({"reported_by": "police"})
    order.do("breach_panel", {"breach_panel_decision": "contract_varied"})
    engine = order.engine
    case = engine.get_case(order.case).case
    events = engine.events(order.case)
    assert {"timer_fired", "message_received", "notification_requested"} <= {
        e.type for e in events}
    sensitivity = Sensitivity.of([(PATHWAY, case.version, engine.definition(PATHWAY,
                                                                            case.version))])
    outsider = Redactor(sensitivity, frozenset({"health"}))
    assert outsider.case(case) is None
    assert outsider.events(case, events) == []
    insider = Redactor(sensitivity, frozenset({"offence"}))
    assert insider.case(case) is not None and len(insider.events(case, events)) == len(events)
    words = ("offence", "order", "panel", "court", "breach", "contract", "youth", "review",
             "theft")
    for notice in (e for e in events if e.type == "notification_requested"):
        message = notice.data["message"].lower()
        assert [w for w in words if w in message] == [], message


# -- the same through the real `pathways` command line -------------------------------------

DEFINITION = Path(__file__).resolve().parents[2] / "definitions" / f"{PATHWAY}.yaml"


def test_through_the_cli_the_panel_is_chased_and_the_order_ends_on_its_end_date(
        cli: Cli) -> None:
    """`timers run --now` as a designer would simulate an order made on Wednesday 10 April
    2030 (after the machine's today, so that nothing is already due): the panel due on 13
    May over Good Friday, Easter Monday and the May Day bank holiday, the reminder three
    days before, the escalation a day overdue, and the order's end date ending the case."""
    published, added = cli.many(["publish", str(DEFINITION)], ["clients", "add", "--name",
                                                               "Child"])
    assert published.ok()["pathway"] == PATHWAY
    case = cli.json("cases", "start", PATHWAY, "--client", str(added.ok()["id"]))

    def task(step: str) -> dict[str, Any]:
        [found] = [t for t in cli.json("cases", "show", str(case["id"]))["tasks"]
                   if t["step"] == step]
        return dict(found)

    def do(step: str, answers: dict[str, Any]) -> None:
        cli.json("tasks", "complete", task(step)["id"], "--data", json.dumps(answers))

    do("order_received", {**ORDER, "order_date": "2030-04-10"})
    do("assessment", ASSESSED)
    do("victim_contact", {"victim_participation": "declined"})
    skipped = (date(2030, 4, 19), date(2030, 4, 22), date(2030, 5, 6))
    days = [date(2030, 4, 10) + timedelta(days=n) for n in range(1, 40)]
    working = [d for d in days if d.weekday() < 5 and d not in skipped][:20]
    assert task("initial_panel")["due"].startswith(working[-1].isoformat())  # 2030-05-13
    timers = ("timers", "run", "--now")
    assert cli.json(*timers, "2030-05-09T09:00:00+00:00") == {"fired": 0, "moved": 0}
    assert cli.json(*timers, "2030-05-10T09:00:00+00:00") == {"fired": 1, "moved": 0}
    assert cli.json(*timers, "2030-05-13T09:00:00+00:00") == {"fired": 0, "moved": 0}
    assert cli.json(*timers, "2030-05-14T09:00:00+00:00") == {"fired": 1, "moved": 0}
    assert task("initial_panel_overdue")["title"] == \
        "Overdue: Initial youth offender panel and contract"
    events = cli.json("events", str(case["id"]))
    assert [e["step"] for e in events if e["type"] == "notification_requested"] == [
        "initial_panel_reminder", "initial_panel_escalation"]
    do("initial_panel_overdue", {})  # the manager has followed it up
    do("initial_panel", {**CONTRACT, "order_end_date": "2030-12-01"})
    assert cli.json("cases", "show", str(case["id"]))["status"] == "active"
    # its end date; the first review's timer (three months after the contract, signed on
    # the machine's clock) goes off in the same run, just before
    assert cli.json(*timers, "2030-12-01T09:00:00+00:00") == {"fired": 2, "moved": 0}
    shown = cli.json("cases", "show", str(case["id"]))
    assert (shown["status"], shown["exit_reason"]) == ("completed", "order_expired")
