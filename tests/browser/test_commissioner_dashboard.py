"""A commissioner opens the dashboard in a real browser: charts drawn, numbers beside them."""

from __future__ import annotations

import re
from datetime import date

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
    expect(versions.locator("table.figures")).to_be_hidden()  # behind the Figures toggle
    versions.get_by_text("Figures: versions compared").click()
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
    activity.get_by_text("Figures: activity").click()
    with page.expect_download() as download:
        activity.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "gate_reception-activity.csv"


def test_the_payment_statement_prints_as_a_document(
    demo: LiveApp, page: Page, snap: Snap  # noqa: F811 - the fixture imported above
) -> None:
    """Issue 12: the statement from the data, as its own printable page. The demo's cohort 2
    is still in follow-up (interim, nothing paid); 24 cohort-1 people released in 2011 and
    followed up long since give it a result: 18 events against 155 per 100."""
    application = demo.application
    people = [application.engine.add_client(f"Cohort one {n}", {
        "release_date": "2011-01-01"}).id for n in range(24)]
    rows = [f"{p},2011-02-01,2011-03-01" for p in people[:12]]
    rows += [f"{p},2011-04-01,2011-05-01" for p in people[:6]]
    report = application.outcomes.import_csv(
        "cohort1.csv", ("client,offence_date,conviction_date\n" + "\n".join(rows) + "\n")
        .encode(), "reconviction", extracted_on=date(2014, 1, 1))
    assert report.errors == []
    application.outcomes.set_comparison_rates("cohort 1", "reconviction", group_size=1000,
                                              per_100=155.0)
    sign_in(page, "commissioner")
    cohorts = page.locator("section", has=page.get_by_role("heading", name="Cohort results"))
    expect(cohorts).to_contain_text("cohort 2: interim:")
    expect(cohorts).to_contain_text("no payment can be computed")
    cohorts.get_by_role("link", name="Printable statement").click()
    expect(page).to_have_url(re.compile(r"/dashboard/statement$"))
    expect(page.get_by_role("heading", name=re.compile("^Payment statement"))).to_be_visible()
    expect(page.get_by_text("price per event avoided: assumed, not from the contract")
           ).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("reduction in reconviction events"))
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()  # no navigation on paper
    expect(page.locator("p.no-print")).to_be_hidden()
    expect(page.get_by_role("heading", name="The arithmetic")).to_be_visible()
    expect(page.locator("ol.arithmetic")).to_contain_text(
        "cohort 1: intervention rate = 18 events / 24 people")
    snap(page, "statement-printed")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_a_commissioner_reads_the_decision_in_words_beside_a_forest_plot(
    demo: LiveApp, page: Page, snap: Snap  # noqa: F811 - the fixture imported above
) -> None:
    """Issue 12, item 7: the answer first, in words; one chart of every comparison with its
    interval; the figures behind a toggle, in human terms; another baseline chosen from the
    page. 30 more version 2 cases (20 met at the gate, 10 not) and 30 version 1 (10 and 20)
    make every cell large enough to show."""
    engine = demo.application.engine
    for number in range(60):
        version, met = (2, number % 3 != 0) if number < 30 else (1, number % 3 == 0)
        client = engine.add_client(f"Trial {number}", {"release_date": "2026-01-10"}).id or 0
        case = engine.start_case("gate_reception", client, version=version)
        engine.complete_task(case.tasks[0].task.id, {
            "needs_accommodation": False, "needs_benefits": False,
            "needs_substance_misuse": False, "needs_family": False,
            "needs_employment": False, "risk_level": "low"}, actor="caseworker")
        gate = engine.list_tasks(case_id=case.case.id)[0].task
        engine.complete_task(gate.id, {"met_at_gate": met}, actor="caseworker")
    sign_in(page, "commissioner")
    page.goto("/dashboard?pathway=gate_reception&outcome=met_at_gate")
    versions = page.locator("section", has=page.get_by_role("heading", name="Versions compared"))
    expect(versions.locator("p.baseline")).to_contain_text(
        "compared with version 1 (baseline, the earliest version")
    decision = versions.locator("li.decision").first
    expect(decision).to_be_visible()
    expect(decision).to_contain_text("Did version 2 differ in met at gate from version 1?")
    expect(decision).to_contain_text(re.compile(
        r"Version 2 raised met at gate by [\d.]+ points \(95% interval .+\) compared with "
        r"version 1 \u2014 evidence of a difference \(p [<=] 0\.\d+"))
    forest = versions.get_by_role("img", name=re.compile("^Forest plot"))
    expect(forest).to_be_visible()
    assert forest.evaluate("image => image.complete && image.naturalWidth > 0")
    table = versions.locator("table.figures")
    expect(table).to_be_hidden()
    snap(page, "decision-in-words")
    versions.get_by_text("Figures: versions compared").click()
    expect(table).to_be_visible()
    expect(table.locator("th").filter(has_text="95% interval from").first).to_be_visible()
    expect(table).not_to_contain_text("ci low")
    expect(table).not_to_contain_text(re.compile(r"\de-\d"))
    snap(page, "figures-open")
    page.get_by_label("Compared with").select_option("2")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"versus=2"))
    expect(versions.locator("p.baseline")).to_contain_text(
        "compared with version 2 (baseline, chosen)")
    expect(versions.locator("li.decision").first).to_contain_text("Version 1 lowered")
    page.goto("/dashboard/statement")
    expect(page.get_by_role("heading", name=re.compile("^Payment statement"))).to_be_visible()
    sheets = page.evaluate("""() => [...document.styleSheets].flatMap(sheet =>
        [...sheet.cssRules].filter(rule => rule.media && rule.media.mediaText === 'print'))
        .length""")
    assert sheets > 0  # print CSS present: the statement is made to be printed
