"""definitions/housing_first.yaml on the real engine (SpiffWorkflow, in-memory store, a fixed
clock), one scenario a construct it uses: weekly visits numbered by their round with a
review after every 13th, three missed visits in a row read from `visits.rounds`, the
first-month check a calendar month after moving in (`at: move_in_date + P1M`), a visit left
open escalated to the coordinator (the team's lead), moving in reminded to the keyworker,
the `when: tenancy_status == 'ended'` handler cutting the visits short and `go_to` going
back to finding a home (three times at most), and the keyworker named at referral assigned
every keyworker task. Through the web app on a real database: `required_when` refused by
the caseworker's form, and another caseworker of the same service unable to claim or do
the keyworker's task.

tests/e2e/test_new_pathways.py runs the same file through every branch and end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from engine import Engine
from engine.model import InboxTask
from tests.e2e.test_new_pathways import Player, start
from tests.unit.dsl.test_shipped import engine_with_everything
from tests.unit.engine.fakes import FakeClock
from tests.web.conftest import PASSWORD, Site, site
from tests.web.test_pages import World, build_world, field_block, token

__all__ = ["site"]  # the web app fixture (SQLite and PostgreSQL), for the tests at the end

KEYWORKER = "amara"
REFERRAL = {"referral_source": "street_outreach", "history_of_rough_sleeping": True,
            "complex_needs": ["substance_use"], "meets_criteria": True, "keyworker": KEYWORKER}
ACCEPTED = {"viewed": True, "offer_accepted": True, "address": "2 Park Road"}
SETTLED = {"seen": True, "tenancy_status": "settled"}
MISSED = {"seen": False, "tenancy_status": "settled"}
ENDED = {"seen": True, "tenancy_status": "ended"}
TENANCY_START = "2026-05-29"  # the day the case, waiting 8 days at a time, gets there
MOVE_IN = "2026-05-31"  # 31 May: a calendar month on is 30 June


def answers(**changes: Any) -> dict[str, Any]:
    return {"referral": REFERRAL, "engagement_contact": {"contact_made": True,
                                                         "agrees_to_support": True},
            "housing_plan": {"preferred_area": "Fletton", "tenure_sought": "council"},
            "property_offer": ACCEPTED,
            "tenancy_sign_up": {"tenancy_start_date": TENANCY_START, "tenancy_type": "secure"},
            "moving_in": {"move_in_date": MOVE_IN, "furniture_and_utilities": True,
                          "housing_costs_claimed": True, "rent_payment_set_up": True},
            "first_month_check": {"settling_in": "well", "first_rent_paid": True},
            "visit": SETTLED,
            "quarterly_review": {"tenancy_held": True, "support_intensity": "medium",
                                 "plan_updated": True},
            "tenancy_ending": {"ending": "abandonment"},
            "moving_on": {"next": "step_down_to_floating_support"}, **changes}


@pytest.fixture
def world() -> tuple[Engine, FakeClock]:
    return engine_with_everything()


def tasks(engine: Engine, case_id: int) -> list[InboxTask]:
    return sorted((view.task for view in engine.get_case(case_id).tasks),
                  key=lambda task: task.step)


def only(engine: Engine, case_id: int, step: str) -> InboxTask:
    [task] = [t for t in tasks(engine, case_id) if t.step == step]
    return task


def events(engine: Engine, case_id: int, kind: str) -> list[dict[str, Any]]:
    return [{"step": e.step, "at": e.at, **e.data} for e in engine.events(case_id)
            if e.type == kind]


def moved_in(world: tuple[Engine, FakeClock], **changes: Any) -> Player:
    """A case played up to its first weekly visit (the tenancy started on 29 May 2026,
    moved into on the 31st)."""
    player = start(world, "housing_first", answers(**changes))
    player.play(stop_at="visit")
    assert player.steps[-1] == "moving_in"
    return player


def visit(player: Player, answer: dict[str, Any]) -> InboxTask:
    """Complete the open visit (letting time pass until it opens; a first-month check that
    opens meanwhile is done too) and return it."""
    engine, clock = player.engine, player.clock
    for _ in range(20):
        open_now = {t.step: t for t in tasks(engine, player.case_id)}
        if "first_month_check" in open_now:
            engine.complete_task(open_now["first_month_check"].id,
                                 player.answers["first_month_check"])
            continue
        if "visit" in open_now:
            engine.complete_task(open_now["visit"].id, answer)
            return open_now["visit"]
        assert not open_now, open_now
        clock.advance(days=1)
        engine.fire_due_timers(clock.now())
    raise AssertionError("no visit opened in 20 days")


# -- rounds: visit titles, reviews, missed visits ---------------------------------------------


def test_weekly_visits_say_their_round_and_every_13th_is_followed_by_a_review(
        world: tuple[Engine, FakeClock]) -> None:
    engine, _clock = world
    player = moved_in(world)
    for number in range(1, 27):
        done = visit(player, SETTLED)
        assert done.title == f"Weekly visit {number}"
        open_now = [t.step for t in tasks(engine, player.case_id)]
        if number % 13:
            assert "quarterly_review" not in open_now, number
            continue
        review = only(engine, player.case_id, "quarterly_review")
        assert review.title == f"Quarterly review (after visit {number})"
        assert review.role == "housing_first_coordinator"
        engine.complete_task(review.id, player.answers["quarterly_review"])
    assert player.engine.get_case(player.case_id).case.status == "active"


def test_the_12_and_24_month_outcomes_are_recorded_at_visits_52_and_104(
        world: tuple[Engine, FakeClock]) -> None:
    """Two years of support: 104 visits, eight reviews, the 4th and 8th paying outcomes;
    then the coordinator agrees what comes next."""
    run = moved_in(world).finish()
    assert run.exit_reason == "completed"
    assert run.steps.count("visit") == 104 and run.steps.count("quarterly_review") == 8
    assert run.outcomes == [("housing_first_engaged", True),
                            ("housing_first_tenancy_started", True),
                            ("tenancy_sustained_12_months", True),
                            ("tenancy_sustained_24_months", True)]
    assert run.steps[-1] == "moving_on"


def test_three_missed_visits_running_reach_the_team_lead(
        world: tuple[Engine, FakeClock]) -> None:
    """Read from `visits.rounds`: the two visits before this one were missed too. Two missed,
    one seen, then two missed is not three running."""
    engine, _clock = world
    player = moved_in(world)
    for answer in (MISSED, MISSED, SETTLED, MISSED, MISSED):
        visit(player, answer)
    assert events(engine, player.case_id, "notification_requested") == []
    visit(player, MISSED)
    [notice] = events(engine, player.case_id, "notification_requested")
    assert (notice["step"], notice["to"]) == ("tell_the_lead", "team_lead")
    assert "Not seen three weeks running" in notice["message"]
    assert "{client.name}" in notice["message"]  # the template: rendered when it is sent


def test_a_tenancy_at_risk_reaches_the_team_lead_at_once(
        world: tuple[Engine, FakeClock]) -> None:
    engine, _clock = world
    player = moved_in(world)
    visit(player, {"seen": True, "tenancy_status": "at_risk"})
    [notice] = events(engine, player.case_id, "notification_requested")
    assert (notice["step"], notice["to"]) == ("tell_the_lead", "team_lead")


# -- dates: the first-month check -------------------------------------------------------------


def test_the_first_month_check_opens_a_calendar_month_after_moving_in(
        world: tuple[Engine, FakeClock]) -> None:
    """Moved in on 31 May: `move_in_date + P1M` is 30 June (the month is clamped), the
    check opens that day beside the weekly visits, and is due a week later."""
    engine, clock = world
    player = moved_in(world)
    assert clock.now() < datetime(2026, 6, 29, tzinfo=UTC)
    while clock.now() < datetime(2026, 6, 29, 23, tzinfo=UTC):
        assert "first_month_check" not in [t.step for t in tasks(engine, player.case_id)]
        for task in tasks(engine, player.case_id):
            engine.complete_task(task.id, SETTLED)
        clock.advance(hours=6)
        engine.fire_due_timers(clock.now())
    clock.current = datetime(2026, 6, 30, 0, 0, 1, tzinfo=UTC)
    engine.fire_due_timers(clock.now())
    check = only(engine, player.case_id, "first_month_check")
    assert check.title == "A month in the new home"
    assert check.due is not None and check.due.date() == date(2026, 7, 7)
    assert check.created_at is not None and check.created_at.date() == date(2026, 6, 30)


# -- reminders and escalation -----------------------------------------------------------------


def test_moving_in_is_reminded_to_the_keyworker_two_days_before_it_is_due(
        world: tuple[Engine, FakeClock]) -> None:
    engine, clock = world
    player = start(world, "housing_first", answers())
    player.play(stop_at="moving_in")
    task = only(engine, player.case_id, "moving_in")
    assert task.assignee == KEYWORKER
    assert task.due is not None and task.due.date() == date(2026, 6, 5)  # start + P7D
    clock.current = task.due - timedelta(days=2, seconds=1)
    engine.fire_due_timers(clock.now())
    assert events(engine, player.case_id, "notification_requested") == []
    clock.current = task.due - timedelta(days=2) + timedelta(seconds=1)
    engine.fire_due_timers(clock.now())
    [reminder] = events(engine, player.case_id, "notification_requested")
    assert (reminder["step"], reminder["to"]) == ("moving_in_reminder", "assignee")
    assert reminder["message"].startswith("Moving in for {client.name} is due on {due}")
    assert [t.step for t in tasks(engine, player.case_id)] == ["moving_in"]  # still open


def test_a_visit_left_open_is_escalated_to_the_coordinator(
        world: tuple[Engine, FakeClock]) -> None:
    """Due three days after it opens; two days after the due date the coordinator (who
    leads the keyworkers) is told and gets an Overdue task."""
    engine, clock = world
    player = moved_in(world)
    for _ in range(8):
        clock.advance(days=1)
        engine.fire_due_timers(clock.now())
        if tasks(engine, player.case_id):
            break
    first = only(engine, player.case_id, "visit")
    assert first.due is not None and first.created_at is not None
    assert first.due - first.created_at == timedelta(days=3)

    clock.current = first.due + timedelta(days=2) - timedelta(seconds=1)
    engine.fire_due_timers(clock.now())
    assert [t.step for t in tasks(engine, player.case_id)] == ["visit"]
    assert events(engine, player.case_id, "notification_requested") == []
    clock.current = first.due + timedelta(days=2, seconds=1)
    engine.fire_due_timers(clock.now())
    [notice] = events(engine, player.case_id, "notification_requested")
    assert (notice["step"], notice["to"]) == ("visit_escalation", "housing_first_coordinator")
    assert notice["message"] == (
        "{task} for {client.name} was due on {due} and is not recorded (case {case}).")
    overdue = only(engine, player.case_id, "visit_overdue")
    assert overdue.role == "housing_first_coordinator"
    # still the keyworker's visit to do; the coordinator follows it up
    assert only(engine, player.case_id, "visit").assignee == KEYWORKER
    engine.complete_task(first.id, SETTLED)
    engine.complete_task(overdue.id, {})
    assert tasks(engine, player.case_id) == []
    assert engine.get_case(player.case_id).case.status == "active"


# -- the tenancy ends: handler, go_to ---------------------------------------------------------


def test_a_tenancy_that_ends_stops_the_visits_and_the_search_for_a_home_starts_again(
        world: tuple[Engine, FakeClock]) -> None:
    engine, _clock = world
    player = moved_in(world)
    visit(player, SETTLED)
    visit(player, ENDED)
    # the handler went off on the visit's answer: the visits (and the first-month wait) stop
    assert [t.step for t in tasks(engine, player.case_id)] == ["tenancy_ending"]
    ending = only(engine, player.case_id, "tenancy_ending")
    engine.complete_task(ending.id, player.answers["tenancy_ending"])
    [notice] = events(engine, player.case_id, "notification_requested")
    assert (notice["step"], notice["to"]) == ("tenancy_lost", "team_lead")
    case = engine.get_case(player.case_id).case
    assert (case.status, case.data["pathways_go_to_rehouse"]) == ("active", 1)

    player.play(stop_at="property_offer")
    offer = only(engine, player.case_id, "property_offer")
    assert offer.title == "Offer a home (offer 2)"  # the offers go on counting
    player.play(stop_at="visit")
    again = player.steps[len(player.steps) - player.steps[::-1].index("property_offer") - 1:]
    assert again[:3] == ["property_offer", "tenancy_sign_up", "moving_in"], again
    # a new tenancy, a new run of the block: the handler waits again (the status starts
    # settled); the visits' numbers go on (the answers of the first home are kept), and
    # the new home counts its own from the two visits done in the first
    assert engine.get_case(player.case_id).case.data["visits_before"] == 2
    assert visit(player, SETTLED).title == "Weekly visit 3"
    assert [t.step for t in tasks(engine, player.case_id)] in ([], ["first_month_check"])
    assert engine.get_case(player.case_id).case.status == "active"
    for number in range(4, 16):
        visit(player, SETTLED)
        reviews = [t for t in tasks(engine, player.case_id) if t.step == "quarterly_review"]
        assert [r.title for r in reviews] == (
            ["Quarterly review (after visit 15)"] if number == 15 else []), number


def test_the_outcomes_of_a_second_home_count_its_own_visits(
        world: tuple[Engine, FakeClock]) -> None:
    """A tenancy lost after two visits: the 12- and 24-month outcomes are paid on 52 and 104
    visits in the new home (visits 54 and 106 of the case), never on the case's 52nd."""
    run = moved_in(world, visit=[SETTLED, ENDED, SETTLED]).finish()  # the new home is kept
    assert run.exit_reason == "completed"
    assert run.steps.count("visit") == 106 and run.steps.count("quarterly_review") == 8
    assert ("tenancy_sustained_12_months", True) in run.outcomes
    assert ("tenancy_sustained_24_months", True) in run.outcomes


