"""The JSON API under /api/v1: bearer tokens, every endpoint's happy path, the same access
rules as the pages (another organisation's task is not found, designers and commissioners
are refused), invalid input as JSON errors with details.fields, and the OpenAPI document.

Each test builds a small programme on a real database (SQLite and PostgreSQL): the shipped
definitions, St Giles Trust (sg) and Ormiston Families (om) with a user of every role and an
API token each, St Giles clients Aaron (release in 30 days) and Ben (released 10 days ago:
his task is overdue) on gate_reception, and Ormiston's client Cara on family_support.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from adapters.definition_files import pathway_name, publish_order, read_bundle
from engine import EngineError
from engine.model import User
from tests.web.conftest import PASSWORD, Site, StoredRecords, sign_in
from web import _STATUS_BY_CODE

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
ROLES = ("caseworker", "team_lead", "designer", "commissioner", "admin")
ORGANISATIONS = {"sg": ("st_giles_trust", "St Giles Trust"),
                 "om": ("ormiston_families", "Ormiston Families")}
PATHWAY_OF = {"sg": "gate_reception", "om": "family_support"}
ASSESSMENT = {"needs_accommodation": True, "needs_benefits": False,
              "needs_substance_misuse": False, "needs_family": False,
              "needs_employment": True, "risk_level": "high", "notes": "Seen in HMP"}
API = "/api/v1"


@functools.cache
def shipped_bundles() -> tuple[tuple[dict[str, str], str, str], ...]:
    order = publish_order(DEFINITIONS)
    known = {pathway_name(path) for path, _ in order}
    return tuple((*read_bundle(path, known_pathways=known), note) for path, note in order)


def json_body(response: TestResponse, status: int) -> Any:
    """The response's JSON body, once its status is checked (the body shown if it is not)."""
    assert response.status_code == status, response.text
    body = response.json
    assert body is not None
    return body


@dataclass
class World(StoredRecords):
    site: Site
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # username -> plain token
    clients: dict[str, int] = field(default_factory=dict)  # first name -> client id
    tasks: dict[str, str] = field(default_factory=dict)  # first name -> first open task

    @property
    def application(self) -> Any:
        return self.site.application

    def http(self) -> FlaskClient:
        return self.site.client()

    def call(self, username: str | None, method: str, path: str, *,
             json: Any = None, data: Any = None, **kwargs: Any) -> TestResponse:
        """A request to the API with the user's token (None: without one)."""
        headers = dict(kwargs.pop("headers", {}))
        if username is not None:
            headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return self.http().open(API + path, method=method, json=json, data=data,
                                headers=headers, **kwargs)


@pytest.fixture
def world(site: Site) -> World:
    application = site.application
    for files, main, note in shipped_bundles():
        application.engine.publish(dict(files), main, note=note, author="tests",
                                   unless_published=True)
    world = World(site)
    for prefix, (org_id, org_name) in ORGANISATIONS.items():
        application.accounts.add_organisation(org_id, org_name)
        for role in ROLES:
            username = f"{prefix}_{role}"
            world.users[username] = application.accounts.add_user(
                username, f"{org_name} {role}", org_id, role, PASSWORD)
            world.tokens[username] = application.accounts.issue_token(username, "tests")[1]
    today = date.today()
    for org, name, fields in (
            ("sg", "Aaron Smith", {"release_date": (today + timedelta(days=30)).isoformat()}),
            ("sg", "Ben Jones", {"release_date": (today - timedelta(days=10)).isoformat()}),
            ("om", "Cara Green", {"phone": "01733 123456"})):
        client = application.casework.add_client(world.users[f"{org}_caseworker"], name, fields)
        assert client.id is not None
        view = application.engine.start_case(PATHWAY_OF[org], client.id,
                                             actor=f"{org}_caseworker")
        first = name.split()[0].lower()
        world.clients[first], world.tasks[first] = client.id, view.tasks[0].task.id
    return world


def error_of(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.is_json, response.text
    error: dict[str, Any] = response.json["error"]  # type: ignore[index]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def fields_of(response: TestResponse, status: int = 400,
              code: str = "invalid_argument") -> dict[str, list[str]]:
    fields: dict[str, list[str]] = error_of(response, status, code)["details"]["fields"]
    return fields


# -- the OpenAPI document ---------------------------------------------------------------------


