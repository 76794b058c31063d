"""No API route or web page ever answers with a traceback or an unexplained 500.

Every route is found from the app's url_map (a route added later is driven here without
touching this file) and driven, signed in as an admin (who sees everything), against the
failure modes of a stored programme (tests/robustness/broken_world.py): a task of a case
whose stored state is corrupt, one on a version whose BPMN no longer parses, a case in
error, unknown ids; and against databases that cannot be used (a SQLite file that is not a
database, a server that cannot be reached). The API answers the JSON error shape (never
`internal_error`: that would be the last resort hiding a bug); pages answer the error page,
with no stack. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from adapters.bootstrap import Application, bootstrap
from adapters.settings import Settings
from engine.casework import Casework
from tests.robustness.broken_world import ADMIN, ORGANISATION, BrokenWorld, build
from tests.web.conftest import CHEAP_HASHER, csrf_token, force_sign_in
from web import create_app
from web.security import limiter

API = "/api/v1"
ERROR_KEYS = {"code", "message", "details"}
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
STACK = re.compile(r"Traceback|File \"[^\"]+\", line \d+|sqlalchemy\.exc|psycopg\.")
BODIES: tuple[Any, ...] = (None, {}, {"data": {}}, {"pathway": "rotten"},
                           {"pathway": "failing"}, {"name": "New Client"})


@dataclass
class BrokenSite:
    app: Flask
    application: Application
    world: BrokenWorld

    def api(self, method: str, path: str, *, json: Any = None,
            token: str | None = None) -> TestResponse:
        headers = {"Authorization": f"Bearer {token or self.world.token}"}
        return self.app.test_client().open(path, method=method, json=json, headers=headers)

    def signed_in(self) -> tuple[FlaskClient, str]:
        """A browser signed in as the admin, and a CSRF token for its forms."""
        browser = self.app.test_client()
        force_sign_in(browser, self, ADMIN)  # type: ignore[arg-type]
        page = browser.get("/admin/users")  # a page with a form, for its CSRF token
        assert page.status_code == 200, page.text
        return browser, csrf_token(page.text)


def _app(settings: Settings, *, migrate: bool = True) -> tuple[Flask, Application]:
    application = bootstrap(settings, hasher=CHEAP_HASHER, migrate=migrate)
    app = create_app(application, test_config={"TESTING": True})
    limiter.reset()
    return app, application


@pytest.fixture
def broken_site(migrated_database_url: str, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[BrokenSite]:
    monkeypatch.setenv("PATHWAYS_INCIDENT_LOG", str(tmp_path / "incidents.log"))
    settings = Settings(database_url=migrated_database_url, secret_key="test-secret",
                        definitions_dir=tmp_path / "no-definitions")
    builder = bootstrap(settings, hasher=CHEAP_HASHER)
    try:
        world = build(builder)
    finally:
        builder.close()
    app, application = _app(settings)  # fresh caches: what is stored is what is read
    try:
        yield BrokenSite(app, application, world)
    finally:
        application.close()


# -- the routes ----------------------------------------------------------------------------


def routes(app: Flask) -> list[tuple[Rule, str]]:
    """Every (rule, method) of the app but static files."""
    return [(rule, method) for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if rule.endpoint != "static"
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})]


def paths(app: Flask, rule: Rule, world: BrokenWorld) -> list[str]:
    """The rule's URL for each broken thing its parameters can name."""
    choices: dict[str, list[Any]] = {
        "task_id": [world.tasks["corrupt"], world.tasks["rotten"], world.tasks["active"],
                    "no-such-task"],
        "client_id": [world.client, 999999],
        "case_id": [*world.cases.values(), 999999],
        "username": [ADMIN, "nobody"],
        "name": ["nonsense"], "table": ["nonsense"], "number": [1, 999999],
        "package": ["bpmn-js", "nonsense"], "filename": ["nonsense.js"],
        "migration_id": [999999], "step": ["nonsense"], "filter_id": [999999],
        "token_id": [1, 999999],
        "org_id": [ORGANISATION, "nonsense", "Not An Id"],
        "attachment_id": [0, 999999],
    }
    urls = app.url_map.bind("localhost")
    built = [{}]  # type: list[dict[str, Any]]
    for argument in sorted(rule.arguments):
        assert argument in choices, f"no broken values for <{argument}> of {rule.rule}"
        built = [{**values, argument: value} for values in built
                 for value in choices[argument]]
    return [urls.build(rule.endpoint, values) for values in built]


