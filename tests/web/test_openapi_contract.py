"""The contract check every API test runs through (tests/openapi_contract.py) can fail.

Each kind of drift between the API and its OpenAPI document is planted and must be reported:
a body off its schema or with an undocumented key, an undocumented status, content type or
route, a missing documented header; and a view changed under a real request fails the
request's test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Response

import web.api
from tests.openapi_contract import ContractClient, ContractViolation, check_response
from tests.web.conftest import Site

API = "/api/v1"


def answer(status: int, body: Any = None, *, mimetype: str = "application/json",
           headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body) if mimetype == "application/json" else str(body)
    return Response(text, status=status, mimetype=mimetype, headers=headers)


ERROR = {"error": {"code": "not_found", "message": "no such task", "details": {}}}


def test_every_flask_test_client_is_a_contract_client(site: Site) -> None:
    assert isinstance(site.client(), ContractClient)


def test_responses_as_documented_pass(site: Site) -> None:
    app = site.app
    check_response(app, "GET", f"{API}/tasks/abc", answer(404, ERROR))
    check_response(app, "GET", f"{API}/nowhere", answer(404, ERROR))
    check_response(app, "GET", f"{API}/tasks", answer(200, {
        "tasks": [], "counts": {"mine": 0, "role": 0, "unassigned": 0, "overdue": 0},
        "problems": [], "over": [], "total_over": False, "total": 0, "limit": 50,
        "offset": 0, "next_offset": None}))
    check_response(app, "GET", "/inbox", answer(200, "<html>", mimetype="text/html"))
    # where the document allows any keys (an error's details), any are fine
    check_response(app, "GET", f"{API}/tasks/abc", answer(404, {"error": {
        "code": "not_found", "message": "no such task", "details": {"task": "abc"}}}))


@pytest.mark.parametrize(("method", "path", "response", "complaint"), [
    ("GET", f"{API}/tasks", answer(200, {"tasks": [{"id": 1}], "counts": {}}),
     "body not as documented"),
    ("GET", f"{API}/tasks", answer(200, {"tasks": [], "counts": {
        "mine": "0", "role": 0, "unassigned": 0, "overdue": 0}, "problems": [], "over": [],
        "total_over": False}),
     "at counts/mine: '0' is not of type 'integer'"),
    ("GET", f"{API}/tasks", answer(200, {"tasks": [], "counts": {
        "mine": 0, "role": 0, "unassigned": 0, "overdue": 0}, "problems": [], "over": [],
        "total_over": False, "debug": "an undocumented key"}), r"\('debug' was unexpected\)"),
    ("GET", f"{API}/tasks/abc", answer(404, {"error": "no such task"}),
     "body not as documented"),
    ("GET", f"{API}/tasks", answer(418, ERROR), "status not documented"),
    ("GET", f"{API}/tasks", answer(200, "a,b", mimetype="text/csv"),
     "content type 'text/csv' not documented"),
    ("POST", f"{API}/clients", answer(201, {"client": {
        "id": 1, "name": "Sam", "fields": {}, "created_at": None}}),
     "documented header Location missing"),
    ("GET", f"{API}/nowhere", answer(200, {}), "not a documented operation"),
    ("DELETE", f"{API}/tasks/abc", answer(405, {"oops": 1}), "body not as documented"),
    ("GET", f"{API}/openapi.json", answer(200, "not json", mimetype="application/json"),
     "body not as documented"),
])
def test_drift_from_the_document_is_reported(site: Site, method: str, path: str,
                                             response: Response, complaint: str) -> None:
    with pytest.raises(ContractViolation, match=complaint):
        check_response(site.app, method, path, response)


def test_a_view_answering_off_the_document_fails_the_request(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a refactor would slip through: the 401 body loses its documented shape."""
    http = site.client()
    assert http.get(f"{API}/tasks").status_code == 401  # as documented: passes

    def reshaped(message: str, *, invalid: bool) -> Any:
        return {"error": message}, 401, {"WWW-Authenticate": "Bearer"}

    monkeypatch.setattr(web.api, "_unauthorized", reshaped)
    with pytest.raises(ContractViolation, match=r"GET /api/v1/tasks -> 401: body not as"):
        http.get(f"{API}/tasks")
