"""A caseworker's day on a 375 px phone, end to end on the demo programme (issue 18's "done
when"): the inbox as cards, claim a needs assessment, read its case page, note a phone call on
the case, complete the form with a mistake and correct it without losing what was typed, and
close a case with a reason. No page scrolls sideways, and every stage leaves a screenshot in
test-artifacts/screenshots/ (test_caseworker_day_on_a_phone.<test>.<n>-<stage>.png)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import LiveApp, Snap, assert_no_sideways
from tests.browser.test_caseworker_journey import (
    NEEDS_ASSESSMENT,
    demo,  # noqa: F401 (the fixture)
    question,
    sign_in,
)

PHONE = {"width": 375, "height": 812}
CALL = "Rang him about Monday's housing appointment; his sister will drive him."
NOTES = "Met at the gate. Staying at his sister's in Orton for now."


def _fits(page: Page, stage: str) -> None:
    assert_no_sideways(page, f"{stage}: the page scrolls sideways at 375 px")


@pytest.mark.usefixtures("demo")
def test_a_caseworker_runs_a_day_on_a_phone_without_losing_anything(
        live_app: LiveApp, page: Page, snap: Snap) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, "caseworker")

    # -- the inbox, as cards: claim a needs assessment nobody has -------------------------
    page.goto("/inbox?scope=unassigned")
    card = page.locator("table.inbox tbody tr").filter(
        has=page.get_by_role("link", name=re.compile(rf"^(Open )?{NEEDS_ASSESSMENT}"))).first
    expect(card).to_be_visible()
    _fits(page, "inbox")
    snap(page, "1-inbox")
    card.get_by_role("button", name=re.compile(r"^Claim ")).click()
    expect(page.get_by_role("status").filter(has_text="The task is yours.")).to_be_visible()
    _fits(page, "inbox after claiming")
    snap(page, "2-claimed")

    # -- the task, then its case page ------------------------------------------------------
    page.goto("/inbox?scope=mine")
    mine = page.locator("table.inbox tbody tr").filter(has_text=NEEDS_ASSESSMENT).first
    mine.get_by_role("link", name=re.compile(rf"^(Open )?{NEEDS_ASSESSMENT}")).first.click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    task_url = page.url
    expect(page.get_by_text("Assigned to Casey Walker.")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"· case \d+$")).click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    case_url = page.url
    expect(page.locator("#case-status")).to_have_text("active")
    _fits(page, "case page")
    snap(page, "3-case-page")

    # -- note a call on the case -------------------------------------------------------------
    note = page.locator("#record-note")
    note.get_by_label("Type").select_option("phone_call")
    note.get_by_label("Minutes").fill("10")
    note.get_by_label("What happened").fill(CALL)
    note.get_by_role("button", name="Record note").click()
    expect(page.locator(".flash")).to_contain_text("Note recorded.")
    expect(page.locator("li.note").first).to_contain_text(CALL)
    _fits(page, "case page with the note")
    snap(page, "4-call-noted")

    # -- the form with a mistake: told where, everything typed kept; then corrected --------
    page.goto(task_url)
    question(page, "Accommodation").get_by_label("Yes").check()
    question(page, "Benefits and money").get_by_label("No").check()
    question(page, "Substance misuse").get_by_label("No").check()
    question(page, "Employment and training").get_by_label("Yes").check()
    question(page, "Risk level").get_by_label("low").check()
    page.get_by_label("Notes").fill(NOTES)  # "Family" left unanswered
    page.get_by_role("button", name="Complete").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check the fields marked below.")
    expect(summary).to_be_focused()  # a screen reader and a phone user land on what is wrong
    expect(page.get_by_label("Notes")).to_have_value(NOTES)
    expect(question(page, "Accommodation").get_by_label("Yes")).to_be_checked()
    expect(question(page, "Risk level").get_by_label("low")).to_be_checked()
    _fits(page, "the refused form")
    snap(page, "5-form-mistake")
    question(page, "Family").get_by_label("No").check()
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"^Done\. "))).to_be_visible()
    _fits(page, "after completing")
    snap(page, "6-completed")

    # -- the case page shows the answers; then the case is closed with a reason -------------
    page.goto(case_url)
    expect(page.get_by_text(NOTES).first).to_be_visible()
    closing = page.locator("#close-case")
    closing.get_by_label("Reason for closing").fill("")
    closing.get_by_role("button", name="Close case").click()
    expect(page.locator("#close-reason-error")).to_have_text("say why the case is closed")
    page.locator("#close-reason").fill("Moved out of the area to live with family")
    page.locator("#close-case").get_by_role("button", name="Close case").click()
    expect(page.locator("#case-status")).to_have_text("cancelled")
    expect(page.locator("li.note").first).to_contain_text(CALL)  # the note outlives the case
    _fits(page, "closed case")
    snap(page, "7-case-closed")

    case_id = int(case_url.rsplit("/", 1)[1])
    engine = live_app.application.engine
    assert engine.get_case(case_id).case.status == "cancelled"
    assert engine.get_case(case_id).case.data.get("notes") == NOTES
