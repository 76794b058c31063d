"""Pages name things in words, and show dates one way (issue 18, item 7): a field hidden from
the reader by its form's label, organisations by their names, an unnamed decision without
its gw_ id, every date as "7 Oct 2026" and every time as "7 Oct 2026, 14:05"."""

from __future__ import annotations

import re

from engine.casework.case_page import decision_title
from tests.web.test_case_page import world  # noqa: F401
from tests.web.test_pages import World

DAY = r"\d{1,2} [A-Z][a-z]{2} \d{4}"  # 7 Oct 2026 (no leading zero)
ZERO_DAY = re.compile(r">0\d [A-Z][a-z]{2} \d{4}|\d{4}-\d\d-\d\d \d\d:\d\d")  # the old ways


def test_fields_hidden_from_the_reader_are_named_by_their_labels(world: World) -> None:  # noqa: F811
    world.application.casework.record_consent(world.user("sg_caseworker"),
                                              world.clients["aaron"], True, "programme",
                                              "One Service")
    page = world.client("om_caseworker").get(f"/clients/{world.clients['aaron']}").text
    (line,) = [x for x in page.splitlines() if "hidden from your role:" in x]
    assert "hidden from your role: Risk level, Substance misuse." in line
    assert "needs_substance_misuse" not in line and "risk_level" not in line


def test_the_access_log_names_organisations(world: World) -> None:  # noqa: F811
    world.client("sg_caseworker").get(f"/clients/{world.clients['aaron']}")
    page = world.client("sg_admin").get("/admin/access").text
    assert '<td data-label="Organisation">St Giles Trust</td>' in page
    assert ">st_giles_trust</td>" not in page


def test_an_unnamed_decision_is_said_in_words() -> None:
    assert decision_title("gw_refer_substance_misuse") == "Refer substance misuse"
    assert decision_title("risk_check") == "Risk check"


def test_dates_and_times_are_shown_one_way(world: World) -> None:  # noqa: F811
    client = world.client("sg_caseworker")
    aaron = world.clients["aaron"]
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    (gate,) = world.open_tasks(aaron)
    client.post(f"/tasks/{gate.id}", data={"action": "draft", "csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{gate.id}").text)[1]})  # type: ignore[index]
    task = client.get(f"/tasks/{gate.id}").text
    assert re.search(rf"Due {DAY}[.<]", task)
    assert re.search(rf"draft saved {DAY}, \d\d:\d\d<", task)
    record = client.get(f"/clients/{aaron}").text
    assert re.search(rf"<td>given</td><td>{DAY}</td>", record)  # a consent's effective day
    inbox = client.get("/inbox").text
    assert re.search(rf'<td data-label="Due">{DAY}', inbox)
    for page in (task, record, inbox, world.client("sg_admin").get("/admin/access").text):
        assert not ZERO_DAY.search(page), ZERO_DAY.search(page)


GATE = "Gate reception (Peterborough One Service)"  # the shipped process's name


def test_pages_name_a_pathway_by_its_title(world: World) -> None:  # noqa: F811
    """The inbox (rows and filter choices), the task's breadcrumb, the client record's cases
    and timeline and the case page say the pathway's title, never its id in words."""
    client = world.client("sg_caseworker")
    aaron = world.clients["aaron"]
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    (gate,) = world.open_tasks(aaron)
    inbox = client.get("/inbox").text
    assert f'<option value="gate_reception">{GATE}</option>' in inbox
    assert re.search(rf'<td data-label="Pathway"><a href="/cases/\d+">{re.escape(GATE)} v\d+</a>',
                     inbox)
    task = client.get(f"/tasks/{gate.id}").text
    assert f"{GATE} v{gate.version} · case {gate.case_id}" in task
    record = client.get(f"/clients/{aaron}").text
    assert f"<td>{GATE} v{gate.version}" in record
    case = client.get(f"/cases/{gate.case_id}").text
    assert f"<dd>{GATE} <span class=\"muted\">(version {gate.version})</span></dd>" in case
    for page in (inbox, task, record, case):
        assert not re.search(r"gate reception v\d", page.lower().replace(GATE.lower(), ""))
        assert "(gate reception, version" not in page
    for typed in ("gate reception", GATE):  # the id in words still filters, as the title does
        found = client.get("/inbox", query_string={"pathway": typed})
        assert found.status_code == 200 and 'id="filter-problems"' not in found.text
        assert f"/tasks/{gate.id}" in found.text


def test_pages_name_people_by_their_names(world: World) -> None:  # noqa: F811
    """Who did a step, who a task is assigned to: the user's name ("St Giles Trust
    caseworker"), not their username, on the inbox, task, client record and case page."""
    aaron = world.clients["aaron"]
    world.application.casework.record_consent(world.user("sg_caseworker"), aaron, True,
                                              "programme", "One Service")
    (task,) = world.open_tasks(aaron)
    world.application.casework.claim(world.user("sg_caseworker"), task.id)
    lead = world.client("sg_team_lead")
    name = world.user("sg_caseworker").name
    inbox = lead.get("/inbox").text
    assert f'<td data-label="Assigned to">{name}</td>' in inbox
    assert f"Assigned to {name}." in lead.get(f"/tasks/{task.id}").text
    record = lead.get(f"/clients/{aaron}").text
    assert f"by {name}" in record  # the needs assessment the fixture completed
    case = lead.get(f"/cases/{task.case_id}").text
    assert f"by {name}" in case and f'<td data-label="Assigned to">{name}</td>' in case
    for page in (inbox, record, case):
        assert "by sg_caseworker" not in page and ">sg_caseworker</td>" not in page
