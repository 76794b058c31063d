"""NHS Talking Therapies (definitions/talking_therapies.yaml) run end to end on the real
engine (SpiffWorkflow, in-memory store) on a fixed clock: the assessment due six weeks after
the referral with its reminder, weekly sessions numbered in their titles, the scores of each
round, the national measures the pathway works out from the rounds checked against an
auditor's own recomputation from the answers given, a session not attended refused without
its reason, risk at a session (supervision beside the sessions, or an urgent response
instead of them), and stepping up from step 2 to step 3.

tests/e2e/test_new_pathways.py runs the same file through every branch and end;
tests/security/test_talking_therapies_privacy.py keeps what these cases write from a viewer
without health access.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import Engine, FormValidationError
from tests.unit.dsl.test_shipped import engine_with_everything
from tests.unit.engine.fakes import FakeClock

REFERRAL_DATE = "2026-01-05"  # the fixed clock starts on this Monday, 09:00 UTC
STEP_2 = ("low_intensity_session", "step_2")
STEP_3 = ("high_intensity_session", "step_3")

# a session: (PHQ-9, GAD-7), or None for one not attended
Session = tuple[int, int] | None


@dataclass
class Therapy:
    """One client's referral, moved on by hand: time passes only when a test says so."""

    engine: Engine
    clock: FakeClock
    case_id: int

    def open(self) -> dict[str, Any]:
        return {view.task.step: view.task for view in self.engine.get_case(self.case_id).tasks}

    def do(self, step: str, answers: dict[str, Any]) -> None:
        self.engine.complete_task(self.open()[step].id, answers)

    def next_week(self) -> None:
        """A week passes: the timers due by then fire."""
        self.clock.advance(days=7)
        self.engine.fire_due_timers(self.clock.now())

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.engine.get_case(self.case_id).case.data)

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.engine.events(self.case_id) if e.type == kind]

    def outcomes(self) -> dict[str, Any]:
        return {e.data["outcome"]: e.data["value"] for e in self.events("outcome_recorded")}


@pytest.fixture
def world() -> tuple[Engine, FakeClock]:
    engine, clock = engine_with_everything()
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    return engine, clock


def referred(world: tuple[Engine, FakeClock]) -> Therapy:
    engine, clock = world
    client = engine.add_client("Sam", {})
    therapy = Therapy(engine, clock,
                      engine.start_case("talking_therapies", client.id or 0).case.id or 0)
    therapy.do("referral_received", {"referral_date": REFERRAL_DATE, "referral_source": "gp",
                                     "gp_practice": "Bretton", "consent_to_contact_gp": True})
    return therapy


def assessed(therapy: Therapy, next_step: str = "step_2") -> None:
    therapy.do("assessment", {"intake_phq9": 18, "intake_gad7": 14, "problem": "depression",
                              "risk": "low", "next_step": next_step})


def answer(step: tuple[str, str], session: Session, status: str,
           risk: str = "none") -> dict[str, Any]:
    prefix = step[1]
    if session is None:
        return {"attended": False, "not_attended_reason": "cancelled_by_client",
                f"{prefix}_status": status}
    return {"attended": True, "phq9_score": session[0], "gad7_score": session[1],
            f"{prefix}_risk": risk, f"{prefix}_status": status}


def attend(therapy: Therapy, step: tuple[str, str], sessions: Sequence[Session],
           last_status: str = "finished") -> list[str]:
    """A week, then a session, for each of `sessions`; the titles the sessions had."""
    titles = []
    for number, session in enumerate(sessions, start=1):
        therapy.next_week()
        task = therapy.open()[step[0]]
        titles.append(task.title)
        assert task.due == therapy.clock.now() + timedelta(days=1)  # due the day after
        status = last_status if number == len(sessions) else "continuing"
        therapy.do(step[0], answer(step, session, status))
    return titles


# -- the auditor: the national definitions, recomputed from the answers given -----------------


def audit(sessions: Sequence[Session]) -> dict[str, Any]:
    """NHS Talking Therapies' measures from a referral's sessions, computed here without the
    pathway: paired scores are the first and last sessions with scores; finished treatment
    is two or more sessions attended; caseness is PHQ-9 >= 10 or GAD-7 >= 8; reliable change
    is 6 on PHQ-9, 4 on GAD-7."""
    scored = [s for s in sessions if s is not None]
    found: dict[str, Any] = {"sessions_attended": len(scored)}
    if scored:
        (p1, g1), (p2, g2) = scored[0], scored[-1]
        found.update(first_phq9=p1, first_gad7=g1, last_phq9=p2, last_gad7=g2)
    finished = len(scored) >= 2
    outcomes: dict[str, Any] = {"talking_therapies_assessed": True,
                                "talking_therapies_finished_treatment": finished}
    if finished:
        start_case, end_case = (p1 >= 10 or g1 >= 8), (p2 >= 10 or g2 >= 8)
        improved = (p1 - p2 >= 6 or g1 - g2 >= 4) and not (p2 - p1 >= 6 or g2 - g1 >= 4)
        outcomes["talking_therapies_reliable_improvement"] = improved
        if start_case:
            outcomes["talking_therapies_recovered"] = not end_case
            outcomes["talking_therapies_reliable_recovery"] = (not end_case) and improved
        found.update(caseness_at_start=start_case, recovered=start_case and not end_case,
                     reliable_improvement=improved,
                     reliable_recovery=start_case and not end_case and improved)
    found["outcomes"] = outcomes
    return found


