"""Steps renamed between two versions (issue 15): `--map old=new` on a migration, or
`renamed_from: old` on a step in the DSL (compiled to the BPMN extension property
`pathwaysRenamedFrom`, so a version drawn in BPMN can say it too).

A migration then treats the old step as the new one: its completed, waiting and ready tasks
are re-pointed to the renamed step. The names SpiffWorkflow and the compiler derive from a
step's id (a repeat's `rounds [child]`, its `rounds_start`, a process named after it) follow
it when the new version has the derived name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import InvalidArgumentError
from engine.workflow.definitions import ParsedDefinition

RENAMED_FROM_PROPERTY = "pathwaysRenamedFrom"
_DERIVED_STARTS = ("_", ".", " ", "[")  # what follows a step's id in a name derived from it


def _specs(parsed: ParsedDefinition) -> Iterable[tuple[str, Any]]:
    yield parsed.spec.name, parsed.spec
    for name, spec in parsed.subprocess_specs.items():
        if spec is not None:
            yield name, spec


def _names(parsed: ParsedDefinition) -> set[str]:
    names: set[str] = set()
    for process, spec in _specs(parsed):
        names.add(process)
        names.update(spec.task_specs)
    return names


def declared_renames(new: ParsedDefinition) -> dict[str, str]:
    """old id -> new id, from the `pathwaysRenamedFrom` property of the new version's steps."""
    found: dict[str, str] = {}
    for _process, spec in _specs(new):
        for name, task_spec in spec.task_specs.items():
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            old = properties.get(RENAMED_FROM_PROPERTY)
            if isinstance(old, str) and old.strip():
                found[old.strip()] = name
    return found


class Renames:
    """Maps a name of the old version to its name in the new one."""

    def __init__(self, old: ParsedDefinition, new: ParsedDefinition,
                 explicit: Mapping[str, str] | None = None, *, declared: bool = True) -> None:
        self.mapping = {**(declared_renames(new) if declared else {}), **(explicit or {})}
        self.old_names, self.new_names = _names(old), _names(new)
        self._longest_first = sorted(self.mapping, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def __call__(self, name: str) -> str:
        if name in self.mapping:
            return self.mapping[name]
        if name in self.new_names:
            return name
        for old in self._longest_first:
            rest = name[len(old):]
            if name.startswith(old) and rest.startswith(_DERIVED_STARTS) and \
                    self.mapping[old] + rest in self.new_names:
                return self.mapping[old] + rest
        return name

    def key(self, key: tuple[str, str]) -> tuple[str, str]:
        return self(key[0]), self(key[1])

    def names(self, names: Iterable[Any]) -> list[Any]:
        return [self(name) if isinstance(name, str) else name for name in names]


def check_renames(old: ParsedDefinition, new: ParsedDefinition,
                  explicit: Mapping[str, str], labels: tuple[str, str]) -> None:
    """Refuse a mapping that names a step the versions do not have (labels: how to name
    the old and new version)."""
    old_names, new_names = _names(old), _names(new)
    for before, after in explicit.items():
        if before not in old_names:
            raise InvalidArgumentError(
                f"--map {before}={after}: {labels[0]} has no step {before!r}",
                details={"field": "map", "value": f"{before}={after}"})
        if after not in new_names:
            raise InvalidArgumentError(
                f"--map {before}={after}: {labels[1]} has no step {after!r}",
                details={"field": "map", "value": f"{before}={after}"})
