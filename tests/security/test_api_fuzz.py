"""Hypothesis fuzz of every API route: no input makes the server answer 5xx, every error is
the JSON error shape, every success is strict JSON, and no request takes long.

The routes come from the OpenAPI document the app serves, so a route added later is fuzzed
without touching this file. For each example one operation is picked, and its path
parameters (known ids, ids past every integer range, text with NUL and surrogates), its
query parameters and its body (arbitrary JSON with wrong types, huge numbers, NUL, lone
surrogates and deep nesting, or values shaped by the operation's request schema with nasty
leaves) are generated, then sent with the bearer token of one of the demo roles. Bounded:
a modest number of examples per database and a wall-clock cap per request. On SQLite and
PostgreSQL (where NUL used to be a 500).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.test_api import API, World
from tests.web.test_api import world as world  # the fixture

MAX_SECONDS = 5.0  # per request: far above a normal answer, far below a stall
USERS = ("sg_caseworker", "sg_team_lead", "sg_admin", "om_caseworker", "sg_commissioner")
EXAMPLES = 30  # per operation

_NASTY_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\n", "\r\nX-Injected: 1", "%00", "../..",
    "9" * 400, "-1", "0", "2147483648", "9223372036854775808", "1e400", "NaN", "Infinity",
    "null", "true", "<script>", "' OR 1=1 --", "=HYPERLINK(\"x\")", "2026-02-30", "9999-99-99",
    "gate_reception", "health", "x" * 5000,
])
_NASTY_NUMBERS = st.sampled_from([
    0, -1, 1, 2 ** 31, 2 ** 31 - 1, 2 ** 63, -(2 ** 63) - 1, 2 ** 64, 10 ** 30,
    int("9" * 4300), 1.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan"),
])
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                  _NASTY_TEXT, _NASTY_NUMBERS)
ANY_JSON = st.recursive(
    _LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                   st.dictionaries(st.one_of(st.text(max_size=8), _NASTY_TEXT),
                                                   inner, max_size=4)),
    max_leaves=12)


def _deep(depth: int) -> bytes:
    return b'{"data": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


def _encode(value: Any) -> bytes:
    """JSON text for value as a careless client would send it: NaN and Infinity written out,
    lone surrogates escaped (json.dumps writes them as \\udXXX)."""
    return json.dumps(value, allow_nan=True).encode("utf-8")


def _shaped(schema: dict[str, Any], components: dict[str, Any], depth: int = 0
            ) -> st.SearchStrategy[Any]:
    """Values that follow the schema's shape, with nasty leaves now and then."""
    if "$ref" in schema:
        return _shaped(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), _LEAF)
    kinds = schema.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    options: list[st.SearchStrategy[Any]] = [_LEAF]
    for kind in kinds:
        if kind == "object" and depth < 3:
            properties = schema.get("properties") or {}
            if properties:
                options.append(st.fixed_dictionaries(
                    {name: _shaped(spec, components, depth + 1)
                     for name, spec in properties.items() if name in schema.get("required", [])},
                    optional={name: _shaped(spec, components, depth + 1)
                              for name, spec in properties.items()
                              if name not in schema.get("required", [])}))
            else:
                options.append(st.dictionaries(st.one_of(st.text(max_size=12), _NASTY_TEXT),
                                               ANY_JSON, max_size=5))
        elif kind == "array" and depth < 3:
            options.append(st.lists(_shaped(schema.get("items") or {}, components, depth + 1),
                                    max_size=4))
        elif kind == "string":
            options.append(st.dates().map(str) if schema.get("format") == "date"
                           else st.text(max_size=40))
        elif kind == "integer":
            options.append(st.integers())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
    return st.one_of(options)


