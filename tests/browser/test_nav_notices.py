"""The nav's counts of new and overdue tasks and the task form's error summary, in Chromium
at a desktop's width and a phone's (375 px) (issue 18, items 10 and 7): the counts show as
links that fit the window and open the inbox showing those tasks, "new" is gone once the
inbox was looked at; a task form sent with a mistake comes back with the focus on its error
summary. Screenshots of each width land in test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import Snap, assert_no_sideways, assert_within_width
from tests.browser.test_caseworker_journey import demo, sign_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")

WIDTHS = {"phone": (375, 812), "desktop": (1280, 800)}


@pytest.mark.parametrize("size", WIDTHS)
def test_the_nav_counts_new_and_overdue_tasks(page: Page, snap: Snap, size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "caseworker")  # lands on the inbox: that is a look
    page.goto("/clients")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"new for your role$"))).to_have_count(0)
    overdue = nav.get_by_role("link", name=re.compile(r"^\d+\+? overdue$"))
    assert_within_width(page, overdue)
    assert_no_sideways(page, "the page scrolls sideways")
    snap(page, f"{size}-nav-counts")

    overdue.click()
    expect(page).to_have_url(re.compile(r"/inbox\?scope=role&overdue=yes$"))
    expect(page.get_by_label("Overdue")).to_have_value("yes")
    expect(page.locator("table.inbox tbody tr").first).to_be_visible()
    snap(page, f"{size}-overdue-inbox")


@pytest.mark.parametrize("size", WIDTHS)
def test_a_new_task_shows_in_the_nav_until_the_inbox_is_looked_at(page: Page, snap: Snap,
                                                                   size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "caseworker")
    page.goto("/clients")
    page.get_by_label("Name", exact=True).fill(f"Nova Newcomer {size}")
    page.get_by_role("button", name=re.compile(r"^Add")).click()
    page.get_by_role("button", name=re.compile(r"^Start")).first.click()
    nav = page.get_by_role("navigation", name="Main")
    new = nav.get_by_role("link", name=re.compile(r"^1 new for your role$"))
    expect(new).to_be_visible()
    assert_no_sideways(page, "the page scrolls sideways")
    snap(page, f"{size}-nav-new")
    new.click()
    expect(page).to_have_url(re.compile(r"/inbox\?scope=role&since="))
    expect(page.get_by_text(re.compile(r"^Only the tasks created since"))).to_be_visible()
    expect(page.locator("table.inbox tbody tr")).to_have_count(1)
    snap(page, f"{size}-new-inbox")
    page.goto("/clients")
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile(r"new for your role$"))).to_have_count(0)


@pytest.mark.parametrize("size", WIDTHS)
def test_a_form_sent_with_a_mistake_focuses_its_error_summary(page: Page, snap: Snap,
                                                              size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "caseworker")
    page.goto("/inbox?scope=role")
    page.locator("table.inbox tbody tr td.title a", has_text="Needs assessment").first.click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    page.get_by_role("button", name="Complete", exact=True).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert_no_sideways(page, "the page scrolls sideways")
    snap(page, f"{size}-error-summary-focused")
    summary.get_by_role("link").first.click()  # each problem links to its field
    expect(page).to_have_url(re.compile(r"#field-"))
