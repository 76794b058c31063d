"""Check a pathway file against the DSL (the README's reference); report every problem, located.

Three layers, each adding problems rather than stopping at the first:

1. loading (dsl.loader): YAML syntax, duplicate keys, size and shape limits;
2. the JSON Schema shipped as dsl/schema.json: the document, then each step against its
   kind's `$defs` schema (found by its kind key: dispatch, not a oneOf, so a message names
   the one thing that is wrong) and each form field against its type's schema;
3. what a schema cannot say: declared roles and client fields, unique step ids, expressions
   that parse and read only defined names, unreachable steps, min <= max.
"""

from __future__ import annotations

import ast
import copy
import difflib
import json
import re
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from dsl.errors import DslError, DslProblem
from dsl.loader import LoadedDocument, Path, Position, format_path, load, value_at
from engine.data_names import reserved_data_name
from engine.errors import ScriptError
from engine.expressions import CONSTANTS, FUNCTIONS, ExpressionError, evaluate, parse
from engine.schema_errors import MISSING, UNKNOWN, SchemaError, schema_errors

# ids the compiler derives from step ids; a step may not take one of them for itself
_GENERATED_SUFFIXES = ("_merge", "_join", "_done", "_di", "_wait", "_start", "_end", "_lanes",
                       "_init", "_mark", "_exit")
_GENERATED_PREFIXES = ("flow_", "msg_")
KINDS = ("task", "decide", "parallel", "wait", "repeat", "refer", "record", "notify", "end")
MAX_EXPRESSION = 1000  # characters: bounds parsing time and memory
FIELD_TYPES = ("text", "long_text", "number", "integer", "boolean", "date", "choice",
               "multiple_choice", "scale")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CLIENT_REF = re.compile(r"client\.([a-z][a-z0-9_]*)")
_DUE_NAME = re.compile(r"(?:client\.)?([a-z][a-z0-9_]*)")
_SCALE_VALUE = re.compile(r"-?[0-9]{1,18}")
_TYPE_NAMES = {"string": "text", "object": "a mapping (key: value lines)", "array": "a list",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "empty"}
_EXPRESSIONS_HELP = "see Expressions in the README's DSL reference for what an expression can use"


# -- the schema ----------------------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("dsl").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def json_schema() -> dict[str, Any]:
    """The DSL's JSON Schema (draft 2020-12), e.g. for editors; a copy, free to change."""
    return copy.deepcopy(_schema())