def test_every_route_is_found(broken_site: BrokenSite) -> None:
    found = {(rule.rule, method) for rule, method in routes(broken_site.app)}
    assert (f"{API}/tasks/<task_id>/complete", "POST") in found
    assert ("/tasks/<task_id>", "POST") in found
    assert len(found) >= 30


# -- answers -------------------------------------------------------------------------


def api_answer(response: TestResponse, where: str) -> dict[str, Any] | None:
    """The error of a JSON API answer (None on success): the JSON error shape, no stack,
    no last-resort internal_error, and a 5xx only for what is the server's to fix."""
    described = f"{where}: {response.status_code} {response.text[:1000]}"
    assert not STACK.search(response.text), described
    assert response.is_json, described
    if response.status_code < 400:
        return None
    body = response.json
    assert isinstance(body, dict) and set(body) == {"error"}, described
    error: dict[str, Any] = body["error"]
    assert set(error) == ERROR_KEYS and isinstance(error["details"], dict), described
    assert error["code"] != "internal_error", described
    if response.status_code >= 500:
        assert error["code"] in ("state_format", "database_error", "database_unavailable"), \
            described
    return error


def page_answer(response: TestResponse, where: str) -> None:
    """A page: no stack, and a 5xx only as the error page saying what is wrong (never the
    last resort's incident page)."""
    described = f"{where}: {response.status_code} {response.text[:1000]}"
    assert not STACK.search(response.text), described
    if response.status_code >= 500:
        assert 'role="alert"' in response.text, described
        assert "incident" not in response.text, described


# -- every route, every broken thing ----------------------------------------------------


def test_every_api_route_answers_json_errors_on_broken_cases(broken_site: BrokenSite) -> None:
    app, world = broken_site.app, broken_site.world
    driven = 0
    for rule, method in routes(app):
        if not rule.rule.startswith(API):
            continue
        for path in paths(app, rule, world):
            for body in (BODIES if method in ("POST", "PUT") else (None,)):
                response = broken_site.api(method, path, json=body)
                api_answer(response, f"{method} {path} {body!r}")
                driven += 1
    assert driven > 50


def test_every_page_answers_an_error_page_on_broken_cases(broken_site: BrokenSite) -> None:
    app, world = broken_site.app, broken_site.world
    browser, token = broken_site.signed_in()
    for rule, method in routes(app):
        if rule.rule.startswith(API) or rule.rule in ("/logout", "/login"):
            continue
        for path in paths(app, rule, world):
            if method == "GET":
                page_answer(browser.get(path), f"GET {path}")
                continue
            for form in ({"csrf_token": token},
                         {"csrf_token": token, "pathway": "rotten", "action": "complete"},
                         {"csrf_token": token, "pathway": "failing", "tasks": world.tasks[
                             "corrupt"], "to": ADMIN, "reason": "checking the broken case"}):
                page_answer(browser.open(path, method=method, data=form),
                            f"{method} {path} {form}")
    page_answer(broken_site.app.test_client().post("/logout"), "POST /logout")


# query parameters of the admin pages (issue 18, item 9), each with values no form sends
QUERY_PARAMETERS = {"/admin/access": ("org", "user", "since", "until", "break_glass"),
                    "/admin/access.csv": ("org", "user", "since", "until", "break_glass"),
                    "/admin/users": ("org",), "/admin/new-user": ("org",)}
BROKEN_QUERY_VALUES = ("nonsense", "", " ", "2026-02-30", "9999-12-31", "0001-01-01",
                       "-1", "x" * 3000, "' OR 1=1 --", "\u202e\u200b", "ROBUST_ORG")


def test_admin_query_parameters_take_broken_values(broken_site: BrokenSite) -> None:
    """Unknown organisations and users show nothing, a date that is not one is named (400);
    never a stack or a 5xx."""
    browser, _ = broken_site.signed_in()
    for path, parameters in QUERY_PARAMETERS.items():
        for parameter in parameters:
            for value in BROKEN_QUERY_VALUES:
                response = browser.get(path, query_string={parameter: value})
                where = f"GET {path}?{parameter}={value[:40]!r}"
                page_answer(response, where)
                assert response.status_code in (200, 400), where


# -- specific failures, specific codes ---------------------------------------------------


