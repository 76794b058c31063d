"""A caseworker opens a case from the client's record and reads it (issue 18, item 1): the
needs assessment's answers in words, what the case waits for, and its diagram drawn by bpmn-js
with the steps done and the step it waits at marked - at desktop width and on a 375 px
phone, where nothing spills sideways. Screenshots of both land in
test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Page, expect

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap, assert_no_sideways

PASSWORD = "correct horse battery"
ASSESSMENT = {"needs_accommodation": True, "needs_benefits": False,
              "needs_substance_misuse": False, "needs_family": False,
              "needs_employment": True, "risk_level": "high",
              "notes": "Seen at HMP Peterborough. Wants to go back to his sister's in Orton."}


def test_a_caseworker_reads_a_case_with_its_answers_and_where_it_stands(
        live_app: LiveApp, page: Page, snap: Snap, console_messages: list[str]) -> None:
    application = live_app.application
    application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    cass = application.accounts.add_user("cass", "Cass Worker", "st_giles_trust",
                                         "caseworker", PASSWORD)
    application.engine.publish(*read_bundle(PROJECT_ROOT / "definitions" /
                                            "gate_reception.yaml"), note="shipped",
                               author="tests")
    release = (date.today() + timedelta(days=20)).isoformat()
    client = application.casework.add_client(cass, "Aaron Smith", {"release_date": release})
    assert client.id is not None
    started = application.casework.start_case(cass, "gate_reception", client.id)
    assert started.next_task is not None
    application.casework.complete(cass, started.next_task.id, ASSESSMENT)

    page.goto("/login")
    page.get_by_label("Username").fill("cass")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/clients/{client.id}")
    expect(page.locator("ol.timeline")).to_contain_text("Accommodation")  # answers, here too
    page.get_by_role("link", name=f"Case {started.case.id}: steps, answers and diagram").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Gate reception")
    step = page.locator("li.step-done").filter(has_text="Needs assessment")
    expect(step).to_contain_text("Accommodation")
    expect(step.locator("dd").first).to_have_text("Yes")
    expect(step).to_contain_text("Wants to go back to his sister's in Orton.")
    expect(page.locator("table.waiting")).to_contain_text("Meet client at the prison gate")
    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    expect(diagram.locator(".pw-done")).to_have_count(1)
    expect(diagram.locator(".pw-current")).to_have_count(1)
    expect(diagram.locator('.pw-current[data-element-id="gate_meeting"]')).to_have_count(1)
    snap(page, "case-page-desktop")

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(diagram).to_have_attribute("data-rendered", "true")
    expect(step).to_be_visible()
    assert_no_sideways(page, "the case page scrolls sideways at 375 px")
    snap(page, "case-page-375px")
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages
