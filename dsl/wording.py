"""Words for validation problems: values, paths and expected types as an author reads them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from jsonschema import ValidationError

from dsl.loader import Path

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
TYPE_NAMES = {"string": "text", "object": "a mapping (key: value lines)", "array": "a list",
              "integer": "a whole number", "number": "a number", "boolean": "true or false",
              "null": "empty"}


def closest_word(word: str, choices: Collection[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Collection[str]) -> str:
    found = closest_word(word, choices)
    return f" (did you mean {found!r}?)" if found else ""


def describe_value(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def either_of(words: list[str]) -> str:
    """["text", "a list"] -> "text or a list"; three or more get commas."""
    if len(words) < 3:
        return " or ".join(words)
    return ", ".join(words[:-1]) + ", or " + words[-1]


def path_label(path: Path) -> str:
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, int):
        parent = f" of {path[-2]!r}" if len(path) > 1 and isinstance(path[-2], str) else ""
        return f"item {last + 1}{parent}"
    return repr(last)


def schema_noun(schema: Mapping[str, Any]) -> str:
    """"a task step" -> "task step": the schema's title without its article."""
    return re.sub(r"^(a|an) ", "", str(schema.get("title", "a mapping")))


def id_hint(schema: Mapping[str, Any], value: Any) -> str:
    """For an invalid id: the valid id it was probably meant to be."""
    if schema.get("pattern") != ID_PATTERN.pattern or not isinstance(value, str):
        return ""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value).lower()
    suggestion = re.sub(r"[^a-z0-9]+", "_", words).strip("_").lstrip("0123456789_")
    return f"; e.g. {suggestion!r}" if ID_PATTERN.fullmatch(suggestion) else ""


def type_hint(expected: list[str], value: Any, schema: Mapping[str, Any]) -> str:
    if value is None:
        return ": give it a value, or remove the key"
    if "string" in expected and isinstance(value, bool):
        return (": put it in quotes to make it text (YAML reads yes, no, on and off as "
                "true or false)")
    if "string" in expected and isinstance(value, int | float) and "pattern" not in schema:
        return ": put it in quotes to make it text"
    if "array" in expected:
        return ": write a list, one `- item` a line, or [a, b]"
    if "object" in expected:
        return ": write `key: value` lines, indented under it"
    if "boolean" in expected:
        return ": write true or false"
    if "integer" in expected and isinstance(value, float):
        return ": use a whole number"
    return ""



# -- one schema error, in words ------------------------------------------------------------


def _template(error: ValidationError, schema: Mapping[str, Any]) -> str | None:
    """The schema's own wording for the broken keyword (its `x-messages`), if it has one."""
    messages = schema.get("x-messages", {})
    return messages.get(str(error.validator)) if isinstance(messages, Mapping) else None


def key_name_message(error: ValidationError, schema: Mapping[str, Any]) -> str:
    """For a mapping key its `propertyNames` refuse (e.g. a role id that is not an id)."""
    template, value = _template(error, schema), error.instance
    if not template:
        return f"{value!r} is not allowed as a key here"
    return template.replace("{value}", repr(value)) + id_hint(schema, value)


def keyword_message(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    """For a value the schema refuses: the schema's own wording, else one per keyword."""
    template, value = _template(error, schema), error.instance
    if template:
        return template.replace("{value}", repr(value)) + id_hint(schema, value)
    words = _KEYWORD_WORDS.get(str(error.validator))
    if words is None:
        return f"{path_label(path)}: {error.message}"
    return words(error, schema, path)


def _wrong_type(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    types: Any = error.validator_value
    expected = [types] if isinstance(types, str) else list(types)
    wanted = either_of([TYPE_NAMES.get(name, name) for name in expected])
    about = f" ({schema['description']})" if "description" in schema else ""
    hint = (_braces_hint(expected, error.instance, path)
            or type_hint(expected, error.instance, schema))
    return (f"{path_label(path)} must be {wanted}{about}, not {describe_value(error.instance)}"
            f"{hint}")


def _braces_hint(expected: list[str], value: Any, path: Path) -> str:
    """`title: {Plan, review}` is a YAML mapping and `[a, b]` a list: the designer meant
    text, so say how to write it (the text rebuilt from what YAML made of it)."""
    if "string" not in expected or not path or not isinstance(path[-1], str):
        return ""
    if isinstance(value, dict) and all(v is None for v in value.values()):
        text, what = "{" + ", ".join(map(str, value)) + "}", "{…}"
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text, what = "[" + ", ".join(map(str, value)) + "]", "[…]"
    else:
        return ""
    return (f": YAML reads {what} as structure, not text; put the whole text in quotes: "
            f'{path[-1]}: "{text}"')


def _not_an_option(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    options: Any = error.validator_value
    allowed = [str(option) for option in options]
    value = error.instance
    guess = did_you_mean(value, allowed) if isinstance(value, str) else ""
    return (f"{describe_value(value)} is not allowed for {path_label(path)}{guess}: "
            f"use one of {', '.join(allowed)}")


def _empty_text(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    return f"{path_label(path)} must not be empty: write the text"


def _too_small(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    return f"{path_label(path)} must be at least {error.validator_value}, not {error.instance}"


def _too_few(error: ValidationError, schema: Mapping[str, Any], path: Path) -> str:
    return f"{path_label(path)} needs at least {error.validator_value} item(s): add them"


_KEYWORD_WORDS: dict[str, Callable[[ValidationError, Mapping[str, Any], Path], str]] = {
    "type": _wrong_type, "enum": _not_an_option, "minLength": _empty_text,
    "minimum": _too_small, "minItems": _too_few, "minProperties": _too_few}
