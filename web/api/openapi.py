"""The OpenAPI 3.1 document: each view declares its `operation`; apispec builds the
document from the blueprint's routes and the published schemas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from apispec import APISpec
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from web.api.common import F, bp
from web.api.schemas import REQUEST_SCHEMAS, RESPONSE_SCHEMAS, ref

_OPERATIONS: dict[str, dict[str, Any]] = {}  # view name -> OpenAPI operation

_ERRORS = {
    400: "invalid input (code invalid_argument; details.fields lists the problems); any "
         "request whose path, query, headers or cookies hold a NUL or a lone surrogate",
    401: "no API token, or not a live one (code unauthorized)",
    403: "the user may not do this (code forbidden)",
    404: "no such thing, or one the user may not see (code not_found)",
    405: "the method is not allowed here (code http_error); on a path that takes several "
         "methods, also an id past the integer range (the router finds the path, not the "
         "method)",
    409: "the task or case changed meanwhile (code conflict or invalid_state)",
    413: "the file is over the size limit (code too_large; details.limit in bytes)",
    422: "the data does not fit the form (code invalid_data; details.fields), a script of "
         "the definition failed (code script_error), the version's definition cannot be "
         "loaded (code invalid_definition), or the virus scanner refused a file (code "
         "infected)",
    500: "something failed on our side (code internal_error; details.incident names the "
         "incident logged for the operators), or a stored case this version cannot read "
         "(code state_format)",
    503: "the database cannot be reached or used just now (code database_unavailable or "
         "database_error), or the virus scanner cannot be (code scanner_unavailable); try "
         "again later",
}
# What any operation may answer, whatever it does: a request with unstorable text is refused
# before any view runs, and a failure of the server or its database can happen anywhere.
_ALWAYS = {400, 500, 503}


def operation(summary: str, *, tag: str, ok: int = 200, result: str | None = None,
              body: str | None = None, query: Iterable[dict[str, Any]] = (),
              errors: Iterable[int] = (400, 401, 403, 404), description: str = "",
              public: bool = False, route: tuple[str, str] | None = None,
              body_media: str = "application/json", files: Iterable[str] = ()
              ) -> Callable[[F], F]:
    """Declare a view's OpenAPI operation (path parameters come from its route). route:
    (endpoint, method) when the function is one method of a view serving several on one
    rule (two rules on one path answer 405, not 404, to an id no rule's converter takes);
    `files`: the media types of a file it answers with instead of JSON."""

    def decorate(view: F) -> F:
        success: dict[str, Any] = {"description": "OK" if ok == 200 else "Created"}
        if result:
            success["content"] = {"application/json": {"schema": ref(result)}}
        if files:
            success["content"] = {media: {} for media in files}
        if ok == 201:
            success["headers"] = {"Location": {
                "description": "the client's record", "schema": {"type": "string"}}}
        responses: dict[str, Any] = {str(ok): success}
        for status in sorted(set(errors) | _ALWAYS | (set() if public else {401})):
            responses[str(status)] = {
                "description": _ERRORS[status],
                "content": {"application/json": {"schema": ref("Error")}}}
        if "401" in responses:
            responses["401"]["headers"] = {"WWW-Authenticate": {
                "description": 'Bearer realm="pathways" (with error="invalid_token" for a '
                               "token that is not live)", "schema": {"type": "string"}}}
        op: dict[str, Any] = {"summary": summary, "tags": [tag], "operationId": view.__name__,
                              "responses": responses}
        if description:
            op["description"] = description
        if query:
            op["parameters"] = [{"in": "query", **parameter} for parameter in query]
        if body:
            op["requestBody"] = {"required": True, "content": {
                body_media: {"schema": ref(body)}}}
        if public:
            op["security"] = []
        _OPERATIONS[view.__name__ if route is None else " ".join(route)] = op
        return view

    return decorate


_RULE_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of this blueprint, built once per app."""
    cached: dict[str, Any] | None = app.extensions.get("pathways_openapi")
    if cached is not None:
        return cached
    spec = APISpec(
        title="Pathways API", version="1", openapi_version="3.1.0",
        info={"description": (
            "The caseworker web's operations for integrations: the task inbox, tasks, "
            "clients, consents, cases and the subject access export. Authenticate with "
            "`Authorization: Bearer <token>` (`pathways users tokens add USER --name N`). "
            "The same access rules hold as on the pages: a task or client the user may not "
            "see is not found. Errors are {\"error\": {\"code\", \"message\", \"details\"}}; "
            "invalid input lists its problems in details.fields. Dates and times are "
            "ISO 8601.")},
        security=[{"bearer": []}],
    )
    spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "an API token from `pathways users tokens add USER --name NAME`"})
    for name, schema in {**RESPONSE_SCHEMAS, **REQUEST_SCHEMAS}.items():
        spec.components.schema(name, schema)
    paths: dict[str, dict[str, Any]] = {}
    parameters: dict[str, list[dict[str, Any]]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".")[0] != bp.name:
            continue
        view = rule.endpoint.split(".", 1)[1]
        path = _RULE_ARGUMENT.sub(r"{\2}", rule.rule)
        parameters[path] = [
            {"in": "path", "name": name, "required": True,
             "schema": {"type": "integer"} if converter == "int" else {"type": "string"}}
            for converter, name in _RULE_ARGUMENT.findall(rule.rule)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _OPERATIONS.get(
                f"{view} {method.lower()}") or _OPERATIONS[view]
    for path, operations in paths.items():
        spec.path(path=path, operations=operations, parameters=parameters[path] or None)
    document = spec.to_dict()
    app.extensions["pathways_openapi"] = document
    return document


# -- the OpenAPI document ----------------------------------------------------------------------


@bp.get("/openapi.json")
@operation("This document (no token needed)", tag="meta", result="OpenApiDocument",
           errors=(), public=True)
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document(current_app))
