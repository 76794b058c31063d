"""Properties of dsl.validate: a broken document always yields located problems, and no
input, however odd, makes it raise."""

from __future__ import annotations

import copy
import string
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import DslProblem, json_schema, load_pathway, validate
from dsl.validate import FIELD_TYPES, KINDS
from tests.unit.dsl.test_validate import EXAMPLE, RICH

Path = tuple[str | int, ...]
BASES = [load_pathway(EXAMPLE, "example.yaml"), load_pathway(RICH, "rich.yaml")]
USER_NAMED = ("roles", "client_fields", "form", "labels")  # maps keyed by the author's names
EXPRESSION_KEYS = ("when", "until", "visible_when", "value")
SCHEMA = json_schema()
ALL_KEYS = sorted({key for definition in SCHEMA["$defs"].values()
                   for key in definition.get("properties", {})} | set(SCHEMA["properties"]))
PROPERTIES = settings(max_examples=80, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def check(text: str) -> tuple[dict[str, Any] | None, list[DslProblem]]:
    """validate, with the invariants every result keeps."""
    document, problems = validate(text, "fuzz.yaml")
    assert document is not None or problems
    assert problems == sorted(problems, key=lambda p: (p.line, p.column))
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.line >= 1 and problem.column >= 1, problem
        assert problem.message
    return document, problems


def test_the_bases_round_trip_through_yaml_without_problems() -> None:
    for base in BASES:
        assert check(dump(base)) == (base, [])


# -- where things are in a document ---------------------------------------------------------


def nodes(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from nodes(value, (*path, index))


def schema_keyed(path: Path, value: Any) -> bool:
    """A mapping whose keys the DSL defines (not roles, client_fields, a form or labels)."""
    return isinstance(value, dict) and not (path and path[-1] in USER_NAMED)


def is_step_list(path: Path) -> bool:
    return bool(path) and path[-1] in ("steps", "otherwise")


def kind_of(step: Any) -> str | None:
    if not isinstance(step, dict):
        return None
    kinds = [k for k in KINDS if k in step and not (k == "wait" and "refer" in step)]
    return kinds[0] if len(kinds) == 1 else None


def steps(data: Any) -> list[tuple[Path, str]]:
    """(path, kind) of every step with one kind."""
    return [(path, kind) for path, value in nodes(data)
            if len(path) >= 2 and is_step_list(path[:-1]) and (kind := kind_of(value))]


def required_keys(path: Path, value: dict[str, Any]) -> list[str]:
    """The keys the DSL requires in the mapping at path, of those it has."""
    defs = SCHEMA["$defs"]
    required: list[str] = []
    if path == ():
        required = SCHEMA["required"]
    elif len(path) >= 2 and is_step_list(path[:-1]) and (kind := kind_of(value)):
        required = [*defs[kind]["required"], kind]
    elif len(path) >= 2 and path[-2] == "roles":
        required = ["title"]
    elif len(path) >= 2 and path[-2] == "form" and value.get("type") in FIELD_TYPES:
        required = defs[f"{value['type']}_field"]["required"]
    elif len(path) >= 2 and path[-2] == "branches":
        required = ["when", "steps"]
    return [key for key in required if key in value]


def get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def set_at(data: Any, path: Path, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


# -- mutations: each makes a valid document invalid ---------------------------------------


Mutation = Callable[[Any], None]


@st.composite
def delete_a_required_key(draw: st.DrawFn, data: Any) -> Mutation:
    choices = [(path, key) for path, value in nodes(data) if schema_keyed(path, value)
               for key in required_keys(path, value)]
    if not choices:  # only after earlier mutations
        return lambda doc: None
    path, key = draw(st.sampled_from(choices))
    return lambda doc: get(doc, path).pop(key)


def near_misses(key: str) -> st.SearchStrategy[str]:
    letters = string.ascii_lowercase + "_"
    edits = st.one_of(
        st.integers(0, len(key) - 1).map(lambda i: key[:i] + key[i + 1:]),
        st.integers(0, len(key) - 1).map(lambda i: key[:i] + key[i] + key[i:]),
        st.tuples(st.integers(0, len(key)), st.sampled_from(letters)).map(
            lambda t: key[:t[0]] + t[1] + key[t[0]:]),
        st.integers(0, max(len(key) - 2, 0)).map(
            lambda i: key[:i] + key[i + 1:i + 2] + key[i:i + 1] + key[i + 2:]),
        st.just(key.capitalize()),
    )
    return edits.filter(lambda new: new and new not in ALL_KEYS and new not in KINDS)


@st.composite
def rename_a_key(draw: st.DrawFn, data: Any) -> Mutation:
    choices = [(path, key) for path, value in nodes(data) if schema_keyed(path, value)
               for key in value]
    if not choices:
        return lambda doc: None
    path, key = draw(st.sampled_from(choices))
    new = draw(near_misses(key).filter(lambda n: n not in get(data, path)))

    def rename(doc: Any) -> None:
        mapping = get(doc, path)
        items = [(new if k == key else k, v) for k, v in mapping.items()]
        mapping.clear()
        mapping.update(items)
    return rename


def wrong_type(value: Any) -> Any:
    """A value of another type, and one no key of the DSL accepts (so reapplying it on the
    same spot never makes the document valid again)."""
    return {"not": ["text"]} if isinstance(value, list) else [{"x": 1}]


@st.composite
def replace_a_value_with_a_wrong_type(draw: st.DrawFn, data: Any) -> Mutation:
    path = draw(st.sampled_from([path for path, _ in nodes(data) if path]))
    return lambda doc: set_at(doc, path, wrong_type(get(doc, path)))


@st.composite
def insert_an_unknown_step_kind(draw: st.DrawFn, data: Any) -> Mutation:
    lists = [path for path, value in nodes(data) if is_step_list(path) and isinstance(value, list)]
    if not lists:
        return lambda doc: None
    path = draw(st.sampled_from(lists))
    index = draw(st.integers(0, len(get(data, path))))
    kind = draw(st.sampled_from(["taks", "loop", "goto", "call", "wiat", "ending"])
                | st.text(string.ascii_lowercase + "_", min_size=1, max_size=12))
    step = {kind: draw(st.sampled_from(["new_step", "consent", "x"]))}
    if kind in KINDS:
        step = {"bogus": "new_step"}
    return lambda doc: get(doc, path).insert(index, step)


@st.composite
def duplicate_a_step_id(draw: st.DrawFn, data: Any) -> Mutation:
    found = steps(data)
    if len(found) < 2:
        return lambda doc: None
    (first, first_kind), (second, second_kind) = draw(
        st.lists(st.sampled_from(found), min_size=2, max_size=2, unique=True))
    return lambda doc: get(doc, second).__setitem__(second_kind, get(doc, first)[first_kind])


BROKEN_EXPRESSIONS = ["x ==", "(", "a b", "open('f')", "__import__('os')", "", "   ",
                      "undefined_name", "client.undeclared", "a.__class__",
                      "[x for x in y]", "lambda: 1", "1 if", "goals_met and and", "not"]


@st.composite
def break_an_expression(draw: st.DrawFn, data: Any) -> Mutation:
    paths = [path for path, value in nodes(data)
             if path and path[-1] in EXPRESSION_KEYS and isinstance(value, str)]
    if not paths:
        return lambda doc: None
    path = draw(st.sampled_from(paths))
    broken = draw(st.sampled_from(BROKEN_EXPRESSIONS)
                  | st.sampled_from([" and (", " ==", " +"]).map(
                      lambda tail: get(data, path) + tail))
    return lambda doc: set_at(doc, path, broken)


MUTATIONS = [delete_a_required_key, rename_a_key, replace_a_value_with_a_wrong_type,
             insert_an_unknown_step_kind, duplicate_a_step_id, break_an_expression]


@PROPERTIES
@given(st.data())
def test_every_mutation_of_a_valid_document_gives_located_problems(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(BASES))
    mutations = data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3))
    document = copy.deepcopy(base)
    for mutation in mutations:
        data.draw(mutation(document))(document)
    _, problems = check(dump(document))
    assert problems, dump(document)


@PROPERTIES
@given(st.sampled_from(MUTATIONS), st.data())
def test_each_kind_of_mutation_alone_is_caught(mutation: Callable[[Any], Any],
                                               data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    data.draw(mutation(document))(document)
    _, problems = check(dump(document))
    assert problems, dump(document)


# -- anything at all -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    check(text)


SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.dates()
           | st.text(max_size=20) | st.sampled_from([*KINDS, *FIELD_TYPES, "P7D", "x == 1"]))
KEYS = st.sampled_from(ALL_KEYS) | st.text(max_size=10)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=100, deadline=None)
@given(STRUCTURES)
def test_arbitrary_yaml_structures_never_raise(structure: Any) -> None:
    check(yaml.safe_dump(structure, allow_unicode=True))


STEPS = st.lists(st.fixed_dictionaries({}, optional={
    kind: SCALARS for kind in KINDS}).flatmap(
    lambda step: st.dictionaries(KEYS, STRUCTURES, max_size=4).map(
        lambda extra: {**step, **extra})), max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.fixed_dictionaries({"pathway": SCALARS, "roles": STRUCTURES,
                              "client_fields": STRUCTURES, "steps": STEPS}))
def test_pathway_shaped_nonsense_never_raises(structure: dict[str, Any]) -> None:
    check(yaml.safe_dump(structure, allow_unicode=True, sort_keys=False))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([EXAMPLE, RICH]), st.data())
def test_edits_to_the_text_of_a_valid_document_never_raise(text: str,
                                                           data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 10)))
        text = text[:start] + data.draw(st.text(max_size=5) | st.sampled_from(
            [":", "- ", "\t", "  ", "\n", "&a ", "*a", "{", "'", "#", "---\n"])) + text[end:]
    check(text)
