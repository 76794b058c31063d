"""A designer opens a pathway and sees its diagram drawn by bpmn-js (served by the app from
the npm package) with live counts on its steps (issue 14, items 1 and 2)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap

PASSWORD = "correct horse battery"


def test_a_designer_sees_a_pathway_s_diagram_with_live_counts(
        live_app: LiveApp, page: Page, snap: Snap, console_messages: list[str]) -> None:
    application = live_app.application
    application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    application.accounts.add_user("dana", "Dana Designer", "st_giles_trust", "designer",
                                  PASSWORD)
    files, main = read_bundle(PROJECT_ROOT / "definitions" / "gate_reception.yaml")
    application.engine.publish(files, main, note="First gate service", author="dana")
    started = [application.engine.start_case(
        "gate_reception", application.engine.add_client(f"Client {n}").id or 0)
        for n in range(3)]
    first_step = started[0].tasks[0].task.step

    page.goto("/login")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pathways").click()
    expect(page.locator("#pathway-gate_reception")).to_contain_text("First gate service")
    page.get_by_role("link", name="gate reception").click()
    expect(page.locator("#version-1")).to_contain_text("3")
    page.get_by_role("link", name="v1", exact=True).first.click()

    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    expect(diagram.locator("svg .djs-element").first).to_be_attached()
    counts = diagram.locator(f'.step-counts[data-step="{first_step}"]')
    expect(counts).to_have_attribute("aria-label", re.compile(r": 3 waiting$"))
    snap(page, "diagram-with-counts")
    counts.click()
    expect(page).to_have_url(re.compile(rf"#step-{first_step}$"))
    expect(page.locator(f"#step-{first_step}")).to_contain_text("3")
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages
