"""What NHS Talking Therapies' newer steps write stays with those who may see health data
(the pathway is `sensitive: health` as a whole): the session titles numbered by round, the
set steps and the names they compute (paired scores, recovery), the risk handlers and their
events, the urgent alert. Through the web app on a real database (SQLite and PostgreSQL) for
a caseworker and a team lead of another organisation who may open the record under
programme consent, and on the engine for the notifications: the alert and the reminder
reach only the service's own staff and say nothing of the client's health.
tests/security/test_new_pathways_privacy.py covers the pathway's first steps.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.definition_files import publish_order, read_bundle
from engine import Engine
from engine.access.privacy import Redactor, Sensitivity
from engine.model import Organisation, User
from engine.ports import Notification
from tests.security.test_inference import _api
from tests.unit.dsl.test_shipped import DEFINITIONS, KNOWN
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.web.conftest import Site
from tests.web.test_pages import World, build_world

# what the new constructs put on a case, its events and its tasks: none may be seen
NEW_WORDS = ("Guided self-help session", "Therapy session", "(step 2)", "(step 3)",
             "Urgent risk", "risk response", "Risk review", "risk at a session",
             "paired_scores", "paired scores", "step_2_course", "step_3_course",
             "No sessions yet", "step_2_treatment", "step_3_treatment", "step_up",
             "Step up", "low_intensity_sessions", "high_intensity_sessions", "first_phq9",
             "last_gad7", "caseness", "reliable", "sessions_so_far", "sessions_in_all",
             "step_2_risk", "urgent_action", "safety_plan", "not_attended_reason",
             "step_2_risk_alert", "talking_therapies", "Talking Therapies", "phq9", "gad7")


class _Therapy:
    """Moves a case on by its step names; time passes a week and a day at a time."""

    def __init__(self, engine: Engine, client_id: int, now: datetime) -> None:
        self.engine, self.now = engine, now
        self.case_id = engine.start_case("talking_therapies", client_id).case.id or 0

    def do(self, step: str, answers: dict[str, Any]) -> None:
        [view] = [v for v in self.engine.get_case(self.case_id).tasks if v.task.step == step]
        self.engine.complete_task(view.task.id, answers)

    def week(self) -> None:
        self.now += timedelta(days=8)
        self.engine.fire_due_timers(self.now)


def _session(prefix: str, risk: str, status: str = "continuing") -> dict[str, Any]:
    return {"attended": True, "phq9_score": 16, "gad7_score": 12, f"{prefix}_risk": risk,
            f"{prefix}_status": status}


def _through_every_new_step(engine: Engine, client_id: int, now: datetime) -> list[int]:
    """One referral through risk at two sessions, the urgent response, a step up and a
    discharge (every new kind of step done); another waiting at its first numbered session."""
    done = _Therapy(engine, client_id, now)
    done.do("referral_received", {"referral_date": now.date().isoformat(),
                                  "referral_source": "gp", "consent_to_contact_gp": True})
    done.do("assessment", {"intake_phq9": 16, "intake_gad7": 12, "problem": "panic",
                           "risk": "low", "next_step": "step_2"})
    done.week()
    done.do("low_intensity_session", {"attended": False, "not_attended_reason": "did_not_attend",
                                      "step_2_status": "continuing"})
    done.week()
    done.do("low_intensity_session", _session("step_2", "moderate"))
    done.do("step_2_risk_review", {"safety_plan_updated": True})
    done.week()
    done.do("low_intensity_session", _session("step_2", "high"))
    done.do("step_2_urgent_risk", {"urgent_action": "crisis_team"})
    done.do("step_2_review", {"next_step": "step_3"})
    done.week()
    done.do("high_intensity_session", _session("step_3", "none", "finished"))
    done.do("step_3_discharge", {"discharge_letter_sent": True})
    case = engine.get_case(done.case_id).case
    assert case.status == "completed", case.error
    assert case.data["reliable_recovery"] is False and case.data["sessions_attended"] == 3

    waiting = _Therapy(engine, client_id, done.now)
    waiting.do("referral_received", {"referral_date": now.date().isoformat(),
                                     "referral_source": "self_referral",
                                     "consent_to_contact_gp": False})
    waiting.do("assessment", {"intake_phq9": 12, "intake_gad7": 9, "problem": "ocd",
                              "risk": "low", "next_step": "step_3"})
    waiting.week()
    [session] = engine.get_case(waiting.case_id).tasks
    assert session.task.title == "Therapy session 1 (step 3)"
    return [done.case_id, waiting.case_id]


def _shown(text: str) -> list[str]:
    return [word for word in NEW_WORDS if word.lower() in text.lower()]


def test_another_organisation_sees_nothing_the_new_steps_wrote(site: Site) -> None:
    world: World = build_world(site)
    application = world.application
    aaron = world.clients["aaron"]
    application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                        "programme", "One Service")
    _through_every_new_step(application.engine, aaron, datetime.now(UTC))
    api = _api(world)
    for username in ("om_caseworker", "om_team_lead"):
        browser = world.client(username)
        for url in (f"/clients/{aaron}", "/inbox"):
            page = browser.get(url)
            assert page.status_code == 200, (username, url, page.text[:300])
            assert _shown(page.text) == [], (username, url)
        record = api(username, f"/clients/{aaron}")
        assert record.status_code == 200, record.text
        assert _shown(record.text) == [], username
    # aggregates too, with every count shown: the commissioners' dashboards and their
    # figures for every step (the chooser lists every published service, and the page
    # repeats the pathway asked for: no one's data)
    application.settings = replace(application.settings, disclosure_threshold=1)
    for username in ("sg_commissioner", "om_commissioner"):
        browser = world.client(username)
        for url in ("/dashboard", "/dashboard?pathway=talking_therapies",
                    "/dashboard/versions.csv?pathway=talking_therapies",
                    "/dashboard/activity.csv?pathway=talking_therapies"):
            page = browser.get(url)
            assert page.status_code == 200, (username, url, page.text[:300])
            shown = re.sub(r'<select name="pathway">.*?</select>', "", page.text, flags=re.S)
            shown = re.sub(r'(pathway=|value=")talking_therapies', "", shown)
            assert _shown(shown) == [], (username, url)
    # the client's own organisation sees it all: the words above are really on the record
    own = json.dumps(api("sg_caseworker", f"/clients/{aaron}").json)
    assert {"first_phq9", "reliable", "talking_therapies"} <= set(_shown(own))


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)


def test_the_alert_and_the_reminder_reach_only_the_service_and_say_nothing_of_health() -> None:
    clock = FakeClock()
    factory, recorder = FakeUnitOfWorkFactory(), _Recorder()
    with factory() as uow:
        for org in ("nhs_talking_therapies", "st_giles_trust"):
            uow.organisations.put(Organisation(org, org.replace("_", " ").title()))
        for name, org, role in (("pat", "nhs_talking_therapies", "caseworker"),
                                ("lin", "nhs_talking_therapies", "team_lead"),
                                ("gil", "st_giles_trust", "team_lead"),
                                ("sue", "st_giles_trust", "caseworker")):
            uow.users.add(User(id=None, username=name, name=name.title(), organisation=org,
                               role=role))
        uow.commit()
    engine = Engine(uow=factory, clock=clock, notifier=recorder)
    for path, note in publish_order(DEFINITIONS):
        engine.publish(*read_bundle(path, known_pathways=KNOWN), note=note)
    client = engine.add_client("Robin Hood", {})
    cases = _through_every_new_step(engine, client.id or 0, clock.now())
    unassessed = _Therapy(engine, client.id or 0, clock.now())
    unassessed.do("referral_received", {"referral_date": clock.now().date().isoformat(),
                                        "referral_source": "gp", "consent_to_contact_gp": True})
    clock.advance(days=36)  # a week before the assessment is due (six weeks)
    engine.fire_due_timers(clock.now())
    [reminder] = [n for n in recorder.sent if n.step == "assessment_reminder"]
    assert reminder.subject == "Reminder: a task"  # not "Assessment (PHQ-9 and GAD-7)"
    assert reminder.message == (f"Reminder: a task (case {unassessed.case_id}) is due on "
                                f"{(clock.now() + timedelta(days=6)).date().isoformat()}.")

    alerts = [n for n in recorder.sent if n.step == "step_2_risk_alert"]
    assert [(n.recipients, n.message) for n in alerts] == [
        (("lin",), f"Urgent: a risk response is needed on case {cases[0]}.")]
    for notification in recorder.sent:
        assert set(notification.recipients) <= {"pat", "lin"}, notification
        text = f"{notification.subject} {notification.message}"
        assert "Robin" not in text and "PHQ" not in text and "Assessment" not in text, text

    sensitivity = Sensitivity.of([("talking_therapies", 1,
                                   engine.definition("talking_therapies", 1))])
    outsider = Redactor(sensitivity, frozenset())
    for case_id in [*cases, unassessed.case_id]:
        case = engine.get_case(case_id).case
        assert outsider.case(case) is None
        assert outsider.events(case, engine.events(case_id)) == []
    seen = Redactor(sensitivity, frozenset({"health"}))
    done = engine.get_case(cases[0]).case
    kinds = {e.type for e in seen.events(done, engine.events(cases[0]))}
    assert {"notification_requested", "decision", "outcome_recorded"} <= kinds
