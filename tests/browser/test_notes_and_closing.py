"""A caseworker notes a phone call on a client's record and closes a case with a reason
(issue 18, items 2 and 3), at desktop width and on a 375 px phone: a refused form keeps what
was typed with the problem at its field, the note shows on the timeline and the case page,
the closed case says so, and nothing spills sideways. Screenshots land in
test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap, assert_no_sideways

PASSWORD = "correct horse battery"
CALL = "Rang about the housing appointment; he will go on Monday with his sister."


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "375px"])
def test_a_caseworker_notes_a_call_and_closes_a_case(
        live_app: LiveApp, page: Page, snap: Snap, console_messages: list[str],
        width: int) -> None:
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
    case_id = started.case.id

    page.set_viewport_size({"width": width, "height": 900 if width > 400 else 812})
    page.goto("/login")
    page.get_by_label("Username").fill("cass")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/clients/{client.id}")

    # note a call: first with too many minutes, so the form comes back as typed
    form = page.locator("#record-note")
    form.get_by_label("Type").select_option("phone_call")
    form.get_by_label("Minutes").fill("2000")
    form.get_by_label("About a case").select_option(str(case_id))
    form.get_by_label("What happened").fill(CALL)
    form.get_by_role("button", name="Record note").click()
    expect(page.locator("#note-problems")).to_be_visible()
    expect(page.locator("#note-minutes-error")).to_have_text("enter minutes from 0 to 1440")
    expect(page.locator("#note-text")).to_have_value(CALL)
    expect(page.locator("#note-case")).to_have_value(str(case_id))
    assert_no_sideways(page, f"the refused note form scrolls sideways at {width}")
    snap(page, f"note-refused-{width}")
    page.locator("#note-minutes").fill("15")
    page.locator("#record-note").get_by_role("button", name="Record note").click()
    note = page.locator("li.note").first
    expect(note).to_contain_text("Phone call")
    expect(note).to_contain_text("15 min")
    expect(note).to_contain_text(CALL)
    expect(page.locator(".flash")).to_contain_text("Note recorded.")
    assert_no_sideways(page, f"the client record scrolls sideways at {width}")
    snap(page, f"note-a-call-{width}")

    # close the case: without a reason first, then with one
    page.goto(f"/cases/{case_id}")
    expect(page.locator("ol.notes li.note")).to_contain_text(CALL)
    closing = page.locator("#close-case")
    closing.get_by_label("Reason for closing").fill("   ")
    closing.get_by_role("button", name="Close case").click()
    expect(page.locator("#close-reason-error")).to_have_text("say why the case is closed")
    expect(page.locator("#case-status")).to_have_text("active")
    page.locator("#close-reason").fill("Moved out of the area to live with family")
    snap(page, f"close-a-case-form-{width}")
    page.locator("#close-case").get_by_role("button", name="Close case").click()
    expect(page.locator("#case-status")).to_have_text("cancelled")
    expect(page.locator(".flash")).to_contain_text("Case closed.")
    expect(page.locator("#close-case")).to_have_count(0)
    assert_no_sideways(page, f"the case page scrolls sideways at {width}")
    snap(page, f"case-closed-{width}")
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages
