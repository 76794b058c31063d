"""Every page of the web app meets WCAG 2.2 AA as axe-core checks it (issue 18, item 12), at a
desktop width and on a phone (375 px), in Debian's Chromium.

The pages are the app's own url_map: every GET route that answers HTML, with real ids from the
seeded demo programme for its parameters, opened as the first role (in ROLES order) that may
see it, so a page added later is checked without anyone listing it here. A route whose
parameter has no sample value fails the test, asking for one (in _seed). Files and data
(/static, /vendor, the JSON API, addresses ending in .svg, .csv, .json, .bpmn) are not pages;
a route that answers something other than HTML (/health, /metrics, an export) is skipped.

axe is read from the app's own node_modules (axe-core, pinned in package.json, installed by
`npm ci`), never copied into the repository. Each page is also saved as a screenshot,
test_accessibility.<test>-<width>.<endpoint>.png in test-artifacts/screenshots/. One browser
context per role, shared by the module, keeps the whole file well under two minutes.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, got_request_exception
from playwright.sync_api import Browser, BrowserContext, Page, expect
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server

from adapters.bootstrap import bootstrap
from adapters.definition_files import pathway_name, publish_order, read_bundle
from adapters.demo import DEMO_PASSWORD, seed_demo
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import PROJECT_ROOT, Settings
from tests.browser.support import TIMEOUT_MS, LiveApp, Snap
from web import create_app
from web.security import limiter

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHEAP_HASHER = WerkzeugPasswordHasher("pbkdf2:sha256:1000")  # signing in is not under test
# Rules axe files under best practice that WCAG 1.3.1 (info and relationships) asks for too:
# a header cell with no text names no column for a screen reader.
EXTRA_RULES = ["empty-table-header"]
WIDTHS = {"desktop": (1280, 800), "phone": (375, 812)}
# Tried in this order for each page; the first that gets it (200, no redirect) audits it. The
# team lead before the caseworker: the same pages with the team's controls on them.
ROLES = ("anonymous", "teamlead", "caseworker", "designer", "commissioner", "admin")
NOT_PAGES = re.compile(r"^/(static|vendor|api)/|\.[a-z]+$")  # files and data, by address
SAMPLES_HINT = ("add a sample value for it to the samples _seed() returns in "
                "tests/browser/test_accessibility.py (an id from the demo programme that one "
                "of ROLES can open)")


# -- which pages: the url_map -----------------------------------------------------------------


class MissingSample(LookupError):
    """A page's address has a parameter with no sample value."""


def page_rules(url_map: Map) -> list[Rule]:
    """The GET routes that may answer a page: not files or data, by their address."""
    return sorted((rule for rule in url_map.iter_rules()
                   if "GET" in (rule.methods or ()) and not NOT_PAGES.search(rule.rule)),
                  key=lambda rule: rule.rule)


def page_url(rule: Rule, samples: dict[str, str]) -> str:
    """The rule's address with a sample value for each parameter, or MissingSample."""
    missing = sorted(set(rule.arguments) - set(samples))
    if missing:
        raise MissingSample(f"the page {rule.rule} ({rule.endpoint}) has no sample value for "
                            f"<{'>, <'.join(missing)}>: {SAMPLES_HINT}")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: samples[m[1]], rule.rule)


def test_a_page_with_a_parameter_nobody_gave_a_sample_for_fails_saying_so() -> None:
    app = Flask("later")
    app.add_url_rule("/things/<int:thing_id>", "things.thing", lambda thing_id: "")
    app.add_url_rule("/things/<int:thing_id>.csv", "things.csv", lambda thing_id: "")
    (rule,) = [r for r in page_rules(app.url_map) if r.endpoint != "static"]
    assert rule.endpoint == "things.thing"  # the .csv is a file, not a page
    with pytest.raises(MissingSample, match=r"/things/<int:thing_id> .* <thing_id>: add a "
                                            r"sample value for it to the samples _seed"):
        page_url(rule, {"case_id": "1"})
    assert page_url(rule, {"thing_id": "7"}) == "/things/7"


# -- the demo programme, served once for the module ---------------------------------------------


@dataclass
class Site:
    live: LiveApp
    browser: Browser
    samples: dict[str, str]
    spare_tasks: list[str]  # open needs assessments no other test uses: completed under a form
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)

    def page_as(self, role: str) -> Page:
        """The role's one page, signed in (anonymous: not), reused by every audit."""
        if role not in self.pages:
            # bypass_csp: the app's Content-Security-Policy forbids inline scripts, as it
            # should; axe is added as one, by the test only
            context = self.browser.new_context(base_url=self.live.base_url, bypass_csp=True,
                                               viewport={"width": 1280, "height": 800})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            if role != "anonymous":  # through the form's POST: the context keeps the cookie
                form = page.request.get("/login").text()
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token is not None, form
                signed_in = page.request.post("/login", max_redirects=0, form={
                    "username": role, "password": DEMO_PASSWORD, "csrf_token": token[1]})
                assert signed_in.status == 302, (role, signed_in.status)
            self.contexts[role], self.pages[role] = context, page
        return self.pages[role]