def test_the_fourth_tenancy_lost_ends_the_case(world: tuple[Engine, FakeClock]) -> None:
    """go_to rehouse goes back at most three times; the fourth ending closes the case."""
    player = moved_in(world, visit=[SETTLED, ENDED])
    run = player.finish()
    assert run.exit_reason == "tenancy_ended"
    assert run.steps.count("tenancy_ending") == 4
    assert run.steps.count("property_offer") == 4 and run.steps.count("moving_in") == 4
    case = player.engine.get_case(player.case_id).case
    assert case.data["pathways_go_to_rehouse"] == 4


# -- the keyworker --------------------------------------------------------------------------


def test_the_keyworker_named_at_referral_is_assigned_every_keyworker_task(
        world: tuple[Engine, FakeClock]) -> None:
    engine, _clock = world
    player = moved_in(world, visit=[SETTLED, ENDED])
    visit(player, SETTLED)
    visit(player, ENDED)
    ready = {e["step"]: e.get("assignee") for e in
             events(engine, player.case_id, "task_ready")}
    for step in ("engagement_contact", "housing_plan", "moving_in", "visit",
                 "tenancy_ending"):
        assert ready[step] == KEYWORKER, step
    for step in ("referral", "property_offer", "tenancy_sign_up"):
        assert ready[step] is None, step
    assert only(engine, player.case_id, "tenancy_ending").assignee == KEYWORKER


