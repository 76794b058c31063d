"""The validator as a type checker: mistakes in expressions that would otherwise fail, or
silently misbehave, when a case runs.

Every name has a type from what sets it (dsl.answered.step_defines: a form field's type, a
choice's options, a waited referral's result) or from its client field; a name of unknown
type is `any` and never flagged, so a correct pathway gets no complaint. Flagged:

* a comparison (==, !=, in, not in) with an option the choice does not have: `risk == 'High'`
  when the options are high, medium, low is never true, so its branch is never taken;
* a yes/no answer compared with text or a number: `engaged == 'yes'` is never true;
* a number added to or taken from a date (`move_in_date + 30`), two dates subtracted, a date
  ordered against a number: each fails when the case gets there;
* a name read where some path to it has not asked it (dsl.answered): the case fails there.

A bare ISO-8601 duration (`P1M`, `P7D`) is a duration; date +/- duration is a date.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dsl.answered import ANY, Definition, Read, Type, Walk, field_type, known_facts, names_read
from dsl.answered import walk as walk_steps
from dsl.errors import DslProblem
from dsl.loader import LoadedDocument, Path, format_path, value_at
from dsl.steps import step_kind
from dsl.wording import closest_word
from engine.workflow.expressions import CONSTANTS, ExpressionError, parse

__all__ = ["ANY", "Type", "one_word_a_place", "type_problems"]

DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?")
_FUNCTION_TYPES = {"today": Type("date"), "date": Type("date"), "days_between": Type("number"),
                   "len": Type("number"), "where": Type("list")}
_SHOWN_OPTIONS = 12


def join(types: list[Type]) -> Type:
    """One type for a name set in several places: a choice offers every option of each."""
    kinds = {t.kind for t in types}
    if len(kinds) != 1:
        return ANY
    options = tuple(dict.fromkeys(option for t in types for option in t.options))
    return Type(types[0].kind, options)


@dataclass(frozen=True)
class Mistake:
    """A type mistake at node (where in the expression it is reported)."""

    node: ast.AST
    message: str


class _Expression:
    """Infers the type of each part of one expression, noting each mistake."""

    def __init__(self, text: str, names: Mapping[str, Type]) -> None:
        self.text = text
        self.names = names
        self.mistakes: list[Mistake] = []

    def shown(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or "this"

    def type_of(self, node: ast.AST) -> Type:
        if isinstance(node, ast.Constant):
            return _constant_type(node.value)
        if isinstance(node, ast.Name):
            return self.name_type(node.id)
        if isinstance(node, ast.Attribute):
            self.type_of(node.value)
            parts = self.shown(node).split(".")
            return self.names.get(".".join(parts), ANY) if parts[0] == "client" else ANY
        if isinstance(node, ast.Call):
            for argument in node.args:
                self.type_of(argument)
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            return _FUNCTION_TYPES.get(name, ANY)
        if isinstance(node, ast.BinOp):
            return self.arithmetic(node)
        if isinstance(node, ast.Compare):
            self.compare(node)
            return Type("boolean")
        if isinstance(node, ast.UnaryOp):
            inner = self.type_of(node.operand)
            return Type("boolean") if isinstance(node.op, ast.Not) else inner
        if isinstance(node, ast.List | ast.Tuple):
            for item in node.elts:
                self.type_of(item)
            return Type("list")
        for child in ast.iter_child_nodes(node):  # and, or, if-else, subscripts
            self.type_of(child)
        return ANY

    def name_type(self, name: str) -> Type:
        if name in CONSTANTS:
            return _constant_type(CONSTANTS[name])
        if DURATION.fullmatch(name):
            return Type("duration")
        return self.names.get(name, ANY)

    def arithmetic(self, node: ast.BinOp) -> Type:
        left, right = self.type_of(node.left), self.type_of(node.right)
        kinds = (left.kind, right.kind)
        adds = isinstance(node.op, ast.Add)
        if isinstance(node.op, ast.Add | ast.Sub) and "date" in kinds:
            if kinds in (("date", "duration"), ("duration", "date")):
                return Type("date") if adds or kinds[0] == "date" else ANY
            if "number" in kinds:
                self.date_and_number(node, adds)
            elif kinds == ("date", "date"):
                self.two_dates(node, adds)
            return ANY
        if left.kind == right.kind == "number":
            return Type("number")
        return ANY

    def date_and_number(self, node: ast.BinOp, adds: bool) -> None:
        number = node.right if self.type_of(node.right).kind == "number" else node.left
        shown = self.shown(number)
        days = shown if isinstance(number, ast.Constant) else "7"
        date = node.left if number is node.right else node.right
        sign = "+" if adds else "-"
        self.mistakes.append(Mistake(number, (
            f"{self.shown(node)} {'adds' if adds else 'takes'} a number {'to' if adds else 'from'}"
            f" a date, which fails when the case gets here: a date moves by a duration; write "
            f"{self.shown(date)} {sign} P{days}D for {days} days (P1W a week, P1M a month)")))

    def two_dates(self, node: ast.BinOp, adds: bool) -> None:
        first, second = self.shown(node.right), self.shown(node.left)
        fix = (f"add a duration to a date, e.g. {second} + P7D" if adds else
               f"use days_between({first}, {second}) for the days from one to the other")
        verb = "adds" if adds else "subtracts"
        self.mistakes.append(Mistake(node, f"{self.shown(node)} {verb} two dates, which fails "
                                           f"when the case gets here: {fix}"))

    def compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        types = [self.type_of(operand) for operand in operands]
        for index, op in enumerate(node.ops):
            pair = (operands[index], types[index]), (operands[index + 1], types[index + 1])
            if isinstance(op, ast.Eq | ast.NotEq):
                self.equality(*pair)
                self.equality(*reversed(pair))
            elif isinstance(op, ast.In | ast.NotIn):
                self.membership(*pair)
            elif isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
                self.ordering(*pair)

    def equality(self, typed: tuple[ast.AST, Type], other: tuple[ast.AST, Type]) -> None:
        (node, kind), (value, value_kind) = typed, other
        if kind.kind == "choice" and isinstance(value, ast.Constant):
            self.option(value, node, kind)
        elif kind.kind == "boolean" and value_kind.kind in _NOUNS:
            noun = _NOUNS[value_kind.kind]
            what = (f"the {noun.removeprefix('a ')} {self.shown(value)}"
                    if isinstance(value, ast.Constant) else f"{self.shown(value)}, {noun}")
            name = self.shown(node)
            self.mistakes.append(Mistake(value, (
                f"{name} is a yes/no answer (true or false), never {what}, so this comparison "
                f"is never true: write `{name}` for yes or `not {name}` for no")))
        elif kind.kind == "result" and isinstance(value, ast.Constant):
            name = self.shown(node)
            self.mistakes.append(Mistake(value, (
                f"{name} is the referred case's result, {{case, exit_reason}}, never "
                f"{self.shown(value)}: compare {name}.exit_reason")))

    def membership(self, item: tuple[ast.AST, Type], within: tuple[ast.AST, Type]) -> None:
        (node, kind), (container, container_kind) = item, within
        if container_kind.kind == "choices" and isinstance(node, ast.Constant):
            self.option(node, container, container_kind)
        elif kind.kind == "choice" and isinstance(container, ast.List | ast.Tuple):
            for element in container.elts:
                if isinstance(element, ast.Constant):
                    self.option(element, node, kind)

    def ordering(self, first: tuple[ast.AST, Type], second: tuple[ast.AST, Type]) -> None:
        kinds = {first[1].kind, second[1].kind}
        if kinds == {"date", "number"}:
            number = first[0] if first[1].kind == "number" else second[0]
            self.mistakes.append(Mistake(number, (
                f"a date is compared with the number {self.shown(number)}, which fails when "
                "the case gets here: compare it with a date, or count days with "
                "days_between(a, b)")))

    def option(self, value: ast.Constant, field: ast.AST, kind: Type) -> None:
        if value.value in kind.options or isinstance(value.value, bool) or value.value is None:
            return
        name, written = self.shown(field), self.shown(value)
        options = [str(option) for option in kind.options]
        listed = ", ".join(options[:_SHOWN_OPTIONS]) + (", ..." if len(options) > 12 else "")
        near = _closest(str(value.value), kind.options)
        fix = (f"did you mean {near!r}?" if near is not None
               else "use one of them, or add it to the field's options")
        self.mistakes.append(Mistake(value, f"{written} is not an option of {name} ({listed}): "
                                            f"{fix}"))


_NOUNS = {"text": "text", "choice": "a choice", "number": "a number", "date": "a date"}


def _constant_type(value: Any) -> Type:
    if isinstance(value, bool):
        return Type("boolean")
    if isinstance(value, int | float):
        return Type("number")
    return Type("text") if isinstance(value, str) else ANY


def _closest(written: str, options: tuple[Any, ...]) -> Any:
    """The option meant: the same but for capitals or spaces, else the closest spelling."""
    squashed = written.lower().replace(" ", "_").replace("-", "_")
    for option in options:
        if str(option).lower().replace(" ", "_").replace("-", "_") == squashed:
            return option
    near = closest_word(written, [str(option) for option in options])
    return next((option for option in options if str(option) == near), None)


# -- reading an answer that may not have been asked ----------------------------------------


class _Unasked:
    """Why a name may not have been asked where it is read, in the document's words."""

    def __init__(self, document: LoadedDocument, walk: Walk) -> None:
        self.document = document
        self.walk = walk

    def message(self, name: str, read: Path) -> str:
        found = [self.reason(step_path, definition, read)
                 for step_path, definition in self.walk.sites[name]]
        reasons = list(dict.fromkeys(reason for reason, _ in found))
        shown = " and ".join(reasons[:3]) + (" (and elsewhere)" if len(reasons) > 3 else "")
        if all(step_kind(value_at(self.document.data, step_path)) == "repeat"
               for step_path, _ in self.walk.sites[name]):
            return (f"the repeat {name} may not have run here, so {name}.rounds may not be "
                    f"there: {shown.replace('it is asked', 'it runs')}; read its rounds only "
                    "where it has run, or gather them in a `set` right after it")
        fix = ("make it required (`required: true`)" if all(optional for _, optional in found)
               else "ask it on every path before this point, or read it only where it has "
                    "been asked")
        return f"{name} may not have been asked here: {shown}; {fix}"

    def line(self, path: Path) -> int:
        kind = step_kind(value_at(self.document.data, path))
        return self.document.where((*path, kind) if kind else path)[0]

    def step_name(self, path: Path) -> str:
        step = value_at(self.document.data, path)
        kind = step_kind(step)
        return f"{kind} {step[kind]}" if kind else "a step"

    def reason(self, site: Path, definition: Definition, read: Path) -> tuple[str, bool]:
        """Why the step at site may not have set the name by the read; and whether only
        because the field is optional."""
        where = f"{self.step_name(site)} (line {self.line(site)})"
        if _later(site, read):
            return self.later_in_round(site, read) or f"it is asked only later, in {where}", \
                False
        for depth in range(len(site) - 1):
            found = self.construct(site, depth, read)
            if found is not None:
                return found, False
        if not definition.certain:
            return f"{definition.why} in {where}", True
        return f"it is asked in {where}, which not every path passes", False

    def later_in_round(self, site: Path, read: Path) -> str | None:
        """For a read before the site in the same repeat: the innermost such repeat."""
        for depth in range(len(site) - 1, 0, -1):
            owner = site[:depth]
            if read[:depth + 1] == site[:depth + 1] and step_kind(
                    value_at(self.document.data, owner)) == "repeat":
                return (f"it is asked later in each round of repeat "
                        f"{value_at(self.document.data, (*owner, 'repeat'))} (line "
                        f"{self.line(owner)}), so not yet in the first")
        return None

    def construct(self, site: Path, depth: int, read: Path) -> str | None:
        """The reason the step at site[:depth] gives, if it is a decide or parallel step that
        holds the site but not the read in the same branch (a repeat's steps all run)."""
        owner, rest = site[:depth], site[depth:]
        kind = step_kind(value_at(self.document.data, owner))
        if kind not in ("decide", "parallel", "repeat") or not rest:
            return None
        branch = rest[:2] if rest[0] == "branches" else rest[:1]
        if read[:len(owner) + len(branch)] == (*owner, *branch):
            return None  # the read is in the same branch
        inside = read[:len(owner)] == owner
        where = f"{kind} {value_at(self.document.data, (*owner, kind))} (line {self.line(owner)})"
        if kind == "decide" and branch[0] == "otherwise":
            return f"it is asked only when no branch of {where} applies (its otherwise)"
        if kind == "decide":
            when = value_at(self.document.data, (*owner, *branch, "when"))
            return f"it is asked only in the branch `when: {when}` of {where}"
        if kind == "parallel" and inside:
            return f"it is asked in another branch of {where}, which may not have finished"
        return None


