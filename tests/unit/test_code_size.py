"""Size limits the code keeps to (issue 13): no module over 600 lines, no function over 60
lines, no function of cyclomatic complexity over 15 (radon's measure).

A limit broken is either fixed or listed below with the reason it is justified; a listed
exception that no longer breaks its limit fails too, so the list only ever shrinks to what is
true. Migrations are left out: each is a declaration of one schema change, read top to bottom.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "dsl", "web", "adapters", "bench")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15

# Justified breaches: "path" (module lines), "path:function" (function lines) or
# "path:function cc" (complexity) -> why it stays. None today; a new entry needs a reason.
EXCEPTIONS: dict[str, str] = {}


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _blocks(blocks: list[Any]) -> Iterator[Any]:
    """Every function radon measured: methods of classes and closures of functions too (a
    class's own figure is the sum of its methods', not a function's)."""
    for block in blocks:
        if hasattr(block, "methods"):
            yield from _blocks(list(block.methods) + list(getattr(block, "inner_classes", [])))
        else:
            yield block
            yield from _blocks(list(getattr(block, "closures", [])))


def _breaches() -> dict[str, str]:
    """Every limit broken, keyed as EXCEPTIONS is, with what was measured."""
    found: dict[str, str] = {}
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        name = _name(path)
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found[name] = f"{lines} lines"
        for function in _functions(ast.parse(text)):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found[f"{name}:{function.name}"] = f"{length} lines (line {function.lineno})"
        for block in _blocks(cc_visit(text)):
            if block.complexity > MAX_COMPLEXITY:
                found[f"{name}:{block.name} cc"] = (
                    f"complexity {block.complexity} (line {block.lineno})")
    return found


@pytest.fixture(scope="module")
def breaches() -> dict[str, str]:
    return _breaches()


def test_no_module_or_function_breaks_a_limit_unless_listed(breaches: dict[str, str]) -> None:
    unlisted = {key: measured for key, measured in breaches.items() if key not in EXCEPTIONS}
    assert not unlisted, (
        f"over the limits (modules {MAX_MODULE_LINES} lines, functions {MAX_FUNCTION_LINES} "
        f"lines, complexity {MAX_COMPLEXITY}); split them, or list them with a reason: "
        + "; ".join(f"{key}: {measured}" for key, measured in sorted(unlisted.items())))


def test_every_listed_exception_still_breaks_its_limit(breaches: dict[str, str]) -> None:
    stale = sorted(set(EXCEPTIONS) - set(breaches))
    assert not stale, f"no longer over the limits, take them off EXCEPTIONS: {stale}"


def test_the_measure_sees_a_long_complex_function() -> None:
    """The check itself can fail: a made-up function over both limits is caught."""
    body = "\n".join(f"    if x == {n}:\n        return {n}" for n in range(40))
    text = f"def long_and_branchy(x):\n{body}\n    return -1\n"
    tree = ast.parse(text)
    function = next(_functions(tree))
    assert (function.end_lineno or 0) - function.lineno + 1 > MAX_FUNCTION_LINES
    assert cc_visit(text)[0].complexity > MAX_COMPLEXITY
