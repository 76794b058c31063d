"""Notification message templates: `Visit {client.name} before {due}`.

A deliberately tiny grammar, not str.format: a placeholder is `{name}` or `{client.name}`
(lower-case identifiers, at most one dot), `{{` and `}}` are literal braces, and nothing else
between braces is allowed. So no attribute walk (`{client.__class__}`), no indexing and no
format specs can reach anything but the values handed to `render`. The DSL validator checks
every placeholder of a pathway's messages (dsl.validate); the engine renders them when the
notification is sent (engine.workflow.case_runtime), from the case's data at that moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\}|[{}]")
# names every message may use besides the case's fields: the case's number
CASE_NAMES = ("case",)
# names only a reminder's or an escalation's message may use: its task's due date and title
TASK_NAMES = ("due", "task")
MISSING_VALUE = "(not recorded)"


@dataclass(frozen=True)
class Placeholder:
    name: str  # `client.name`, `due`, `risk`
    offset: int  # where its `{` is in the template


class TemplateError(ValueError):
    """A brace in a message that is neither a placeholder nor a doubled (literal) brace."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def placeholders(template: str) -> Iterator[Placeholder]:
    """Each placeholder of the template in order; TemplateError at a stray brace."""
    for match in PLACEHOLDER.finditer(template):
        text = match.group(0)
        if text in ("{{", "}}"):
            continue
        if match.group(1) is None:
            raise TemplateError(
                f"{text!r} is neither a placeholder like {{client.name}} nor a literal brace "
                f"(write {text * 2!r} for one)", match.start())
        yield Placeholder(match.group(1), match.start())


def render(template: str, values: Mapping[str, Any]) -> str:
    """The template with each placeholder replaced by its value: `client.x` is looked up as
    values["client"]["x"]; a value that is missing (or not text, a number or a date text)
    reads MISSING_VALUE. A template that breaks the grammar is sent as written."""
    try:
        list(placeholders(template))
    except TemplateError:
        return template

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.group(1) is None:
            return text[0]
        return _shown(_look_up(values, match.group(1)))

    return PLACEHOLDER.sub(one, template)


def _look_up(values: Mapping[str, Any], name: str) -> Any:
    head, _, tail = name.partition(".")
    value = values.get(head)
    if tail:
        value = value.get(tail) if isinstance(value, Mapping) else None
    return value


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str) and str(value).strip():
        return str(value)
    return MISSING_VALUE
