"""The shipped services added in issue 15 keep what they reveal hidden, through the web app on
a real database (SQLite and PostgreSQL): a client in NHS Talking Therapies (health) and on a
youth justice referral order (offence) shows neither to a caseworker of another
organisation who may open the record under programme consent; a health consent shows the
therapy and still not the order. Housing First is not sensitive as a whole: its case shows,
its complex needs (health) do not. tests/e2e/test_new_pathways.py checks the same on the
engine's Redactor, and runs the pathways themselves.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from engine.access import HIDDEN
from engine.model import Message
from tests.security.test_inference import _api
from tests.web.conftest import Site
from tests.web.test_pages import World, build_world

THERAPY = ("talking_therapies", "NHS Talking Therapies", "Referral received",
           "intake_phq9", "Assessment (PHQ-9 and GAD-7)", "self_referral", "gp_practice",
           "Bretton Health Centre")
ORDER = ("youth_justice_referral_order", "Youth justice referral order", "Theft from a shop",
         "Referral order made", "order_date", "AssetPlus")
FIRST_ANSWERS = {
    "housing_first": {"referral_source": "probation", "history_of_rough_sleeping": True,
                      "complex_needs": ["substance_use"], "meets_criteria": True,
                      "keyworker": "sg_caseworker"},
    "talking_therapies": {"referral_date": "2026-03-02", "referral_source": "self_referral",
                          "consent_to_contact_gp": True,
                          "gp_practice": "Bretton Health Centre"},
    "youth_justice_referral_order": {"order_date": "2026-03-02", "order_months": 6,
                                     "offence": "Theft from a shop",
                                     "parent_must_attend": True, "case_manager": "yot_cm"},
}


def _client_on_the_three_services(world: World) -> int:
    """Aaron (St Giles' client, programme consent) on each service, past its first task."""
    application = world.application
    aaron = world.clients["aaron"]
    application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                        "programme", "One Service")
    engine = application.engine
    for pathway, answers in FIRST_ANSWERS.items():
        view = engine.start_case(pathway, aaron)
        engine.complete_task(view.tasks[0].task.id, answers)
    return aaron


def _shown(text: str, words: tuple[str, ...]) -> list[str]:
    return [word for word in words if word.lower() in text.lower()]


def test_another_organisation_sees_neither_the_therapy_nor_the_order(site: Site) -> None:
    world = build_world(site)
    aaron = _client_on_the_three_services(world)
    outsider = world.client("om_caseworker")
    page = outsider.get(f"/clients/{aaron}")
    assert page.status_code == 200, page.text
    assert _shown(page.text, THERAPY + ORDER) == []
    assert "Housing First v1" in page.text  # not sensitive as a whole
    record = _api(world)("om_caseworker", f"/clients/{aaron}")
    assert record.status_code == 200, record.text
    assert _shown(record.text, THERAPY + ORDER) == []
    document: Any = record.json
    assert sorted(c["pathway"] for c in document["cases"]) == ["gate_reception",
                                                                 "housing_first"]
    [housing] = [c for c in document["cases"] if c["pathway"] == "housing_first"]
    assert housing["data"]["complex_needs"] == HIDDEN


def test_a_health_consent_shows_the_therapy_but_not_the_order(site: Site) -> None:
    world = build_world(site)
    aaron = _client_on_the_three_services(world)
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "health", "Talking Therapies and Housing First")
    record = _api(world)("om_caseworker", f"/clients/{aaron}")
    assert record.status_code == 200, record.text
    text = json.dumps(record.json)
    assert "talking_therapies" in text
    assert _shown(text, ORDER) == []
    document: Any = record.json
    [housing] = [c for c in document["cases"] if c["pathway"] == "housing_first"]
    assert housing["data"]["complex_needs"] == ["substance_use"]


# what the referral order's newer steps add: the escalation's task and its role, the
# breach message and its handler, the panel meeting, the supervision block and its go_to,
# the end date its at: handler reads, and the notifications' wording
ORDER_STEPS = ("Overdue: Initial youth offender panel", "YOT operational manager",
               "yot_manager", "breach", "Contract not kept", "Panel meeting",
               "Supervision of the contract", "Progress review", "resume_supervision",
               "order_end_date", "tell_yot_manager", "needs a meeting", "Court hearing")


def test_the_orders_escalation_breach_and_supervision_show_nothing_to_another_organisation(
        site: Site) -> None:
    """Aaron's order chased (its panel overdue: reminder, escalation and an open "Overdue"
    task for the YOT manager), then a breach reported and dealt with by the panel, back to
    the supervision: another organisation's caseworker and team lead, who may not see
    offences, see none of it on the record, the API or their inbox, and the notifications
    (which leave Pathways) say nothing of the order."""
    world = build_world(site)
    aaron = _client_on_the_three_services(world)
    engine = world.application.engine
    [order] = engine.list_cases(pathway="youth_justice_referral_order")
    case_id = order.id or 0

    def do(step: str, answers: dict[str, Any]) -> None:
        [view] = [v for v in engine.get_case(case_id).tasks if v.task.step == step]
        engine.complete_task(view.task.id, answers)

    do("assessment", {"likelihood_of_reoffending": "high", "risk_of_serious_harm": "low",
                      "in_education_training_employment": False})
    do("victim_contact", {"victim_participation": "declined"})
    engine.fire_due_timers(datetime.now(UTC))  # due 30 March 2026: chased (at once if past)
    assert {e.step for e in engine.events(case_id) if e.type == "notification_requested"} == {
        "initial_panel_reminder", "initial_panel_escalation"}
    assert "initial_panel_overdue" in {v.task.step for v in engine.get_case(case_id).tasks}
    do("initial_panel", {"child_attended": True, "contract_agreed": True,
                         "order_end_date": "2099-01-01"})
    with engine._uow() as unit:
        unit.messages.add(Message(id=None, name="breach_reported", client_id=aaron,
                                  payload={"reported_by": "police"}, sender_case_id=None,
                                  created_at=datetime.now(UTC)))
        unit.commit()
    assert engine.deliver_messages() == 1
    do("breach_panel", {"breach_panel_decision": "contract_varied"})
    events = engine.events(case_id)
    assert {"notification_requested", "message_received"} <= {e.type for e in events}
    for notice in (e for e in events if e.type == "notification_requested"):
        assert _shown(notice.data["message"], (
            *ORDER, "offence", "panel", "court", "order", "breach", "contract", "youth")) == []

    for username in ("om_caseworker", "om_team_lead"):
        outsider = world.client(username)
        for path in (f"/clients/{aaron}", "/inbox"):
            page = outsider.get(path)
            assert page.status_code == 200, page.text
            assert _shown(page.text, ORDER + ORDER_STEPS) == [], (username, path)
        record = _api(world)(username, f"/clients/{aaron}")
        assert record.status_code == 200, record.text
        assert _shown(record.text, ORDER + ORDER_STEPS) == [], username
    insider = _api(world)("sg_caseworker", f"/clients/{aaron}")  # Aaron's own organisation
    assert "Supervision of the contract" not in insider.text  # a diagram name, not data
    assert "youth_justice_referral_order" in insider.text
