"""The layout checks measure a page as it is drawn. In CI a stylesheet's revalidation (a
304) was still on its way when a phone's inbox was measured after a claim: unstyled, the
inbox is a wide table, and its Give back button was measured at x = 638 of 375. Here the
stylesheet is answered 1.5 s late on purpose, and the checks wait for it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import LiveApp, assert_no_sideways, assert_within_width
from tests.browser.test_caseworker_journey import demo, sign_in  # noqa: F401

pytestmark = pytest.mark.usefixtures("demo")


def test_a_phone_s_inbox_is_measured_once_its_late_stylesheet_has_come(
        page: Page, live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, "teamlead")
    page.goto("/inbox?scope=role")
    rows = page.locator("table.inbox tbody tr")
    expect(rows.first).to_be_visible()
    assert_no_sideways(page)
    real = live_app.flask_app.send_static_file

    def late(filename: str) -> Any:
        if filename == "pathways.css":
            time.sleep(1.5)
        return real(filename)

    monkeypatch.setattr(live_app.flask_app, "send_static_file", late)
    page.route("**/static/pathways.css*", lambda route: route.continue_())  # no cached copy
    title = rows.first.locator("td.title").inner_text().strip()
    rows.first.get_by_role("button", name=re.compile(r"^Claim ")).click()
    expect(page.get_by_role("status").filter(has_text="The task is yours.")).to_be_visible()
    mine = page.locator("table.inbox tbody tr").filter(has_text="Terry Lead").filter(
        has_text=title).first
    assert_within_width(page, mine.get_by_role("button", name=re.compile(r"^Give back ")))
