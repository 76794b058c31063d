"""A Talking Therapies session through the caseworker's web form (the shipped pathway, on
SQLite and PostgreSQL): its title says which session it is, a session not attended is
refused without its reason and one attended without its scores and risk, each named at its
field, and the review shows the sessions attended, worked out, not typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.web.conftest import PASSWORD, Site
from tests.web.test_pages import World, build_world, field_block, token


def _at_the_first_session(world: World) -> tuple[int, str]:
    """A PWP of the service and a client of theirs, assessed for step 2, a week on."""
    application = world.application
    application.accounts.add_organisation("nhs_talking_therapies", "NHS Talking Therapies")
    world.users["tt_caseworker"] = application.accounts.add_user(
        "tt_caseworker", "A PWP", "nhs_talking_therapies", "caseworker", PASSWORD)
    client = application.casework.add_client(world.user("tt_caseworker"), "Kit Marsh", {})
    engine = application.engine
    case_id = engine.start_case("talking_therapies", client.id or 0).case.id or 0
    for answers in ({"referral_date": "2026-03-02", "referral_source": "gp",
                     "consent_to_contact_gp": True},
                    {"intake_phq9": 15, "intake_gad7": 11, "problem": "panic", "risk": "low",
                     "next_step": "step_2"}):
        engine.complete_task(engine.get_case(case_id).tasks[0].task.id, answers)
    engine.fire_due_timers(datetime.now(UTC) + timedelta(days=8))
    [session] = engine.get_case(case_id).tasks
    return case_id, session.task.id


def test_a_session_form_refuses_what_required_when_asks_for(site: Site) -> None:
    world = build_world(site)
    case_id, task = _at_the_first_session(world)
    browser = world.client("tt_caseworker")
    page = browser.get(f"/tasks/{task}")
    assert page.status_code == 200, page.text[:300]
    assert "Guided self-help session 1 (step 2)" in page.text
    assert "Required when: not attended" in field_block(page.text, "not_attended_reason")
    csrf = token(browser, f"/tasks/{task}")
    missed = {"attended": "false", "step_2_status": "finished", "csrf_token": csrf,
              "action": "complete"}
    page = browser.post(f"/tasks/{task}", data=missed)
    assert page.status_code == 422
    assert "this field is required when not attended" in field_block(
        page.text, "not_attended_reason")
    page = browser.post(f"/tasks/{task}", data={**missed, "attended": "true"})
    assert page.status_code == 422
    for field in ("phq9_score", "gad7_score", "step_2_risk"):
        assert "this field is required when attended" in field_block(page.text, field), field
    assert world.open_task(task) is not None  # nothing saved

    done = browser.post(f"/tasks/{task}", data={**missed, "not_attended_reason": "did_not_attend"})
    assert done.status_code == 302
    [review] = world.application.engine.get_case(case_id).tasks
    assert review.task.step == "step_2_review"
    block = field_block(browser.get(f"/tasks/{review.task.id}").text, "sessions_so_far")
    assert "Worked out for you" in block
    assert re.search(r'value="0"', block), block  # none attended
