"""The strict JSON loader of the API: every request body goes through load_body.

The rules (no NaN/Infinity or infinite numbers, integers of at most 18 digits, no NUL or
lone surrogates, at most engine.text.MAX_DEPTH levels of nesting) are engine.text.parse_json,
which the CLI uses for --data and --field too. A refusal is an InvalidArgumentError (400)
whose details.fields names the path of the problem, "(body)" for the document as a whole.
"""

from __future__ import annotations

from typing import Any

from flask import request

from engine.errors import InvalidArgumentError
from engine.text import parse_json

BODY = "(body)"

__all__ = ["BODY", "load_body", "parse_json"]


def load_body() -> Any:
    """The request's JSON body, strictly parsed; InvalidArgumentError when it is missing
    or not JSON this application can store and send back."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidArgumentError("send a JSON object as the request body",
                                   details={"fields": {BODY: ["is required"]}})
    return parse_json(raw)
