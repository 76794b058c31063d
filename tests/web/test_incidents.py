"""Incidents on the web (issue 11): a case that fails after a caseworker's answers were saved
is reported to them plainly; the client record shows a case in error with its reason (hidden
where it names what the viewer may not see); team leads and admins list incidents and retry
them, on the pages and through the API."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from dsl import compile_pathway
from tests.incident_bundles import dated_wait
from tests.web.conftest import Site, csrf_token, force_sign_in
from tests.web.test_pages import World, build_world

API = "/api/v1"


def org_wait(org_id: str, *, field: str = "release_date", sensitive: str | None = None
             ) -> dict[str, Any]:
    """dated_wait owned by the organisation (its worker role theirs alone), waiting until a
    client date field (marked sensitive when asked)."""
    doc = dated_wait()
    doc["pathway"] = f"{org_id}_wait"
    doc["organisation"] = org_id
    doc["roles"] = {"worker": {"title": "Worker", "organisations": [org_id]}}
    doc["client_fields"] = {field: {"type": "date", "sensitive": sensitive} if sensitive
                            else "date"}
    doc["steps"][1]["until"] = field
    return doc


def publish_waits(world: World) -> None:
    for org_id in ("st_giles_trust", "ormiston_families"):
        compiled = compile_pathway(org_wait(org_id))
        world.application.engine.publish(compiled.files(), compiled.bpmn_file)


def failing_case(world: World, org: str, name: str = "Dee Vane") -> tuple[int, int, str]:
    """A client of the organisation (no release date) whose wait case is at its intake:
    (client id, case id, intake task id). Completing the intake puts the case in error."""
    org_id = "st_giles_trust" if org == "sg" else "ormiston_families"
    application = world.application
    client = application.casework.add_client(world.user(f"{org}_caseworker"), name, {})
    assert client.id is not None
    view = application.engine.start_case(f"{org_id}_wait", client.id,
                                         actor=f"{org}_caseworker")
    assert view.case.id is not None
    return client.id, view.case.id, view.tasks[0].task.id


def in_error(world: World, org: str, name: str = "Dee Vane") -> tuple[int, int]:
    client_id, case_id, task_id = failing_case(world, org, name)
    result = world.application.engine.complete_task(task_id, {"notes": "seen"},
                                                    actor=f"{org}_caseworker")
    assert result.status == "error"
    return client_id, case_id


@pytest.fixture
def world(site: Site) -> World:
    found = build_world(site)
    publish_waits(found)
    return found


def signed_in(world: World, username: str) -> FlaskClient:
    client = world.app_site.client()
    force_sign_in(client, world.app_site, username)
    return client


def alerts(html: str) -> list[str]:
    return re.findall(r'<p class="flash error" role="alert">([^<]*)</p>', html)


def case_status(world: World, case_id: int) -> tuple[str, dict[str, Any] | None]:
    with world.uow() as uow:
        case = uow.cases.get(case_id, with_state=False)
        return case.status, case.error


# -- 1. the caseworker is told ---------------------------------------------------------------


def test_completing_a_task_whose_case_then_fails_tells_the_caseworker(world: World) -> None:
    client_id, case_id, task_id = failing_case(world, "sg")
    browser = signed_in(world, "sg_caseworker")
    token = csrf_token(browser.get(f"/tasks/{task_id}").text)

    response = browser.post(f"/tasks/{task_id}", data={
        "csrf_token": token, "action": "complete", "notes": "seen at the gate"})

    assert response.status_code == 302
    assert response.location == f"/clients/{client_id}"  # not an inbox it vanished from
    page = browser.get(response.location).text
    [told] = alerts(page)
    assert "answers were saved" in told and f"case {case_id}" in told
    assert "until release" in told and "release_date" in told
    assert "programme office" in told
    status, error = case_status(world, case_id)
    assert status == "error" and error is not None and error["step"] == "until_release"


def test_the_api_completion_carries_the_error(world: World) -> None:
    _, case_id, task_id = failing_case(world, "sg")
    _, token = world.application.accounts.issue_token("sg_caseworker", "tests")
    response = world.app_site.client().post(
        f"{API}/tasks/{task_id}/complete", json={"data": {"notes": "seen"}},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json
    assert body["case_id"] == case_id and body["status"] == "error"
    assert body["error"]["step"] == "until_release"
    assert "release_date" in body["error"]["message"]
    assert body["next_task"] is None


# -- 2. the client record ------------------------------------------------------------------------


def test_the_client_record_shows_a_case_in_error_with_its_reason(world: World) -> None:
    client_id, case_id = in_error(world, "sg")
    page = signed_in(world, "sg_caseworker").get(f"/clients/{client_id}").text
    assert re.search(r"<td>error<p class=\"error case-error\">Stopped at step until release: "
                     r"[^<]*release_date", page), page
    assert "/admin/incidents" not in page.split("<h2>Cases</h2>")[1]  # not theirs to fix
    lead = signed_in(world, "sg_team_lead").get(f"/clients/{client_id}").text
    assert f"/admin/incidents#case-{case_id}" in lead


def sensitive_wait() -> dict[str, Any]:
    """The intake asks for the risk level (offence data); a high risk leads to a wait on the
    client's licence end date, a step that reveals the risk level (engine.access.privacy)."""
    doc = org_wait("st_giles_trust", field="licence_end")
    doc["pathway"] = "licence_wait"
    doc["steps"][0]["form"]["risk"] = {"type": "choice", "options": ["low", "high"],
                                       "sensitive": "offence"}
    wait = doc["steps"].pop(1)
    doc["steps"].insert(1, {"decide": "gw_risk", "branches": [
        {"when": 'risk == "high"', "steps": [wait]}], "otherwise": []})
    return doc


