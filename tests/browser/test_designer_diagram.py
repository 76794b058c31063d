"""A designer opens a pathway and sees its diagram drawn by bpmn-js (served by the app from
the npm package) with live counts on its steps (issue 14, items 1 and 2)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, Route, expect

from adapters.bootstrap import Application
from adapters.definition_files import read_bundle
from adapters.settings import PROJECT_ROOT
from tests.browser.support import LiveApp, Snap

PASSWORD = "correct horse battery"
HOUSING_SUPPORT = PROJECT_ROOT / "definitions" / "housing_support.yaml"


def _add_dana(application: Application) -> None:
    application.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    application.accounts.add_user("dana", "Dana Designer", "st_giles_trust", "designer",
                                  PASSWORD)


def _sign_in_as_dana(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _editing_housing_support(live_app: LiveApp, page: Page) -> tuple[Application, Path]:
    """Dana, signed in, in the editor on housing support as shipped (published as v1)."""
    application = live_app.application
    _add_dana(application)
    application.engine.publish(*read_bundle(HOUSING_SUPPORT), note="As shipped", author="dana")
    _sign_in_as_dana(page)
    page.goto("/pathways/housing_support/edit")
    expect(page.locator(".CodeMirror")).to_be_visible()
    return application, HOUSING_SUPPORT


def _type(page: Page, text: str) -> None:
    """Replace the editor's text, as typing would (CodeMirror's change event)."""
    page.evaluate("text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)",
                  text)


def test_a_designer_sees_a_pathway_s_diagram_with_live_counts(
        live_app: LiveApp, page: Page, snap: Snap, console_messages: list[str]) -> None:
    application = live_app.application
    _add_dana(application)
    files, main = read_bundle(PROJECT_ROOT / "definitions" / "gate_reception.yaml")
    application.engine.publish(files, main, note="First gate service", author="dana")
    started = [application.engine.start_case(
        "gate_reception", application.engine.add_client(f"Client {n}").id or 0)
        for n in range(3)]
    first_step = started[0].tasks[0].task.step

    _sign_in_as_dana(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pathways").click()
    expect(page.locator("#pathway-gate_reception")).to_contain_text("First gate service")
    page.get_by_role("link", name="gate reception").click()
    expect(page.locator("#version-1")).to_contain_text("3")
    page.get_by_role("link", name="v1", exact=True).first.click()

    diagram = page.locator("#diagram")
    expect(diagram).to_have_attribute("data-rendered", "true")
    expect(diagram.locator("svg .djs-element").first).to_be_attached()
    counts = diagram.locator(f'.step-counts[data-step="{first_step}"]')
    expect(counts).to_have_accessible_name(re.compile(r": 3 waiting$"))
    snap(page, "diagram-with-counts")
    counts.click()
    expect(page).to_have_url(re.compile(rf"#step-{first_step}$"))
    expect(page.locator(f"#step-{first_step}")).to_contain_text("3")
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages


def test_a_designer_compares_two_versions_with_the_changes_coloured(
        live_app: LiveApp, page: Page, snap: Snap, tmp_path: Path) -> None:
    application = live_app.application
    _add_dana(application)
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    application.engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    changed = tmp_path / "gate_reception.yaml"
    changed.write_text(shipped.read_text("utf-8").replace(
        "options: [low, medium, high, very high]",
        "options: [low, medium, high, very high, extreme]"), "utf-8")
    application.engine.publish(*read_bundle(changed), note="Extreme risk", author="dana")

    _sign_in_as_dana(page)
    page.goto("/pathways/gate_reception")
    page.get_by_role("link", name="Compare versions").click()
    for holder in ("#diagram-old", "#diagram-new"):
        expect(page.locator(holder)).to_have_attribute("data-rendered", "true")
        expect(page.locator(holder)).to_have_attribute("data-marked", "1")
        expect(page.locator(f"{holder} .pw-changed")).to_have_count(1)
    expect(page.locator("#change-needs_assessment")).to_contain_text(
        "field 'risk_level': option 'extreme' added")
    snap(page, "compare-versions")


def test_a_designer_moves_running_cases_to_a_new_version_and_puts_them_back(
        live_app: LiveApp, page: Page, snap: Snap, tmp_path: Path) -> None:
    application = live_app.application
    _add_dana(application)
    shipped = PROJECT_ROOT / "definitions" / "gate_reception.yaml"
    application.engine.publish(*read_bundle(shipped), note="As shipped", author="dana")
    cases = [application.engine.start_case(
        "gate_reception", application.engine.add_client(f"Client {n}").id or 0).case.id
        for n in range(2)]
    renamed = tmp_path / "gate_reception.yaml"
    renamed.write_text(shipped.read_text("utf-8").replace(
        "    title: Needs assessment\n", "    title: Assessment of needs\n", 1), "utf-8")
    application.engine.publish(*read_bundle(renamed), note="Renamed", author="dana")

    _sign_in_as_dana(page)
    page.goto("/pathways/gate_reception")
    page.get_by_role("link", name="Move running cases").click()
    page.get_by_label("From").select_option("1")
    page.get_by_label("to", exact=True).select_option("2")
    page.get_by_role("button", name="See what would happen").click()
    expect(page.locator("#summary")).to_have_text(
        "2 of 2 active case(s) would move; 0 would stay.")
    expect(page.locator(f"#case-{cases[0]}")).to_contain_text("moves to Assessment of needs")
    snap(page, "migration-dry-run")
    page.get_by_role("button", name="Move 2 case(s) to v2").click()
    expect(page.get_by_role("status")).to_contain_text("moved 2 case(s) from v1 to v2")
    assert {application.engine.get_case(c or 0).case.version for c in cases} == {2}
    page.get_by_role("button", name="Put these cases back on v1").click()
    expect(page.get_by_role("status")).to_contain_text("put 2 case(s) back on v1")
    assert {application.engine.get_case(c or 0).case.version for c in cases} == {1}
    snap(page, "migration-reverted")


def test_a_designer_fixes_a_located_mistake_and_publishes_a_new_version(
        live_app: LiveApp, page: Page, snap: Snap) -> None:
    application = live_app.application
    _add_dana(application)
    shipped = HOUSING_SUPPORT
    application.engine.publish(*read_bundle(shipped), note="As shipped", author="dana")

    _sign_in_as_dana(page)
    page.goto("/pathways/housing_support")
    page.get_by_role("link", name="Edit and publish a new version").click()
    expect(page.locator("#preview")).to_have_attribute("data-rendered", "true")
    editor = page.locator(".CodeMirror")
    expect(editor).to_be_visible()
    source = shipped.read_text("utf-8")
    mistake = source.replace("    role: housing_worker\n", "    role: nobody_here\n", 1)
    line = mistake.splitlines().index("    role: nobody_here") + 1
    _type(page, mistake)
    problem = page.locator("#problems li").first
    expect(problem).to_contain_text(f"line {line}, column")
    expect(problem).to_contain_text("nobody_here")
    expect(page.locator(".problem-line")).to_have_count(1)
    snap(page, "editor-located-problem")
    fixed = source.replace("    title: Housing assessment\n",
                           "    title: Assessment of housing\n", 1)
    _type(page, fixed)
    expect(page.locator("#problems")).to_contain_text("No problems: ready to publish.")
    page.get_by_label("Note for this version (required)").first.fill("Clearer title")
    page.get_by_role("button", name="Publish as new version").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Published housing_support v2: Clearer title")
    assert application.engine.versions("housing_support")[-1].note == "Clearer title"
    snap(page, "editor-published")


def test_publishing_on_a_slow_connection_leaves_no_draft_behind(
        live_app: LiveApp, page: Page) -> None:
    """The editor saves a draft a second after the last keystroke. Publishing within that
    second, on a connection whose answer takes longer, must not send the save anyway: it
    would land after the publish had discarded the draft, and bring the old draft back."""
    application, shipped = _editing_housing_support(live_app, page)

    def slow_answer(route: Route) -> None:
        answered = route.fetch(max_redirects=0)
        time.sleep(2)  # the server has published; its answer is still on its way
        route.fulfill(response=answered)

    page.route("**/editor/publish", slow_answer)
    fixed = shipped.read_text("utf-8").replace("    title: Housing assessment\n",
                                               "    title: Assessment of housing\n", 1)
    _type(page, fixed)
    page.get_by_label("Note for this version (required)").first.fill("Clearer title")
    page.get_by_role("button", name="Publish as new version").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Published housing_support v2: Clearer title")
    page.wait_for_timeout(1500)  # longer than the editor waits before saving
    assert application.engine.versions("housing_support")[-1].note == "Clearer title"
    assert application.engine.definition_draft("dana", "housing_support") is None


def test_publishing_while_a_draft_save_is_on_its_way_lets_it_land_first(
        live_app: LiveApp, page: Page) -> None:
    """A save already sent when the designer publishes lands before the publish (which then
    discards the draft), and the publish still goes: nothing typed is lost, nothing stale
    is kept."""
    application, shipped = _editing_housing_support(live_app, page)
    held: list[Route] = []
    page.route("**/editor/draft", lambda route: held.append(route))  # sent, not answered
    fixed = shipped.read_text("utf-8").replace("    title: Housing assessment\n",
                                               "    title: Assessment of housing\n", 1)
    _type(page, fixed)
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the editor did not save the draft"
    publishes: list[str] = []
    page.on("request", lambda request: publishes.append(request.method)
            if request.url.endswith("/editor/publish") else None)
    page.get_by_label("Note for this version (required)").first.fill("Clearer title")
    page.get_by_role("button", name="Publish as new version").click()
    page.get_by_role("button", name="Publish as new version").click()  # nothing seemed to
    page.wait_for_timeout(500)
    assert len(application.engine.versions("housing_support")) == 1  # waiting for the save
    held[0].continue_()
    expect(page.get_by_role("status")).to_contain_text(
        "Published housing_support v2: Clearer title")
    assert application.engine.definition_draft("dana", "housing_support") is None
    assert publishes == ["POST"]  # the second click sent no second publish


def test_what_a_designer_types_survives_a_reload(live_app: LiveApp, page: Page,
                                                 snap: Snap) -> None:
    _, shipped = _editing_housing_support(live_app, page)
    typed = shipped.read_text("utf-8").replace("title: Housing support",
                                               "title: Housing support (half-typed)")
    _type(page, typed)
    expect(page.locator("#source")).to_have_attribute("data-saved", "true")
    page.reload()
    expect(page.locator("#draft-notice")).to_contain_text("This is your draft")
    assert "(half-typed)" in page.evaluate(
        "() => document.querySelector('.CodeMirror').CodeMirror.getValue()")
    snap(page, "editor-draft-restored")


# the label boxes the diagram gives (BPMN DI) and the boxes of the text bpmn-js drew in them,
# in diagram coordinates: the text must sit inside its box, so that what the layout tests
# check of the boxes (no label on a shape or another label) is true of what is drawn
_DRAWN_LABELS = """
(holder) => Array.from(holder.querySelectorAll('.djs-element[data-element-id$="_label"]'))
  .map((g) => {
    const text = g.querySelector('text.djs-label');
    const m = g.transform.baseVal.consolidate();
    const box = text ? text.getBBox() : {x: 0, y: 0, width: 0, height: 0};
    return {id: g.dataset.elementId.replace(/_label$/, ''), x: m.matrix.e + box.x,
            y: m.matrix.f + box.y, width: box.width, height: box.height,
            text: text ? text.textContent : ''};
  })
