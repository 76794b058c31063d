"""Walking a pathway document's steps, and the names its expressions read.

Shared by the checks in dsl.validate; each function tolerates a malformed document (the
schema reports what is wrong), looking only at what is well formed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from typing import Any

from dsl.loader import Path
from dsl.schema import KINDS
from engine.workflow.expressions import CONSTANTS, ExpressionError, is_duration_literal, parse


def step_kinds(step: Mapping[str, Any]) -> list[str]:
    """The step's kind keys: one for a well-formed step.

    `wait` is also an option of refer (`wait: true`), so beside `refer` it is not a kind key.
    """
    kinds = [kind for kind in KINDS if kind in step]
    if "refer" in kinds and "wait" in kinds:
        kinds.remove("wait")
    return kinds


def step_kind(step: Any) -> str | None:
    """The step's kind when it has exactly one kind key."""
    if not isinstance(step, dict):
        return None
    kinds = step_kinds(step)
    return kinds[0] if len(kinds) == 1 else None


def branch_lists(step: dict[str, Any], kind: str, path: Path) -> Iterator[tuple[Any, Path]]:
    """The nested step lists of a step, with their paths."""
    if kind in ("decide", "parallel") and isinstance(step.get("branches"), list):
        for index, branch in enumerate(step["branches"]):
            if isinstance(branch, dict) and "steps" in branch:
                yield branch["steps"], (*path, "branches", index, "steps")
    if kind == "decide" and "otherwise" in step:
        yield step["otherwise"], (*path, "otherwise")
    if kind in ("repeat", "block", "for_each") and "steps" in step:
        yield step["steps"], (*path, "steps")
    if kind == "block" and isinstance(step.get("handlers"), list):
        for index, handler in enumerate(step["handlers"]):
            if isinstance(handler, dict) and "steps" in handler:
                yield handler["steps"], (*path, "handlers", index, "steps")


def all_steps(steps: Any, path: Path) -> Iterator[tuple[dict[str, Any], str, Path]]:
    """Every step with exactly one kind, nested ones included, in document order."""
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        kind = step_kind(step)
        if kind is None:
            continue
        yield step, kind, (*path, index)
        for nested, nested_path in branch_lists(step, kind, (*path, index)):
            yield from all_steps(nested, nested_path)


def always_ends(steps: Any) -> bool:
    """True when running these steps always ends the pathway."""
    return isinstance(steps, list) and any(step_ends(step) for step in steps)


def step_ends(step: Any) -> bool:
    kind = step_kind(step)
    if kind == "end":
        return True
    if kind != "decide":
        return False
    branches = step.get("branches")
    return (isinstance(branches, list) and bool(branches)
            and all(isinstance(b, dict) and always_ends(b.get("steps")) for b in branches)
            and always_ends(step.get("otherwise")))


def number_bounds(field: dict[str, Any]) -> tuple[float, float] | None:
    """A number field's (min, max) when both are numbers."""
    low, high = field.get("min"), field.get("max")
    if (isinstance(low, int | float) and isinstance(high, int | float)
            and not isinstance(low, bool) and not isinstance(high, bool)):
        return low, high
    return None


def reads_nothing(source: str) -> bool:
    """Whether the expression parses and reads no name (so it is the same for every case)."""
    try:
        return not reads(source)
    except ExpressionError:
        return False


def reads(source: str) -> dict[str, int]:
    """The dotted names an expression reads, each with the character offset (in the stripped
    source) of its first use.

    The same names as engine.workflow.expressions.names, found in one pass over the tree (names()
    rescans the tree for each name, too slow for a 1,000-character expression in a file
    of them). ExpressionError if the expression is not in the language.
    """
    tree = parse(source)
    encoded = source.strip().encode("utf-8")
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    offsets: dict[str, int] = {}
    for node in ast.walk(tree):
        if (not isinstance(node, ast.Name | ast.Attribute) or id(node) in called
                or id(node) in inner):
            continue
        parts: list[str] = []
        part: ast.AST = node
        while isinstance(part, ast.Attribute):
            parts.append(part.attr)
            part = part.value
        if not isinstance(part, ast.Name) or part.id in CONSTANTS or (
                not parts and is_duration_literal(part.id)):
            continue  # `P1M` is a duration, not a name read
        dotted = ".".join([part.id, *reversed(parts)])
        column = node.col_offset if node.lineno == 1 else 0  # ast counts UTF-8 bytes
        offset = len(encoded[:column].decode("utf-8", "ignore"))
        offsets[dotted] = min(offset, offsets.get(dotted, offset))
    return offsets