def test_the_openapi_document_is_served_without_a_token_and_is_valid(world: World) -> None:
    response = world.http().get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.is_json
    document = response.json
    assert document is not None
    validate(document)  # openapi-spec-validator: a valid OpenAPI 3.1 document
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"][
            "securitySchemes"]["bearer"]["description"]}
    assert document["security"] == [{"bearer": []}]

    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    routed = set()
    for rule in world.site.app.url_map.iter_rules():
        if rule.rule.startswith(API):
            path = rule.rule.replace("<int:client_id>", "{client_id}").replace(
                "<task_id>", "{task_id}").replace("<int:case_id>", "{case_id}").replace(
                "<int:attachment_id>", "{attachment_id}")
            routed |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routed == documented
    assert len(routed) == 23  # with notes (GET, POST), closing a case and documents (issue 18)

    for path, item in document["paths"].items():
        for name in ("task_id", "client_id", "case_id", "attachment_id"):
            if "{" + name + "}" in path:
                assert any(p["name"] == name and p["in"] == "path" for p in item["parameters"])
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert operation["summary"] and operation["operationId"]
            if path.endswith("openapi.json"):
                assert operation["security"] == []
                continue
            assert "security" not in operation  # the document's: the bearer token
            assert responses["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
            assert "WWW-Authenticate" in responses["401"]["headers"]
            if method in ("put", "post") and not path.endswith(("claim", "unclaim")):
                assert operation["requestBody"]["required"] is True
                assert "400" in responses
    inbox = document["paths"][f"{API}/tasks"]["get"]
    assert {p["name"] for p in inbox["parameters"]} == {
        "scope", "pathway", "version", "step", "client", "data", "overdue", "sort", "limit",
        "offset"}
    complete = document["paths"][f"{API}/tasks/{{task_id}}/complete"]["post"]
    assert "422" in complete["responses"]
    schemas = document["components"]["schemas"]
    assert "error" in schemas["Completion"]["properties"]  # added: the case stopped, and why
    retry = document["paths"][f"{API}/cases/{{case_id}}/retry"]["post"]
    assert {"400", "403", "404", "409", "422"} <= set(retry["responses"])
    assert set(schemas["RetryRequest"]["properties"]) == {"version", "data"}
    assert schemas["RetryRequest"]["required"] == []
    assert document["paths"][f"{API}/incidents"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/IncidentList"}
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "details"]


def test_every_engine_error_code_has_an_http_status() -> None:
    importlib.import_module("engine.workflow.state")  # where the engine's less common errors live
    importlib.import_module("engine.workflow.expressions")
    importlib.import_module("engine.workflow.sandbox")

    def every(cls: type[EngineError]) -> list[type[EngineError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in every(sub))]

    codes = {cls.code for cls in every(EngineError)} - {EngineError.code}
    assert codes <= set(_STATUS_BY_CODE), codes - set(_STATUS_BY_CODE)
    assert _STATUS_BY_CODE["forbidden"] == 403 and _STATUS_BY_CODE["invalid_data"] == 422


# -- authentication ----------------------------------------------------------------------------

ENDPOINTS = (("GET", "/tasks"), ("GET", "/tasks/T"), ("POST", "/tasks/T/claim"),
             ("POST", "/tasks/T/unclaim"), ("POST", "/tasks/reassign"),
             ("PUT", "/tasks/T/draft"), ("POST", "/tasks/T/complete"), ("POST", "/clients"),
             ("GET", "/clients"), ("GET", "/clients/C"), ("POST", "/clients/C/consents"),
             ("POST", "/clients/C/cases"), ("GET", "/clients/C/export"), ("GET", "/cases/K"),
             ("POST", "/clients/C/notes"), ("GET", "/clients/C/notes"),
             ("POST", "/cases/K/close"),
             ("POST", "/clients/C/attachments"), ("GET", "/clients/C/attachments"),
             ("GET", "/attachments/1"))


def _target(world: World, path: str) -> str:
    task = world.open_task(world.tasks["aaron"])
    assert task is not None
    return path.replace("/T", f"/{world.tasks['aaron']}").replace(
        "/C", f"/{world.clients['aaron']}").replace("/K", f"/{task.case_id}")


def test_every_endpoint_needs_a_live_token(world: World) -> None:
    accounts = world.application.accounts
    revoked_token, revoked = accounts.issue_token("sg_admin", "revoked")
    assert revoked_token.id is not None
    accounts.revoke_token(revoked_token.id)
    accounts.add_user("gone", "Gone Away", "st_giles_trust", "admin", PASSWORD)
    gone = accounts.issue_token("gone", "tests")[1]
    accounts.deactivate("gone")
    cases = {
        "no header": ({}, False),
        "another scheme": ({"Authorization": f"Basic {world.tokens['sg_admin']}"}, False),
        "empty bearer": ({"Authorization": "Bearer "}, False),
        "unknown token": ({"Authorization": "Bearer not-a-token"}, True),
        "revoked token": ({"Authorization": f"Bearer {revoked}"}, True),
        "deactivated user": ({"Authorization": f"Bearer {gone}"}, True),
    }
    for method, path in ENDPOINTS:
        for what, (headers, invalid) in cases.items():
            response = world.http().open(API + _target(world, path), method=method,
                                         headers=headers, json={"data": {}})
            error_of(response, 401, "unauthorized")
            challenge = response.headers["WWW-Authenticate"]
            assert challenge.startswith("Bearer"), (method, path, what)
            assert ('error="invalid_token"' in challenge) is invalid, (method, path, what)
    # nothing was done on the way
    assert world.open_task(world.tasks["aaron"]).assignee is None  # type: ignore[union-attr]
    assert world.case_count(world.clients["aaron"]) == 1
    # a token works, and its use is noted
    assert world.call("sg_admin", "GET", "/tasks").status_code == 200
    assert accounts.tokens("sg_admin")[0].last_used_at is not None


def test_a_browser_session_cookie_alone_gets_401(world: World) -> None:
    browser = world.http()
    sign_in(browser, "sg_admin")
    assert browser.get("/inbox").status_code == 200  # the pages know the session
    error_of(browser.get(f"{API}/tasks"), 401, "unauthorized")
    error_of(browser.get(f"{API}/clients/{world.clients['aaron']}"), 401, "unauthorized")
    # a POST without a CSRF token is refused for want of a token, not a CSRF token
    claim = browser.post(f"{API}/tasks/{world.tasks['aaron']}/claim")
    error_of(claim, 401, "unauthorized")
    assert world.open_task(world.tasks["aaron"]).assignee is None  # type: ignore[union-attr]
    # with both, the token decides who is asking
    both = browser.post(f"{API}/tasks/{world.tasks['aaron']}/claim",
                        headers={"Authorization": f"Bearer {world.tokens['sg_caseworker']}"})
    assert both.status_code == 200 and both.json["task"]["assignee"] == "sg_caseworker"  # type: ignore[index]


def test_unknown_routes_and_methods_answer_json(world: World) -> None:
    error_of(world.call("sg_admin", "GET", "/nothing-here"), 404, "not_found")
    error_of(world.call("sg_admin", "DELETE", f"/tasks/{world.tasks['aaron']}"), 405,
             "http_error")
    error_of(world.call("sg_admin", "GET", "/clients/not-a-number"), 404, "not_found")


# -- the inbox ---------------------------------------------------------------------------------


def rows(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["client_name"] for row in response.json["tasks"]]  # type: ignore[index]


def test_the_inbox_with_its_counts(world: World) -> None:
    world.application.casework.claim(world.users["sg_caseworker"], world.tasks["ben"])
    response = world.call("sg_caseworker", "GET", "/tasks")
    body = json_body(response, 200)
    assert [r["client_name"] for r in body["tasks"]] == ["Ben Jones", "Aaron Smith"]
    assert body["counts"] == {"mine": 1, "role": 2, "unassigned": 1, "overdue": 1}
    ben = body["tasks"][0]
    assert ben == {
        "id": world.tasks["ben"], "case_id": ben["case_id"], "pathway": "gate_reception",
        "version": 2, "step": "needs_assessment", "title": "Needs assessment",
        "role": "caseworker", "form": ben["form"], "due": ben["due"],
        "created_at": ben["created_at"], "assignee": "sg_caseworker",
        "client_id": world.clients["ben"], "client_name": "Ben Jones", "overdue": True,
        "problem": None}
    assert datetime.fromisoformat(ben["due"]).date() < date.today()  # ISO 8601
    assert rows(world.call("sg_caseworker", "GET", "/tasks?scope=mine")) == ["Ben Jones"]
    assert rows(world.call("sg_caseworker", "GET", "/tasks?scope=unassigned")) == [
        "Aaron Smith"]
    assert rows(world.call("om_caseworker", "GET", "/tasks")) == ["Cara Green"]
    assert len(rows(world.call("sg_admin", "GET", "/tasks"))) == 3


def test_inbox_filters_and_sorts(world: World) -> None:
    application = world.application
    application.casework.complete(world.users["sg_caseworker"], world.tasks["aaron"],
                                  ASSESSMENT)
    dean = application.casework.add_client(
        world.users["sg_caseworker"], "Dean Hall",
        {"release_date": (date.today() + timedelta(days=60)).isoformat()})
    application.engine.start_case("gate_reception", dean.id, version=1, actor="sg_caseworker")

    def names(query: str) -> list[str]:
        return sorted(rows(world.call("sg_caseworker", "GET", f"/tasks?{query}")))

    assert names("") == ["Aaron Smith", "Ben Jones", "Dean Hall"]
    assert names("pathway=family_support") == []
    assert names("pathway=gate_reception&version=1") == ["Dean Hall"]
    assert names("step=gate_meeting") == ["Aaron Smith"]
    assert names(f"client={world.clients['ben']}") == ["Ben Jones"]
    assert names("data=risk_level%3Dhigh") == ["Aaron Smith"]
    assert names("data=needs_accommodation%3Dtrue&data=risk_level%3Dhigh") == ["Aaron Smith"]
    assert names("data=risk_level%3Dhigh&data=needs_family%3Dtrue") == []
    assert names("data=client.name%3DDean%20Hall") == ["Dean Hall"]
    assert names("overdue=true") == ["Ben Jones"]
    assert names("overdue=false") == ["Aaron Smith", "Dean Hall"]
    assert rows(world.call("sg_caseworker", "GET", "/tasks?sort=-client")) == [
        "Dean Hall", "Ben Jones", "Aaron Smith"]
    assert rows(world.call("sg_caseworker", "GET", "/tasks?sort=due")) == [
        "Ben Jones", "Aaron Smith", "Dean Hall"]
    counts = world.call("sg_caseworker", "GET", "/tasks?version=1").json["counts"]  # type: ignore[index]
    assert counts == {"mine": 0, "role": 1, "unassigned": 1, "overdue": 0}


def test_inbox_refuses_bad_query_parameters(world: World) -> None:
    bad = world.call("sg_caseworker", "GET",
                     "/tasks?scope=everyone&sort=DUE&version=two&client=x&overdue=maybe"
                     "&data=no-equals-sign")
    assert set(fields_of(bad)) == {"scope", "sort", "version", "client", "overdue", "data"}


@pytest.mark.parametrize("role", ["designer", "commissioner"])
def test_designers_and_commissioners_have_no_inbox(world: World, role: str) -> None:
    error_of(world.call(f"sg_{role}", "GET", "/tasks"), 403, "forbidden")


# -- a task ------------------------------------------------------------------------------------


def test_a_task_with_its_form_prefill_and_draft(world: World) -> None:
    task = world.tasks["cara"]
    response = world.call("om_caseworker", "GET", f"/tasks/{task}")
    page = json_body(response, 200)
    assert page["task"]["id"] == task and page["task"]["may_act"] is True
    assert page["task"]["overdue"] is False
    assert page["client"] == {"id": world.clients["cara"], "name": "Cara Green"}
    assert page["case"]["pathway"] == "family_support" and page["case"]["status"] == "active"
    assert "data" not in page["case"]
    assert page["schema"]["required"] == ["first_contact"]
    assert page["prefill"] == {"phone": "01733 123456"}
    assert page["draft"] is None and page["values"] == {"phone": "01733 123456"}
    assert any(e.action == "view_task" and e.username == "om_caseworker"
               for e in world.access_log(world.clients["cara"]))

    saved = world.call("om_caseworker", "PUT", f"/tasks/{task}/draft",
                       json={"data": {"phone": "07700 900000", "first_contact": "2024-0"}})
    assert saved.status_code == 200, saved.text
    draft = saved.json["draft"]  # type: ignore[index]
    assert draft["task_id"] == task and draft["data"]["first_contact"] == "2024-0"
    datetime.fromisoformat(draft["saved_at"])
    again = world.call("om_caseworker", "GET", f"/tasks/{task}").json
    assert again is not None
    assert again["draft"]["data"] == {"phone": "07700 900000", "first_contact": "2024-0"}
    assert again["values"] == {"phone": "07700 900000", "first_contact": "2024-0"}
    # drafts are one's own
    admin = world.call("om_admin", "GET", f"/tasks/{task}").json
    assert admin is not None and admin["draft"] is None


def test_claim_and_give_back(world: World) -> None:
    task = world.tasks["aaron"]
    claimed = world.call("sg_caseworker", "POST", f"/tasks/{task}/claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json["task"]["assignee"] == "sg_caseworker"  # type: ignore[index]
    assert world.open_task(task).assignee == "sg_caseworker"  # type: ignore[union-attr]
    # another caseworker may look but not take it over; a team lead may
    world.application.accounts.add_user("sg_other", "Other", "st_giles_trust", "caseworker",
                                        PASSWORD)
    world.tokens["sg_other"] = world.application.accounts.issue_token("sg_other", "t")[1]
    look = world.call("sg_other", "GET", f"/tasks/{task}")
    assert look.status_code == 200 and look.json["task"]["may_act"] is False  # type: ignore[index]
    taken = world.call("sg_other", "POST", f"/tasks/{task}/claim")
    assert error_of(taken, 403, "forbidden")["details"]["assignee"] == "sg_caseworker"
    error_of(world.call("sg_other", "POST", f"/tasks/{task}/unclaim"), 403, "forbidden")
    error_of(world.call("sg_other", "PUT", f"/tasks/{task}/draft", json={"data": {}}), 403,
             "forbidden")
    error_of(world.call("sg_other", "POST", f"/tasks/{task}/complete",
                        json={"data": ASSESSMENT}), 403, "forbidden")

    back = world.call("sg_caseworker", "POST", f"/tasks/{task}/unclaim")
    assert back.status_code == 200 and back.json["task"]["assignee"] is None  # type: ignore[index]
    assert world.open_task(task).assignee is None  # type: ignore[union-attr]
    lead = world.call("sg_team_lead", "POST", f"/tasks/{task}/claim")
    assert lead.status_code == 200
    assert [e.action for e in world.access_log(world.clients["aaron"])
            if e.action in ("claim", "unclaim")] == ["claim", "unclaim", "claim"]


def test_reassign(world: World) -> None:
    tasks = [world.tasks["aaron"], world.tasks["ben"]]
    done = world.call("sg_team_lead", "POST", "/tasks/reassign",
                      json={"tasks": tasks, "to": "sg_caseworker"})
    assert done.status_code == 200, done.text
    assert [t["assignee"] for t in done.json["tasks"]] == ["sg_caseworker"] * 2  # type: ignore[index]
    assert all(world.open_task(t).assignee == "sg_caseworker" for t in tasks)  # type: ignore[union-attr]
    back = world.call("sg_admin", "POST", "/tasks/reassign", json={"tasks": tasks, "to": None})
    assert back.status_code == 200
    assert all(world.open_task(t).assignee is None for t in tasks)  # type: ignore[union-attr]
    # a caseworker may not; nor to someone outside the lead's organisation
    error_of(world.call("sg_caseworker", "POST", "/tasks/reassign",
                        json={"tasks": tasks, "to": "sg_caseworker"}), 403, "forbidden")
    error_of(world.call("sg_team_lead", "POST", "/tasks/reassign",
                        json={"tasks": tasks, "to": "om_caseworker"}), 404, "not_found")
    error_of(world.call("sg_team_lead", "POST", "/tasks/reassign",
                        json={"tasks": tasks, "to": "sg_designer"}), 400, "invalid_argument")
    assert all(world.open_task(t).assignee is None for t in tasks)  # type: ignore[union-attr]


@pytest.mark.parametrize(("body", "fields"), [
    ({"tasks": []}, {"tasks": ["must list at least 1"], "to": ["is required"]}),
    ({"tasks": "T", "to": None}, {"tasks": ["must be a list"]}),
    ({"tasks": [1], "to": 2}, {"tasks.0": ["must be text"], "to": ["must be text or null"]}),
    ({"tasks": ["a"], "to": None, "extra": 1}, {"extra": ["is not a known field"]}),
    (["T"], {"(body)": ["must be a JSON object"]}),
])
def test_reassign_refuses_invalid_bodies(world: World, body: Any,
                                         fields: dict[str, list[str]]) -> None:
    assert fields_of(world.call("sg_team_lead", "POST", "/tasks/reassign", json=body)) == fields


def test_complete_a_task(world: World) -> None:
    task = world.tasks["aaron"]
    world.call("sg_caseworker", "PUT", f"/tasks/{task}/draft", json={"data": {"notes": "x"}})
    invalid = world.call("sg_caseworker", "POST", f"/tasks/{task}/complete",
                         json={"data": {**ASSESSMENT, "risk_level": "extreme",
                                        "needs_family": "no"}})
    fields = fields_of(invalid, 422, "invalid_data")
    assert set(fields) == {"risk_level", "needs_family"}
    assert world.open_task(task) is not None  # nothing saved
    assert world.draft(task, "sg_caseworker") is not None

    done = world.call("sg_caseworker", "POST", f"/tasks/{task}/complete",
                      json={"data": ASSESSMENT})
    body = json_body(done, 200)
    assert body["status"] == "active" and isinstance(body["case_id"], int)
    assert body["next_task"]["step"] == "gate_meeting"
    assert world.open_task(task) is None
    assert world.draft(task, "sg_caseworker") is None
    # a completed task is gone
    error_of(world.call("sg_caseworker", "POST", f"/tasks/{task}/complete",
                        json={"data": ASSESSMENT}), 404, "not_found")


@pytest.mark.parametrize(("raw", "fields"), [
    (b"", {"(body)": ["is required"]}),
    (b"{not json", {"(body)": ["is not valid JSON"]}),
    (b'{"data": NaN}', {"(body)": ["is not valid JSON"]}),
    (b'"text"', {"(body)": ["must be a JSON object"]}),
    (b"{}", {"data": ["is required"]}),
    (b'{"data": [1, 2]}', {"data": ["must be a JSON object"]}),
    (b'{"data": {}, "notes": "x"}', {"notes": ["is not a known field"]}),
])
@pytest.mark.parametrize("endpoint", [("PUT", "draft"), ("POST", "complete")])
def test_form_data_bodies_are_checked(world: World, raw: bytes, fields: dict[str, list[str]],
                                      endpoint: tuple[str, str]) -> None:
    method, action = endpoint
    task = world.tasks["aaron"]
    response = world.call("sg_caseworker", method, f"/tasks/{task}/{action}", data=raw,
                          content_type="application/json")
    assert fields_of(response) == fields
    assert world.open_task(task) is not None
    assert world.draft(task, "sg_caseworker") is None


# -- the same access rules as the pages --------------------------------------------------------


TASK_CALLS = (("GET", "", None), ("POST", "/claim", None), ("POST", "/unclaim", None),
              ("PUT", "/draft", {"data": {"notes": "x"}}),
              ("POST", "/complete", {"data": ASSESSMENT}))


@pytest.mark.parametrize("username", ["om_caseworker", "om_team_lead", "sg_designer",
                                      "sg_commissioner", "om_designer"])
def test_another_organisations_task_is_not_found(world: World, username: str) -> None:
    task = world.tasks["aaron"]
    world.application.casework.claim(world.users["sg_caseworker"], task)
    for method, suffix, body in TASK_CALLS:
        response = world.call(username, method, f"/tasks/{task}{suffix}", json=body)
        error = error_of(response, 404, "not_found")
        assert "Aaron" not in response.text, (method, suffix)
        assert error["details"] == {"task": task}
    reassign = world.call(username, "POST", "/tasks/reassign",
                          json={"tasks": [task], "to": None})
    if username == "om_team_lead":
        error_of(reassign, 404, "not_found")
    else:
        error_of(reassign, 403, "forbidden")
    assert world.open_task(task).assignee == "sg_caseworker"  # type: ignore[union-attr]
    assert world.draft(task, username) is None
    assert not any(e.username == username for e in world.access_log(world.clients["aaron"]))


# -- clients -----------------------------------------------------------------------------------


def test_find_clients_a_page_at_a_time(world: World) -> None:
    """Names only, by name, of the clients the user may open without a reason; nothing is
    logged."""
    names = {username: [c["name"] for c in json_body(world.call(
        username, "GET", "/clients"), 200)["clients"]]
        for username in ("sg_caseworker", "om_caseworker", "sg_admin")}
    assert names == {"sg_caseworker": ["Aaron Smith", "Ben Jones"],
                     "om_caseworker": ["Cara Green"],
                     "sg_admin": ["Aaron Smith", "Ben Jones", "Cara Green"]}
    found = json_body(world.call("sg_caseworker", "GET", "/clients?q=SMITH"), 200)
    assert found == {"clients": [{"id": world.clients["aaron"], "name": "Aaron Smith",
                                  "fields": {}, "created_at": found["clients"][0]["created_at"]}],
                     "limit": 50, "offset": 0, "next_offset": None}
    by_number = json_body(world.call("sg_caseworker", "GET",
                                     f"/clients?q={world.clients['ben']}"), 200)
    assert [c["name"] for c in by_number["clients"]] == ["Ben Jones"]
    first = json_body(world.call("sg_admin", "GET", "/clients?limit=2"), 200)
    assert [c["name"] for c in first["clients"]] == ["Aaron Smith", "Ben Jones"]
    assert first["next_offset"] == 2
    second = json_body(world.call("sg_admin", "GET", "/clients?limit=2&offset=2"), 200)
    assert [c["name"] for c in second["clients"]] == ["Cara Green"]
    assert second["next_offset"] is None
    assert not any(e.action.startswith("view_client") for name in ("aaron", "ben", "cara")
                   for e in world.access_log(world.clients[name]))


@pytest.mark.parametrize(("query", "fields"), [
    ("limit=0", {"limit": ["must be between 1 and 200"]}),
    ("limit=201", {"limit": ["must be between 1 and 200"]}),
    ("limit=ten&offset=-1", {"limit": ["must be a whole number (digits only)"],
                             "offset": ["must be between 0 and 1000000"]}),
    ("offset=1000001", {"offset": ["must be between 0 and 1000000"]}),
    ("offset=1e9", {"offset": ["must be a whole number (digits only)"]}),
])
def test_find_clients_refuses_bad_pages(world: World, query: str,
                                        fields: dict[str, list[str]]) -> None:
    assert fields_of(world.call("sg_caseworker", "GET", f"/clients?{query}")) == fields


@pytest.mark.parametrize("role", ["designer", "commissioner"])
def test_designers_and_commissioners_find_no_clients(world: World, role: str) -> None:
    response = world.call(f"sg_{role}", "GET", "/clients?q=aaron")
    error_of(response, 403, "forbidden")
    assert "Aaron" not in response.text


def test_add_a_client_and_open_the_record(world: World) -> None:
    added = world.call("sg_caseworker", "POST", "/clients",
                       json={"name": "Eve Stone", "fields": {"release_date": "2030-01-02"}})
    assert added.status_code == 201, added.text
    client = added.json["client"]  # type: ignore[index]
    assert client["name"] == "Eve Stone" and client["fields"] == {"release_date": "2030-01-02"}
    assert added.headers["Location"] == f"{API}/clients/{client['id']}"
    bare = world.call("sg_caseworker", "POST", "/clients", json={"name": "No Fields"})
    assert bare.status_code == 201 and bare.json["client"]["fields"] == {}  # type: ignore[index]

    record = world.call("sg_caseworker", "GET", f"/clients/{client['id']}")
    assert record.status_code == 200, record.text
    assert record.json["basis"] == "organisation"  # type: ignore[index]
    assert record.json["cases"] == [] and "gate_reception" in record.json["startable"]  # type: ignore[index]


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name": ["is required"]}),
    ({"name": ""}, {"name": ["must not be empty"]}),
    ({"name": 3, "fields": []}, {"name": ["must be text"], "fields": ["must be a JSON object"]}),
    ({"name": "A", "nickname": "B"}, {"nickname": ["is not a known field"]}),
    ([], {"(body)": ["must be a JSON object"]}),
])
def test_add_client_refuses_invalid_bodies(world: World, body: Any,
                                           fields: dict[str, list[str]]) -> None:
    assert fields_of(world.call("sg_caseworker", "POST", "/clients", json=body)) == fields