"""


def test_every_shipped_pathway_is_drawn_to_fit_a_laptop_with_labels_inside_their_boxes(
        live_app: LiveApp, page: Page, snap: Snap) -> None:
    """At 1366 px wide, each shipped pathway opens at 70% zoom or more, and every label's
    text as the browser drew it (its own font, not Arial perhaps) lies inside the bounds
    the compiled diagram gives it: no word broken, no line more than was measured."""
    from lxml import etree

    from tests.diagram_geometry import NS

    application = live_app.application
    _add_dana(application)
    order = ["mental_health_referral", "housing_support", "family_support",
             "employment_support", "gate_reception"]
    bounds = {}
    for name in order:
        files, main = read_bundle(PROJECT_ROOT / "definitions" / f"{name}.yaml")
        application.engine.publish(files, main, note="shipped", author="dana")
        root = etree.fromstring(files[main].encode("utf-8"))
        for di in root.iterfind(".//bpmndi:BPMNLabel/dc:Bounds", NS):
            element = di.getparent().getparent().get("bpmnElement")
            bounds[(name, element)] = tuple(float(di.get(k) or 0)
                                            for k in ("x", "y", "width", "height"))
    page.set_viewport_size({"width": 1366, "height": 768})
    _sign_in_as_dana(page)
    outside = []
    for name in order:
        page.goto(f"/pathways/{name}/v1")
        diagram = page.locator("#diagram")
        expect(diagram).to_have_attribute("data-rendered", "true")
        assert float(diagram.get_attribute("data-zoom") or 0) >= 0.7, name
        drawn = diagram.evaluate(_DRAWN_LABELS)
        assert drawn, f"{name}: no label drawn"
        for label in drawn:
            x, y, width, height = bounds[(name, label["id"])]
            if not (x - 1.5 <= label["x"] and label["x"] + label["width"] <= x + width + 1.5
                    and y - 1.5 <= label["y"]
                    and label["y"] + label["height"] <= y + height + 1.5):
                outside.append((name, label["id"], label["text"], (x, y, width, height),
                                {k: round(label[k]) for k in ("x", "y", "width", "height")}))
        if name == "gate_reception":
            snap(page, "gate-reception-at-1366")
    assert not outside, outside


def test_a_designer_retries_the_cases_stopped_at_a_step_on_a_fixed_version(
        live_app: LiveApp, page: Page, snap: Snap) -> None:
    """A wait with no date to wait for stops cases with an error; the designer publishes a
    version that falls back to a date, opens the first version's page, sees the count at
    the step, and retries those cases on the new version."""
    from dsl import compile_pathway
    from tests.incident_bundles import dated_wait
    from tests.web.test_incidents import org_wait

    application = live_app.application
    engine = application.engine
    _add_dana(application)
    broken = compile_pathway(org_wait("st_giles_trust"))
    engine.publish(broken.files(), broken.bpmn_file, note="waits for the release date")
    case = engine.start_case("st_giles_trust_wait", engine.add_client("Dee").id or 0)
    assert engine.complete_task(case.tasks[0].task.id, {"notes": "seen"}).status == "error"
    fixed_doc = org_wait("st_giles_trust")
    fixed_doc["steps"][1]["until"] = dated_wait("2030-01-01")["steps"][1]["until"]
    fixed = compile_pathway(fixed_doc)
    engine.publish(fixed.files(), fixed.bpmn_file, note="a date when the client has none")

    _sign_in_as_dana(page)
    page.goto("/pathways/st_giles_trust_wait/v1")
    row = page.locator("#step-until_release")
    expect(row).to_contain_text("Retry 1")
    row.get_by_label("retry on").select_option("2")
    row.get_by_role("button", name="Retry 1").click()
    expect(page.get_by_text("Retried 1 case(s) at this step on v2: 1 running again, "
                            "0 still in error.")).to_be_visible()
    snap(page, "retried-at-step")
    assert engine.get_case(case.case.id or 0).case.status == "active"
