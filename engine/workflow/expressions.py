"""The DSL's expression language: safe, small, and never run as Python.

Conditions such as `needs.accommodation and risk in ['high', 'very high']` are parsed with
Python's grammar but evaluated by simpleeval's tree walker over a whitelist of node types:
no attribute access except reading fields of records (dicts), no calls except the functions
below, no comprehensions, bounded powers and string sizes.

Compiled BPMN carries them as `expr("...")`: the sandboxed script engine provides `expr`,
which hands the text to `evaluate` with the task's data.

Dates: a bare ISO-8601 duration (`P1M`, `P14D`, `P1Y6M`) is a duration value, and a date
plus or minus one is a date (`move_in_date + P1M`; engine.workflow.dates clamps month ends).
`today()` is the date of the clock the engine runs on (engine.workflow.clock.running_at),
so `pathways timers run --now` moves it too.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from simpleeval import (
    AttributeDoesNotExist,
    EvalWithCompoundTypes,
    FeatureNotAvailable,
    InvalidExpression,
    NameNotDefined,
)

from engine import limits
from engine.errors import ScriptError
from engine.workflow.clock import check_duration, current_time
from engine.workflow.dates import (
    DURATION_HELP,
    Duration,
    add_working_days,
    as_date,
    duration_sum,
    is_date_value,
    looks_like_duration,
)
from engine.workflow.dates import (
    is_duration_literal as is_duration_literal,  # re-exported: dsl reads only this module
)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Constant, ast.Name, ast.Load, ast.Attribute,
    ast.List, ast.Tuple, ast.Subscript, ast.Call,
)


class ExpressionError(ScriptError):
    """An expression that does not parse, uses what the language lacks, or fails to evaluate."""

    code = "invalid_expression"

    def __init__(self, message: str, *, source: str, offset: int | None = None) -> None:
        super().__init__(message, details={"expression": source, "offset": offset})
        self.source = source
        self.offset = offset


def _to_date(value: Any) -> date:
    if isinstance(value, date | str):
        return as_date(value)
    raise ExpressionError(f"{value!r} is not a date", source=str(value))


def _days_between(first: Any, second: Any) -> int:
    return (_to_date(second) - _to_date(first)).days


def _today() -> str:
    """The date of the command being run (engine.workflow.clock), not of the machine."""
    return current_time().date().isoformat()


def _working_days(count: Any) -> str:
    """The date `count` working days from today (England and Wales bank holidays skipped)."""
    return add_working_days(_today(), count)


def _where(*args: Any) -> list[Any]:
    """The records of a list (a repeat's rounds, a for_each's results) whose `field` holds
    `value`, in order; a record without the field is left out. A yes/no answer matches only
    true or false, never the number 1 or 0."""
    if len(args) != 3:
        raise TypeError("write where(records, 'field', value): the records whose field has "
                        "that value")
    records, field, value = args
    if not isinstance(field, str):
        raise TypeError("where(records, 'field', value) takes the field's name in quotes")
    if not isinstance(records, list | tuple) or not all(
            isinstance(record, Mapping) for record in records):
        raise TypeError("where() reads a list of records, such as a repeat's "
                        "<id>.rounds or a for_each's <id>_results")
    return [record for record in records if field in record
            and isinstance(record[field], bool) == isinstance(value, bool)
            and record[field] == value]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "today": _today,
    "date": lambda value: _to_date(value).isoformat(),
    "days_between": _days_between,
    "working_days": _working_days,
    "add_working_days": add_working_days,
    "where": _where,
}
MAX_LENGTH = 2000
CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False,
             "null": None}


# curly quotes as word processors write them (spelt as escapes: they look like ' and ")
_CURLY_QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033"


def _unparsed(source: str, text: str, err: SyntaxError) -> ExpressionError:
    """Where and why the text does not parse; a word processor's curly quote is named with
    the fix, at the first one."""
    curly = next((c for c in text if c in _CURLY_QUOTES), None)
    if curly is not None:
        return ExpressionError(
            f"does not parse: {curly} is a curly quote: use straight quotes (' or \")",
            source=source, offset=text.index(curly))
    return ExpressionError(f"does not parse: {err.msg}", source=source,
                           offset=(err.offset or 1) - 1)


@lru_cache(maxsize=4096)
def parse(source: str) -> ast.Expression:
    """The syntax tree of an expression; ExpressionError if it is not in the language."""
    text = source.strip()
    if not text:
        raise ExpressionError("the expression is empty", source=source)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters",
                              source=source[:100])
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise _unparsed(source, text, err) from err
    except (RecursionError, MemoryError) as err:
        raise ExpressionError("the expression is nested too deeply", source=source[:100]) from err
    for node in ast.walk(tree):
        _check_node(node, source)
    return tree


def _check_node(node: ast.AST, source: str) -> None:
    """ExpressionError if this node of an expression's tree is not in the language."""
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(
            f"{type(node).__name__} is not allowed in expressions", source=source,
            offset=getattr(node, "col_offset", None))
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(f"field names may not start with '_': {node.attr}",
                              source=source, offset=node.col_offset)
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(f"names may not start with '_': {node.id}", source=source,
                              offset=node.col_offset)
    if isinstance(node, ast.Name) and looks_like_duration(node.id):
        _check_duration_literal(node, source)
    if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
        raise ExpressionError(
            f"only these functions can be called: {', '.join(sorted(FUNCTIONS))}",
            source=source, offset=node.col_offset)


