"""The case page (/cases/K), its diagram and GET /api/v1/cases/K (issue 18, item 1): what the
next worker reads of a case, and who may read it - the client record's rules, role by role.

Sensitive steps and values are tested on the shipped pathways' sensitive branches in
tests/security/test_case_page_privacy.py; here the access rules: the client's own
organisation and admins read it; another organisation's staff get the break-glass page (a
reason, logged, opens it read-only and leads back to the case) or read it under the client's
programme consent with health and offence values hidden; designers and commissioners never
open it; a reason never goes in an address.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.web.conftest import Site, csrf_token
from tests.web.test_pages import World, build_world

ASSESSMENT = {"needs_accommodation": True, "needs_benefits": False,
              "needs_substance_misuse": False, "needs_family": False,
              "needs_employment": True, "risk_level": "high", "notes": "Wants to go home"}
DAY = r"\d{1,2} [A-Z][a-z]{2} \d{4}"  # 7 Oct 2026
REASON = "Client came to our office asking for urgent help"


@pytest.fixture
def world(site: Site) -> World:
    world = build_world(site)
    world.application.casework.complete(world.user("sg_caseworker"), world.tasks["aaron"],
                                        ASSESSMENT)
    return world


def aaron_case(world: World) -> int:
    with world.uow() as uow:
        (case,) = uow.cases.list(client_id=world.clients["aaron"])
        assert case.id is not None
        return case.id


def marks(html: str) -> dict[str, str]:
    found = re.search(r'data-marks="([^"]*)"', html)
    assert found
    return dict(json.loads(found.group(1).replace("&#34;", '"')))


def api(world: World, username: str, path: str, **headers: str) -> Any:
    token = world.application.accounts.issue_token(username, "tests")[1]
    return world.app_site.client().get(
        "/api/v1" + path, headers={"Authorization": f"Bearer {token}", **headers})


def test_the_case_page_shows_steps_answers_what_it_waits_for_and_where_it_is(
        world: World) -> None:
    case_id = aaron_case(world)
    client = world.client("sg_caseworker")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text[:400]
    html = page.text
    assert "<h1>Gate reception (Peterborough One Service)" in html and f"case {case_id}" in html
    assert f'<a href="/clients/{world.clients["aaron"]}">Aaron Smith</a>' in html
    assert '<dd id="case-status">active</dd>' in html
    assert re.search(rf"<dt>Started</dt><dd>{DAY}, \d\d:\d\d</dd>", html)
    # waiting for now: the open task, its lane, assignee and due day
    (gate,) = world.open_tasks(world.clients["aaron"])
    assert f'<a href="/tasks/{gate.id}">Meet client at the prison gate</a>' in html
    assert '<td data-label="Lane">Gate worker (St Giles Trust)</td>' in html
    assert "not assigned" in html
    assert re.search(rf'<td data-label="Due">{DAY}</td>', html)
    # steps done: who, when, the answers labelled and in words
    assert "<h3>Needs assessment</h3>" in html and "by St Giles Trust caseworker" in html
    for label, text in (("Accommodation", "Yes"), ("Benefits and money", "No"),
                        ("Risk level", "high"), ("Notes", "Wants to go home")):
        assert f"<dt>{label}</dt><dd>{text}</dd>" in html, label
    # the diagram: drawn by the app's bpmn-js from the case's own BPMN, position marked
    assert f'data-bpmn="/cases/{case_id}/diagram.bpmn"' in html
    assert "/vendor/bpmn-js/" in html
    assert marks(html) == {"needs_assessment": "done", "gate_meeting": "current"}
    diagram = client.get(f"/cases/{case_id}/diagram.bpmn")
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert 'id="gate_meeting"' in diagram.text and "hidden_" not in diagram.text
    assert "extensionElements" not in diagram.text  # forms and properties are not drawn
    entry = world.access_log(world.clients["aaron"])[-1]
    assert (entry.action, entry.username, entry.detail["case"]) == (
        "view_case", "sg_caseworker", case_id)


def test_the_client_record_the_task_page_and_the_inbox_link_to_the_case(world: World) -> None:
    case_id = aaron_case(world)
    client = world.client("sg_caseworker")
    link = f'href="/cases/{case_id}"'
    assert link in client.get(f"/clients/{world.clients['aaron']}").text
    (gate,) = world.open_tasks(world.clients["aaron"])
    assert link in world.client("sg_caseworker").get(f"/tasks/{gate.id}").text
    assert link in client.get("/inbox").text


@pytest.mark.parametrize(("username", "status"), [
    ("sg_caseworker", 200), ("sg_team_lead", 200), ("sg_admin", 200), ("om_admin", 200),
    ("om_caseworker", 403), ("om_team_lead", 403), ("sg_designer", 403),
    ("om_designer", 403), ("sg_commissioner", 403), ("om_commissioner", 403)])
def test_who_reads_the_case(world: World, username: str, status: int) -> None:
    case_id = aaron_case(world)
    client = world.client(username)
    page = client.get(f"/cases/{case_id}")
    diagram = client.get(f"/cases/{case_id}/diagram.bpmn")
    answer = api(world, username, f"/cases/{case_id}")
    assert (page.status_code, diagram.status_code, answer.status_code) == (
        status, status, status), page.text[:300]
    if status == 200:
        assert "<dt>Risk level</dt><dd>high</dd>" in page.text
        assert answer.json["case"]["data"]["risk_level"] == "high"
        return
    assert "Aaron Smith" not in page.text and "Aaron" not in answer.text
    assert "Wants to go home" not in page.text + diagram.text + answer.text
    staff = username.split("_", 1)[1] in ("caseworker", "team_lead")
    assert ('name="reason"' in page.text) is staff  # a reason would open it to case staff
    assert (f'name="case" value="{case_id}"' in page.text) is staff
    assert answer.json["error"]["details"].get("reason_required", False) is staff


def test_nobody_signed_in_is_sent_to_sign_in_and_a_reason_never_goes_in_the_address(
        world: World) -> None:
    case_id = aaron_case(world)
    anonymous = world.app_site.client()
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/diagram.bpmn"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.location.startswith("/login"), path
    assert anonymous.get(f"/cases/{case_id}?reason=Just+looking").status_code == 400
    assert world.client("sg_caseworker").get(
        f"/cases/{case_id}?reason=Just+looking").status_code == 400
    in_url = api(world, "om_caseworker", f"/cases/{case_id}?reason=Just+looking+around")
    assert in_url.status_code == 400
    for unknown in ("/cases/999999", "/cases/999999/diagram.bpmn"):
        assert world.client("sg_admin").get(unknown).status_code == 404
    assert api(world, "sg_admin", "/cases/999999").status_code == 404


def test_a_reason_opens_the_case_read_only_and_is_logged(world: World) -> None:
    case_id = aaron_case(world)
    aaron = world.clients["aaron"]
    client = world.client("om_caseworker")
    refused = client.get(f"/cases/{case_id}")
    assert refused.status_code == 403
    assert world.access_log(aaron)[-1].action == "view_client_refused"
    given = client.post(f"/clients/{aaron}/open", data={
        "csrf_token": csrf_token(refused.text), "reason": REASON, "case": str(case_id)})
    assert given.status_code == 302 and given.location == f"/cases/{case_id}"
    opened = client.get(given.location)
    assert opened.status_code == 200
    html = opened.text
    assert "Opened with a recorded reason: Client came to our office" in html
    assert '<dt>Risk level</dt><dd class="muted">hidden from your role</dd>' in html
    assert "<dt>Accommodation</dt><dd>Yes</dd>" in html
    entry = world.access_log(aaron)[-1]
    assert (entry.action, entry.reason, entry.detail["case"], entry.detail["break_glass"]) == (
        "view_case", REASON, case_id, True)
    assert "grant" in entry.detail  # under the opening the reason made
    report = world.application.casework.access_report(None, break_glass=True)
    assert [r.viewed for r in report if r.username == "om_caseworker"] == [
        "client record (health, offence hidden)", f"case {case_id} (health, offence hidden)"]
    # the API: the same refusal, and the same reason in its header
    refused_api = api(world, "om_team_lead", f"/cases/{case_id}")
    assert refused_api.status_code == 403
    opened_api = api(world, "om_team_lead", f"/cases/{case_id}", **{"X-Pathways-Reason": REASON})
    assert opened_api.status_code == 200, opened_api.text
    body = opened_api.json
    assert body["basis"] == "break_glass" and body["case"]["data"]["risk_level"] == "[hidden]"
    (assessment,) = [s for s in body["steps"] if s["step"] == "needs_assessment"]
    assert {"name": "risk_level", "label": "Risk level", "text": "[hidden]",
            "hidden": True} in assessment["answers"]


def test_under_the_programme_consent_another_organisation_reads_it_without_sensitive_values(
        world: World) -> None:
    case_id = aaron_case(world)
    world.application.casework.record_consent(world.user("sg_caseworker"),
                                              world.clients["aaron"], True, "programme",
                                              "One Service")
    page = world.client("om_caseworker").get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert '<dt>Risk level</dt><dd class="muted">hidden from your role</dd>' in page.text
    assert "Opened with a recorded reason" not in page.text
    body = api(world, "om_caseworker", f"/cases/{case_id}").json
    assert body["basis"] == "consent" and "risk_level" in body["hidden_fields"]
