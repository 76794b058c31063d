"""A caseworker's day, end to end in a real browser: sign in, find a gate reception task in the
inbox, make one mistake on its form, correct it, complete it, and see the step on the client's
timeline. And a caseworker of another provider cannot open that task by its URL.

The database is seeded the way `pathways init --demo` does it: every shipped definition
published in order, then the demo programme (providers, demo users, ~50 clients on
gate_reception). Screenshots of each stage land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from adapters.definition_files import pathway_name, publish_order, read_bundle
from adapters.demo import DEMO_PASSWORD, seed_demo
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap

NEEDS_ASSESSMENT = "Needs assessment"
NOTES = "Seen at HMP Peterborough. Wants to go back to his sister's in Orton."

GATE = "Gate reception (Peterborough One Service)"  # gate_reception's title, as pages show it


@pytest.fixture
def demo(live_app: LiveApp) -> LiveApp:
    """The live app with the shipped pathways published and the demo programme seeded."""
    application = live_app.application
    ordered = publish_order(PROJECT_ROOT / "definitions")
    known = {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        files, main = read_bundle(path, known_pathways=known)
        application.engine.publish(files, main, note=note, author="browser test")
    report = seed_demo(application)
    assert report.created and report.clients > 0
    return live_app


def sign_in(page: Page, username: str, snap: Snap | None = None) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    if snap is not None:
        snap(page, "1-login")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def question(page: Page, title: str) -> Locator:
    """A Yes/No (or other radio) question of a task form, by its legend's first words."""
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(title)}\b"))


def field_box(page: Page, name: str) -> Locator:
    """The block holding one form field with its label, control and error messages."""
    return page.locator(f"#field-{name}")