def _later(site: Path, read: Path) -> bool:
    """Whether the step at site comes after the read in the document."""
    for mine, theirs in zip(site, read, strict=False):
        if mine != theirs:
            return isinstance(mine, int) and isinstance(theirs, int) and mine > theirs
    return False


# -- the checks over a document ------------------------------------------------------------


def _source(document: LoadedDocument, path: Path) -> str | None:
    value = value_at(document.data, path)
    return value if isinstance(value, str) else None


def _offset(text: str, node: ast.AST) -> int:
    """Character offset of node in the (stripped) text: ast counts UTF-8 bytes per line."""
    lines = text.split("\n")
    line = max(getattr(node, "lineno", 1) - 1, 0)
    column = getattr(node, "col_offset", 0)
    before = sum(len(earlier) + 1 for earlier in lines[:line])
    within = lines[line].encode("utf-8")[:column].decode("utf-8", "ignore") if line < len(
        lines) else ""
    return before + len(within)


def _client_types(data: Mapping[str, Any]) -> dict[str, Type]:
    declared = data.get("client_fields")
    types: dict[str, Type] = {}
    for name, spec in (declared.items() if isinstance(declared, dict) else ()):
        types[f"client.{name}"] = field_type(spec)
    return types


def _mistakes(read: Read, text: str, names: Mapping[str, Type], unasked: _Unasked
              ) -> Iterator[tuple[ast.AST, str]]:
    tree = parse(text).body
    checker = _Expression(text, names)
    checker.type_of(tree)
    for mistake in checker.mistakes:
        yield mistake.node, mistake.message
    if not read.checks_answers:
        return
    flagged: set[str] = set()
    for name, node, assumed in names_read(tree):
        if name in flagged or name not in unasked.walk.sites:
            continue
        facts = known_facts([*read.assumptions, *assumed])
        if not read.state.has(name, facts, unasked.walk.conditions):
            flagged.add(name)
            yield node, unasked.message(name, read.path)


