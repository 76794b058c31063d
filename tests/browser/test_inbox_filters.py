"""The inbox's filters in a real browser (issue 18, items 4 and 8): a team lead picks the
pathway and a step by the titles the rows show, is told at the field when a filter names
nothing (the page, not an error page), keeps the filters under a name, and reassigns in bulk
what can be, staying on the same filtered inbox."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import LiveApp, Snap
from tests.browser.test_caseworker_journey import NEEDS_ASSESSMENT, demo, sign_in  # noqa: F401

GATE = "Gate reception (Peterborough One Service)"  # gate_reception's title, as pages show it


def test_a_team_lead_filters_by_titles_saves_them_and_reassigns(
        demo: LiveApp, page: Page, snap: Snap) -> None:  # noqa: F811
    sign_in(page, "teamlead")
    page.goto("/inbox")
    page.get_by_label("Pathway", exact=True).select_option(label=GATE)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]pathway=gate_reception(&|$)"))
    # the chosen pathway's steps, by title
    page.get_by_label("Step", exact=True).select_option(label=NEEDS_ASSESSMENT)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]step=needs_assessment(&|$)"))
    rows = page.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert NEEDS_ASSESSMENT in text, text
    expect(page.get_by_role("columnheader", name="Client no.")).to_be_visible()
    snap(page, "inbox-filtered-by-titles")

    # keep these filters under a name; they come back from the list
    page.get_by_label("Save these filters as").fill("Assessments")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Filters saved")).to_be_visible()
    page.goto("/inbox")
    page.get_by_role("link", name="Assessments", exact=True).click()
    expect(page).to_have_url(re.compile(r"step=needs_assessment"))
    filtered = page.url

    # reassign two ticked tasks: the filters are kept
    boxes = page.locator('input[type="checkbox"][name="task"]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Reassign the ticked tasks to").select_option(value="caseworker")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_role("status").filter(
        has_text="2 task(s) assigned to Casey Walker.")).to_be_visible()
    assert page.url == filtered
    snap(page, "inbox-reassigned")

    # a filter naming nothing: told at its field, the form kept
    page.goto("/inbox?version=abc&pathway=gate_reception")
    expect(page.locator("#version-problem")).to_contain_text("whole number")
    expect(page.get_by_label("Version", exact=True)).to_have_value("abc")
    expect(page.get_by_label("Pathway", exact=True)).to_have_value("gate_reception")
    snap(page, "inbox-bad-filter")
