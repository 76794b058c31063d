"""The validator's checks of per-round data: `round` and `<repeat id>.rounds` (see dsl.rounds).

`round` is only defined inside a repeat (its steps and its `until`); a repeat's data
(`<id>.rounds`, `<id>.round`) inside it and after it, and, for a repeat nested in another,
only within the enclosing repeat (each of its rounds starts the nested one afresh and keeps
its data in that round's entry). The names a round's bookkeeping writes are not free for
form fields.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator
from typing import Any

from dsl.loader import Path, Position
from dsl.rounds import ROUND, ROUNDS
from dsl.steps import all_steps

REPEAT_DATA = (ROUNDS, ROUND)
# names a script cannot assign: Python's keywords, and what RestrictedPython keeps
_NOT_SCRIPT_NAMES = frozenset({*keyword.kwlist, "print", "printed"})


def _inside(path: Path, repeat: Path) -> bool:
    """Whether `path` is in the repeat's steps or is its `until`."""
    return path[:len(repeat) + 1] in ((*repeat, "steps"), (*repeat, "until"))


class RoundNames:
    """What the document's repeats define, and where."""

    def __init__(self, data: dict[str, Any], where: Callable[[Path], Position],
                 defined: set[str]) -> None:
        self.where = where
        self.defined = defined  # form and client field names
        self.repeats: dict[str, Path] = {}
        for step, kind, path in all_steps(data.get("steps"), ("steps",)):
            if kind == "repeat" and isinstance(step["repeat"], str):
                self.repeats.setdefault(step["repeat"], path)

    def enclosing(self, path: Path) -> tuple[str, Path] | None:
        """The innermost repeat around `path` (its id and path)."""
        around = [(sid, p) for sid, p in self.repeats.items() if _inside(path, p)]
        return max(around, key=lambda item: len(item[1])) if around else None

    def problem(self, name: str, path: Path) -> tuple[bool, str | None]:
        """(whether `name` is round data, what is wrong with reading it at `path`)."""
        root, _, rest = name.partition(".")
        if root == ROUND and (self.repeats or root not in self.defined):
            return True, self.round_problem(name, rest, path)
        if root not in self.repeats:
            return False, None
        return True, self.repeat_problem(root, rest.partition(".")[0], path)

    def round_problem(self, name: str, rest: str, path: Path) -> str | None:
        if rest:
            return (f"{name!r}: `round` is a number (the round under way), it has no "
                    f"{rest.split('.')[0]!r}")
        if self.enclosing(path) is not None:
            return None
        return ("'round' is the number of the round under way, defined only inside a repeat "
                "(its steps and its `until`): move the condition into the repeat, or after "
                "it read len(<repeat id>.rounds), the number of rounds done")

    def repeat_problem(self, sid: str, part: str, path: Path) -> str | None:
        repeat = self.repeats[sid]
        line = self.where(repeat)[0]
        if part and part not in REPEAT_DATA:
            return (f"'{sid}.{part}': the repeat {sid!r} (line {line}) keeps '{sid}.rounds' "
                    f"(each round's answers) and '{sid}.round' (the round under way); "
                    "correct the name")
        if _inside(path, repeat):
            return None
        outer = self.enclosing(repeat)
        if outer is not None and not _inside(path, outer[1]):
            return (f"'{sid}' is the repeat at line {line}, inside the repeat {outer[0]!r}: "
                    f"its rounds are kept in each round of {outer[0]!r}, so read them inside "
                    f"{outer[0]!r}, or after it as {outer[0]}.rounds[-1].{sid}.rounds")
        if self.where(path) < self.where(repeat):
            return (f"'{sid}' is the repeat at line {line}, which comes later: its rounds "
                    "can only be read inside it or after it")
        return None

    def field_problems(self, data: dict[str, Any]) -> Iterator[tuple[Path, str]]:
        """Form fields whose names the rounds' bookkeeping needs: (the field's path, why)."""
        for step, kind, path in all_steps(data.get("steps"), ("steps",)):
            form = step.get("form") if kind == "task" else None
            if not isinstance(form, dict):
                continue
            in_repeat = self.enclosing(path) is not None
            for name in form:
                problem = self.field_name(name, in_repeat)
                if problem:
                    yield (*path, "form", name), problem

        client_fields = data.get("client_fields")
        for name in client_fields if isinstance(client_fields, dict) else ():
            if name in self.repeats or (name == ROUND and self.repeats):
                yield ("client_fields", name), (
                    f"client field {name!r} would hide the "
                    + ("round number every repeat keeps" if name == ROUND
                       else f"rounds the repeat {name!r} keeps") + " under that name; rename it")

    def field_name(self, name: Any, in_repeat: bool) -> str | None:
        if not isinstance(name, str):
            return None
        if name in self.repeats:
            return (f"form field {name!r} has the name of the repeat {name!r} "
                    f"(line {self.where(self.repeats[name])[0]}), whose rounds are kept "
                    "under that name; rename the field or the repeat")
        if name == ROUND and self.repeats:
            return ("form field 'round' would hide the round number every repeat keeps "
                    "under that name; rename the field")
        if in_repeat and name in _NOT_SCRIPT_NAMES:
            return (f"form field {name!r} is a reserved word, and a repeat keeps each "
                    "round's answers by name; rename the field")
        return None

    def id_problems(self) -> Iterator[tuple[Path, str]]:
        """Repeat ids that cannot name case data (a reserved word)."""
        for sid, path in self.repeats.items():
            if sid in _NOT_SCRIPT_NAMES or sid == ROUND:
                yield (*path, "repeat"), (f"repeat id {sid!r} is a reserved word, and a "
                                          "repeat keeps its rounds under its id; choose "
                                          "another id")
