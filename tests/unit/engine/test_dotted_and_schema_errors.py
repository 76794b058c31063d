"""The shared helpers behind forms, the API and the DSL: dotted paths and schema errors."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from engine.dotted import dig
from engine.errors import FormValidationError
from engine.schema_errors import MISSING, UNKNOWN, schema_errors
from engine.workflow.forms import validate_submission

MISSING_HERE = object()


def test_dig_follows_a_dotted_path_and_says_missing_otherwise() -> None:
    data = {"client": {"release_date": "2026-03-01", "flags": ["a"]}, "risk": None}
    assert dig(data, "client.release_date") == "2026-03-01"
    assert dig(data, "risk", MISSING_HERE) is None  # present though null
    assert dig(data, "client.age") is None
    assert dig(data, "client.age", MISSING_HERE) is MISSING_HERE
    assert dig(data, "client.flags.0", MISSING_HERE) is MISSING_HERE  # lists are not walked
    assert dig("text", "a", MISSING_HERE) is MISSING_HERE


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "address": {"type": "object", "properties": {"street": {"type": "string"}},
                    "required": ["street"], "additionalProperties": False},
        "contact": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 3}]},
    },
    "required": ["name", "address"],
    "additionalProperties": False,
}


def _found(data: Any, *, branches: bool = False) -> list[tuple[tuple[Any, ...], str]]:
    errors = Draft202012Validator(SCHEMA).iter_errors(data)
    return sorted((p.path, p.kind) for p in schema_errors(errors, branches=branches))


def test_missing_and_unknown_properties_are_one_problem_per_field() -> None:
    assert _found({"address": {"town": "x"}, "extra": 1, "more": 2}) == [
        (("address", "street"), MISSING), (("address", "town"), UNKNOWN),
        (("extra",), UNKNOWN), (("more",), UNKNOWN), (("name",), MISSING)]


def test_other_keywords_keep_their_name_and_branches_open_up_on_request() -> None:
    data = {"name": 3, "address": {"street": "s"}, "contact": "ab"}
    assert _found(data) == [(("contact",), "anyOf"), (("name",), "type")]
    assert _found(data, branches=True) == [
        (("contact",), "minLength"), (("contact",), "type"), (("name",), "type")]


def test_several_missing_properties_are_each_reported_once() -> None:
    # jsonschema gives one `required` error per missing property, each carrying the whole
    # list: reading every name from each repeated each field once per missing field
    assert _found({}) == [(("address",), MISSING), (("name",), MISSING)]
    assert _found({"address": {}}) == [(("address", "street"), MISSING), (("name",), MISSING)]


def test_a_form_with_several_missing_fields_says_each_once() -> None:
    schema = {"type": "object", "required": ["a", "b", "c"],
              "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                             "c": {"type": "string"}}}
    try:
        validate_submission(schema, {"b": "given"})
    except FormValidationError as error:
        assert error.fields == {"a": ["this field is required"],
                                "c": ["this field is required"]}
    else:
        raise AssertionError("the form was accepted with two required fields missing")
