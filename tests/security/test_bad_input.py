"""Bad input answers 400 (or 404 / 422), never 500: NUL characters, ids past the database's
integer range, lone surrogates, deeply nested JSON, 4,300-digit integers, Infinity and NaN,
control characters in `next`, client fields that do not fit their declared type, and a
database that is unreachable or empty. Pages and API alike, on SQLite and PostgreSQL
(PostgreSQL refuses NUL in text and JSON, which is where most of these used to end in 500).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import inspect

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.sql import make_engine, tables
from tests.web.conftest import CHEAP_HASHER, Site, csrf_token, sign_in
from tests.web.test_api import API, World, error_of, fields_of
from tests.web.test_api import world as world  # the fixture
from web import create_app

NUL = "\x00"


def _signed_in(world: World, username: str) -> FlaskClient:
    http = world.http()
    sign_in(http, username)
    return http


def _no_5xx(response: Any) -> None:
    assert response.status_code < 500, response.text[:500]


# -- NUL characters ------------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"name": f"Ann{NUL}Lee"}, "name"),
    ({"name": "Ann Lee", "fields": {"phone": f"0{NUL}1"}}, "fields.phone"),
    ({"name": "Ann Lee", "fields": {f"ph{NUL}one": "01"}}, "fields"),
])
def test_api_refuses_nul_in_a_new_client(world: World, body: dict[str, Any],
                                         field: str) -> None:
    fields = fields_of(world.call("sg_caseworker", "POST", "/clients", json=body))
    assert field in fields, fields
    assert any("NUL" in problem for problem in fields[field])


def test_api_refuses_nul_in_form_data_drafts_consents_and_cases(world: World) -> None:
    task = world.tasks["aaron"]
    client = world.clients["aaron"]
    for method, path, body, field in (
            ("POST", f"/tasks/{task}/complete", {"data": {"notes": f"x{NUL}"}}, "data.notes"),
            ("PUT", f"/tasks/{task}/draft", {"data": {"notes": f"x{NUL}"}}, "data.notes"),
            ("POST", f"/clients/{client}/consents",
             {"given": True, "scope": "health", "purpose": f"care{NUL}"}, "purpose"),
            ("POST", f"/clients/{client}/cases",
             {"pathway": "housing_support", "reason": f"urgent need{NUL} of housing"},
             "reason"),
            ("POST", "/tasks/reassign", {"tasks": [f"t{NUL}"], "to": None}, "tasks.0")):
        response = world.call("sg_team_lead", method, path, json=body)
        assert field in fields_of(response), (path, response.json)


def test_api_refuses_nul_in_the_path_query_and_headers(world: World) -> None:
    response = world.call("sg_caseworker", "GET", "/tasks", query_string={"pathway": f"a{NUL}"})
    assert "pathway" in fields_of(response)
    response = world.call("sg_caseworker", "GET", "/tasks", query_string={"data": f"a={NUL}"})
    assert "data" in fields_of(response)
    response = world.call("sg_caseworker", "GET", f"/tasks/ab{NUL}cd")
    assert fields_of(response)
    response = world.call("sg_caseworker", "GET", f"/clients/{world.clients['aaron']}",
                          query_string={"reason": f"checking{NUL} the record"})
    assert "reason" in fields_of(response)
    response = world.call(None, "GET", "/tasks",
                          headers={"Authorization": f"Bearer abc{NUL}def"})
    assert "Authorization" in fields_of(response)
    response = world.call("sg_caseworker", "GET", "/tasks", headers={"X-Note": f"a{NUL}b"})
    assert "X-Note" in fields_of(response)


def test_pages_refuse_nul_in_forms_and_query_strings(world: World) -> None:
    http = _signed_in(world, "sg_caseworker")
    page = http.get("/clients")
    response = http.post("/clients", data={"name": f"Ann{NUL}Lee", "release_date": "",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 400, response.text[:300]
    assert "name" in response.text
    for url in (f"/clients?q=a{NUL}", f"/inbox?pathway=a{NUL}", f"/inbox?data=a%3D{NUL}",
                f"/tasks/a{NUL}b", "/inbox?step=%00", "/login?next=/in%00box"):
        response = http.get(url)
        assert response.status_code == 400, (url, response.status_code)
    task = world.tasks["aaron"]
    page = http.get(f"/tasks/{task}")
    response = http.post(f"/tasks/{task}", data={
        "needs_accommodation": "true", "needs_benefits": "false",
        "needs_substance_misuse": "false", "needs_family": "false",
        "needs_employment": "true", "risk_level": "high", "notes": f"x{NUL}y",
        "csrf_token": csrf_token(page.text)})
    assert response.status_code == 400 and "notes" in response.text
    login = world.http()
    page = login.get("/login")
    response = login.post("/login", data={"username": f"sg{NUL}caseworker", "password": "x",
                                          "csrf_token": csrf_token(page.text)})
    assert response.status_code == 400


# -- ids past the database's integer range ---------------------------------------------------


@pytest.mark.parametrize("number", [2 ** 31, 99999999999, 2 ** 63, 2 ** 64 + 1])
def test_ids_past_the_integer_range_are_not_found(world: World, number: int) -> None:
    for path in (f"/clients/{number}", f"/clients/{number}/export"):
        error_of(world.call("sg_admin", "GET", path), 404, "not_found")
    error_of(world.call("sg_caseworker", "POST", f"/clients/{number}/cases",
                        json={"pathway": "gate_reception"}), 404, "not_found")
    http = _signed_in(world, "sg_caseworker")
    assert http.get(f"/clients/{number}").status_code == 404


@pytest.mark.parametrize("number", ["2147483648", "99999999999", "9223372036854775808",
                                    "-9223372036854775809", "1" * 4300])
def test_id_filters_past_the_integer_range_are_refused(world: World, number: str) -> None:
    for name in ("client", "version"):
        response = world.call("sg_caseworker", "GET", "/tasks", query_string={name: number})
        assert name in fields_of(response)
    http = _signed_in(world, "sg_caseworker")
    for name in ("client", "version"):
        response = http.get("/inbox", query_string={name: number})
        _no_5xx(response)


# -- malformed JSON bodies -----------------------------------------------------------------


def _raw(world: World, method: str, path: str, text: str | bytes) -> Any:
    return world.call("sg_caseworker", method, path, data=text,
                      headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("text", [
    '{"name": "\\ud800"}',
    '{"name": "ok", "fields": {"x": "a\\udfffb"}}',
    '{"name": "\\ud800\\u0041"}',
    '{"name": "Ann", "fields": {"x": ' + "[" * 900 + "]" * 900 + "}}",
    '{"name": "Ann", "fields": {"x": ' + '{"a":' * 900 + "1" + "}" * 900 + "}}",
    '{"name": "Ann", "fields": {"x": ' + "[" * 100000 + "]" * 100000 + "}}",
    '{"name": "Ann", "fields": {"x": ' + "9" * 4300 + "}}",
    '{"name": "Ann", "fields": {"x": ' + "9" * 5000 + "}}",
    '{"name": "Ann", "fields": {"x": 18446744073709551616}}',
    '{"name": "Ann", "fields": {"x": Infinity}}',
    '{"name": "Ann", "fields": {"x": -Infinity}}',
    '{"name": "Ann", "fields": {"x": NaN}}',
    '{"name": "Ann", "fields": {"x": 1e400}}',
    '{"name": "Ann", "fields": {"x": -1e999}}',
    b'{"name": "\xff\xfe"}',
])
def test_api_refuses_json_it_cannot_store_or_echo(world: World, text: str | bytes) -> None:
    response = _raw(world, "POST", "/clients", text)
    error_of(response, 400, "invalid_argument")
    if isinstance(text, str):
        response = _raw(world, "PUT", f"/tasks/{world.tasks['aaron']}/draft",
                        '{"data": ' + text + "}")
        error_of(response, 400, "invalid_argument")


def test_large_but_sensible_numbers_are_still_accepted_and_echoed_as_valid_json(
        world: World) -> None:
    response = _raw(world, "PUT", f"/tasks/{world.tasks['aaron']}/draft",
                    '{"data": {"a": 123456789012345, "b": 1.5e300, "c": -0.25}}')
    assert response.status_code == 200, response.text
    json.loads(response.text)  # strict: no Infinity or NaN in what comes back
    assert response.json["draft"]["data"] == {"a": 123456789012345, "b": 1.5e300, "c": -0.25}


# -- control characters in `next` ----------------------------------------------------------


@pytest.mark.parametrize("target", ["/inbox\r\nSet-Cookie: a=b", "/inbox\n", "/in\x7fbox",
                                    "/inbox\tx", "/inbox%0d%0aX: y"])
def test_next_with_control_characters_goes_home_not_500(world: World, target: str) -> None:
    http = world.http()
    page = http.get("/login", query_string={"next": target})
    _no_5xx(page)
    response = http.post("/login", data={"username": "sg_caseworker",
                                         "password": "correct horse battery",
                                         "next": target, "csrf_token": csrf_token(page.text)})
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["Location"]
    assert not any(ord(c) < 32 for c in location)
    again = http.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert not any(ord(c) < 32 for c in again.headers["Location"])


# -- client fields checked against their declared types --------------------------------------


@pytest.mark.parametrize("value", ["9999-99-99", "2026-02-30", "tomorrow", 20261201, True,
                                   {"y": 2026}])
def test_api_refuses_a_client_field_that_does_not_fit_its_declared_type(
        world: World, value: Any) -> None:
    response = world.call("sg_caseworker", "POST", "/clients",
                          json={"name": "Dee Dee", "fields": {"release_date": value}})
    error = error_of(response, 422, "invalid_data")
    assert "release_date" in error["details"]["fields"], error
    response = world.call("sg_caseworker", "POST", "/clients",
                          json={"name": "Dee Dee", "fields": {"phone": ["01733"]}})
    assert "phone" in error_of(response, 422, "invalid_data")["details"]["fields"]


def test_declared_client_fields_that_fit_are_accepted(world: World) -> None:
    response = world.call("sg_caseworker", "POST", "/clients", json={
        "name": "Dee Dee", "fields": {"release_date": "2027-01-31", "phone": "01733",
                                      "nickname": 3}})  # undeclared fields: anything storable
    assert response.status_code == 201, response.text
    assert response.json["client"]["fields"]["release_date"] == "2027-01-31"


def test_the_add_client_page_refuses_a_date_that_is_not_one(world: World) -> None:
    http = _signed_in(world, "sg_caseworker")
    page = http.get("/clients")
    response = http.post("/clients", data={"name": "Dee Dee", "release_date": "9999-99-99",
                                           "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert "enter a date as YYYY-MM-DD" in response.text


def test_the_cli_refuses_a_client_field_that_does_not_fit_its_declared_type(
        world: World) -> None:
    from click.testing import CliRunner

    from adapters.cli import cli

    url = world.application.settings.database_url
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", url, "--json", "clients", "add", "--name", "Dee",
                                 "--field", "release_date=9999-99-99"])
    assert result.exit_code == 1, result.output
    error = json.loads(result.output)["error"]
    assert error["code"] == "invalid_data" and "release_date" in error["details"]["fields"]
    result = runner.invoke(cli, ["--db", url, "--json", "clients", "add", "--name", "Dee",
                                 "--field", 'phone="0\\u00001"'])
    assert result.exit_code == 1, result.output
    error = json.loads(result.output)["error"]
    assert error["code"] == "invalid_argument" and "phone" in error["details"]["fields"]


# -- the database: unreachable, or empty -----------------------------------------------------


def test_health_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    application = bootstrap(Settings(database_url=url, secret_key="s",
                                     definitions_dir=tmp_path), hasher=CHEAP_HASHER)
    try:
        http = create_app(application, test_config={"TESTING": True}).test_client()
        response = http.get("/health")
        assert response.status_code == 503, response.text
        assert response.json["status"] == "unavailable"
        assert isinstance(response.json["reason"], str) and response.json["reason"]
        assert "postgres@" not in response.json["reason"]
        response = http.get("/login")
        assert response.status_code == 503
        response = http.get(f"{API}/tasks", headers={"Authorization": "Bearer x"})
        assert response.status_code == 503
        assert response.json["error"]["code"] == "database_unavailable"
    finally:
        application.close()


def test_an_empty_database_is_migrated_by_the_first_request(database_url: str,
                                                             tmp_path: Path) -> None:
    application = bootstrap(Settings(database_url=database_url, secret_key="s",
                                     definitions_dir=tmp_path), migrate=False,
                            hasher=CHEAP_HASHER)
    try:
        http = create_app(application, test_config={"TESTING": True}).test_client()
        response = http.get("/login")
        assert response.status_code == 200, response.text[:300]
        response = http.get("/health")
        assert response.status_code == 200 and response.json["status"] == "ok"
        engine = make_engine(database_url)
        try:
            assert "clients" in inspect(engine).get_table_names()
        finally:
            engine.dispose()
    finally:
        application.close()


def test_health_migrates_a_database_emptied_while_running(site: Site) -> None:
    application = site.application
    with application.database.begin() as connection:
        tables.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE alembic_version")
    http = site.client()
    response = http.get("/health")
    assert response.status_code == 200, response.text
    assert response.json["status"] == "ok"