def test_a_client_record(world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.complete(world.users["sg_caseworker"], world.tasks["aaron"],
                                        ASSESSMENT)
    response = world.call("sg_caseworker", "GET", f"/clients/{aaron}")
    record = json_body(response, 200)
    assert record["client"]["name"] == "Aaron Smith" and record["basis"] == "organisation"
    [case] = record["cases"]
    assert case["pathway"] == "gate_reception" and case["owner"] == "st_giles_trust"
    assert case["data"]["risk_level"] == "high"  # the organisation is involved
    assert [t["step"] for t in case["open_tasks"]] == ["gate_meeting"]
    assert record["timeline"] and all(datetime.fromisoformat(e["at"]) for e in
                                      record["timeline"])
    assert set(record["visible_categories"]) == {"health", "offence"}
    assert record["hidden_fields"] == []


def test_another_organisation_opens_a_record_only_with_a_reason(world: World) -> None:
    aaron = world.clients["aaron"]
    world.application.casework.complete(world.users["sg_caseworker"], world.tasks["aaron"],
                                        ASSESSMENT)
    refused = world.call("om_caseworker", "GET", f"/clients/{aaron}")
    assert error_of(refused, 403, "forbidden")["details"]["reason_required"] is True
    assert "Aaron" not in refused.text
    # the reason goes in a header, never in the URL
    in_url = world.call("om_caseworker", "GET", f"/clients/{aaron}?reason=Safeguarding+call")
    assert "X-Pathways-Reason" in error_of(in_url, 400, "invalid_argument")["message"]
    opened = world.call("om_caseworker", "GET", f"/clients/{aaron}",
                        headers={"X-Pathways-Reason": "Safeguarding call"})
    assert opened.status_code == 200, opened.text
    record = opened.json
    assert record is not None and record["basis"] == "break_glass"
    assert record["cases"][0]["data"]["risk_level"] == "[hidden]"
    assert "risk_level" in record["hidden_fields"]
    assert any(e.action == "view_client" and e.reason == "Safeguarding call"
               for e in world.access_log(aaron))
    error_of(world.call("om_caseworker", "GET", "/clients/999999"), 404, "not_found")


@pytest.mark.parametrize("role", ["designer", "commissioner"])
def test_designers_and_commissioners_open_no_client_record(world: World, role: str) -> None:
    aaron = world.clients["aaron"]
    user = f"sg_{role}"
    for method, path, body in (
            ("POST", "/clients", {"name": "X"}),
            ("GET", f"/clients/{aaron}", None),
            ("POST", f"/clients/{aaron}/consents",
             {"given": True, "scope": "programme", "purpose": "x"}),
            ("POST", f"/clients/{aaron}/cases", {"pathway": "gate_reception"}),
            ("GET", f"/clients/{aaron}/export", None)):
        response = world.call(user, method, path, json=body,
                              headers={"X-Pathways-Reason": "curious about the client"})
        error_of(response, 403, "forbidden")
        assert "Aaron" not in response.text
    assert world.case_count(aaron) == 1


def test_record_consent(world: World) -> None:
    cara = world.clients["cara"]
    response = world.call("om_caseworker", "POST", f"/clients/{cara}/consents", json={
        "given": True, "scope": "health", "purpose": "Referral to the GP",
        "effective_on": "2024-05-01"})
    assert response.status_code == 201, response.text
    consent = response.json["consent"]  # type: ignore[index]
    assert consent["given"] is True and consent["scope"] == "health"
    assert consent["effective_on"] == "2024-05-01" and consent["recorded_by"] == "om_caseworker"
    datetime.fromisoformat(consent["recorded_at"])
    today = world.call("om_caseworker", "POST", f"/clients/{cara}/consents", json={
        "given": False, "scope": "programme", "purpose": "Withdrawn by phone"})
    assert today.json["consent"]["effective_on"] == date.today().isoformat()  # type: ignore[index]
    # another organisation: never, not even with a reason (break-glass only reads)
    error_of(world.call("sg_caseworker", "POST", f"/clients/{cara}/consents", json={
        "given": True, "scope": "programme", "purpose": "x"}), 403, "forbidden")
    with_reason = world.call("sg_caseworker", "POST", f"/clients/{cara}/consents", json={
        "given": True, "scope": "programme", "purpose": "Signed form",
        "reason": "Joint visit with the family"},
        headers={"X-Pathways-Reason": "Joint visit with the family"})
    error_of(with_reason, 403, "forbidden")
    record = world.call("om_caseworker", "GET", f"/clients/{cara}").json
    assert record is not None and len(record["consents"]) == 2


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"given": ["is required"], "scope": ["is required"], "purpose": ["is required"]}),
    ({"given": "yes", "scope": "everything", "purpose": ""},
     {"given": ["must be true or false"], "scope": ["must be one of programme, health, offence"],
      "purpose": ["must not be empty"]}),
    ({"given": True, "scope": "health", "purpose": "x", "effective_on": "01/05/2024"},
     {"effective_on": ["must be a date (YYYY-MM-DD)"]}),
    ({"given": True, "scope": "health", "purpose": "x", "reason": 5},
     {"reason": ["must be text or null"]}),
])
def test_record_consent_refuses_invalid_bodies(world: World, body: Any,
                                               fields: dict[str, list[str]]) -> None:
    cara = world.clients["cara"]
    response = world.call("om_caseworker", "POST", f"/clients/{cara}/consents", json=body)
    assert fields_of(response) == fields
    assert world.call("om_caseworker", "GET", f"/clients/{cara}").json["consents"] == []  # type: ignore[index]


