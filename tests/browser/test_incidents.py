"""A team lead fixes an incident in a real browser: the case stopped at a wait on an empty
release date; a first retry with broken JSON is refused beside the field with the text kept,
then the date is given and the case is active again."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from dsl import compile_pathway
from tests.browser.support import LiveApp, Snap
from tests.web.test_incidents import org_wait

PASSWORD = "correct horse battery"


def test_a_team_lead_retries_a_case_in_error(live_app: LiveApp, page: Page,
                                             snap: Snap) -> None:
    application = live_app.application
    application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    application.accounts.add_user("lead", "Lee Lead", "st_giles_trust", "team_lead", PASSWORD)
    compiled = compile_pathway(org_wait("st_giles_trust"))
    application.engine.publish(compiled.files(), compiled.bpmn_file)
    client = application.engine.add_client("Dee Vane")
    case = application.engine.start_case("st_giles_trust_wait", client.id or 0)
    done = application.engine.complete_task(case.tasks[0].task.id, {"notes": "seen"})
    assert done.status == "error"

    page.goto("/login")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Incidents").click()
    row = page.locator(f"#case-{case.case.id}")
    expect(row).to_contain_text("until_release")
    expect(row).to_contain_text("Dee Vane")

    data = page.get_by_label("Data (JSON, optional)")
    data.fill('{"client": {"release_date": 2030-02-01}}')
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(f"#error-data-{case.case.id}")).to_contain_text("is not valid JSON")
    expect(page.get_by_label("Data (JSON, optional)")).to_have_value(
        '{"client": {"release_date": 2030-02-01}}')
    snap(page, "incident-refused")

    page.get_by_label("Data (JSON, optional)").fill('{"client": {"release_date": "2030-02-01"}}')
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(
        rf"Case {case.case.id} was retried on version 1: it is now active"))
    expect(page.get_by_text("No case is in error.")).to_be_visible()
    snap(page, "incident-retried")


def test_a_team_lead_cancels_a_case_in_error_with_a_reason(live_app: LiveApp, page: Page,
                                                           snap: Snap) -> None:
    application = live_app.application
    application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    application.accounts.add_user("lead", "Lee Lead", "st_giles_trust", "team_lead", PASSWORD)
    compiled = compile_pathway(org_wait("st_giles_trust"))
    application.engine.publish(compiled.files(), compiled.bpmn_file)
    client = application.engine.add_client("Dee Vane")
    case = application.engine.start_case("st_giles_trust_wait", client.id or 0)
    assert application.engine.complete_task(case.tasks[0].task.id,
                                            {"notes": "seen"}).status == "error"

    page.goto("/login")
    page.get_by_label("Username").fill("lead")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Incidents").click()
    page.get_by_role("button", name="Cancel the case").click()
    expect(page.locator(f"#error-reason-{case.case.id}")).to_have_text(
        "say why the case is cancelled")
    page.get_by_label("Reason to cancel").fill("Client moved out of the area")
    page.get_by_role("button", name="Cancel the case").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Case {case.case.id} was cancelled: Client moved out of the area")
    expect(page.get_by_text("No case is in error.")).to_be_visible()
    snap(page, "incident-cancelled")
