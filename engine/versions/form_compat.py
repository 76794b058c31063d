"""Whether a form's change matters to a case that has already answered it (issue 15).

A case that completed (or is at) a step keeps the answers it gave. A new version of the
step's form is compatible with those answers when every answer is still valid and nothing
the new form insists on is missing: an option or an optional field added, a field no longer
required, a limit widened, words changed. It is not when a field is removed, added as
required or made required, its type changes, a limit narrows, a setting that moves or
shows data changes (save_to, prefill, visible_when, sensitive), or an option this case
answered is removed. Each problem is said in words a designer can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Field settings that only change what people see, never what is stored.
_WORDS_ONLY = frozenset({"x-pathways-widget", "x-pathways-labels"})
_SETTING_WORDS = {
    "x-pathways-prefill": "prefill", "x-pathways-save-to": "save_to",
    "x-pathways-sensitive": "sensitive", "x-pathways-visible-when": "visible_when",
    "format": "format", "uniqueItems": "unique answers"}
_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "boolean": "yes/no", "array": "a list"}
_REQUIRED_WHEN_VISIBLE = "x-pathways-required-when-visible"
_SENSITIVE = "x-pathways-sensitive"

Answers = Callable[[str], list[Any]]  # the values this case holds for a field name


def form_problems(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                  answers: Answers) -> list[str]:
    """Why the new form does not fit a case that answered the old one (empty: it fits).

    old, new: a step's form as engine.versions.migration describes it ({"schema": ...},
    without its labels), or None for a step without a form.
    """
    old_schema = (old or {}).get("schema") or {}
    new_schema = (new or {}).get("schema") or {}
    old_fields: Mapping[str, Any] = old_schema.get("properties") or {}
    new_fields: Mapping[str, Any] = new_schema.get("properties") or {}
    old_required, new_required = _required(old_schema), _required(new_schema)
    problems = _added_or_removed(old_fields, new_fields, new_required)
    for name in (name for name in old_fields if name in new_fields):
        problems += _field_problems(name, old_fields[name], new_fields[name],
                                    (name in old_required, name in new_required), answers)
    if old_schema and new_schema and _form_settings(old_schema) != _form_settings(new_schema):
        problems.append("the form's settings changed")
    return problems


def _added_or_removed(old_fields: Mapping[str, Any], new_fields: Mapping[str, Any],
                      new_required: set[str]) -> list[str]:
    """A field removed, or added as required (an optional field added is fine)."""
    problems = [f"field {name!r} is removed" for name in old_fields if name not in new_fields]
    return problems + [
        f"field {name!r} is added as a required answer, which this case never gave"
        for name in new_fields if name not in old_fields and name in new_required]


def _form_settings(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The form's own settings, apart from its fields and words."""
    return {key: value for key, value in schema.items()
            if key not in {"properties", "required", "title", "description"}}


def _required(schema: Mapping[str, Any]) -> set[str]:
    fields = schema.get("properties") or {}
    return set(schema.get("required") or []) | {
        name for name, spec in fields.items()
        if isinstance(spec, Mapping) and spec.get(_REQUIRED_WHEN_VISIBLE)}


def _field_problems(name: str, old: Any, new: Any, required: tuple[bool, bool],
                    answers: Answers) -> list[str]:
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [] if old == new else [f"field {name!r} changed"]
    problems: list[str] = []
    if required == (False, True):
        problems.append(f"field {name!r} is now required")
    if old.get("type") != new.get("type"):
        return [*problems, f"field {name!r} is now {_type(new)} (was {_type(old)})"]
    problems += _removed_options(name, old, new, answers)
    problems += _narrowed(name, old, new)
    checked = {"type", "enum", "items", "maxLength", "minimum", "maximum",
               _REQUIRED_WHEN_VISIBLE, *_WORDS_ONLY}
    for key in sorted((set(old) | set(new)) - checked):
        if old.get(key) != new.get(key):
            problems.append(f"field {name!r}: its setting "
                            f"{_SETTING_WORDS.get(key, key)!r} changed")
    return problems


def _type(spec: Mapping[str, Any]) -> str:
    kind = str(spec.get("type"))
    return _TYPE_WORDS.get(kind, kind)


def field_options(spec: Mapping[str, Any]) -> list[Any] | None:
    """A form field's options (a choice's enum, a multiple choice's items' enum), or None."""
    if isinstance(spec.get("enum"), list):
        return list(spec["enum"])
    items = spec.get("items")
    if isinstance(items, Mapping) and isinstance(items.get("enum"), list):
        return list(items["enum"])
    return None


def _removed_options(name: str, old: Mapping[str, Any], new: Mapping[str, Any],
                     answers: Answers) -> list[str]:
    """An option removed matters only when this case chose it."""
    before, after = field_options(old), field_options(new)
    if before is None or after is None:
        return [] if (before, old.get("items")) == (after, new.get("items")) else [
            f"field {name!r}: its answers changed"]
    given = answers(name)
    used = [option for option in before if option not in after and any(
        value == option or (isinstance(value, list) and option in value) for value in given)]
    if used and (old.get(_SENSITIVE) or new.get(_SENSITIVE)):
        # a health or offence answer is not repeated in a reason shown to designers
        return [f"an option this case answered is removed from field {name!r} (a sensitive "
                "field: the option is not named here)"]
    return [f"option {option!r} of field {name!r} is removed, and this case answered "
            f"{option!r}" for option in used]


def _narrowed(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """A limit tightened (or set where there was none): an answer given may break it."""
    problems = []
    old_max, new_max = old.get("maxLength"), new.get("maxLength")
    if new_max is not None and (old_max is None or new_max < old_max):
        problems.append(f"field {name!r} now allows at most {new_max} characters "
                        f"(was {_limit(old_max)})")
    old_min, new_min = old.get("minimum"), new.get("minimum")
    if new_min is not None and (old_min is None or new_min > old_min):
        problems.append(f"field {name!r} now has a minimum of {new_min} "
                        f"(was {_limit(old_min)})")
    old_top, new_top = old.get("maximum"), new.get("maximum")
    if new_top is not None and (old_top is None or new_top < old_top):
        problems.append(f"field {name!r} now has a maximum of {new_top} "
                        f"(was {_limit(old_top)})")
    return problems


def _limit(value: Any) -> str:
    return "no limit" if value is None else str(value)
