"""The three services shipped as further examples (issue 15), run end to end on the real
engine (SpiffWorkflow, with the in-memory store): Housing First, NHS Talking Therapies
stepped care and a youth justice referral order.

Every branch of every `decide` is taken by some scenario, every `end` is reached and every
`repeat` runs more than one round in some case; the last test checks that mechanically, from
the files' own steps and the compiled BPMN's flows against what the cases recorded, so a
branch added to one of these files without a scenario fails here. (Two ends of the referral
order share the reason `revoked_and_resentenced`; the branch check tells them apart.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from adapters.definition_files import read_bundle
from engine import Engine
from engine.access.privacy import HIDDEN, Redactor, Sensitivity
from tests.unit.dsl.test_shipped import (
    DEFINITIONS,
    KNOWN,
    engine_with_everything,
    until_a_timer_fires,
)
from tests.unit.engine.fakes import FakeClock

NEW_PATHWAYS = ("housing_first", "talking_therapies", "youth_justice_referral_order")
BPMN = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


@dataclass(frozen=True)
class Run:
    """What one case did: its steps in order, the decisions' flows taken, its outcomes (in
    order) and the reason of the end it reached."""

    pathway: str
    steps: list[str]
    flows: frozenset[str]
    outcomes: list[tuple[str, Any]]
    exit_reason: str | None


RUNS: list[Run] = []  # every case the scenarios ran, for the coverage check at the end


class Player:
    """Completes a case's open tasks with the answers for their step (a dict, or a list used
    in turn, the last one again once it runs out), letting time pass whenever nothing is
    open, as test_shipped.drive does, but able to stop at a step and go on later."""

    def __init__(self, engine: Engine, clock: FakeClock, case_id: int,
                 answers: Mapping[str, Any]) -> None:
        self.engine, self.clock, self.case_id, self.answers = engine, clock, case_id, answers
        self.turns: Counter[str] = Counter()
        self.steps: list[str] = []

    def play(self, *, stop_at: str | None = None, max_steps: int = 600) -> list[str]:
        for _ in range(max_steps):
            case = self.engine.get_case(self.case_id)
            if case.case.status != "active":
                return self.steps
            if not case.tasks:
                until_a_timer_fires(self.engine, self.clock, self.case_id, weeks=60)
                continue
            view = sorted(case.tasks, key=lambda v: v.task.step)[0]
            if view.task.step == stop_at:
                return self.steps
            answer = self.answers[view.task.step]
            if isinstance(answer, list):
                answer = answer[min(self.turns[view.task.step], len(answer) - 1)]
            self.turns[view.task.step] += 1
            self.engine.complete_task(view.task.id, answer)
            self.steps.append(view.task.step)
        raise AssertionError(f"case {self.case_id} did not finish in {max_steps} steps")

    def finish(self) -> Run:
        """Play to the end; the case must complete (not fail)."""
        self.play()
        case = self.engine.get_case(self.case_id).case
        assert case.status == "completed", case.error
        events = self.engine.events(self.case_id)
        run = Run(case.pathway, self.steps,
                  frozenset(flow for e in events if e.type == "decision"
                            for flow in e.data["flows"]),
                  [(e.data["outcome"], e.data["value"]) for e in events
                   if e.type == "outcome_recorded"],
                  case.exit_reason)
        RUNS.append(run)
        return run


@pytest.fixture
def world() -> tuple[Engine, FakeClock]:
    """Every shipped definition published, as `pathways init` publishes them."""
    return engine_with_everything()


def start(world: tuple[Engine, FakeClock], pathway: str, answers: Mapping[str, Any],
          fields: Mapping[str, Any] | None = None) -> Player:
    engine, clock = world
    client = engine.add_client("Client", dict(fields or {}))
    case_id = engine.start_case(pathway, client.id or 0).case.id or 0
    return Player(engine, clock, case_id, answers)


def day(clock: FakeClock, days: int = 0) -> str:
    return (clock.now() + timedelta(days=days)).date().isoformat()


# -- Housing First ---------------------------------------------------------------------------

REFERRAL = {"referral_source": "street_outreach", "history_of_rough_sleeping": True,
            "complex_needs": ["mental_health", "substance_use"], "meets_criteria": True,
            "keyworker": "amara"}
AGREES = {"contact_made": True, "agrees_to_support": True}
DECLINES = {"contact_made": True, "agrees_to_support": False}
ACCEPTED = {"address": "2 Park Road", "viewed": True, "offer_accepted": True}
REFUSED = {"viewed": True, "offer_accepted": False, "declined_because": "Too far from family"}
SETTLED = {"seen": True, "tenancy_status": "settled"}


def review(held: bool = True) -> dict[str, Any]:
    return {"tenancy_held": held, "support_intensity": "medium", "plan_updated": True}


def housing_first(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    return {"referral": REFERRAL, "engagement_contact": AGREES,
            "housing_plan": {"preferred_area": "Fletton", "tenure_sought": "council"},
            "property_offer": ACCEPTED,
            "tenancy_sign_up": {"tenancy_start_date": day(clock, 60), "tenancy_type": "secure"},
            "moving_in": {"move_in_date": day(clock, 60), "furniture_and_utilities": True,
                          "housing_costs_claimed": True, "rent_payment_set_up": True},
            "first_month_check": {"settling_in": "well", "first_rent_paid": True},
            "visit": SETTLED,
            "tenancy_ending": {"ending": "custody", "where_now": "HMP Peterborough"},
            "quarterly_review": review(),
            "moving_on": {"next": "step_down_to_floating_support"}, **changes}


def test_housing_first_sustains_a_tenancy_for_two_years(
        world: tuple[Engine, FakeClock]) -> None:
    """Engaged at the second contact, one home turned down, moved in on the tenancy's start
    date, visited weekly for two years (a tenancy at risk once reaches the team lead) and
    reviewed every quarter; the 12- and 24-month reviews record what a commissioner pays on."""
    engine, clock = world
    start_date = date.fromisoformat(day(clock, 60))
    player = start(world, "housing_first", housing_first(
        clock, engagement_contact=[DECLINES, AGREES], property_offer=[REFUSED, ACCEPTED],
        visit=[{"seen": True, "tenancy_status": "at_risk"}, SETTLED]), {"phone": "0700"})
    player.play(stop_at="moving_in")
    assert clock.now().date() >= start_date  # it waited for the tenancy to start
    [moving_in] = engine.get_case(player.case_id).tasks
    assert moving_in.task.due is not None
    assert moving_in.task.due.date() == start_date + timedelta(days=7)
    client = engine.get_client(engine.get_case(player.case_id).case.client_id)
    assert client.fields["tenancy_start_date"] == start_date.isoformat()

    run = player.finish()
    assert run.exit_reason == "completed"
    assert run.steps.count("engagement_contact") == 2
    assert run.steps.count("property_offer") == 2
    assert run.steps.count("visit") == 104 and run.steps.count("quarterly_review") == 8
    assert run.steps[-1] == "moving_on"
    assert run.outcomes == [("housing_first_engaged", True),
                            ("housing_first_tenancy_started", True),
                            ("tenancy_sustained_12_months", True),
                            ("tenancy_sustained_24_months", True)]
    notices = [e.step for e in engine.events(player.case_id)
               if e.type == "notification_requested" and e.step != "moving_in_reminder"]
    assert notices == ["tell_the_lead"]  # the tenancy at risk


def test_housing_first_a_lost_tenancy_goes_back_to_finding_a_home(
        world: tuple[Engine, FakeClock]) -> None:
    """Lost in the second quarter (after the first review, and three visits missed running,
    which reach the team lead): the visits stop and the search for a home starts again, with
    the same keyworker; each new tenancy is lost at its first visit, and the fourth loss ends
    the case (go_to rehouse goes back three times at most)."""
    engine, _clock = world
    missed = {"seen": False, "tenancy_status": "settled"}
    player = start(world, "housing_first", housing_first(
        world[1], visit=[SETTLED] * 12 + [missed] * 3 + [{"seen": True,
                                                          "tenancy_status": "ended"}]))
    run = player.finish()
    assert run.exit_reason == "tenancy_ended"
    assert run.steps.count("visit") == 19 and run.steps.count("quarterly_review") == 1
    assert run.steps.count("tenancy_ending") == 4 and run.steps.count("property_offer") == 4
    assert run.steps[-1] == "tenancy_ending"
    assert run.outcomes == [("housing_first_engaged", True)] + [
        ("housing_first_tenancy_started", True)] * 4
    notices = [e.step for e in engine.events(player.case_id)
               if e.type == "notification_requested" and e.step != "moving_in_reminder"]
    assert notices == ["tell_the_lead"] + ["tenancy_lost"] * 4  # not seen; each loss
    assert [c.id for c in engine.list_cases(pathway="housing_first")] == [player.case_id]


@pytest.mark.parametrize("answers, reason, outcomes, steps", [
    ({"referral": {**REFERRAL, "meets_criteria": False}}, "not_eligible", [], ["referral"]),
    ({"engagement_contact": DECLINES}, "not_engaged", [("housing_first_engaged", False)],
     ["referral"] + ["engagement_contact"] * 12),
    ({"property_offer": REFUSED}, "no_home_found", [("housing_first_engaged", True)],
     ["referral", "engagement_contact", "housing_plan"] + ["property_offer"] * 6),
], ids=["not eligible", "never engages", "no home accepted"])
def test_housing_first_ends_early(world: tuple[Engine, FakeClock], answers: dict[str, Any],
                                  reason: str, outcomes: list[tuple[str, Any]],
                                  steps: list[str]) -> None:
    run = start(world, "housing_first", housing_first(world[1], **answers)).finish()
    assert (run.exit_reason, run.outcomes, run.steps) == (reason, outcomes, steps)


# -- NHS Talking Therapies -------------------------------------------------------------------


def assessed(phq9: int, gad7: int, next_step: str, risk: str = "low") -> dict[str, Any]:
    return {"intake_phq9": phq9, "intake_gad7": gad7, "problem": "depression", "risk": risk,
            "next_step": next_step}


def session(step: int, status: str, phq9: int | None = None,
            gad7: int | None = None) -> dict[str, Any]:
    scores = {"not_attended_reason": "did_not_attend"} if phq9 is None else {
        "phq9_score": phq9, "gad7_score": gad7, f"step_{step}_risk": "none"}
    return {"attended": phq9 is not None, **scores, f"step_{step}_status": status}


DISCHARGE = {"next_step": "discharge"}  # the scores and sessions are worked out from the rounds


def talking_therapies(**changes: Any) -> dict[str, Any]:
    return {"referral_received": {"referral_date": "2026-01-05", "referral_source": "self_referral",
                                  "gp_practice": "Bretton", "consent_to_contact_gp": True},
            "assessment": assessed(16, 12, "step_2"),
            "signpost": {"signposted_to": "community_mental_health_team"},
            "low_intensity_session": [session(2, "continuing", 15, 12),
                                      session(2, "continuing"),  # did not attend
                                      session(2, "finished", 8, 6)],
            "step_2_review": DISCHARGE,
            "high_intensity_session": [session(3, "continuing", 14, 10),
                                       session(3, "finished", 9, 7)],
            "step_3_discharge": {"discharge_letter_sent": True}, **changes}


@pytest.mark.parametrize("assessment", [assessed(22, 18, "step_3", risk="high"),
                                        assessed(12, 9, "signpost")],
                         ids=["high risk", "not the right service"])
def test_talking_therapies_signposts(world: tuple[Engine, FakeClock],
                                     assessment: dict[str, Any]) -> None:
    run = start(world, "talking_therapies", talking_therapies(assessment=assessment)).finish()
    assert (run.exit_reason, run.steps, run.outcomes) == (
        "signposted", ["referral_received", "assessment", "signpost"], [])


def test_talking_therapies_step_2_recovers(world: tuple[Engine, FakeClock]) -> None:
    """Three step 2 rounds (one missed), then discharge: recovered and reliably improved."""
    run = start(world, "talking_therapies", talking_therapies()).finish()
    assert run.exit_reason == "completed"
    assert run.steps == ["referral_received", "assessment"] + ["low_intensity_session"] * 3 \
        + ["step_2_review"]
    assert run.outcomes == [("talking_therapies_assessed", True),
                            ("talking_therapies_finished_treatment", True),
                            ("talking_therapies_recovered", True),
                            ("talking_therapies_reliable_improvement", True),
                            ("talking_therapies_reliable_recovery", True)]


def test_talking_therapies_steps_up_from_step_2_to_step_3(
        world: tuple[Engine, FakeClock]) -> None:
    """Step 2 does not help enough; the PWP steps up to high-intensity therapy."""
    run = start(world, "talking_therapies", talking_therapies(
        low_intensity_session=[session(2, "continuing", 16, 12),
                               session(2, "not_improving", 15, 12)],
        step_2_review={"next_step": "step_3"})).finish()
    assert run.exit_reason == "completed"
    assert run.steps == ["referral_received", "assessment", "low_intensity_session",
                         "low_intensity_session", "step_2_review", "high_intensity_session",
                         "high_intensity_session", "step_3_discharge"]
    assert ("talking_therapies_recovered", True) in run.outcomes  # 16/12 first, 9/7 last


@pytest.mark.parametrize("intake, final, outcomes", [
    ((12, 9), (19, 15), [("talking_therapies_recovered", False),
                         ("talking_therapies_reliable_improvement", False),
                         ("talking_therapies_reliable_recovery", False)]),
    ((13, 6), (6, 6), [("talking_therapies_recovered", True),
                       ("talking_therapies_reliable_improvement", True),
                       ("talking_therapies_reliable_recovery", True)]),
    ((8, 6), (2, 3), [("talking_therapies_reliable_improvement", True)]),  # not a case at intake
    ((20, 9), (12, 14), [("talking_therapies_recovered", False),
                         ("talking_therapies_reliable_improvement", False),
                         ("talking_therapies_reliable_recovery", False)]),  # GAD-7 worse
], ids=["deteriorated", "recovered on PHQ-9", "below caseness at intake", "mixed"])
def test_talking_therapies_step_3_measures_recovery_and_reliable_improvement(
        world: tuple[Engine, FakeClock], intake: tuple[int, int], final: tuple[int, int],
        outcomes: list[tuple[str, Any]]) -> None:
    """Straight to step 3; the national definitions, from the first and last scores."""
    run = start(world, "talking_therapies", talking_therapies(
        assessment=assessed(*intake, "step_3"),
        high_intensity_session=[session(3, "continuing", *intake),
                                session(3, "continuing", *final),
                                session(3, "finished", *final)])).finish()
    assert run.steps.count("high_intensity_session") == 3
    assert "low_intensity_session" not in run.steps
    assert run.outcomes == [("talking_therapies_assessed", True),
                            ("talking_therapies_finished_treatment", True), *outcomes]


def test_talking_therapies_a_referral_that_drops_out_has_not_finished_treatment(
        world: tuple[Engine, FakeClock]) -> None:
    run = start(world, "talking_therapies", talking_therapies(
        low_intensity_session=[session(2, "dropped_out", 15, 12)],
        step_2_review=DISCHARGE)).finish()
    assert run.exit_reason == "ended_before_treatment"
    assert run.outcomes == [("talking_therapies_assessed", True),
                            ("talking_therapies_finished_treatment", False)]


def test_talking_therapies_step_2_stops_after_eight_sessions(
        world: tuple[Engine, FakeClock]) -> None:
    run = start(world, "talking_therapies", talking_therapies(
        low_intensity_session=session(2, "continuing", 14, 11),
        step_2_review=DISCHARGE)).finish()
    assert run.steps.count("low_intensity_session") == 8
    assert run.outcomes[-3:] == [("talking_therapies_recovered", False),
                                 ("talking_therapies_reliable_improvement", False),
                                 ("talking_therapies_reliable_recovery", False)]


# -- Youth justice referral order ------------------------------------------------------------


def review_panel(decision: str, compliance: str = "good") -> dict[str, Any]:
    return {"compliance": compliance, "panel_decision": decision}


def referral_order(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    return {"order_received": {"order_date": day(clock), "order_months": 6,
                               "offence": "Theft from a shop", "parent_must_attend": True,
                               "case_manager": "yot_cm"},
            "assessment": {"likelihood_of_reoffending": "low", "risk_of_serious_harm": "low",
                           "in_education_training_employment": True,
                           "school_or_college": "Jack Hunt School"},
            "victim_contact": {"victim_participation": "indirect_reparation"},
            "initial_panel": {"child_attended": True, "contract_agreed": True,
                              "contract_terms": ["community_reparation", "mentoring"],
                              "order_end_date": day(clock, 200)},
            "first_court_hearing": {"first_court_decision": "order_continues"},
            "reconvened_panel": {"contract_terms": ["community_reparation"],
                                 "order_end_date": day(clock, 200)},
            "progress_review": [review_panel("continue"), review_panel("final_panel_completed")],
            "closure": {"reparation_hours_completed": 12, "ete_at_end": True},
            **changes}


def test_referral_order_completed_after_the_panel_and_reviews(
        world: tuple[Engine, FakeClock]) -> None:
    """Assessment and victim contact side by side, the panel within 20 working days of the
    order (made on 15 December: Christmas, Boxing Day and New Year's Day are not working
    days), reviews three months apart, and the final panel."""
    engine, clock = world
    answers = referral_order(clock)
    answers["order_received"] = {**answers["order_received"], "order_date": "2025-12-15"}
    player = start(world, "youth_justice_referral_order", answers)
    player.play(stop_at="initial_panel")
    [panel] = engine.get_case(player.case_id).tasks
    assert panel.task.due is not None
    working = [date(2025, 12, d) for d in (16, 17, 18, 19, 22, 23, 24, 29, 30, 31)] + [
        date(2026, 1, d) for d in (2, 5, 6, 7, 8, 9, 12, 13, 14, 15)]
    assert len(working) == 20 and panel.task.due.date() == working[-1]
    assert sorted(player.steps[1:]) == ["assessment", "victim_contact"]
    reviews_from = clock.now()
    run = player.finish()
    assert run.exit_reason == "completed"
    assert run.steps[3:] == ["initial_panel", "progress_review", "progress_review", "closure"]
    assert run.outcomes == [("referral_order_contract_agreed", True),
                            ("referral_order_completed", True),
                            ("referral_order_review_panels", 2),
                            ("education_training_employment_at_end", True)]
    fired = [e.at for e in engine.events(player.case_id)
             if e.type == "timer_fired" and e.step == "progress_reviews_wait"]
    assert len(fired) == 2 and (fired[0] - reviews_from).days >= 89  # every three months


def test_referral_order_breach_goes_to_court_and_the_reviews_carry_on(
        world: tuple[Engine, FakeClock]) -> None:
    """No contract at the first panel: back to court, which lets the order continue; the
    panel reconvenes and the reviews follow; the panel revokes the order early for good
    progress. (A breach reported during the supervision, and the court after it, are a
    message the scenarios of tests/e2e/test_youth_justice_pathway.py send.)"""
    _engine, clock = world
    run = start(world, "youth_justice_referral_order", referral_order(
        clock, initial_panel={"child_attended": False, "contract_agreed": False},
        progress_review=[review_panel("continue"),
                         review_panel("revoked_for_good_progress")])).finish()
    assert run.exit_reason == "completed"
    assert run.steps[3:] == ["initial_panel", "first_court_hearing", "reconvened_panel",
                             "progress_review", "progress_review", "closure"]
    assert run.outcomes[-3:] == [("referral_order_completed", True),
                                 ("referral_order_review_panels", 2),
                                 ("education_training_employment_at_end", True)]


@pytest.mark.parametrize("changes, steps_after_panel", [
    ({"initial_panel": {"child_attended": True, "contract_agreed": False},
      "first_court_hearing": {"first_court_decision": "revoked_and_resentenced"}},
     ["first_court_hearing"]),
], ids=["no contract"])
def test_referral_order_revoked_by_the_court(world: tuple[Engine, FakeClock],
                                             changes: dict[str, Any],
                                             steps_after_panel: list[str]) -> None:
    run = start(world, "youth_justice_referral_order",
                referral_order(world[1], **changes)).finish()
    assert run.exit_reason == "revoked_and_resentenced"
    assert run.steps[4:] == steps_after_panel
    assert run.outcomes[-1] == ("referral_order_completed", False)
    assert ("education_training_employment_at_end", True) not in run.outcomes


def test_referral_order_that_runs_out_without_a_final_panel(
        world: tuple[Engine, FakeClock]) -> None:
    """Five reviews (the repeat's most) before the order's end date (here an order of 12
    months extended to 18), none of them the final panel."""
    clock = world[1]
    answers = referral_order(clock, progress_review=review_panel("continue", "satisfactory"))
    answers["initial_panel"] = {**answers["initial_panel"], "order_end_date": day(clock, 548)}
    run = start(world, "youth_justice_referral_order", answers).finish()
    assert run.exit_reason == "order_expired"
    assert run.steps.count("progress_review") == 5 and run.steps[-1] == "progress_review"
    assert run.outcomes == [("referral_order_contract_agreed", True),
                            ("referral_order_completed", False)]


# -- privacy: the sensitive services stay hidden ---------------------------------------------


def test_a_viewer_without_the_category_sees_nothing_of_the_sensitive_services(
        world: tuple[Engine, FakeClock]) -> None:
    """Talking Therapies reveals health, the referral order an offence: their cases and
    events are left out for a viewer who may not see that category, and Housing First's
    complex needs (health) are hidden while its case is shown."""
    engine, clock = world
    client = engine.add_client("Ray", {})
    cases = {}
    for pathway, step, answer in (
            ("housing_first", "referral", REFERRAL),
            ("talking_therapies", "referral_received",
             talking_therapies()["referral_received"]),
            ("youth_justice_referral_order", "order_received",
             referral_order(clock)["order_received"])):
        view = engine.start_case(pathway, client.id or 0)
        engine.complete_task(view.tasks[0].task.id, answer)
        assert view.tasks[0].task.step == step
        cases[pathway] = engine.get_case(view.case.id or 0).case
    sensitivity = Sensitivity.of((p, 1, engine.definition(p, 1)) for p in NEW_PATHWAYS)
    for visible, shown in ((frozenset(), {"housing_first"}),
                           (frozenset({"health"}), {"housing_first", "talking_therapies"}),
                           (frozenset({"offence"}),
                            {"housing_first", "youth_justice_referral_order"})):
        viewer = Redactor(sensitivity, visible)
        seen = {p for p, case in cases.items() if viewer.case(case) is not None}
        assert seen == shown, visible
        for pathway in set(NEW_PATHWAYS) - shown:
            assert viewer.events(cases[pathway], engine.events(cases[pathway].id or 0)) == []
    outsider = Redactor(sensitivity, frozenset())
    housing = outsider.case(cases["housing_first"])
    assert housing is not None and housing.data["complex_needs"] == HIDDEN
    # client fields only the sensitive pathways save are left out: their names would tell
    fields = engine.get_client(client.id or 0).fields
    assert {"order_date", "gp_practice"} <= set(fields)
    assert set(outsider.client(engine.get_client(client.id or 0)).fields) == set(fields) - {
        "order_date", "gp_practice"}


# -- coverage: every branch, every end, every repeat over several rounds ---------------------


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        for branch in step.get("branches") or []:
            yield from _steps(branch.get("steps") or [])
        yield from _steps(step.get("otherwise") or [])
        yield from _steps(step.get("steps") or [])


def _kind(step: dict[str, Any], kind: str) -> str | None:
    return step.get(kind) if isinstance(step.get(kind), str) else None


def _scenario_count(module: Any) -> int:
    """How many scenario tests the module has (each parametrization counted)."""
    count = 0
    for name, function in vars(module).items():
        if not name.startswith("test_") or name in NOT_SCENARIOS:
            continue
        marks = [m for m in getattr(function, "pytestmark", []) if m.name == "parametrize"]
        count += len(marks[0].args[1]) if marks else 1
    return count


NOT_SCENARIOS = {"test_a_viewer_without_the_category_sees_nothing_of_the_sensitive_services",
                 "test_the_scenarios_take_every_branch_reach_every_end_and_repeat_every_loop"}


@pytest.mark.parametrize("pathway", NEW_PATHWAYS)
def test_the_scenarios_take_every_branch_reach_every_end_and_repeat_every_loop(
        pathway: str, request: pytest.FixtureRequest) -> None:
    """Runs after the scenarios above (pytest keeps a file's order, and `--dist loadfile`
    keeps a file on one worker): checks what they did against the file. Skipped when only
    some of the scenarios were selected (-k, node ids): coverage needs them all."""
    module = request.node.module
    selected = [item for item in request.session.items
                if getattr(item, "module", None) is module
                and getattr(item, "originalname", item.name) not in NOT_SCENARIOS]
    if len(selected) < _scenario_count(module):
        pytest.skip("branch coverage needs every scenario of this module selected")
    path: Path = DEFINITIONS / f"{pathway}.yaml"
    document = yaml.safe_load(path.read_text("utf-8"))
    steps = list(_steps(document["steps"]))
    files, main = read_bundle(path, known_pathways=KNOWN)
    root = etree.fromstring(files[main].encode("utf-8"))
    decides = [s["decide"] for s in steps if _kind(s, "decide")]
    flows = {flow.get("id") for gateway in decides
             for flow in root.iterfind(f".//bpmn:sequenceFlow[@sourceRef='{gateway}']", BPMN)}
    assert len(flows) >= 2 * len(decides) > 0
    runs = [run for run in RUNS if run.pathway == pathway]
    taken = frozenset().union(*(run.flows for run in runs)) if runs else frozenset()
    assert sorted(flows - taken) == [], "branches no scenario takes"

    reasons = {s["reason"] for s in steps if _kind(s, "end")}
    assert sorted(reasons - {run.exit_reason for run in runs}) == [], "ends never reached"

    for repeat in (s for s in steps if _kind(s, "repeat")):
        tasks = [s["task"] for s in _steps(repeat["steps"]) if _kind(s, "task")]
        most = max((run.steps.count(tasks[0]) for run in runs), default=0)
        assert most >= 2, f"repeat {repeat['repeat']} never ran two rounds"