def test_a_reason_naming_a_sensitive_step_is_hidden_from_who_may_not_see_it(
        world: World) -> None:
    compiled = compile_pathway(sensitive_wait())
    world.application.engine.publish(compiled.files(), compiled.bpmn_file)
    assert "until_release" in world.application.engine.definition(
        "licence_wait", 1).sensitive_steps
    client = world.application.casework.add_client(world.user("sg_caseworker"), "Eve Stone",
                                                   {})
    assert client.id is not None
    view = world.application.engine.start_case("licence_wait", client.id)
    done = world.application.engine.complete_task(view.tasks[0].task.id,
                                                  {"notes": "x", "risk": "high"})
    assert done.status == "error"
    world.application.casework.record_consent(world.user("sg_caseworker"), client.id, True,
                                              "programme", "Sharing with the partnership")
    own = signed_in(world, "sg_caseworker").get(f"/clients/{client.id}").text
    assert "Stopped at step until release" in own and "licence_end" in own
    other = signed_in(world, "om_caseworker").get(f"/clients/{client.id}")
    assert other.status_code == 200  # the programme consent opens it, offence not consented
    cases = other.text.split("<h2>Cases</h2>")[1].split("<h2>")[0]
    assert "<td>error<p" in cases and "Stopped: [hidden]" in cases
    assert "until release" not in cases and "licence_end" not in cases


# -- 3. incidents and retry -------------------------------------------------------------------


def test_incidents_list_the_cases_in_error_a_lead_may_retry(world: World) -> None:
    _, sg_case = in_error(world, "sg", "Dee Vane")
    _, om_case = in_error(world, "om", "Olga Ray")
    sg_lead = signed_in(world, "sg_team_lead").get("/admin/incidents")
    assert sg_lead.status_code == 200
    assert f'id="case-{sg_case}"' in sg_lead.text and f'id="case-{om_case}"' not in sg_lead.text
    row = sg_lead.text.split(f'id="case-{sg_case}"')[1].split("</tr>")[0]
    assert "Dated wait v1" in row and "until_release" in row  # the pathway by its title
    assert "release_date" in row and "Dee Vane" in row and " UTC" in row
    assert 'name="csrf_token"' in row and '<option value="1" selected>1 (current)' in row
    admin = signed_in(world, "sg_admin").get("/admin/incidents").text
    assert f'id="case-{sg_case}"' in admin and f'id="case-{om_case}"' in admin
    for user in ("sg_caseworker", "sg_designer", "sg_commissioner"):
        assert signed_in(world, user).get("/admin/incidents").status_code == 403


