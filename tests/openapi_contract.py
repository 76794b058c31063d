"""Every API response the tests see is checked against the app's own OpenAPI document.

ContractClient is a Flask test client that, after each request to /api/v1, checks that the
answer is one the document promises: the path and method are documented (else the answer
must be a documented Error, e.g. 404 or 405), the status code is listed for that operation,
the content type is the one documented, and the JSON body is valid against the documented
schema (JSON Schema 2020-12, as OpenAPI 3.1 says) with no key the schema does not list
(unless it says any key is allowed). tests/conftest.py makes it the test client
of every Flask app, so each API test is also a contract test, and a change to a response
that its documentation does not follow fails the test that made the request.
"""

from __future__ import annotations

import json
import re
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from web.api import PREFIX, openapi_document

_FORMATS = Draft202012Validator.FORMAT_CHECKER
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


class ContractViolation(AssertionError):
    """An API response its OpenAPI document does not describe."""


class _Contract:
    """One app's OpenAPI document, ready to check responses with."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        # literal paths first, as Flask routes them: /tasks/reassign before /tasks/{task_id}
        self.templates = [(re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
                                      + "$"), path)
                          for path in sorted(document["paths"], key=lambda p: p.count("{"))]
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, template in self.templates:
            found: dict[str, Any] | None = self.document["paths"][template].get(method.lower())
            if found is not None and pattern.match(path):
                return found
        return None

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        """A validator of `schema` whose #/components/... references resolve in the document."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            rooted = _closed({**schema, "components": self.document["components"]})
            self._validators[key] = Draft202012Validator(rooted, format_checker=_FORMATS)
        return self._validators[key]


def _closed(schema: Any) -> Any:
    """The schema with every object that lists its properties closed to others: a key an
    answer carries must be documented too (where a schema allows any keys it says so)."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


_CONTRACTS: WeakKeyDictionary[Flask, _Contract] = WeakKeyDictionary()


def contract_of(app: Flask) -> _Contract:
    if app not in _CONTRACTS:
        _CONTRACTS[app] = _Contract(openapi_document(app))
    return _CONTRACTS[app]


def check_response(app: Flask, method: str, path: str, response: TestResponse) -> None:
    """Raise ContractViolation unless the document describes this response."""
    if not (path == PREFIX or path.startswith(PREFIX + "/")) or method in ("HEAD", "OPTIONS"):
        return
    contract = contract_of(app)
    where = f"{method} {path} -> {response.status_code}"
    operation = contract.operation(method, path)
    if operation is None:  # an undocumented route or method: only an Error may answer
        if response.status_code not in (404, 405):
            raise ContractViolation(f"{where}: not a documented operation")
        _check_body(contract, where, response, {"application/json": {"schema": ERROR_SCHEMA}})
        return
    documented = operation["responses"].get(str(response.status_code)) or operation[
        "responses"].get("default")
    if documented is None:
        raise ContractViolation(f"{where}: status not documented (documented: "
                                f"{', '.join(sorted(operation['responses']))})")
    for header in documented.get("headers", {}):
        if header not in response.headers:
            raise ContractViolation(f"{where}: documented header {header} missing")
    _check_body(contract, where, response, documented.get("content"))


def _check_body(contract: _Contract, where: str, response: TestResponse,
                content: dict[str, Any] | None) -> None:
    if not content:
        if response.get_data():
            raise ContractViolation(f"{where}: a body where none is documented")
        return
    media = content.get(response.mimetype)
    if media is None:
        raise ContractViolation(f"{where}: content type {response.mimetype!r} not documented "
                                f"({', '.join(content)})")
    if "schema" not in media:
        return
    body = response.get_json(silent=True)
    if body is None and response.get_data().strip() != b"null":
        raise ContractViolation(f"{where}: the body is not JSON")
    errors = sorted(contract.validator(media["schema"]).iter_errors(body),
                    key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join(f"at {'/'.join(map(str, e.absolute_path)) or '(body)'}: "
                          f"{e.message[:300]}" for e in errors[:5])
        raise ContractViolation(f"{where}: body not as documented: {shown}")


class ContractClient(FlaskClient):
    """A Flask test client that checks every /api/v1 response against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        check_response(self.application, request.method, request.path, response)
        return response