# -- through the web app: the form and who may do the task -----------------------------------


def housing_world(site: Site) -> tuple[World, int]:
    """The web world plus the Housing First service's people and a housing officer; a
    client referred to Housing First, at their first engagement contact."""
    world = build_world(site)
    accounts = world.application.accounts
    accounts.add_organisation("housing_first_service", "Housing First Peterborough")
    accounts.add_organisation("local_authority_housing", "Peterborough City Council housing")
    for username, org, role in (("amara", "housing_first_service", "caseworker"),
                                ("bilal", "housing_first_service", "caseworker"),
                                ("carol", "housing_first_service", "caseworker"),
                                ("lead", "housing_first_service", "team_lead"),
                                ("officer", "local_authority_housing", "caseworker")):
        world.users[username] = accounts.add_user(username, username.title(), org, role,
                                                  PASSWORD)
    engine = world.application.engine
    client = world.application.casework.add_client(world.user("carol"), "Dee Walsh", {})
    assert client.id is not None
    view = engine.start_case("housing_first", client.id)
    return world, view.case.id or 0


def submit(world: World, username: str, task: str, data: dict[str, str]) -> Any:
    client = world.client(username)
    csrf = token(client, f"/tasks/{task}")
    return client.post(f"/tasks/{task}", data={**data, "csrf_token": csrf,
                                               "action": "complete"})


