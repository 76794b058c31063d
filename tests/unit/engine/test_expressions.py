"""The DSL expression language: what it evaluates, what it refuses, and its bridge into BPMN."""

from __future__ import annotations

import pytest

from engine.workflow.expressions import ExpressionError, evaluate, names, parse
from engine.workflow.sandbox import SandboxEnvironment

DATA = {"risk": "high", "needs": {"accommodation": True, "family": False},
        "client": {"release_date": "2026-01-01"}, "score": 12}


@pytest.mark.parametrize("source, expected", [
    ("needs.accommodation and risk in ['high', 'very high']", True),
    ("not needs.family", True),
    ("score >= 10 and score < 15", True),
    ("days_between(client.release_date, '2026-01-08')", 7),
    ("len(risk)", 4),
    ("'low' if score < 5 else 'high'", "high"),
    ("true and not false", True),
])
def test_evaluates(source: str, expected: object) -> None:
    assert evaluate(source, DATA) == expected


@pytest.mark.parametrize("source", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "open('/etc/passwd')",
    "[x for x in needs]",
    "needs.items()",
    "lambda: 1",
    "risk +",
    "",
])
def test_refuses_what_is_not_in_the_language(source: str) -> None:
    with pytest.raises(ExpressionError):
        parse(source)


def test_reading_only_record_fields() -> None:
    with pytest.raises(ExpressionError, match="no field 'items'"):
        evaluate("needs.items", DATA)
    with pytest.raises(ExpressionError, match="'missing' is not defined"):
        evaluate("missing > 1", DATA)
    with pytest.raises(ExpressionError, match="can only read a field"):
        evaluate("risk.upper", DATA)


def test_names_are_the_longest_dotted_reads() -> None:
    assert names("needs.accommodation and risk == 'x' and len(client.release_date) > 0") == {
        "needs.accommodation", "risk", "client.release_date"}


def test_bpmn_conditions_reach_the_language_through_expr() -> None:
    env = SandboxEnvironment()
    assert env.evaluate("expr(\"needs.accommodation and risk == 'high'\")", dict(DATA)) is True
    with pytest.raises(ExpressionError):
        env.evaluate("expr('().__class__')", dict(DATA))


def test_huge_or_deeply_nested_expressions_are_refused_cleanly() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        parse("a or " * 1000 + "a")
    with pytest.raises(ExpressionError):
        parse("(" * 400 + "1" + ")" * 400)