def type_problems(document: LoadedDocument, file: str) -> list[DslProblem]:
    """The type mistakes of a loaded document, each located at the part of the expression
    that is wrong. Tolerates any malformed document (the schema reports what is wrong)."""
    data = document.data
    client = _client_types(data)
    walk = walk_steps(data, [name.removeprefix("client.") for name in client])
    names: dict[str, Type] = {name: join(types) for name, types in walk.types.items()}
    for name, kind in client.items():
        bare = name.removeprefix("client.")
        names[name] = kind
        names[bare] = join([kind, *walk.types.get(bare, [])])
    unasked = _Unasked(document, walk)
    problems = []
    for read in walk.reads:
        source = _source(document, read.path)
        if source is None:
            continue
        lead = len(source) - len(source.lstrip())
        try:
            found = list(_mistakes(read, source.strip(), names, unasked))
        except (ExpressionError, RecursionError, MemoryError):
            continue  # dsl.validate reports an expression that does not parse
        for node, message in found:
            line, column = document.inside(read.path, lead + _offset(source.strip(), node))
            problems.append(DslProblem(file, line, column, format_path(read.path), message))
    return problems


# the date check's words on arithmetic, said better by the type checker where it speaks
_SAID_BY_TYPES = ("add a duration such as P7D, not a number",
                  "subtract a duration such as P7D, not a number",
                  "a date can only be moved by a duration")


def one_word_a_place(problems: list[DslProblem], typed: list[DslProblem]
                      ) -> list[DslProblem]:
    """The checks' problems and the type checker's, one a line of an expression: the type
    checker's arithmetic words over the date check's, the date check's over the type
    checker's others (`only asked in a later step` says more than `may not have been
    asked`)."""
    typed_at = {(p.path, p.line) for p in typed}
    kept = [p for p in problems if not ((p.path, p.line) in typed_at
                                        and any(w in p.message for w in _SAID_BY_TYPES))]
    spoken = {(p.path, p.line) for p in kept}
    return kept + [p for p in typed if (p.path, p.line) not in spoken]