def test_retry_with_data_resumes_the_failed_step(world: World) -> None:
    client_id, case_id = in_error(world, "sg")
    browser = signed_in(world, "sg_team_lead")
    token = csrf_token(browser.get("/admin/incidents").text)
    response = browser.post(f"/admin/incidents/{case_id}/retry", data={
        "csrf_token": token, "version": "1",
        "data": '{"client": {"release_date": "2030-02-01"}}'})
    assert response.status_code == 302 and response.location == "/admin/incidents"
    page = browser.get("/admin/incidents").text
    assert f"Case {case_id} was retried on version 1: it is now active." in page
    assert f'id="case-{case_id}"' not in page
    assert case_status(world, case_id) == ("active", None)
    with world.uow() as uow:
        assert uow.clients.get(client_id).fields["release_date"] == "2030-02-01"
        assert any(e.action == "retry_case" and e.username == "sg_team_lead"
                   for e in uow.access_log.list(client_id=client_id))


def test_a_retry_that_fails_again_says_so(world: World) -> None:
    _, case_id = in_error(world, "sg")
    browser = signed_in(world, "sg_admin")
    token = csrf_token(browser.get("/admin/incidents").text)
    response = browser.post(f"/admin/incidents/{case_id}/retry",
                            data={"csrf_token": token, "version": "1", "data": ""})
    assert response.status_code == 302
    [told] = alerts(browser.get("/admin/incidents").text)
    assert f"Case {case_id} was retried on version 1 but failed again" in told
    assert "release_date" in told
    assert case_status(world, case_id)[0] == "error"


@pytest.mark.parametrize(("data", "version", "field", "problem"), [
    ("{not json", "1", "data", "is not valid JSON"),
    ("[1, 2]", "1", "data", "must be a JSON object"),
    ('{"n": NaN}', "1", "data", "is not valid JSON"),  # strict, as the CLI's --data
    ('{"client": {"release_date": "soon"}}', "1", "data", "release_date"),
    ('{"client": "x"}', "1", "data", '"client" in the retry data must be an object'),
    ("", "7", "version", "is not a published version"),
    ("", "one", "version", "choose a published version"),
])
def test_retry_problems_are_shown_beside_the_field_and_the_input_kept(
        world: World, data: str, version: str, field: str, problem: str) -> None:
    _, case_id = in_error(world, "sg")
    browser = signed_in(world, "sg_team_lead")
    token = csrf_token(browser.get("/admin/incidents").text)
    response = browser.post(f"/admin/incidents/{case_id}/retry",
                            data={"csrf_token": token, "version": version, "data": data})
    assert response.status_code == 422
    errors = re.findall(rf'<p class="field-error" id="error-{field}-{case_id}">([^<]*)</p>',
                        response.text)
    assert errors and problem in " ".join(errors).replace("&#34;", '"'), response.text
    kept = str(escape(data))  # what was typed, back in the box
    assert re.search(rf'<textarea id="data-{case_id}" name="data"[^>]*>{re.escape(kept)}'
                     r'</textarea>', response.text), response.text
    assert case_status(world, case_id)[0] == "error"


def test_a_lead_cancels_a_case_in_error_with_a_reason(world: World) -> None:
    client_id, case_id = in_error(world, "sg")
    browser = signed_in(world, "sg_team_lead")
    token = csrf_token(browser.get("/admin/incidents").text)
    response = browser.post(f"/admin/incidents/{case_id}/cancel", data={
        "csrf_token": token, "reason": "  Client moved out of the area  "})
    assert response.status_code == 302 and response.location == "/admin/incidents"
    page = browser.get("/admin/incidents").text
    assert f"Case {case_id} was cancelled: Client moved out of the area" in page
    assert f'id="case-{case_id}"' not in page
    assert case_status(world, case_id)[0] == "cancelled"
    with world.uow() as uow:
        [cancelled] = [e for e in uow.events.list(case_id) if e.type == "case_cancelled"]
        assert cancelled.actor == "sg_team_lead"
        assert cancelled.data == {"reason": "Client moved out of the area"}
        assert any(e.action == "cancel_case" and e.username == "sg_team_lead"
                   and e.reason == "Client moved out of the area"
                   for e in uow.access_log.list(client_id=client_id))
    again = browser.post(f"/admin/incidents/{case_id}/cancel", data={
        "csrf_token": token, "reason": "twice"})
    assert again.status_code == 409  # no longer in error: nothing to cancel