def check_against_audit(therapy: Therapy, sessions: Sequence[Session]) -> None:
    expected = audit(sessions)
    data = therapy.data
    for name, value in expected.items():
        if name != "outcomes":
            assert data[name] == value, name
    assert therapy.outcomes() == expected["outcomes"]
    assert therapy.engine.get_case(therapy.case_id).case.exit_reason == (
        "completed" if expected["sessions_attended"] >= 2 else "ended_before_treatment")


# -- the scenarios ----------------------------------------------------------------------------


def test_a_step_2_course_on_a_fixed_clock(world: tuple[Engine, FakeClock]) -> None:
    """Assessment due six weeks after the referral date, reminded a week before; weekly
    sessions titled with their number, the first one missed; the paired scores are the
    second session's and the last one's, and the measures follow from them."""
    therapy = referred(world)
    assessment = therapy.open()["assessment"]
    assert assessment.due == datetime(2026, 2, 16, tzinfo=UTC)  # 2026-01-05 + P6W
    [remind] = [e for e in therapy.events("timer_scheduled") if e.step == "assessment_remind"]
    assert remind.data["due"] == "2026-02-09T00:00:00+00:00"  # P7D before due
    therapy.clock.current = datetime(2026, 2, 9, 0, 1, tzinfo=UTC)
    therapy.engine.fire_due_timers(therapy.clock.now())
    [reminder] = therapy.events("notification_requested")
    assert (reminder.step, reminder.data["to"]) == ("assessment_reminder", "assignee")
    assert "assessment" in therapy.open()  # the reminder leaves the task open
    assessed(therapy)

    sessions: list[Session] = [None, (17, 13), (14, 11), (11, 8), (9, 6)]
    titles = attend(therapy, STEP_2, sessions)
    assert titles == [f"Guided self-help session {n} (step 2)" for n in range(1, 6)]
    rounds = therapy.data["low_intensity_sessions"]["rounds"]
    assert [(r.get("phq9_score"), r.get("gad7_score")) for r in rounds] == [
        (None, None), (17, 13), (14, 11), (11, 8), (9, 6)]
    assert rounds[0]["not_attended_reason"] == "cancelled_by_client"

    review = therapy.open()["step_2_review"]
    with pytest.raises(FormValidationError) as caught:  # a total is worked out, not typed
        therapy.engine.complete_task(review.id, {"next_step": "discharge", "sessions_so_far": 9})
    assert caught.value.fields == {"sessions_so_far": [
        "this field is computed, not entered: leave it out of the submission"]}
    therapy.do("step_2_review", {"next_step": "discharge"})
    assert therapy.data["sessions_so_far"] == 4
    # first 17/13 (at caseness), last 9/6 (not): recovered; PHQ-9 fell by 8: reliably
    check_against_audit(therapy, sessions)
    assert therapy.outcomes()["talking_therapies_reliable_recovery"] is True


@pytest.mark.parametrize("sessions", [
    [(12, 9), (19, 15), (19, 15)],          # reliable deterioration: not improved
    [(13, 6), None, (6, 6)],                # recovered on PHQ-9, a session missed between
    [(8, 6), (2, 3)],                       # not at caseness at the start
    [(20, 9), (12, 14)],                    # PHQ-9 better, GAD-7 reliably worse
    [(10, 3), (9, 3), (4, 3)],              # PHQ-9 exactly 10 then 4: both thresholds met
    [(15, 12)],                             # one session: not a finished course
    [None, None],                           # none attended
], ids=["deteriorated", "recovered", "below caseness", "mixed", "at the thresholds",
        "one session", "never attended"])
def test_step_3_measures_match_the_auditors_recomputation(
        world: tuple[Engine, FakeClock], sessions: list[Session]) -> None:
    therapy = referred(world)
    assessed(therapy, "step_3")
    attend(therapy, STEP_3, sessions)
    therapy.do("step_3_discharge", {"discharge_letter_sent": True})
    assert therapy.data["sessions_in_all"] == audit(sessions)["sessions_attended"]
    check_against_audit(therapy, sessions)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_step_2_courses_match_the_auditors_recomputation(
        world: tuple[Engine, FakeClock], seed: int) -> None:
    draw = random.Random(seed)
    sessions: list[Session] = [
        None if draw.random() < 0.25 else (draw.randint(0, 27), draw.randint(0, 21))
        for _ in range(draw.randint(2, 8))]
    therapy = referred(world)
    assessed(therapy)
    attend(therapy, STEP_2, sessions)
    therapy.do("step_2_review", {"next_step": "discharge"})
    check_against_audit(therapy, sessions)