def test_caseworker_completes_a_needs_assessment_after_correcting_the_form(
    demo: LiveApp, page: Page, snap: Snap
) -> None:
    # -- sign in, land on the inbox ------------------------------------------------------
    sign_in(page, "caseworker", snap)
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Casey Walker · "))).to_be_visible()  # signed in as
    snap(page, "2-inbox")

    # -- filter by pathway, pick the first needs assessment -------------------------------
    page.get_by_label("Pathway", exact=True).select_option(label=GATE)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"[?&]pathway=gate_reception(&|$)"))
    expect(page.get_by_label("Pathway", exact=True)).to_have_value("gate_reception")
    rows = page.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert GATE in text, f"a row of another pathway after filtering: {text!r}"
    row = rows.filter(has=page.get_by_role("link", name=NEEDS_ASSESSMENT, exact=True)).first
    client_name = row.get_by_role("cell").nth(1).inner_text().strip()
    assert client_name
    snap(page, "3-inbox-gate-reception")

    row.get_by_role("link", name=NEEDS_ASSESSMENT, exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks/[^/]+$"))
    task_url = page.url
    expect(page.get_by_role("heading", name=NEEDS_ASSESSMENT)).to_be_visible()
    client_link = page.get_by_role("link", name=client_name, exact=True)
    expect(client_link).to_be_visible()
    client_path = client_link.get_attribute("href")
    assert client_path is not None and re.fullmatch(r"/clients/\d+", client_path)

    # -- the client's timeline before: the assessment is not done yet ---------------------
    client_link.click()
    expect(page.get_by_role("heading", name=re.compile(re.escape(client_name)))).to_be_visible()
    timeline = page.locator("ol.timeline > li")
    expect(timeline.first).to_be_visible()
    expect(timeline.filter(has_text="task completed · needs assessment")).to_have_count(0)
    page.goto(task_url)
    expect(page.get_by_role("heading", name=NEEDS_ASSESSMENT)).to_be_visible()
    snap(page, "4-task")

    # -- fill the form, leaving one required Yes/No unanswered ----------------------------
    question(page, "Accommodation").get_by_label("Yes").check()
    question(page, "Benefits and money").get_by_label("No").check()
    question(page, "Substance misuse").get_by_label("No").check()
    # "Family" left unanswered on purpose
    question(page, "Employment and training").get_by_label("Yes").check()
    question(page, "Risk level").get_by_label("medium").check()
    page.get_by_label("Notes").fill(NOTES)
    page.get_by_role("button", name="Complete").click()

    # -- told what is wrong, beside that field; the rest is kept --------------------------
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Please check the fields marked below.")
    expect(alert.get_by_role("link")).to_have_text(["Family: this field is required"])
    family = field_box(page, "needs_family")
    expect(family).to_have_class(re.compile(r"\binvalid\b"))
    expect(family.locator(".field-error")).to_have_text("this field is required")
    expect(page.locator(".field-error")).to_have_count(1)  # only the one field is flagged
    expect(question(page, "Family").get_by_label("Yes")).not_to_be_checked()
    expect(question(page, "Family").get_by_label("No")).not_to_be_checked()
    expect(question(page, "Accommodation").get_by_label("Yes")).to_be_checked()
    expect(question(page, "Benefits and money").get_by_label("No")).to_be_checked()
    expect(question(page, "Substance misuse").get_by_label("No")).to_be_checked()
    expect(question(page, "Employment and training").get_by_label("Yes")).to_be_checked()
    expect(question(page, "Risk level").get_by_label("medium")).to_be_checked()
    expect(page.get_by_label("Notes")).to_have_value(NOTES)
    assert page.url == task_url  # still on the task, not completed
    snap(page, "5-task-invalid")

    # -- correct it and complete -----------------------------------------------------------
    question(page, "Family").get_by_label("No").check()
    page.get_by_role("button", name="Complete").click()
    done = page.get_by_role("status").filter(has_text=re.compile(r"^Done\. "))
    expect(done).to_be_visible()
    expect(done).to_have_text(re.compile(
        r"^Done\. (Next for this client: .+\.|Nothing more for this client right now\.)$"))
    expect(page.locator(".field-error")).to_have_count(0)
    snap(page, "6-done")

    # -- the completed step is on the client's timeline -----------------------------------
    if done.inner_text().startswith("Done. Next for this client"):
        # on the client's next task: its breadcrumb links to the client by name
        page.get_by_role("link", name=client_name, exact=True).click()
    else:  # back at the inbox, where this client has nothing left
        page.goto(client_path)
    expect(page).to_have_url(re.compile(re.escape(client_path) + "$"))
    expect(page.get_by_role("heading", name=re.compile(re.escape(client_name)))).to_be_visible()
    completed = timeline.filter(has_text="task completed · needs assessment")
    expect(completed).to_have_count(1)
    expect(completed).to_contain_text("by Casey Walker")  # names, not usernames
    expect(completed).to_contain_text(GATE)  # the pathway's title, not its id
    expect(completed).to_contain_text(NOTES)  # the answers, so the next worker can read them
    snap(page, "7-client-timeline")

    # what the form sent is what the case holds
    found = re.search(r"case (\d+)", completed.inner_text())
    assert found is not None
    data = demo.application.engine.get_case(int(found[1])).case.data
    assert {key: data.get(key) for key in (
        "needs_accommodation", "needs_benefits", "needs_substance_misuse", "needs_family",
        "needs_employment", "risk_level", "notes")} == {
        "needs_accommodation": True, "needs_benefits": False, "needs_substance_misuse": False,
        "needs_family": False, "needs_employment": True, "risk_level": "medium",
        "notes": NOTES}


def test_caseworker_of_another_provider_cannot_open_the_task_by_its_url(
    demo: LiveApp, page: Page, snap: Snap
) -> None:
    engine = demo.application.engine
    task = next(view.task for view in engine.list_tasks(pathway="gate_reception")
                if view.task.step == "needs_assessment")
    client = engine.get_client(engine.get_case(task.case_id).case.client_id)

    sign_in(page, "family")  # Fran Ormiston, Ormiston Families
    expect(page.get_by_text(re.compile(r"^Fran Ormiston · "))).to_be_visible()

    response = page.goto(f"/tasks/{task.id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(f"no open task {task.id}")
    expect(page.get_by_role("button", name="Complete")).to_have_count(0)
    expect(page.get_by_text(client.name)).to_have_count(0)  # nothing about the client leaks
    snap(page, "not-found")