def _pattern(validator: Validator, pattern: str, instance: Any,
             schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """`pattern` as ECMA-262 reads `$`: a trailing newline does not match it (Python's does)."""
    if validator.is_type(instance, "string") and (
            not re.search(pattern, instance)
            or (pattern.endswith("$") and instance.endswith("\n"))):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Strict = extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


@cache
def _validators() -> dict[str, Validator]:
    """A validator for the document and one per step kind and field type.

    Nested steps and form fields are checked one by one by the walk below, so here they are
    only required to be a list and a mapping.
    """
    schema = copy.deepcopy(_schema())
    defs = schema["$defs"]
    defs["steps"] = {"type": "array"}
    defs["field"] = {"type": "object"}
    validators: dict[str, Validator] = {"": _Strict(schema)}
    for name in (*KINDS, *(f"{kind}_field" for kind in FIELD_TYPES)):
        validators[name] = _Strict({"$defs": defs, "$ref": f"#/$defs/{name}"})
    return validators


@cache
def _key_owners() -> dict[str, dict[str, list[str]]]:
    """For "unknown key" hints: which step kinds, and which field types, take each key."""
    defs = _schema()["$defs"]
    owners: dict[str, dict[str, list[str]]] = {"step": {}, "field": {}}
    for kind in KINDS:
        for key in defs[kind]["properties"]:
            owners["step"].setdefault(key, []).append(kind)
    for kind in FIELD_TYPES:
        for key in defs[f"{kind}_field"]["properties"]:
            owners["field"].setdefault(key, []).append(kind)
    return owners


# -- small helpers -------------------------------------------------------------------------


def _closest(word: str, choices: Collection[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _guess(word: str, choices: Collection[str]) -> str:
    found = _closest(word, choices)
    return f" (did you mean {found!r}?)" if found else ""


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _either(words: list[str]) -> str:
    """["text", "a list"] -> "text or a list"; three or more get commas."""
    if len(words) < 3:
        return " or ".join(words)
    return ", ".join(words[:-1]) + ", or " + words[-1]


def _label(path: Path) -> str:
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, int):
        parent = f" of {path[-2]!r}" if len(path) > 1 and isinstance(path[-2], str) else ""
        return f"item {last + 1}{parent}"
    return repr(last)


def _noun(schema: Mapping[str, Any]) -> str:
    """"a task step" -> "task step": the schema's title without its article."""
    return re.sub(r"^(a|an) ", "", str(schema.get("title", "a mapping")))


def _is_due_duration(schema: Mapping[str, Any], value: Any) -> bool:
    return (schema.get("pattern") == _schema()["$defs"]["due"]["pattern"]
            and isinstance(value, str) and re.match(r"P[0-9T]", value) is not None)


def _id_hint(schema: Mapping[str, Any], value: Any) -> str:
    """For an invalid id: the valid id it was probably meant to be."""
    if schema.get("pattern") != _ID.pattern or not isinstance(value, str):
        return ""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", value).lower()
    suggestion = re.sub(r"[^a-z0-9]+", "_", words).strip("_").lstrip("0123456789_")
    return f"; e.g. {suggestion!r}" if _ID.fullmatch(suggestion) else ""


def _type_hint(expected: list[str], value: Any, schema: Mapping[str, Any]) -> str:
    if value is None:
        return ": give it a value, or remove the key"
    if "string" in expected and isinstance(value, bool):
        return (": put it in quotes to make it text (YAML reads yes, no, on and off as "
                "true or false)")
    if "string" in expected and isinstance(value, int | float) and "pattern" not in schema:
        return ": put it in quotes to make it text"
    if "array" in expected:
        return ": write a list, one `- item` a line, or [a, b]"
    if "object" in expected:
        return ": write `key: value` lines, indented under it"
    if "boolean" in expected:
        return ": write true or false"
    if "integer" in expected and isinstance(value, float):
        return ": use a whole number"
    return ""


def _kinds(step: dict[str, Any]) -> list[str]:
    """The step's kind keys: one for a well-formed step.

    `wait` is also an option of refer (`wait: true`), so beside `refer` it is not a kind key.
    """
    kinds = [kind for kind in KINDS if kind in step]
    if "refer" in kinds and "wait" in kinds:
        kinds.remove("wait")
    return kinds


def _kind(step: Any) -> str | None:
    """The step's kind when it has exactly one kind key."""
    if not isinstance(step, dict):
        return None
    kinds = _kinds(step)
    return kinds[0] if len(kinds) == 1 else None


def _branch_lists(step: dict[str, Any], kind: str, path: Path) -> Iterator[tuple[Any, Path]]:
    """The nested step lists of a step, with their paths."""
    if kind in ("decide", "parallel") and isinstance(step.get("branches"), list):
        for index, branch in enumerate(step["branches"]):
            if isinstance(branch, dict) and "steps" in branch:
                yield branch["steps"], (*path, "branches", index, "steps")
    if kind == "decide" and "otherwise" in step:
        yield step["otherwise"], (*path, "otherwise")
    if kind == "repeat" and "steps" in step:
        yield step["steps"], (*path, "steps")


def _all_steps(steps: Any, path: Path) -> Iterator[tuple[dict[str, Any], str, Path]]:
    """Every step with exactly one kind, nested ones included, in document order."""
    if not isinstance(steps, list):
        return
    for index, step in enumerate(steps):
        kind = _kind(step)
        if kind is None:
            continue
        yield step, kind, (*path, index)
        for nested, nested_path in _branch_lists(step, kind, (*path, index)):
            yield from _all_steps(nested, nested_path)


def _ends(steps: Any) -> bool:
    """True when running these steps always ends the pathway."""
    return isinstance(steps, list) and any(_step_ends(step) for step in steps)


def _step_ends(step: Any) -> bool:
    kind = _kind(step)
    if kind == "end":
        return True
    if kind != "decide":
        return False
    branches = step.get("branches")
    return (isinstance(branches, list) and bool(branches)
            and all(isinstance(b, dict) and _ends(b.get("steps")) for b in branches)
            and _ends(step.get("otherwise")))


def _bounds(field: dict[str, Any]) -> tuple[float, float] | None:
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

    The same names as engine.expressions.names, found in one pass over the tree (names()
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
        if not isinstance(part, ast.Name) or part.id in CONSTANTS:
            continue
        dotted = ".".join([part.id, *reversed(parts)])
        column = node.col_offset if node.lineno == 1 else 0  # ast counts UTF-8 bytes
        offset = len(encoded[:column].decode("utf-8", "ignore"))
        offsets[dotted] = min(offset, offsets.get(dotted, offset))
    return offsets


# -- the checks ----------------------------------------------------------------------------


class _Checker:
    def __init__(self, document: LoadedDocument, file: str,
                 known_pathways: Collection[str] | None) -> None:
        self.document = document
        self.data = document.data
        self.file = file
        self.problems: list[DslProblem] = []
        self.required_seen: set[tuple[Path, str]] = set()
        roles = self.data.get("roles")
        self.roles: dict[str, Any] | None = roles if isinstance(roles, dict) else None
        client_fields = self.data.get("client_fields")
        # field -> its type: a client field is a type, or {type, sensitive}
        self.client_fields: dict[str, Any] = {
            name: spec.get("type") if isinstance(spec, dict) else spec
            for name, spec in (client_fields.items() if isinstance(client_fields, dict) else ())}
        pathway = self.data.get("pathway")
        self.known_pathways: set[str] | None = None
        if known_pathways is not None:
            self.known_pathways = set(known_pathways)
            if isinstance(pathway, str):
                self.known_pathways.add(pathway)
        self.form_fields: set[str] = set()
        self.referral_results: set[str] = set()
        self.step_ids: list[tuple[Position, str, Path]] = []  # where, id, path of the id

    # reporting

    def report(self, path: Path, message: str, *, at: Position | None = None) -> None:
        line, column = at or self.document.where(path)
        self.problems.append(DslProblem(self.file, line, column, format_path(path), message))

    def report_key(self, path: Path, message: str) -> None:
        self.report(path, message, at=self.document.key_where(path))

    # the walk

    def run(self) -> None:
        for step, kind, _ in _all_steps(self.data.get("steps"), ("steps",)):
            if kind == "task" and isinstance(step.get("form"), dict):
                self.form_fields.update(key for key in step["form"] if isinstance(key, str))
            if kind == "refer" and step.get("wait") is True and isinstance(step["refer"], str):
                self.referral_results.add(f"{step['refer']}_result")
        self.schema_problems(_validators()[""], self.data, ())
        self.steps(self.data.get("steps"), ("steps",), parallel=None)
        self.duplicate_step_ids()

    def steps(self, steps: Any, path: Path, *, parallel: Path | None) -> None:
        if not isinstance(steps, list):
            return
        ended: tuple[str, Path] | None = None
        for index, step in enumerate(steps):
            step_path = (*path, index)
            if ended is not None:
                self.unreachable(step, step_path, *ended)
            self.step(step, step_path, parallel=parallel)
            if ended is None and _step_ends(step):
                ended = (str(step.get(_kind(step) or "end")), step_path)

    def unreachable(self, step: Any, path: Path, ender: str, ender_path: Path) -> None:
        kind = _kind(step)
        name = f"step {step[kind]!r}" if kind else "this step"
        line = self.document.where(ender_path)[0]
        how = ("ends the pathway" if _kind(value_at(self.data, ender_path)) == "end"
               else "ends the pathway on every branch")
        self.report(path, f"{name} can never run: it comes after {ender!r} (line {line}), "
                          f"which {how}; move it before {ender!r}, or remove it")

    def step(self, step: Any, path: Path, *, parallel: Path | None) -> None:
        if not isinstance(step, dict):
            self.report(path, f"a step must be a mapping such as `- task: <id>` with its keys "
                              f"indented under it, not {_describe(step)}")
            return
        kinds = _kinds(step)
        if not kinds:
            self.no_kind(step, path)
            return
        if len(kinds) > 1:
            self.report_key((*path, kinds[1]),
                            f"this step has several kinds ({', '.join(kinds)}): a step has "
                            f"exactly one; split it into {len(kinds)} steps")
            return
        kind = kinds[0]
        self.schema_problems(_validators()[kind], step, path)
        if isinstance(step[kind], str):
            self.step_ids.append((self.document.where((*path, kind)), step[kind],
                                  (*path, kind)))
        getattr(self, f"check_{kind}")(step, path, parallel)
        for nested, nested_path in _branch_lists(step, kind, path):
            inner = nested_path if kind == "parallel" else parallel
            if kind == "parallel" and nested == []:
                # SpiffWorkflow mishandles a split flowing straight into its join
                self.report(nested_path, "a parallel branch needs at least one step: remove "
                                         "the empty branch")
            self.steps(nested, nested_path, parallel=inner)

    def no_kind(self, step: dict[str, Any], path: Path) -> None:
        kinds = ", ".join(KINDS)
        for key in step:
            near = difflib.get_close_matches(key, KINDS, n=1, cutoff=0.6)
            if near and key not in _key_owners()["step"]:
                self.report_key((*path, key),
                                f"unknown step kind {key!r} (did you mean {near[0]!r}?): a step "
                                f"starts with one of {kinds}, holding the step's id")
                return
        self.report(path, f"this step has no kind: start it with one of {kinds}, holding the "
                          "step's id, e.g. `- task: first_contact`")

    def duplicate_step_ids(self) -> None:
        first: dict[str, Position] = {}
        roles = self.data.get("roles")
        taken = {"start", "end", str(self.data.get("pathway"))}
        taken |= set(roles) if isinstance(roles, dict) else set()
        for position, step_id, path in sorted(self.step_ids, key=lambda item: item[0]):
            if step_id in taken or step_id.endswith(_GENERATED_SUFFIXES) \
                    or step_id.startswith(_GENERATED_PREFIXES):
                self.report(path, f"step id {step_id!r} is reserved (the pathway, a role, "
                                  "start/end, or a name the compiler generates, ending in "
                                  f"{', '.join(_GENERATED_SUFFIXES)}): choose another id")
            elif step_id in first:
                self.report(path, f"step id {step_id!r} is already used by the step at line "
                                  f"{first[step_id][0]}: step ids must be unique in the file; "
                                  "rename one of them")
            else:
                first[step_id] = position

    # per kind

    def check_task(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.role(step.get("role"), (*path, "role"), "the task's role")
        due = step.get("due")
        if isinstance(due, str) and (match := _DUE_NAME.match(due)):
            self.due(match.group(1), (*path, "due"))
        form = step.get("form")
        if isinstance(form, dict):
            for name, field in form.items():
                self.field(field, (*path, "form", name))
                self.field_name(name, (*path, "form", name))

    def check_decide(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        branches = step.get("branches")
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if isinstance(branch, dict) and "when" in branch:
                    self.expression((*path, "branches", index, "when"))

    def check_parallel(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        """Nothing beyond the schema: its branches are walked like every nested step list."""

    def check_wait(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if "until" in step:
            self.expression((*path, "until"))
            self.constant_date((*path, "until"))

    def constant_date(self, path: Path) -> None:
        """A `wait until:` that reads no name gives the same value for every case: refuse it
        unless it is a date, since each case reaching the wait would fail there."""
        source = value_at(self.data, path)
        if not isinstance(source, str) or not reads_nothing(source):
            return
        try:
            value = evaluate(source, {})
        except (ExpressionError, ScriptError) as err:  # ScriptError: past the sandbox's bounds
            self.report(path, f"`until: {source.strip()}` always fails ({err.message}): "
                              'write a date such as date("2026-03-01") or a date field')
            return
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            datetime.fromisoformat(value)
        except ValueError:
            self.report(path, f"`until: {source.strip()}` is always {value!r}, which is not a "
                              'date: write a date such as date("2026-03-01") or a date field')

    def check_repeat(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if "until" in step:
            self.expression((*path, "until"))

    def check_refer(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        pathway = step.get("pathway")
        known = self.known_pathways
        if known is not None and isinstance(pathway, str) and pathway not in known:
            listed = ", ".join(sorted(known)[:20]) or "none"
            self.report((*path, "pathway"),
                        f"pathway {pathway!r} is not known{_guess(pathway, known)}: publish it "
                        f"first, or refer to one of the known pathways ({listed})")

    def check_record(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        for key in ("value", "when"):
            if key in step:
                self.expression((*path, key))

    def check_notify(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        self.role(step.get("to"), (*path, "to"), "who is notified")

    def check_end(self, step: dict[str, Any], path: Path, parallel: Path | None) -> None:
        if parallel is not None:
            owner = parallel[:-3]
            name = value_at(self.data, owner)
            owner_id = name.get("parallel") if isinstance(name, dict) else None
            self.report((*path, "end"),
                        f"a parallel branch cannot end the pathway: remove the end step "
                        f"{step['end']!r} from the branch, or put it after the parallel step "
                        f"{owner_id!r}")

    # shared checks

    def role(self, role: Any, path: Path, what: str) -> None:
        if self.roles is None or not isinstance(role, str) or role in self.roles:
            return
        declared = ", ".join(sorted(self.roles)) or "none yet"
        self.report(path, f"role {role!r} ({what}) is not declared under roles"
                          f"{_guess(role, self.roles)}: declare it there, e.g. "
                          f"`{role}: {{title: ...}}`, or use a declared role ({declared})")

    def due(self, name: str, path: Path) -> None:
        kind = self.client_fields.get(name)
        if kind == "date":
            return
        if kind is None:
            self.report(path, f"due names {name!r}, which is not declared under client_fields"
                              f"{_guess(name, self.client_fields)}: declare `{name}: date` "
                              "there, or use a duration such as P7D")
        else:
            self.report(path, f"due names {name!r}, a {kind} client field, but due needs a "
                              f"date: declare it as `{name}: date` under client_fields, or use "
                              "a duration such as P7D")

    def client_ref(self, path: Path) -> None:
        value = value_at(self.data, path)
        if not isinstance(value, str) or not (match := _CLIENT_REF.fullmatch(value)):
            return
        name = match.group(1)
        if name not in self.client_fields:
            self.report(path, f"{value!r} names the client field {name!r}, which is not "
                              f"declared under client_fields{_guess(name, self.client_fields)}"
                              f": declare `{name}: <type>` there, or correct the name")

    def field_name(self, name: Any, path: Path) -> None:
        """A form answer becomes case data under its own name: not one the engine writes."""
        if not isinstance(name, str):
            return
        problem = reserved_data_name(name)
        if problem is None and name in self.referral_results:
            problem = (f"{name!r} is reserved: the referral step it is named after puts the "
                       "referred case's result there")
        if problem is not None:
            self.report_key(path, f"form field {problem}; rename the field")

    def field(self, field: Any, path: Path) -> None:
        if not isinstance(field, dict):
            return  # the task's schema reports it
        kind = field.get("type")
        types = ", ".join(FIELD_TYPES)
        if "type" not in field:
            self.report(path, f"missing required key 'type' (one of {types}): add it to "
                              "this form field, e.g. `{type: text, title: ...}`")
            return
        if not isinstance(kind, str) or kind not in FIELD_TYPES:
            guess = _guess(kind, FIELD_TYPES) if isinstance(kind, str) else ""
            self.report((*path, "type"), f"{_describe(kind)} is not a field type{guess}: "
                                         f"use one of {types}")
            return
        self.schema_problems(_validators()[f"{kind}_field"], field, path)
        for key in ("prefill", "save_to"):
            self.client_ref((*path, key))
        if "visible_when" in field:
            self.expression((*path, "visible_when"))
        bounds = _bounds(field)
        if bounds is not None and bounds[0] > bounds[1]:
            self.report((*path, "max"), f"min ({bounds[0]}) is greater than max ({bounds[1]}): "
                                        "swap them, or correct one")
        labels = field.get("labels")
        if kind == "scale" and bounds is not None and isinstance(labels, dict):
            low, high = bounds
            for key in labels:
                if _SCALE_VALUE.fullmatch(key) and not low <= int(key) <= high:
                    self.report_key((*path, "labels", key),
                                    f"the label for {key} is outside the scale ({low} to "
                                    f"{high}): label values from min to max")

    def expression(self, path: Path) -> None:
        source = value_at(self.data, path)
        if isinstance(source, bool):
            source = "true" if source else "false"  # `when: true`, as the compiler reads it
        elif isinstance(source, int | float):
            source = str(source)  # `value: 3`; inf and nan then read as undefined names
        elif not isinstance(source, str):
            return  # the schema reports anything else
        lead = len(source) - len(source.lstrip())
        if len(source) > MAX_EXPRESSION:
            self.report(path, f"the expression is {len(source)} characters long, more than the "
                              f"{MAX_EXPRESSION} allowed: record parts of it as form fields, "
                              "or split it across steps")
            return
        try:
            used = reads(source)
        except (RecursionError, MemoryError):  # CPython's parser on absurd nesting
            self.report(path, f"invalid expression {source.strip()[:40]!r}...: it nests too "
                              "deeply to parse: simplify it")
            return
        except ExpressionError as err:
            at = self.document.inside(path, lead + (err.offset or 0))
            hint = ("write a condition, e.g. `not consent_given`" if not source.strip()
                    else f"correct it; {_EXPRESSIONS_HELP}")
            self.report(path, f"invalid expression {source.strip()!r}: {err.message}: {hint}",
                        at=at)
            return
        for name, offset in sorted(used.items(), key=lambda item: (item[1], item[0])):
            message = self.undefined(name)
            if message:
                self.report(path, message, at=self.document.inside(path, lead + offset))

    def undefined(self, name: str) -> str | None:
        root, _, rest = name.partition(".")
        if root == "client":
            field = rest.split(".")[0]
            if not field or field in self.client_fields:
                return None
            return (f"{name!r} reads the client field {field!r}, which is not declared under "
                    f"client_fields{_guess(field, self.client_fields)}: declare "
                    f"`{field}: <type>` there, or correct the name")
        defined = (self.form_fields | set(self.client_fields) | self.referral_results
                   | set(FUNCTIONS))
        if root in defined:
            return None
        return (f"{root!r} is not defined{_guess(root, defined)}: no task's form has a field "
                f"{root!r} and no client field of that name is declared; add the field to a "
                "form or to client_fields, or correct the spelling")

    # schema errors, in words

    def schema_problems(self, validator: Validator, instance: Any, base: Path) -> None:
        for problem in schema_errors(validator.iter_errors(instance)):
            self.schema_problem(problem, base)

    def schema_problem(self, problem: SchemaError, base: Path) -> None:
        error = problem.error
        path: Path = (*base, *problem.path)
        schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
        keyword = str(error.validator)
        value = error.instance
        messages = schema.get("x-messages", {})
        template = messages.get(keyword) if isinstance(messages, Mapping) else None
        if problem.kind == UNKNOWN:
            self.unknown_key(problem.key, schema, path[:-1])
        elif problem.kind == MISSING:
            self.missing_key(problem.key, value if isinstance(value, dict) else {}, schema,
                             path[:-1])
        elif keyword == "uniqueItems" and isinstance(value, list):
            self.duplicate_items(value, path)
        elif "propertyNames" in error.schema_path:
            message = (template.replace("{value}", repr(value)) + _id_hint(schema, value)
                       if template else f"{value!r} is not allowed as a key here")
            self.report_key((*path, str(value)), message)
        elif template:
            if _is_due_duration(schema, value):  # a due written as a (wrong) duration
                template = _schema()["$defs"]["duration"]["x-messages"]["pattern"]
            self.report(path, template.replace("{value}", repr(value))
                        + _id_hint(schema, value))
        elif keyword == "type":
            types: Any = error.validator_value
            expected = [types] if isinstance(types, str) else list(types)
            wanted = _either([_TYPE_NAMES.get(name, name) for name in expected])
            about = f" ({schema['description']})" if "description" in schema else ""
            self.report(path, f"{_label(path)} must be {wanted}{about}, not {_describe(value)}"
                              f"{_type_hint(expected, value, schema)}")
        elif keyword == "enum":
            options: Any = error.validator_value
            allowed = [str(option) for option in options]
            guess = _guess(value, allowed) if isinstance(value, str) else ""
            self.report(path, f"{_describe(value)} is not allowed for {_label(path)}{guess}: "
                              f"use one of {', '.join(allowed)}")
        elif keyword == "minLength":
            self.report(path, f"{_label(path)} must not be empty: write the text")
        elif keyword == "minimum":
            self.report(path, f"{_label(path)} must be at least {error.validator_value}, "
                              f"not {value}")
        elif keyword in ("minItems", "minProperties"):
            self.report(path, f"{_label(path)} needs at least {error.validator_value} "
                              f"item(s): add them")
        else:
            self.report(path, f"{_label(path)}: {error.message}")

    def unknown_key(self, key: str, schema: Mapping[str, Any], path: Path) -> None:
        allowed = list(schema.get("properties", {}))
        title, noun = str(schema.get("title", "this mapping")), _noun(schema)
        group = "field" if noun.endswith(" field") else "step"
        near = _guess(key, allowed)
        owners = _key_owners()[group].get(key)
        if not near and owners and group == "field":
            near = f" (it belongs to {' and '.join(owners)} fields)"
        elif not near and owners and noun.endswith(" step"):
            near = f" (it belongs to {' and '.join(owners)} steps)"
        self.report_key((*path, key),
                        f"unknown key {key!r}{near}: {title} has the keys "
                        f"{', '.join(allowed)}; remove it or correct the spelling")

    def missing_key(self, key: str, value: Mapping[str, Any], schema: Mapping[str, Any],
                    path: Path) -> None:
        properties = schema.get("properties", {})
        misspelt = {_closest(given, properties) for given in value if given not in properties}
        if key in misspelt or (path, key) in self.required_seen:
            return  # a misspelt key is reported as unknown, with the right spelling
        self.required_seen.add((path, key))
        description = properties.get(key, {}).get("description")
        about = f" ({description})" if description else ""
        self.report(path, f"missing required key {key!r}{about}: add `{key}: ...` to "
                          f"this {_noun(schema)}")

    def duplicate_items(self, items: list[Any], path: Path) -> None:
        seen: list[tuple[type, Any, int]] = []
        for index, item in enumerate(items):
            first = next((i for t, v, i in seen if t is type(item) and v == item), None)
            if first is None:
                seen.append((type(item), item, index))
                continue
            self.report((*path, index), f"{item!r} appears twice in {_label(path)} (first as "
                                        f"item {first + 1}): remove the duplicate")


# -- the public functions ------------------------------------------------------------------


def validate(text: str, file: str, *, known_pathways: Collection[str] | None = None
             ) -> tuple[dict[str, Any] | None, list[DslProblem]]:
    """(the document, every problem sorted by line and column) for a pathway's YAML text.

    The document is the YAML's plain data (None when it could not be loaded); it is only
    safe to compile when there are no problems. known_pathways, when given, are the ids a
    `refer` may name (the pathway itself is always known).
    """
    document, problems = load(text, file)
    if document is None:
        return None, problems
    checker = _Checker(document, file, known_pathways)
    checker.run()
    unique = dict.fromkeys([*problems, *checker.problems])
    return document.data, sorted(unique, key=lambda p: (p.line, p.column, p.path, p.message))


def load_pathway(text: str, file: str, *, known_pathways: Collection[str] | None = None
                 ) -> dict[str, Any]:
    """The validated document, ready to compile; DslError listing every problem otherwise."""
    document, problems = validate(text, file, known_pathways=known_pathways)
    if problems or document is None:
        raise DslError(problems)
    return document
