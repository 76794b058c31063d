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
from typing import Any

from engine.access import HIDDEN
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
                      "complex_needs": ["substance_use"], "meets_criteria": True},
    "talking_therapies": {"referral_date": "2026-03-02", "referral_source": "self_referral",
                          "consent_to_contact_gp": True,
                          "gp_practice": "Bretton Health Centre"},
    "youth_justice_referral_order": {"order_date": "2026-03-02", "order_months": 6,
                                     "offence": "Theft from a shop",
                                     "parent_must_attend": True},
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
    assert "housing first v1" in page.text  # not sensitive as a whole
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
