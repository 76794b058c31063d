"""Recorded answers as the next worker reads them: each field of a completed task's form with
its label from the form definition and its value in words (Yes/No, a choice's words rather
than its stored value, a scale's label, dates one way: 7 Oct 2026).

Pure: given the form's JSON Schema (as the DSL or a Camunda form compiles it) and the
answers as the task_completed event keeps them, already redacted by engine.access.privacy
(a value the viewer may not see is HIDDEN; a field whose presence would tell is not there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.access import HIDDEN

LABELS = "x-pathways-labels"  # option or scale value -> the words shown for it


@dataclass(frozen=True)
class Answer:
    """One recorded answer: the field, its label, the value in words; hidden: the viewer
    may not see the value (text is then HIDDEN)."""

    name: str
    label: str
    text: str
    hidden: bool = False


def day(value: date | datetime | str | None) -> str:
    """A date the one way pages show it: 7 Oct 2026 ("" for None; text that is no date as
    given)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            return day(date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return f"{value.day} {value:%b %Y}"


def moment(value: datetime | None) -> str:
    """A time the one way pages show it: 7 Oct 2026, 14:05 ("" for None)."""
    return "" if value is None else f"{day(value)}, {value:%H:%M}"


def words(option: Any, spec: Mapping[str, Any]) -> str:
    """A stored value in words: the form's label for it, else its name with spaces."""
    labels = spec.get(LABELS) if isinstance(spec.get(LABELS), Mapping) else {}
    found = labels.get(str(option)) if labels else None
    if isinstance(found, str):
        return f"{option} — {found}" if spec.get("type") == "integer" else found
    return str(option).replace("_", " ")


def in_words(value: Any, spec: Mapping[str, Any]) -> str:
    """value as the form would say it (spec: the field's JSON Schema property)."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    items = spec.get("items") if isinstance(spec.get("items"), Mapping) else None
    if isinstance(value, list):
        return ", ".join(in_words(v, items or {}) for v in value) or "none"
    if spec.get("format") == "date" and isinstance(value, str):
        return day(value)
    if "enum" in spec or LABELS in spec:
        return words(value, spec)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {in_words(v, {})}" for k, v in value.items())
    return str(value)


def answers(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> list[Answer]:
    """The answers in data, in the form's order (fields the form does not list after, by
    name); a field left empty is not an answer."""
    properties = (schema or {}).get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    order = [name for name in properties if name in data]
    order += sorted(name for name in data if name not in properties)
    found: list[Answer] = []
    for name in order:
        value = data[name]
        if value is None or value == "" or value == []:
            continue
        spec = properties.get(name)
        spec = spec if isinstance(spec, Mapping) else {}
        label = str(spec.get("title") or name.replace("_", " "))
        if value == HIDDEN:
            found.append(Answer(name, label, HIDDEN, hidden=True))
        else:
            found.append(Answer(name, label, in_words(value, spec)))
    return found