def test_the_referral_form_needs_a_keyworker_when_the_criteria_are_met(site: Site) -> None:
    world, case_id = housing_world(site)
    engine = world.application.engine
    referral = only(engine, case_id, "referral")
    form = {"referral_source": "street_outreach", "history_of_rough_sleeping": "true",
            "meets_criteria": "true"}
    page = submit(world, "carol", referral.id, form)
    assert page.status_code == 422
    assert "this field is required when meets criteria" in field_block(page.text, "keyworker")
    assert world.open_task(referral.id) is not None
    done = submit(world, "carol", referral.id, {**form, "keyworker": KEYWORKER})
    assert done.status_code == 302, done.text
    assert world.open_task(referral.id) is None


def test_only_the_named_keyworker_may_do_the_contact(site: Site) -> None:
    world, case_id = housing_world(site)
    engine = world.application.engine
    engine.complete_task(only(engine, case_id, "referral").id, REFERRAL)
    engine.fire_due_timers(datetime.now(UTC) + timedelta(days=8))  # a week to the contact
    contact = only(engine, case_id, "engagement_contact")
    assert contact.assignee == KEYWORKER
    assert contact.title == "Offer Housing First support (contact 1)"
    other = world.client("bilal")  # same service, same role, not the keyworker
    csrf = token(other)  # may see the task (its role), not act on it: it is Amara's
    refused = other.post(f"/tasks/{contact.id}", data={
        "contact_made": "true", "agrees_to_support": "true", "csrf_token": csrf,
        "action": "complete"})
    assert refused.status_code == 403, refused.text
    assert world.open_task(contact.id) is not None
    claimed = other.post(f"/tasks/{contact.id}/claim", data={"csrf_token": csrf})
    assert claimed.status_code == 403
    assert only(engine, case_id, "engagement_contact").assignee == KEYWORKER
    done = submit(world, "amara", contact.id, {"contact_made": "true",
                                               "agrees_to_support": "true"})
    assert done.status_code == 302, done.text
    assert world.open_task(contact.id) is None


