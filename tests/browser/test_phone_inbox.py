"""The inbox and a task on a phone (375 px wide) and on a desktop (issue 18, item 5): nothing
scrolls sideways, every row's Open, Claim and Give back can be seen and used, and a task's
page claims and gives back the task itself, returning to it. Screenshots of each width land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import Snap, assert_no_sideways, assert_within_width
from tests.browser.test_caseworker_journey import demo, sign_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")

WIDTHS = {"phone": (375, 812), "desktop": (1280, 800)}


@pytest.mark.parametrize("size", WIDTHS)
def test_every_inbox_row_can_be_opened_claimed_and_given_back(page: Page, snap: Snap,
                                                               size: str) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "teamlead")
    page.goto("/inbox?scope=role")
    rows = page.locator("table.inbox tbody tr")
    expect(rows.first).to_be_visible()
    assert_no_sideways(page, "the inbox scrolls sideways")
    snap(page, f"{size}-inbox")
    count = rows.count()
    assert count > 5
    for number in range(count):
        row = rows.nth(number)
        opener = row.get_by_role("link", name=re.compile(r"^Open ")) if size == "phone" \
            else row.locator("td.title a")
        assert_within_width(page, opener)
        assert_within_width(page, row.get_by_role(
            "button", name=re.compile(r"^(Claim|Give back) ")))
        assert_within_width(page, row.get_by_role("checkbox"))

    first = rows.first
    title = first.locator("td.title").inner_text().strip()
    first.get_by_role("button", name=re.compile(r"^Claim ")).click()
    expect(page.get_by_role("status").filter(has_text="The task is yours.")).to_be_visible()
    mine = page.locator("table.inbox tbody tr").filter(has_text="Terry Lead").filter(
        has_text=title).first
    give_back = mine.get_by_role("button", name=re.compile(r"^Give back "))
    assert_within_width(page, give_back)
    snap(page, f"{size}-inbox-claimed")
    give_back.click()
    expect(page.get_by_role("status").filter(
        has_text="The task is back in the team's list.")).to_be_visible()
    assert_no_sideways(page)


@pytest.mark.parametrize("size", WIDTHS)
def test_a_task_page_claims_and_gives_back_its_task(page: Page, snap: Snap, size: str
                                                    ) -> None:
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "caseworker")
    page.goto("/inbox?scope=unassigned")
    page.locator("table.inbox tbody tr td.title a").first.click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    task_url = page.url
    expect(page.get_by_text("Not assigned.")).to_be_visible()
    claim = page.get_by_role("button", name="Claim", exact=True)
    assert_within_width(page, claim)
    assert_no_sideways(page, "the task page scrolls sideways")
    snap(page, f"{size}-task")
    claim.click()
    expect(page).to_have_url(task_url)
    expect(page.get_by_role("status").filter(has_text="The task is yours.")).to_be_visible()
    expect(page.get_by_text("Assigned to Casey Walker.")).to_be_visible()
    give_back = page.get_by_role("button", name="Give back", exact=True)
    assert_within_width(page, give_back)
    snap(page, f"{size}-task-claimed")
    give_back.click()
    expect(page).to_have_url(task_url)
    expect(page.get_by_text("Not assigned.")).to_be_visible()
    expect(page.get_by_role("button", name="Complete")).to_be_visible()