def _seed(live: LiveApp) -> tuple[dict[str, str], list[str]]:
    """The demo programme as `pathways init --demo` makes it, one migration run on it (so
    its page has an id), and a sample value for every parameter of every page."""
    application = live.application
    engine = application.engine
    ordered = publish_order(PROJECT_ROOT / "definitions")
    known = {pathway_name(path) for path, _ in ordered}
    for path, note in ordered:
        files, main = read_bundle(path, known_pathways=known)
        engine.publish(files, main, note=note, author="accessibility test")
    assert seed_demo(application).created
    tasks = [view.task for view in engine.list_tasks(pathway="gate_reception")
             if view.task.organisation in (None, "st_giles_trust")]
    task = next(t for t in tasks if t.step == "needs_assessment" and t.assignee is None)
    case = engine.get_case(task.case_id).case
    moved = next(t for t in tasks if t.version == 1 and t.case_id != case.id)
    engine.migrate("gate_reception", 1, 2, case_ids=[moved.case_id], actor="designer")
    migration = engine.migrations("gate_reception")[-1]
    document = application.attachments.add(
        application.accounts.get_user("caseworker"), case.client_id, "consent.pdf",
        b"%PDF-1.4\n%%EOF\n", case_id=case.id)
    spare = [t.id for t in tasks if t.step == "needs_assessment" and t.assignee is None
             and t.id != task.id and t.case_id != moved.case_id][:len(WIDTHS)]
    return ({"task_id": task.id, "case_id": str(case.id), "client_id": str(case.client_id),
             "name": "gate_reception", "number": "2", "migration_id": str(migration.id),
             "username": "caseworker", "attachment_id": str(document.id)},
            spare)


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("accessibility")
    settings = Settings(database_url=f"sqlite:///{folder / 'pathways.sqlite3'}",
                        secret_key="browser-tests", secure_cookies=False)
    application = bootstrap(settings, hasher=CHEAP_HASHER)
    flask_app = create_app(application)
    limiter.reset()
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-app", daemon=True)
    thread.start()
    live = LiveApp(base_url=f"http://127.0.0.1:{server.server_port}",
                   application=application, flask_app=flask_app)

    def record(_sender: Flask, exception: BaseException, **_extra: Any) -> None:
        live.server_errors.append(repr(exception))

    got_request_exception.connect(record, flask_app)
    site = Site(live, browser, *_seed(live))
    try:
        yield site
    finally:
        for context in site.contexts.values():
            context.close()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, flask_app)
        application.close()


@dataclass(frozen=True)
class Target:
    endpoint: str
    url: str
    role: str


@pytest.fixture(scope="module")
def targets(site: Site) -> list[Target]:
    """Every page the url_map has, with the role that opens it; routes that answer
    something other than HTML, or only redirect, are left out."""
    found: list[Target] = []
    for rule in page_rules(site.live.flask_app.url_map):
        url = page_url(rule, site.samples)
        statuses = []
        for role in ROLES:
            response = site.page_as(role).request.get(url, max_redirects=0)
            statuses.append(f"{role} {response.status}")
            if response.status == 200:
                if response.headers.get("content-type", "").startswith("text/html"):
                    found.append(Target(rule.endpoint, url, role))
                break
        else:
            if all(status.endswith(("301", "302", "303")) for status in statuses):
                continue  # only sends each role on (/ does): its targets are pages here
            pytest.fail(f"no role may open {url} ({rule.endpoint}: {', '.join(statuses)}); "
                        f"{SAMPLES_HINT}", pytrace=False)
    return found


# -- auditing --------------------------------------------------------------------------------


@functools.cache
def _axe_source() -> str:
    return AXE.read_text("utf-8")