@pytest.mark.parametrize(("reason", "problem"), [
    ("", "say why the case is cancelled"), ("   ", "say why the case is cancelled"),
    ("x" * 501, "at most 500 characters")])
def test_a_cancellation_without_a_reason_is_refused_beside_the_field(
        world: World, reason: str, problem: str) -> None:
    _, case_id = in_error(world, "sg")
    browser = signed_in(world, "sg_admin")
    token = csrf_token(browser.get("/admin/incidents").text)
    response = browser.post(f"/admin/incidents/{case_id}/cancel",
                            data={"csrf_token": token, "reason": reason})
    assert response.status_code == 422
    assert re.search(rf'<p class="field-error" id="error-reason-{case_id}">{problem}</p>',
                     response.text), response.text
    assert 'name="reason" maxlength="500" aria-invalid="true"' in response.text
    assert case_status(world, case_id)[0] == "error"


def test_only_the_leads_who_may_retry_a_case_may_cancel_it(world: World) -> None:
    _, case_id = in_error(world, "sg")
    for user, status in (("om_team_lead", 404), ("sg_caseworker", 403),
                         ("sg_designer", 403)):
        browser = signed_in(world, user)
        token = csrf_token(browser.get("/pathways" if user == "sg_designer"
                                       else "/inbox").text)
        response = browser.post(f"/admin/incidents/{case_id}/cancel",
                                data={"csrf_token": token, "reason": "not mine"})
        assert response.status_code == status, user
    assert case_status(world, case_id)[0] == "error"


def test_retry_through_the_api(world: World) -> None:
    _, case_id = in_error(world, "sg")
    _, om_case = in_error(world, "om", "Olga Ray")
    tokens = {u: world.application.accounts.issue_token(u, "tests")[1]
              for u in ("sg_team_lead", "sg_caseworker", "om_team_lead", "sg_admin")}

    def call(user: str, method: str, path: str, body: Any = None) -> Any:
        return world.app_site.client().open(
            API + path, method=method, json=body,
            headers={"Authorization": f"Bearer {tokens[user]}"})

    listed = call("sg_team_lead", "GET", "/incidents")
    assert listed.status_code == 200
    [incident] = listed.json["incidents"]
    assert incident["id"] == case_id and incident["error"]["step"] == "until_release"
    assert incident["versions"] == [1] and incident["since"]
    assert {i["id"] for i in call("sg_admin", "GET", "/incidents").json["incidents"]} == {
        case_id, om_case}
    assert call("sg_caseworker", "GET", "/incidents").json["error"]["code"] == "forbidden"

    refused = call("sg_caseworker", "POST", f"/cases/{case_id}/retry", {})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden", refused.text
    hidden = call("om_team_lead", "POST", f"/cases/{case_id}/retry", {})
    assert hidden.status_code == 404 and hidden.json["error"]["code"] == "not_found"
    bad = call("sg_team_lead", "POST", f"/cases/{case_id}/retry", {"version": 0, "x": 1})
    assert bad.status_code == 400 and set(bad.json["error"]["details"]["fields"]) == {
        "version", "x"}
    wrong_type = call("sg_team_lead", "POST", f"/cases/{case_id}/retry",
                      {"data": {"client": {"release_date": "soon"}}})
    assert wrong_type.status_code == 422 and wrong_type.json["error"]["code"] == "invalid_data"
    unknown = call("sg_team_lead", "POST", f"/cases/{case_id}/retry", {"version": 9})
    assert unknown.status_code == 400
    assert "version" in unknown.json["error"]["details"]["fields"]
    assert case_status(world, case_id)[0] == "error"

    done = call("sg_team_lead", "POST", f"/cases/{case_id}/retry",
                {"data": {"client": {"release_date": "2030-02-01"}}})
    assert done.status_code == 200, done.text
    assert done.json["case"]["status"] == "active" and done.json["case"]["error"] is None
    again = call("sg_team_lead", "POST", f"/cases/{case_id}/retry", {})
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"

