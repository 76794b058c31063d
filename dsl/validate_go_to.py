"""The validator's checks of `go_to` (see dsl.kinds.go_to): its target is a step that comes
earlier on the same path, in the same repeat, parallel branch, block and for_each.

"On the same path" means in the go_to's own list of steps or in a list around it (a decide's
branch may go back to a step before the decide), before the go_to; a go_to cannot jump into
a repeat, a parallel branch or another branch of a decision, nor out of a repeat, a
parallel branch, a block's steps or a for_each (a back edge across a subprocess or a join is
not a loop BPMN can run); a block's handlers run outside the block, so they may go back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dsl.kinds.go_to import JUMP_SUFFIX, MERGE_SUFFIX
from dsl.loader import Path, Position, value_at
from dsl.steps import all_steps
from dsl.wording import did_you_mean


class GoTos:
    """The document's steps by id, to check each go_to's target against."""

    def __init__(self, data: dict[str, Any], where: Callable[[Path], Position]) -> None:
        self.data = data
        self.where = where
        self.ids: dict[str, tuple[str, Path]] = {}  # id -> (kind, path of the step)
        for step, kind, path in all_steps(data.get("steps"), ("steps",)):
            if isinstance(step[kind], str):
                self.ids.setdefault(step[kind], (kind, path))

    def problem(self, step: dict[str, Any], path: Path) -> str | None:
        """What is wrong with the go_to at `path` going back to its target, or None."""
        target = step.get("target")
        if not isinstance(target, str):
            return None  # the schema reports it
        if target == step.get("go_to"):
            return "a go_to cannot go back to itself: name an earlier step as its target"
        if target not in self.ids:
            return (f"go_to target {target!r} is not a step{did_you_mean(target, self.ids)}: "
                    "name an earlier step on the same path")
        kind, target_path = self.ids[target]
        line = self.where(target_path)[0]
        where = f"{kind} {target!r} (line {line})"
        home = target_path[:-1]  # the list the target is in
        if path[:len(home)] != home or not isinstance(path[len(home)], int):
            return self.off_path(where, target_path, path)
        index, target_index = path[len(home)], target_path[-1]
        if isinstance(index, int) and isinstance(target_index, int) \
                and index < target_index:  # equal: the go_to is inside its target
            return (f"go_to target {where} comes after this go_to: a go_to goes back, to an "
                    "earlier step on the same path")
        for inner in self.owners(path, len(home)):
            inner_kind = next(k for k in ("repeat", "parallel", "block", "for_each")
                              if k in inner[1])
            return (f"go_to target {where} is outside the {inner_kind} {inner[0]!r} this "
                    f"go_to is in: a go_to cannot leave a {inner_kind}"
                    + (" (use its until, or an end step)" if inner_kind == "repeat" else ""))
        return None

    def off_path(self, where: str, target_path: Path, path: Path) -> str:
        if self.where(target_path) > self.where(path):
            return (f"go_to target {where} comes after this go_to: a go_to goes back, to an "
                    "earlier step on the same path")
        return (f"go_to target {where} is not on this go_to's path (it is inside another "
                "step's branch or repeat): a go_to goes back to an earlier step of its own "
                "list or of a list around it, never into a repeat, a parallel branch or "
                "another branch of a decision")

    def owners(self, path: Path, start: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """The repeats, parallel steps, blocks (their steps) and for_eachs around `path` below
        the list at path[:start]: each a subprocess or a join a back edge cannot cross."""
        for end in range(start + 1, len(path)):
            step = value_at(self.data, path[:end])
            if not isinstance(step, dict) or not isinstance(path[end - 1], int):
                continue
            for kind in ("repeat", "parallel", "block", "for_each"):
                # a block's handlers run outside it (after its boundary event): not its steps
                if kind in step and isinstance(step[kind], str) and (
                        kind != "block" or path[end] == "steps"):
                    yield step[kind], step

    def id_problems(self) -> Iterator[tuple[Path, str]]:
        """Step ids taken by the nodes a go_to adds: <target>_again and <go_to>_jump."""
        taken: dict[str, str] = {}
        for step_id, (kind, path) in self.ids.items():
            if kind == "go_to":
                taken[f"{step_id}{JUMP_SUFFIX}"] = f"the go_to {step_id!r}"
                target = value_at(self.data, (*path[:-1], path[-1], "target")) \
                    if isinstance(path[-1], int) else None
                if isinstance(target, str):
                    taken[f"{target}{MERGE_SUFFIX}"] = f"the go_to {step_id!r} going back"
        for step_id, (kind, path) in self.ids.items():
            if step_id in taken:
                yield (*path, kind), (f"step id {step_id!r} is taken by what {taken[step_id]} "
                                      "compiles to: choose another id")
