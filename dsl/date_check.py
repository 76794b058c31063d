"""Whether a `due` or a `wait until` gives a date, and reads only dates known by then.

A date here is: a client date field, a form's date field asked in an earlier step, a date
written as text ('2026-03-01'), `today()`, `working_days(n)`, `add_working_days(<date>, n)`,
`date(...)`; or one of those plus or minus an ISO-8601 duration (`move_in_date + P1M`).
A name whose type is not known here (a recorded value, a referral's result) is taken on
trust; the expression check already reports names that are not defined at all.

"Earlier" is document order: a field of a task before this step (in any branch above it),
never one of the same task's own form, which is not filled in when its due time is set.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dsl.loader import Path
from dsl.steps import all_steps
from engine.workflow.expressions import ExpressionError, is_duration_literal, parse

_DATE_FUNCTIONS = ("today", "working_days", "add_working_days", "date")
_HOW = ("write a date field, today(), working_days(n) or add_working_days(<date>, n), "
        "optionally plus or minus a duration such as P7D")


@dataclass
class AskedFields:
    """Every form field of the document with its type and the task that asks it, in order."""

    client: Mapping[str, Any]
    asked: list[tuple[Path, str, Any]] = field(default_factory=list)  # step path, field, type

    @classmethod
    def of(cls, data: Mapping[str, Any], client: Mapping[str, Any]) -> AskedFields:
        found = cls(client)
        for step, kind, path in all_steps(data.get("steps"), ("steps",)):
            form = step.get("form")
            if kind == "task" and isinstance(form, dict):
                found.asked.extend(
                    (path, name, spec.get("type") if isinstance(spec, dict) else None)
                    for name, spec in form.items() if isinstance(name, str))
        return found

    def before(self, step: Path) -> dict[str, Any]:
        """field -> type of the fields asked in the steps before `step`."""
        earlier: dict[str, Any] = {}
        for path, name, kind in self.asked:
            if path == step or _after(path, step):
                continue
            earlier.setdefault(name, kind)
        return earlier

    def from_step(self, step: Path) -> dict[str, Path]:
        """field -> the task asking it, for fields asked only at or after `step`."""
        return {name: path for path, name, _ in reversed(self.asked)
                if path == step or _after(path, step)}


def _after(path: Path, step: Path) -> bool:
    """Whether the step at `path` comes after `step` in document order (not inside it)."""
    for mine, theirs in zip(path, step, strict=False):
        if mine != theirs:
            if isinstance(mine, int) and isinstance(theirs, int):
                return mine > theirs
            return str(mine) > str(theirs)  # branches < otherwise; steps within one kind
    return len(path) > len(step)


@dataclass
class DateCheck:
    """The problems (offset in the stripped source, message) of one date expression."""

    fields: AskedFields
    step: Path
    what: str  # "due" or "until"
    problems: list[tuple[int, str]] = field(default_factory=list)

    def run(self, source: str) -> list[tuple[int, str]]:
        try:
            tree = parse(source)
        except ExpressionError:
            return []  # the expression check reports it, located
        self.date(tree.body)
        return self.problems

    def report(self, node: ast.AST, message: str) -> None:
        self.problems.append((getattr(node, "col_offset", 0), message))

    def date(self, node: ast.expr) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            self.moved(node)
        elif isinstance(node, ast.Name) and is_duration_literal(node.id):
            wait = f"to wait a time, write `for: {node.id}`; " if self.what == "until" else ""
            self.report(node, f"{self.what} is given a duration, {node.id}, where it needs a "
                              f"date: {wait}{_HOW}")
        elif isinstance(node, ast.Name):
            self.name(node.id, node)
        else:
            self.other(node)

    def other(self, node: ast.expr) -> None:
        """A date that is not a name nor a moved date: a client field, a call, a choice."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "client":
            self.client(node.attr, node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _DATE_FUNCTIONS:
            if node.func.id == "add_working_days" and node.args:
                self.date(node.args[0])
        elif isinstance(node, ast.IfExp):
            self.date(node.body)
            self.date(node.orelse)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.text(node)
        elif not isinstance(node, ast.Subscript | ast.Attribute):  # read on trust
            self.report(node, f"{self.what} {ast.unparse(node)!r} does not give a date: {_HOW}")

    def moved(self, node: ast.BinOp) -> None:
        left, right = node.left, node.right
        if _is_duration(right):
            self.date(left)
        elif isinstance(node.op, ast.Add) and _is_duration(left):
            self.date(right)
        elif any(isinstance(side, ast.Constant) and isinstance(side.value, int | float)
                 for side in (left, right)):
            verb = "add" if isinstance(node.op, ast.Add) else "subtract"
            self.report(node, f"{verb} a duration such as P7D, not a number, to move a date: "
                              f"e.g. {ast.unparse(left)} {'+' if verb == 'add' else '-'} P7D")
        else:
            self.report(node, f"{self.what} {ast.unparse(node)!r} does not give a date: "
                              "a date can only be moved by a duration such as P7D")

    def name(self, name: str, node: ast.AST) -> None:
        earlier = self.fields.before(self.step)
        if name in earlier:
            self.typed(name, earlier[name], "form", node)
        elif name in self.fields.client:
            self.client(name, node)
        elif name in (later := self.fields.from_step(self.step)):
            where = "this task's own form" if later[name] == self.step else "a later step"
            self.report(node, f"{self.what} reads {name!r}, which is only asked in {where}: "
                              "it has no value yet here; ask it in an earlier task, or use a "
                              "client date field")

    def client(self, name: str, node: ast.AST) -> None:
        if name in self.fields.client:
            self.typed(name, self.fields.client[name], "client", node)

    def typed(self, name: str, kind: Any, owner: str, node: ast.AST) -> None:
        if kind == "date":
            return
        fix = (f"declare it as `{name}: date` under client_fields" if owner == "client"
               else "make it `{type: date}` in its form")
        self.report(node, f"{self.what} reads {name!r}, a {kind} {owner} field, but "
                          f"{self.what} needs a date: {fix}, or use a date field")

    def text(self, node: ast.Constant) -> None:
        try:
            datetime.fromisoformat(str(node.value))
        except ValueError:
            self.report(node, f"{self.what} {node.value!r} is not a date: write it as "
                              "'YYYY-MM-DD', e.g. '2026-03-01'")


def _is_duration(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and is_duration_literal(node.id)