def test_the_offer_form_needs_the_address_when_the_offer_is_accepted(site: Site) -> None:
    """The housing officer (another organisation, the landlord) records the offer: an
    accepted one without its address is refused naming the field; a declined one needs the
    reason instead (choice and control)."""
    world, case_id = housing_world(site)
    engine = world.application.engine
    clock_now = datetime.now(UTC)
    engine.complete_task(only(engine, case_id, "referral").id, REFERRAL)
    engine.fire_due_timers(clock_now + timedelta(days=8))
    engine.complete_task(only(engine, case_id, "engagement_contact").id,
                         {"contact_made": True, "agrees_to_support": True})
    engine.complete_task(only(engine, case_id, "housing_plan").id,
                         {"preferred_area": "Fletton", "tenure_sought": "council"})
    engine.fire_due_timers(clock_now + timedelta(days=30))
    offer = only(engine, case_id, "property_offer")
    accepted = {"viewed": "true", "offer_accepted": "true"}
    page = submit(world, "officer", offer.id, accepted)
    assert page.status_code == 422
    assert "this field is required when offer accepted" in field_block(page.text, "address")
    declined = submit(world, "officer", offer.id, {"viewed": "true",
                                                   "offer_accepted": "false"})
    assert declined.status_code == 422
    assert "this field is required when" in field_block(declined.text, "declined_because")
    assert world.open_task(offer.id) is not None
    done = submit(world, "officer", offer.id, {**accepted, "address": "2 Park Road"})
    assert done.status_code == 302, done.text
    assert only(engine, case_id, "tenancy_sign_up").role == "housing_officer"