def test_a_corrupt_case_is_a_state_format_error_naming_it(broken_site: BrokenSite) -> None:
    world = broken_site.world
    task = world.tasks["corrupt"]
    response = broken_site.api("POST", f"{API}/tasks/{task}/complete", json={"data": {}})
    error = api_answer(response, "complete the corrupt case's task")
    assert response.status_code == 500 and error is not None
    assert error["code"] == "state_format" and error["details"]["case"] == world.cases["corrupt"]

    browser, token = broken_site.signed_in()
    page = browser.post(f"/tasks/{task}", data={"csrf_token": token})
    page_answer(page, "the corrupt case's task page")
    assert page.status_code == 500 and f"case {world.cases['corrupt']}" in page.text


def test_a_version_that_no_longer_parses_is_an_invalid_definition(broken_site: BrokenSite
                                                                   ) -> None:
    world = broken_site.world
    for method, path, body in (
            ("GET", f"{API}/tasks/{world.tasks['rotten']}", None),
            ("POST", f"{API}/tasks/{world.tasks['rotten']}/complete", {"data": {}}),
            ("POST", f"{API}/clients/{world.client}/cases", {"pathway": "rotten"})):
        response = broken_site.api(method, path, json=body)
        error = api_answer(response, f"{method} {path}")
        assert response.status_code == 422 and error is not None, response.text
        assert error["code"] == "invalid_definition"
        assert error["details"]["pathway"] == "rotten" and error["details"]["version"] == 1
    browser, _ = broken_site.signed_in()
    page = browser.get(f"/tasks/{world.tasks['rotten']}")
    page_answer(page, "the rotten version's task page")
    assert page.status_code == 422 and "rotten v1" in page.text


# -- databases that cannot be used -------------------------------------------------------


@pytest.mark.parametrize("where", ["not_a_database", "unreachable"])
def test_every_route_on_a_database_it_cannot_use(tmp_path: Path, where: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHWAYS_INCIDENT_LOG", str(tmp_path / "incidents.log"))
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a SQLite database at all" * 100)
    url = f"sqlite:///{garbage}" if where == "not_a_database" else UNREACHABLE
    app, application = _app(Settings(database_url=url, secret_key="test-secret",
                                     definitions_dir=tmp_path / "none"), migrate=False)
    world = BrokenWorld(client=1, tasks={"corrupt": "t", "rotten": "t", "active": "t"})
    try:
        for rule, method in routes(app):
            for path in paths(app, rule, world):
                response = app.test_client().open(
                    path, method=method, json={} if method in ("POST", "PUT") else None,
                    headers={"Authorization": "Bearer some-token"})
                where_ = f"{method} {path}"
                reason = ("the database cannot be used (DatabaseError)"
                          if where == "not_a_database" else
                          "the database cannot be used (OperationalError)")
                if rule.endpoint in ("health", "readyz"):  # their own shape, for load balancers
                    assert response.status_code == 503 and not STACK.search(response.text)
                    assert response.json == {"status": "unavailable", "reason": reason}
                elif rule.endpoint in ("healthz", "metrics"):  # no database needed to answer
                    assert response.status_code == 200 and not STACK.search(response.text)
                elif path.startswith(API):
                    if rule.endpoint == "api.openapi":
                        continue  # the document needs no database
                    error = api_answer(response, where_)
                    assert response.status_code == 503 and error is not None, where_
                else:
                    page_answer(response, where_)
                    assert response.status_code in (503, 302, 400, 404), where_
    finally:
        application.close()


# -- the last resort -------------------------------------------------------------------


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the unexpected happened")


def test_an_unexpected_exception_is_an_incident(broken_site: BrokenSite, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(Casework, "task", _explode)
    task = broken_site.world.tasks["active"]
    with caplog.at_level(logging.ERROR):
        response = broken_site.api("GET", f"{API}/tasks/{task}")
        browser, _ = broken_site.signed_in()
        page = browser.get(f"/tasks/{task}")
    assert response.status_code == 500 and not STACK.search(response.text)
    error = response.json["error"]  # type: ignore[index]
    assert error["code"] == "internal_error" and set(error) == ERROR_KEYS
    incident = error["details"]["incident"]
    assert incident in error["message"] and "RuntimeError" not in response.text
    assert page.status_code == 500 and not STACK.search(page.text)
    assert "incident" in page.text and 'role="alert"' in page.text
    logged = (tmp_path / "incidents.log").read_text(encoding="utf-8")
    assert f"incident {incident} " in logged and "_explode" in logged
    assert "GET /api/v1/tasks/<task_id>" in logged
    assert any(record.exc_info and incident in record.getMessage()
               for record in caplog.records)