def _check_duration_literal(node: ast.Name, source: str) -> None:
    """A name written as a duration (`P1M`) is one: well formed and of a sensible length."""
    if not is_duration_literal(node.id):
        raise ExpressionError(f"{node.id} is not an ISO-8601 duration: {DURATION_HELP}",
                              source=source, offset=node.col_offset)
    try:
        check_duration(node.id)
    except ScriptError as err:
        raise ExpressionError(err.message, source=source, offset=node.col_offset) from err


def names(source: str) -> set[str]:
    """Dotted names an expression reads, e.g. {"risk", "needs.accommodation"}."""
    found: set[str] = set()
    tree = parse(source)
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    # `a` and `a.b` inside `a.b.c` are parts of one read, not reads of their own
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name) and id(node) not in called | inner:
            dotted = _dotted(node)
            if dotted is not None:
                found.add(dotted)
    return {name for name in found
            if name.split(".")[0] not in CONSTANTS and not is_duration_literal(name)}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _date_sum(first: Any, second: Any, sign: int) -> Any:
    """first + second (sign 1) or first - second (sign -1) when a duration is involved;
    NotImplemented for the language's other sums (numbers, text, lists), once a date moved
    by a number or two dates subtracted are refused with the way to write them."""
    result = duration_sum(first, second, sign)
    if result is NotImplemented and (is_date_value(first) or is_date_value(second)):
        numbers = [v for v in (first, second) if isinstance(v, int | float)]
        if numbers:
            verb = "add" if sign > 0 else "subtract"
            raise TypeError(f"{verb} a duration such as P7D, not a number ({numbers[0]!r}), "
                            "to move a date")
        if sign < 0 and is_date_value(first) and is_date_value(second):
            raise TypeError("to count the days between two dates use days_between(first, "
                            "second), not -")
    return result


def _plus(first: Any, second: Any) -> Any:
    result = _date_sum(first, second, 1)
    return limits.binary("+", first, second) if result is NotImplemented else result


def _minus(first: Any, second: Any) -> Any:
    result = _date_sum(first, second, -1)
    return operator.sub(first, second) if result is NotImplemented else result


def _plain(value: Any) -> Any:
    """A result as case data holds it: a duration as its ISO text."""
    if isinstance(value, Duration):
        return value.text
    if isinstance(value, list | tuple):
        return type(value)(_plain(item) for item in value)
    return value


class _RecordEvaluator(EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval, with `a.b` reading field b of record a and nothing else, and `+`, `*` and
    `%` through the size guards of engine.limits (simpleeval bounds `*` and `+` of strings,
    but not `'%09999999999d' % 1` or the size of integer products)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for node, symbol in ((ast.Add, "+"), (ast.Mult, "*"), (ast.Mod, "%"),
                             (ast.Pow, "**"), (ast.LShift, "<<")):
            self.operators[node] = lambda a, b, symbol=symbol: limits.binary(symbol, a, b)
        self.operators[ast.Add] = _plus
        self.operators[ast.Sub] = _minus

    def _eval_name(self, node: ast.Name) -> Any:
        if is_duration_literal(node.id):  # `P1M` is a duration, never a field
            return Duration(node.id)
        return super()._eval_name(node)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        base = self._eval(node.value)
        if isinstance(base, Mapping):
            if node.attr in base:
                return base[node.attr]
            raise AttributeDoesNotExist(node.attr, self.expr)
        raise FeatureNotAvailable(f"'.{node.attr}' can only read a field of a record")


def evaluate(source: str, data: Mapping[str, Any]) -> Any:
    """Evaluate an expression against case data. Missing names are errors, not None."""
    tree = parse(source)
    evaluator = _RecordEvaluator(names={**CONSTANTS, **data}, functions=dict(FUNCTIONS))
    try:
        return _plain(evaluator.eval(source.strip(), previously_parsed=tree.body))
    except ScriptError:
        raise
    except NameNotDefined as err:
        raise ExpressionError(f"{err.name!r} is not defined when evaluating {source!r}",
                              source=source) from err
    except AttributeDoesNotExist as err:
        raise ExpressionError(f"no field {err.attr!r} when evaluating {source!r}",
                              source=source) from err
    except (InvalidExpression, TypeError, ValueError, ArithmeticError) as err:
        raise ExpressionError(f"{source!r} failed: {err}", source=source) from err