def audit(page: Page, where: str) -> list[str]:
    """axe's WCAG 2.2 AA violations on the page as it is now, one line per element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=_axe_source())
    result = page.evaluate("""([tags, rules]) => axe.run(document, {
        runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        rules: Object.fromEntries(rules.map(rule => [rule, {enabled: true}]))})""",
                           [TAGS, EXTRA_RULES])
    return [f"{where}: {violation['id']} ({violation['impact']}) at "
            f"{' '.join(map(str, node['target']))}: {violation['help']}"
            for violation in result["violations"] for node in violation["nodes"]]


# What a page draws after it has loaded, done: every bpmn-js diagram (web/static/diagram.js),
# and the editor's first check of its text with the preview that check draws (editor.js).
DRAWN = """() => {
    if (![...document.querySelectorAll('.bpmn-diagram')].every(d => d.dataset.rendered)) {
        return false;
    }
    const problems = document.getElementById('problems');
    const preview = document.getElementById('preview');
    if (!problems || !preview || !document.getElementById('source')) return true;
    return !!problems.dataset.checked
        && (!!preview.dataset.rendered || !!problems.querySelector('.error'));
}"""


def open_everything(page: Page) -> None:
    """Opens every <details> (the dashboard's figures, say), so what they hide is checked."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


def _size(page: Page, width: str) -> None:
    wide, high = WIDTHS[width]
    page.set_viewport_size({"width": wide, "height": high})


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_meets_wcag_2_2_aa(site: Site, targets: list[Target], snap: Snap,
                                      width: str) -> None:
    assert AXE.exists(), f"{AXE} is missing: run `make install` (npm ci installs axe-core)"
    assert len(targets) >= 20, [target.url for target in targets]  # 20 pages in December 2026
    violations: list[str] = []
    for target in targets:
        page = site.page_as(target.role)
        _size(page, width)
        response = page.goto(target.url)
        assert response is not None and response.status == 200, target
        page.wait_for_function(DRAWN)
        snap(page, target.endpoint)
        open_everything(page)
        violations += audit(page, f"{target.url} as {target.role} at {width}")
    assert not site.live.server_errors, site.live.server_errors
    assert not violations, (f"{len(violations)} WCAG 2.2 AA violation(s):\n"
                            + "\n".join(violations))


@pytest.mark.parametrize("width", WIDTHS)
def test_a_task_form_refused_for_a_missing_answer_meets_wcag_2_2_aa(
        site: Site, snap: Snap, width: str) -> None:
    """The error summary and the fields marked invalid, after a submit with nothing filled."""
    page = site.page_as("teamlead")
    _size(page, width)
    page.goto(f"/tasks/{site.samples['task_id']}")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the fields marked below.")
    expect(page.locator(".field-error").first).to_be_visible()
    violations = audit(page, f"the refused task form at {width}")
    snap(page, "task-refused")
    assert not violations, "\n".join(violations)


def test_the_inbox_as_cards_on_a_phone_meets_wcag_2_2_aa(site: Site, snap: Snap) -> None:
    """At 375 px each inbox row is a card (labelled cells, Open, Claim, a checkbox), here
    with the status message of a task just claimed (the page test checks it without)."""
    page = site.page_as("teamlead")
    _size(page, "phone")
    page.goto("/inbox?scope=role")
    rows = page.locator("table.inbox tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 5
    assert page.evaluate("getComputedStyle(document.querySelector('table.inbox tbody tr'))"
                         ".display") != "table-row", "the inbox rows are not cards at 375 px"
    rows.first.get_by_role("button", name=re.compile(r"^Claim ")).click()
    expect(page.get_by_role("status").filter(has_text="The task is yours.")).to_be_visible()
    violations = audit(page, "the inbox as cards, a task claimed")
    snap(page, "phone.inbox-claimed")
    page.locator("table.inbox tbody tr").filter(has_text="Terry Lead").first.get_by_role(
        "button", name=re.compile(r"^Give back ")).click()
    expect(page.get_by_role("status").filter(
        has_text="The task is back in the team's list.")).to_be_visible()
    assert not violations, "\n".join(violations)


ASSESSED = {"needs_accommodation": False, "needs_benefits": False,
            "needs_substance_misuse": False, "needs_family": False, "needs_employment": False,
            "risk_level": "low"}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_pages_that_refuse_meet_wcag_2_2_aa(site: Site, snap: Snap, width: str) -> None:
    """Pages no GET answers with 200: not found (404), a reason asked before another
    organisation's record opens (403), and a task completed by someone else while its form
    was open (409, the answers shown back)."""
    violations: list[str] = []
    page = site.page_as("teamlead")
    _size(page, width)
    response = page.goto("/tasks/no-such-task")
    assert response is not None and response.status == 404
    snap(page, "not-found")
    violations += audit(page, f"the not-found page at {width}")

    task_id = site.spare_tasks[list(WIDTHS).index(width)]
    page.goto(f"/tasks/{task_id}")
    site.live.application.engine.complete_task(task_id, ASSESSED, actor="caseworker")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("alert")).to_contain_text("not saved")
    snap(page, "task-gone")
    violations += audit(page, f"a task completed meanwhile at {width}")

    other = site.page_as("family")  # Ormiston Families: not their client
    _size(other, width)
    response = other.goto(f"/clients/{site.samples['client_id']}")
    assert response is not None and response.status == 403
    expect(other.get_by_label("Reason")).to_be_visible()
    snap(other, "reason-needed")
    violations += audit(other, f"the reason asked for at {width}")
    assert not violations, "\n".join(violations)