def test_start_a_case(world: World) -> None:
    cara = world.clients["cara"]
    # another organisation's client: refused, with a reason too (break-glass only reads)
    error_of(world.call("sg_caseworker", "POST", f"/clients/{cara}/cases",
                        json={"pathway": "gate_reception"}), 403, "forbidden")
    error_of(world.call("sg_caseworker", "POST", f"/clients/{cara}/cases",
                        json={"pathway": "gate_reception", "reason": "Referred from HMP"},
                        headers={"X-Pathways-Reason": "Referred from HMP"}), 403, "forbidden")
    assert world.case_count(cara) == 1
    # under the client's programme consent it may
    world.call("om_caseworker", "POST", f"/clients/{cara}/consents", json={
        "given": True, "scope": "programme", "purpose": "One Service sharing"})
    started = world.call("sg_caseworker", "POST", f"/clients/{cara}/cases",
                         json={"pathway": "gate_reception"})
    body = json_body(started, 201)
    assert body["case"]["pathway"] == "gate_reception" and body["case"]["client_id"] == cara
    assert body["case"]["status"] == "active" and "state" not in body["case"]
    assert body["next_task"]["step"] == "needs_assessment"
    assert world.case_count(cara) == 2
    assert any(e.action == "start_case" and e.detail["basis"] == "consent"
               for e in world.access_log(cara))
    error_of(world.call("om_caseworker", "POST", f"/clients/{cara}/cases",
                        json={"pathway": "no_such_pathway"}), 404, "not_found")
    assert fields_of(world.call("om_caseworker", "POST", f"/clients/{cara}/cases",
                                json={"pathway": 7})) == {"pathway": ["must be text"]}
    assert world.case_count(cara) == 2


def test_export_is_for_admins(world: World) -> None:
    aaron = world.clients["aaron"]
    export = world.call("om_admin", "GET", f"/clients/{aaron}/export")
    document = json_body(export, 200)
    assert document["client"]["name"] == "Aaron Smith" and document["exported_by"] == "om_admin"
    assert len(document["cases"]) == 1 and document["cases"][0]["tasks"]
    datetime.fromisoformat(document["exported_at"])
    assert any(e["action"] == "export" for e in document["access_log"])
    for user in ("sg_caseworker", "sg_team_lead"):
        error_of(world.call(user, "GET", f"/clients/{aaron}/export"), 403, "forbidden")
    error_of(world.call("sg_admin", "GET", "/clients/424242/export"), 404, "not_found")
