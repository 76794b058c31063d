"""JUEL conditions translated into Pathways' expression language (engine.workflow.juel).

The meaning is checked against a reference evaluator written here from the EL 2.2
specification (§1.7 operators, §1.8 coercions, §1.9 `empty`, §1.6 property reads), on
generated expressions and data:

- soundness: whatever the data, where JUEL gives a value without converting one kind of value
  into another (text to number, text to boolean), the translation gives the same value or
  stops with an error, never another value;
- on data of the kinds an expression was written for (nulls and missing record fields
  included), the translation gives exactly JUEL's value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.workflow import expressions, juel
from engine.workflow.expressions import ExpressionError
from engine.workflow.juel import Binary, JuelRefused, Literal, Name, Node, Property, Unary


class JuelError(Exception):
    """JUEL itself fails (an ELException): no value to compare."""


class Coerced(Exception):
    """JUEL would convert a value of one kind to another (not reproduced by the translation)."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "map", list: "list"}[type(value)]


def _to_boolean(value: Any) -> bool:
    """EL §1.8.2 coerce A to Boolean."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        raise Coerced
    raise JuelError("cannot coerce to Boolean")


def _equal(a: Any, b: Any) -> bool:
    """EL §1.8.2 A == B."""
    if a is None or b is None:
        return a is b
    if _kind(a) == _kind(b):
        return bool(a == b)
    raise Coerced


def _order(op: str, a: Any, b: Any) -> bool:
    """EL §1.8.1 A < B (and the others): equal references first, then null, then by kind."""
    if a is None and b is None:
        return op in ("<=", ">=")
    if a is None or b is None:
        return False
    if _kind(a) != _kind(b):
        raise Coerced
    if _kind(a) not in ("number", "string", "boolean"):
        raise JuelError("not Comparable")
    return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])


def run_juel(node: Node, env: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        if node.name not in env:
            raise JuelError("cannot resolve identifier")
        return env[node.name]
    if isinstance(node, Property):
        base = run_juel(node.base, env)
        if base is None:
            return None
        if not isinstance(base, dict):
            raise JuelError("property of a non-map")
        return base.get(node.name)
    if isinstance(node, Unary):
        value = run_juel(node.operand, env)
        if node.op == "not":
            return not _to_boolean(value)
        return value is None or (isinstance(value, str | list | dict) and len(value) == 0)
    if node.op in ("and", "or"):
        left = _to_boolean(run_juel(node.left, env))
        if left == (node.op == "or"):
            return left
        return _to_boolean(run_juel(node.right, env))
    a, b = run_juel(node.left, env), run_juel(node.right, env)
    if node.op in ("==", "!="):
        return _equal(a, b) == (node.op == "==")
    return _order(node.op, a, b)


def juel_text(node: Node) -> str:
    """JUEL source for a tree, operators written in either of their spellings."""
    if isinstance(node, Literal):
        if isinstance(node.value, str):
            return "'" + node.value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if node.value is None or isinstance(node.value, bool):
            return {None: "null", True: "true", False: "false"}[node.value]
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Property):
        return f"{juel_text(node.base)}.{node.name}"
    if isinstance(node, Unary):
        return f"({'!' if node.op == 'not' else 'empty '}{juel_text(node.operand)})"
    words = {"and": "&&", "or": "||", "==": "eq", "!=": "ne", "<": "lt", ">": "gt",
             "<=": "le", ">=": "ge"}
    op = words[node.op] if len(juel_text(node.left)) % 2 else node.op
    return f"({juel_text(node.left)} {op} {juel_text(node.right)})"


def run_pathways(source: str, env: Mapping[str, Any]) -> Any:
    return expressions.evaluate(juel.condition(source), env)


# -- generators ---------------------------------------------------------------------------

NAMES = ("a", "b", "n", "s", "flag", "rec")
numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
texts = st.text(alphabet="ab'\\\" ", max_size=4)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(["x", "y"]), inner,
                                                 max_size=2)), max_leaves=4)
literals = st.builds(Literal, st.one_of(st.none(), st.booleans(), numbers, texts))
paths = st.one_of(
    st.builds(Name, st.sampled_from(NAMES)),
    st.builds(lambda n, p: Property(Name(n), p), st.sampled_from(NAMES),
              st.sampled_from(["x", "y"])),
    st.builds(lambda n, p, q: Property(Property(Name(n), p), q), st.sampled_from(NAMES),
              st.sampled_from(["x", "y"]), st.sampled_from(["x", "y"])))
RELATIONS = st.sampled_from(["==", "!=", "<", ">", "<=", ">="])
any_trees = st.recursive(
    st.one_of(literals, paths),
    lambda inner: st.one_of(
        st.builds(Unary, st.sampled_from(["not", "empty"]), inner),
        st.builds(Binary, st.sampled_from(["and", "or", "==", "!=", "<", ">", "<=", ">="]),
                  inner, inner)),
    max_leaves=6)
environments = st.dictionaries(st.sampled_from(NAMES), values, min_size=len(NAMES))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_trees, environments)
def test_the_translation_never_gives_another_value_than_juel(tree: Node,
                                                             env: dict[str, Any]) -> None:
    source = "${" + juel_text(tree) + "}"
    try:
        expected = _to_boolean(run_juel(juel.parse(juel.inner(source)), env))
    except (JuelError, Coerced):
        assume(False)
        return
    try:
        got = run_pathways(source, env)
    except JuelRefused:
        assume(False)
        return
    except ExpressionError:
        return  # stopped with an error: not silently another value
    assert got is expected, (source, juel.condition(source), env)


# typed generation: numbers compared with numbers, text with text, yes/no values combined
def _typed(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """(a value of `kind` or null, possibly a record missing the field) under `rec.<kind>`."""
    plain = {"number": numbers, "string": texts, "boolean": st.booleans(),
             "list": st.lists(st.integers(0, 3), max_size=2)}[kind]
    return st.one_of(st.none(), plain)


def typed_env() -> st.SearchStrategy[dict[str, Any]]:
    record = st.fixed_dictionaries({}, optional={"n": _typed("number"), "s": _typed("string"),
                                                 "flag": _typed("boolean")})
    return st.fixed_dictionaries({
        "n": _typed("number"), "s": _typed("string"), "flag": _typed("boolean"),
        "items": _typed("list"), "rec": st.one_of(st.none(), record)})


def _of(kind: str) -> st.SearchStrategy[Node]:
    name = {"number": "n", "string": "s", "boolean": "flag"}[kind]
    literal = {"number": numbers, "string": texts, "boolean": st.booleans()}[kind]
    return st.one_of(st.builds(Name, st.just(name)), st.just(Property(Name("rec"), name)),
                     st.builds(Literal, st.one_of(st.none(), literal)))


typed_trees = st.recursive(
    st.one_of(
        st.builds(Binary, RELATIONS, _of("number"), _of("number")),
        st.builds(Binary, RELATIONS, _of("string"), _of("string")),
        st.builds(Binary, st.sampled_from(["==", "!="]), _of("boolean"), _of("boolean")),
        st.builds(lambda n: Unary("empty", n),
                  st.sampled_from([Name("s"), Name("items"), Property(Name("rec"), "s"),
                                   Name("rec")])),
        st.builds(Name, st.just("flag")), st.just(Property(Name("rec"), "flag"))),
    lambda inner: st.one_of(st.builds(Unary, st.just("not"), inner),
                            st.builds(Binary, st.sampled_from(["and", "or"]), inner, inner)),
    max_leaves=5)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_trees, typed_env())
def test_on_data_of_the_right_kinds_the_translation_means_what_juel_means(
        tree: Node, env: dict[str, Any]) -> None:
    source = "${" + juel_text(tree) + "}"
    expected = _to_boolean(run_juel(juel.parse(juel.inner(source)), env))
    assert run_pathways(source, env) is expected, (source, juel.condition(source), env)


@settings(deadline=None)
@given(any_trees)
def test_printing_and_parsing_round_trip(tree: Node) -> None:
    assert juel.parse(juel_text(tree)) == tree


# -- examples -----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "env", "expected"), [
    ("${x == 'a'}", {"x": "a"}, True),
    ("${x > 3 && y}", {"x": 4, "y": True}, True),
    ("${x > 3 && y}", {"x": None, "y": True}, False),
    ("${!approved}", {"approved": None}, True),
    ("${a eq b}", {"a": 2, "b": 2.0}, True),
    ("${a ne b or not c}", {"a": 1, "b": 1, "c": False}, True),
    ("${x lt 3 and x ge -1.5}", {"x": 0}, True),
    ("${x le y}", {"x": None, "y": None}, True),
    ("${empty notes}", {"notes": ""}, True),
    ("${not empty notes}", {"notes": []}, False),
    ("${request.owner.name == \"Amy\"}", {"request": {"owner": {"name": "Amy"}}}, True),
    ("${request.owner.name == null}", {"request": {}}, True),
    ("${request.amount > 10}", {"request": None}, False),
    ("${'it\\'s' == s}", {"s": "it's"}, True),
    ("${ok == true}", {"ok": True}, True),
    ("${1e3 == n}", {"n": 1000}, True),
])
def test_examples(source: str, env: dict[str, Any], expected: bool) -> None:
    assert run_pathways(source, env) is expected


@pytest.mark.parametrize(("source", "reason"), [
    ("${execution.getVariable('x') > 0}", "Camunda's own object"),
    ("${letters.send(execution)}", "calls a method"),
    ("${size(list) > 0}", "calls a method or function"),
    ("#{approved}", "deferred"),
    ("Amount: ${amount}", "no text around"),
    ("${a}${b}", "no text around"),
    ("${list[0] == 1}", "index"),
    ("${a + 1 > 2}", "computes (+)"),
    ("${a - b > 2}", "computes (-)"),
    ("${a ? b : c}", "? :"),
    ("${a div 2 > 1}", "computes (div)"),
    ("${a instanceof b}", "Java class"),
    ("${x == 'open}", "not closed"),
    ("${x == }", "ends where a value"),
    ("${}", "empty"),
    ("${(a == b}", "not closed"),
    ("${a == b)}", "not expected"),
    ("${_secret}", "starts with '_'"),
    ("${a$b}", "'$'"),
    ("${caf\u00e9 == 1}", "ASCII"),
    ("${lambda == 1}", "a word of Pathways"),
    ("${P1D == 1}", "a word of Pathways"),
    ("${x == 1e}", "exponent"),
    ("${x == 99999999999999999999}", "too large"),
    ("${x # 1}", "is not JUEL"),
    ("${x.}", "property name"),
    ("${3 && x}", "not a yes/no value"),
    ("${nrOfCompletedInstances >= 2}", "Camunda's own object"),
])
def test_refusals_say_why(source: str, reason: str) -> None:
    with pytest.raises(JuelRefused) as refused:
        juel.condition(source)
    assert reason in refused.value.reason


def test_a_reference_is_a_variable_or_a_property_of_one() -> None:
    assert juel.reference("${initiator}") == "initiator"
    owner = juel.reference("${request.owner}")
    assert expressions.evaluate(owner, {"request": {"owner": "amy"}}) == "amy"
    assert expressions.evaluate(owner, {"request": None}) is None
    with pytest.raises(JuelRefused, match="only a variable"):
        juel.reference("${a == b}")


def test_a_long_translation_is_refused() -> None:
    with pytest.raises(JuelRefused, match="longer than"):
        juel.condition("${" + " && ".join(f"a.b.c.d{i} > {i}" for i in range(40)) + "}")


JUEL_ALPHABET = "ab xyz.()!&|=<>'\"\\$#{}-+01239eE_"


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet=JUEL_ALPHABET, max_size=30), st.text(max_size=30)))
def test_any_text_is_translated_into_the_language_or_refused(text: str) -> None:
    """Whatever the text, the translator gives an expression Pathways' language parses, or
    refuses it with a reason: never another exception."""
    for source in ("${" + text + "}", text):
        try:
            translated = juel.condition(source)
        except JuelRefused as refused:
            assert refused.reason
            continue
        expressions.parse(translated)
