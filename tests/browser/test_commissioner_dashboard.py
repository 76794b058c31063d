"""A commissioner opens the dashboard in a real browser: charts drawn, numbers beside them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.support import LiveApp, Snap
from tests.browser.test_caseworker_journey import demo, sign_in  # noqa: F401 - demo: a fixture


def test_the_commissioner_sees_versions_activity_and_the_payment_statement(
    demo: LiveApp, page: Page, snap: Snap  # noqa: F811 - the fixture imported above
) -> None:
    sign_in(page, "commissioner")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", name="What worked")).to_be_visible()
    versions = page.locator("section", has=page.get_by_role("heading", name="Versions compared"))
    expect(versions.locator("table.figures")).to_be_visible()
    expect(versions.get_by_role("link", name=re.compile("CSV"))).to_be_visible()
    activity = page.locator("section", has=page.get_by_role(
        "heading", name="Caseworker activity, month on month"))
    chart = activity.get_by_role("img", name=re.compile("Tasks completed per organisation"))
    expect(chart).to_be_visible()  # drawn by matplotlib as SVG
    assert chart.evaluate("image => image.naturalWidth") > 0  # it loaded and rendered
    snap(page, "dashboard")
    # the published Peterborough cohort 1 figures: 8.4% fewer events, no early payment
    page.get_by_label("Reconviction events").fill("1420")
    page.get_by_label("Comparison per 100").fill("155")
    page.get_by_role("button", name="Compute").click()
    statement = page.locator("pre.statement").last
    expect(statement).to_contain_text("reduction = (155 \u2212 142) / 155 = 8.4%")
    expect(statement).to_contain_text("no early payment")
    snap(page, "payment-statement")
    with page.expect_download() as download:
        activity.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "gate_reception-activity.csv"