def test_a_session_not_attended_needs_its_reason_and_one_attended_its_scores(
        world: tuple[Engine, FakeClock]) -> None:
    """required_when, refused through the form's validation (every route that completes a
    task: the web form, the API, imports); nothing is saved."""
    therapy = referred(world)
    assessed(therapy)
    therapy.next_week()
    session = therapy.open()["low_intensity_session"]
    with pytest.raises(FormValidationError) as caught:
        therapy.engine.complete_task(session.id, {"attended": False,
                                                  "step_2_status": "continuing"})
    assert caught.value.fields == {"not_attended_reason": [
        "this field is required when not attended"]}
    with pytest.raises(FormValidationError) as caught:
        therapy.engine.complete_task(session.id, {"attended": True,
                                                  "step_2_status": "continuing"})
    assert sorted(caught.value.fields) == ["gad7_score", "phq9_score", "step_2_risk"]
    assert caught.value.fields["phq9_score"] == ["this field is required when attended"]
    assert "low_intensity_session" in therapy.open()  # still open: nothing was saved
    assert therapy.events("task_completed")[-1].step == "assessment"
    therapy.do("low_intensity_session", answer(STEP_2, None, "continuing"))
    assert therapy.open() == {}  # done: the next session is a week away


def test_moderate_risk_adds_a_supervision_review_beside_the_sessions(
        world: tuple[Engine, FakeClock]) -> None:
    """Non-interrupting: the review is due the next working day and the sessions go on."""
    therapy = referred(world)
    assessed(therapy)
    therapy.clock.current = datetime(2026, 1, 9, 9, 0, tzinfo=UTC)  # a Friday
    therapy.next_week()  # Friday 16 January: the first session
    therapy.do("low_intensity_session", answer(STEP_2, (16, 12), "continuing", risk="moderate"))
    review = therapy.open()["step_2_risk_review"]
    assert review.due == datetime(2026, 1, 19, tzinfo=UTC)  # Monday: one working day on
    therapy.do("step_2_risk_review", {"safety_plan_updated": True})
    therapy.next_week()
    assert sorted(therapy.open()) == ["low_intensity_session"]  # the sessions carry on
    therapy.do("low_intensity_session", answer(STEP_2, (12, 9), "finished", risk="moderate"))
    assert "step_2_risk_review" not in therapy.open()  # once per run of the block
    therapy.do("step_2_review", {"next_step": "discharge"})
    check_against_audit(therapy, [(16, 12), (12, 9)])


def test_high_risk_stops_the_sessions_for_an_urgent_response_and_keeps_their_scores(
        world: tuple[Engine, FakeClock]) -> None:
    """Interrupting: the team leads are told (in words that say nothing of the client),
    the PWP has four hours to respond, no further session opens, and the measures still
    read the sessions attended before the risk."""
    therapy = referred(world)
    assessed(therapy)
    sessions: list[Session] = [(19, 15), (15, 12)]
    attend(therapy, STEP_2, sessions[:1], last_status="continuing")
    therapy.next_week()
    therapy.do("low_intensity_session", answer(STEP_2, sessions[1], "continuing", risk="high"))
    urgent = therapy.open()
    assert sorted(urgent) == ["step_2_urgent_risk"]
    assert urgent["step_2_urgent_risk"].due == therapy.clock.now() + timedelta(hours=4)
    [alert] = therapy.events("notification_requested")
    assert (alert.step, alert.data["to"]) == ("step_2_risk_alert", "team_lead")
    assert alert.data["message"] == "Urgent: a risk response is needed on case {case}."
    therapy.do("step_2_urgent_risk", {"urgent_action": "crisis_team"})
    therapy.next_week()
    assert sorted(therapy.open()) == ["step_2_review"]  # no more sessions
    therapy.do("step_2_review", {"next_step": "discharge"})
    assert therapy.data["sessions_so_far"] == 2
    check_against_audit(therapy, sessions)


def test_step_up_from_step_2_to_step_3_goes_back_once_and_counts_both_steps(
        world: tuple[Engine, FakeClock]) -> None:
    """Step 2 does not help enough: the PWP steps up, the case goes back to "Which step of
    care?" (a bounded go_to) and takes step 3; the paired scores span both steps."""
    therapy = referred(world)
    assessed(therapy)
    step_2: list[Session] = [(18, 14), (17, 14), None]
    attend(therapy, STEP_2, step_2, last_status="not_improving")
    therapy.do("step_2_review", {"next_step": "step_3"})
    assert therapy.data["pathways_go_to_step_up"] == 1
    step_3: list[Session] = [(15, 11), (11, 9), (8, 6)]
    titles = attend(therapy, STEP_3, step_3)
    assert titles == [f"Therapy session {n} (step 3)" for n in range(1, 4)]
    therapy.do("step_3_discharge", {"discharge_letter_sent": True})
    assert therapy.data["sessions_in_all"] == 5
    decisions = [(e.step, e.data["branches"]) for e in therapy.events("decision")
                 if e.step == "gw_step_of_care"]
    assert decisions == [("gw_step_of_care", ["step 2 (low intensity)"]),
                         ("gw_step_of_care", ["otherwise"])]
    check_against_audit(therapy, step_2 + step_3)  # first 18/14, last 8/6