def _valid(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit the schema (as far as types and required properties go)."""
    if "$ref" in schema:
        return _valid(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type", "string")
    kind = kinds if isinstance(kinds, str) else kinds[0]
    if kind == "object":
        properties = schema.get("properties") or {}
        if not properties:
            return st.dictionaries(st.sampled_from(["notes", "release_date", "phone", "x"]),
                                   st.text(max_size=12), max_size=3)
        return st.fixed_dictionaries({name: _valid(spec, components)
                                      for name, spec in properties.items()})
    if kind == "array":
        return st.lists(_valid(schema.get("items") or {}, components), min_size=1, max_size=2)
    if kind == "integer":
        return st.integers(0, 100)
    if kind == "boolean":
        return st.booleans()
    if schema.get("format") == "date":
        return st.dates().map(str)
    return st.text(min_size=12, max_size=20)


def _spoiled(value: Any, nasty: Any, index: int) -> Any:
    """value with its index-th leaf (counting depth-first, wrapping) replaced by nasty."""
    leaves: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        for key in (list(node) if isinstance(node, dict) else range(len(node))
                    if isinstance(node, list) else []):
            if isinstance(node[key], (dict, list)) and node[key]:
                walk(node[key])
            else:
                leaves.append((node, key))

    walk(value)
    if not leaves:
        return nasty
    parent, key = leaves[index % len(leaves)]
    parent[key] = nasty
    return value


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                found.append((path, method.upper(), {**operation,
                                                     "path_parameters": item.get("parameters")
                                                     or []}))
    return sorted(found)


@st.composite
def _requests(draw: st.DrawFn, world: World, document: dict[str, Any],
              chosen: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    components = document["components"]["schemas"]
    path, method, operation = chosen
    for parameter in operation["path_parameters"]:
        name = parameter["name"]
        if parameter["schema"].get("type") == "integer":
            value = draw(st.one_of(st.sampled_from(sorted(world.clients.values())),
                                   st.integers(min_value=0, max_value=2 ** 70),
                                   _NASTY_TEXT.map(str)))
        else:
            value = draw(st.one_of(st.sampled_from(sorted(world.tasks.values())),
                                   st.text(max_size=20), _NASTY_TEXT))
        path = path.replace("{" + name + "}", _quoted(str(value)))
    query: dict[str, Any] = {}
    for parameter in operation.get("parameters") or []:
        if parameter.get("in") == "query" and draw(st.booleans()):
            query[parameter["name"]] = draw(st.one_of(
                _shaped(parameter.get("schema") or {}, components).map(str), _NASTY_TEXT))
    body: bytes | None = None
    if "requestBody" in operation or draw(st.integers(0, 9)) == 0:
        schema = (operation.get("requestBody") or {}).get("content", {}).get(
            "application/json", {}).get("schema", {})
        choice = draw(st.integers(0, 9))
        if choice == 0:
            body = _deep(draw(st.sampled_from([33, 900, 5000])))
        elif choice == 1:
            body = draw(st.binary(max_size=40))
        elif choice <= 3:
            body = _encode(draw(ANY_JSON))
        elif choice <= 5 and schema:  # the right shape with one nasty value somewhere
            body = _encode(_spoiled(draw(_valid(schema, components)),
                                    draw(st.one_of(_NASTY_TEXT, _NASTY_NUMBERS)),
                                    draw(st.integers(0, 50))))
        else:
            body = _encode(draw(_shaped(schema, components)))
    return {"path": path, "method": method, "query": query, "body": body,
            "user": draw(st.sampled_from(USERS))}


def _quoted(text: str) -> str:
    """Percent-encoded as a client would send it; a lone surrogate becomes the bytes of its
    (invalid) UTF-8 form, as a hostile client can send them."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in a JSON answer")

    return json.loads(text, parse_constant=refuse)


_PATH_SAFE = re.compile(r"[\x00-\x1f\x7f]")


def test_no_api_route_answers_5xx_to_any_input(world: World) -> None:
    http = world.http()
    document = http.get(f"{API}/openapi.json").json
    assert document is not None and len(_operations(document)) >= 13
    for chosen in _operations(document):
        _fuzz(world, http, document, chosen)


def _fuzz(world: World, http: Any, document: dict[str, Any],
          chosen: tuple[str, str, dict[str, Any]]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=_requests(world, document, chosen))
    def check(request: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {world.tokens[request['user']]}"}
        if request["body"] is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        query = "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in request["query"].items())
        response = http.open(request["path"], method=request["method"], query_string=query,
                             data=request["body"], headers=headers)
        elapsed = time.monotonic() - started
        where = f"{request['method']} {request['path']!r} {request['query']!r} " \
                f"{(request['body'] or b'')[:200]!r} -> {response.status_code}"
        assert response.status_code < 500, f"{where}: {response.text[:500]}"
        assert elapsed < MAX_SECONDS, f"{where}: took {elapsed:.1f} s"
        assert response.is_json, where
        answer = _strict_json(response.text)
        if response.status_code >= 400:
            error = answer["error"]
            assert isinstance(error["code"], str) and error["code"], where
            assert isinstance(error["message"], str) and error["message"], where
            assert isinstance(error["details"], dict), where
        location = response.headers.get("Location", "")
        assert not _PATH_SAFE.search(location), where

    check()
