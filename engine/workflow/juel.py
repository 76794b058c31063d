"""JUEL, the `${...}` expression language of Camunda 7 models, translated into Pathways'
expression language (engine.workflow.expressions), or refused with the reason.

Camunda Modeler writes gateway conditions such as `${amount > 1000 && !approved}`; SpiffWorkflow
would evaluate that text as Python and fail. Pure: a tokenizer, a recursive-descent parser
following the precedence of the EL 2.2 grammar, and a translator. What it takes: string,
number, boolean and null literals, variables, dotted property reads, `!`/`not`, `empty`,
`==`/`eq`, `!=`/`ne`, `<`/`lt`, `>`/`gt`, `<=`/`le`, `>=`/`ge`, `&&`/`and`, `||`/`or` and
parentheses. Anything else (method calls, `[ ]`, arithmetic, `? :`, `#{...}`, text around the
expression, Camunda's own objects such as `execution`) is refused.

Meaning kept (tests/unit/engine/test_juel.py checks it on generated expressions and data):
where JUEL gives a value without converting one kind of value into another, the translation
gives the same value, or stops with an error. So, as in JUEL: a comparison with null by `<`,
`>`, `<=`, `>=` is false (null <= null true); a property of null, or one a record lacks, is
null; `&&`, `||` and `!` read null as false. Not made: JUEL's conversions between kinds (the
text '3' equal to the number 3, the text 'true' read as true); `empty` of a number or yes/no
value stops with an error (JUEL: false). A name is a case field: a bean Camunda would look
up instead is not known until the condition runs, and then stops the case with an error.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any

from engine.workflow.dates import looks_like_duration

MAX_LENGTH = 2000  # of the translation, as engine.workflow.expressions takes at most
_MAX_INT = 2 ** 53  # larger whole numbers would compare differently from Java's doubles
# Camunda's own objects and multi-instance counters, which a Pathways case does not hold
CAMUNDA_OBJECTS = frozenset({
    "execution", "task", "variableScope", "connector", "authenticatedUserId",
    "processEngine", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances",
    "dateTime", "camunda", "S", "XML", "JSON"})
_KEYWORDS = {"and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<",
             "gt": ">", "le": "<=", "ge": ">=", "empty": "empty", "true": "true",
             "false": "false", "null": "null", "div": "div", "mod": "mod",
             "instanceof": "instanceof"}
_SYMBOLS = ("&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", ".", "[", "]",
            "?", ":", "+", "-", "*", "/", "%", ",", "=", ";")
_NAMED = {"&&": "and", "||": "or", "!": "not"}
_REFUSED_SYMBOLS = {
    "[": "reads by index ([ ])", "]": "reads by index ([ ])", "?": "chooses with ? :",
    ":": "chooses with ? : (or names a function prefix)", "+": "computes (+)",
    "-": "computes (-)", "*": "computes (*)", "/": "computes (/)", "%": "computes (%)",
    "div": "computes (div)", "mod": "computes (mod)", ",": "lists values (,)",
    "=": "assigns (=)", ";": "chains expressions (;)", "instanceof": "tests a Java class",
}
_RELATIONS = ("==", "!=", "<", ">", "<=", ">=")


class JuelRefused(Exception):
    """A JUEL expression Pathways does not translate; `reason` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- syntax tree --------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: bool | int | float | str | None


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Property:
    base: Node
    name: str


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "empty"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # "and" | "or" | one of _RELATIONS
    left: Node
    right: Node


Node = Literal | Name | Property | Unary | Binary


# -- tokens -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str  # "string", "number", "name", "op" (symbols and keywords, by their meaning)
    text: str
    value: Any
    at: int


_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_BAD_EXPONENT = re.compile(r"[eE][+-]?(?!\d)", re.ASCII)
_WORD = re.compile(r"[^\W\d][\w$]*|\$[\w$]*")


def tokenize(text: str) -> list[Token]:
    """The tokens of the text inside `${ }`; JuelRefused at a character JUEL has no use for."""
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
        elif text[at] in "'\"":
            at = _string(text, at, tokens)
        elif (number := _NUMBER.match(text, at)) is not None:
            at = _number(number, tokens)
        elif (word := _WORD.match(text, at)) is not None:
            meaning = _KEYWORDS.get(word.group())
            tokens.append(Token("op" if meaning else "name", word.group(), meaning or
                                word.group(), at))
            at = word.end()
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, at)), None)
            if symbol is None:
                raise JuelRefused(f"{text[at]!r} at character {at + 1} is not JUEL")
            tokens.append(Token("op", symbol, _NAMED.get(symbol, symbol), at))
            at += len(symbol)
    return tokens


def _string(text: str, at: int, tokens: list[Token]) -> int:
    """A quoted string: `\\` before a quote or a backslash escapes it, as in JUEL."""
    quote, chars, end = text[at], [], at + 1
    while end < len(text) and text[end] != quote:
        if text[end] == "\\" and text[end + 1:end + 2] in ("\\", "'", '"'):
            end += 1
        chars.append(text[end])
        end += 1
    if end >= len(text):
        raise JuelRefused(f"the text starting at character {at + 1} is not closed")
    tokens.append(Token("string", text[at:end + 1], "".join(chars), at))
    return end + 1


def _number(match: re.Match[str], tokens: list[Token]) -> int:
    written, at = match.group(), match.start()
    if _BAD_EXPONENT.match(match.string, match.end()):
        raise JuelRefused(f"the number at character {at + 1} has no exponent digits")
    value: int | float = int(written) if written.isdigit() else float(written)
    if abs(value) > _MAX_INT:
        raise JuelRefused(f"the number {written} is too large to compare exactly")
    tokens.append(Token("number", written, value, at))
    return match.end()


# -- parser -------------------------------------------------------------------------------

class _Parser:
    """EL 2.2 precedence: `or` < `and` < equality < relation < unary < property read."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, *values: str) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == "op" and token.value in values:
            self.at += 1
            return token
        return None

    def whole(self) -> Node:
        if not self.tokens:
            raise JuelRefused("the expression is empty")
        node = self.binary(0)
        token = self.peek()
        if token is not None:
            raise _unexpected(token)
        return node

    _LEVELS: tuple[tuple[str, ...], ...] = (("or",), ("and",), ("==", "!="),
                                           ("<", ">", "<=", ">="))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (token := self.take(*self._LEVELS[level])) is not None:
            node = Binary(str(token.value), node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        token = self.take("not", "empty", "-")
        if token is None:
            return self.value()
        if token.value == "-":
            number = self.peek()
            if number is None or number.kind != "number":
                raise JuelRefused(f"computes (-) at character {token.at + 1}")
            self.at += 1
            return Literal(-number.value)
        return Unary(str(token.value), self.unary())

    def value(self) -> Node:
        node = self.primary()
        while self.take("."):
            token = self.peek()
            if token is None or token.kind != "name":
                raise JuelRefused("a '.' is not followed by a property name")
            self.at += 1
            node = Property(node, _checked_name(token, property_name=True))
        token = self.peek()
        if token is not None and token.kind == "op" and token.value == "(":
            raise JuelRefused(f"calls a method or function at character {token.at + 1}")
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise JuelRefused("the expression ends where a value was expected")
        self.at += 1
        if token.kind in ("string", "number"):
            return Literal(token.value)
        if token.kind == "name":
            return Name(_checked_name(token, property_name=False))
        if token.value in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[token.value])
        if token.value == "(":
            node = self.binary(0)
            if self.take(")") is None:
                raise JuelRefused("a '(' is not closed")
            return node
        raise _unexpected(token)


def _unexpected(token: Token) -> JuelRefused:
    what = _REFUSED_SYMBOLS.get(str(token.value))
    if what is not None:
        return JuelRefused(f"{what} at character {token.at + 1}")
    return JuelRefused(f"{token.text!r} at character {token.at + 1} is not expected there")


def _checked_name(token: Token, *, property_name: bool) -> str:
    """A variable or property name as Pathways' language can read it."""
    name = token.text
    if not property_name and name in CAMUNDA_OBJECTS:
        raise JuelRefused(f"{name!r} is Camunda's own object (a bean or engine variable), "
                          "which a Pathways case does not have")
    if not name.isascii() or not name.replace("$", "").isidentifier():
        raise JuelRefused(f"the name {name!r} is not one Pathways reads (letters, digits and "
                          "'_' of the ASCII alphabet)")
    if "$" in name or name.startswith("_"):
        raise JuelRefused(f"the name {name!r} has a '$' or starts with '_', which Pathways "
                          "field names may not")
    if keyword.iskeyword(name) or (not property_name and looks_like_duration(name)):
        raise JuelRefused(f"the name {name!r} is a word of Pathways' expression language "
                          "(a keyword, a constant or a duration such as P1D)")
    return name


def parse(text: str) -> Node:
    """The syntax tree of the text inside `${ }`; JuelRefused when Pathways does not take it."""
    return _Parser(text).whole()


# -- translation --------------------------------------------------------------------------

def is_juel(source: str) -> bool:
    """Whether the text is written in JUEL (it has a `${` or `#{`)."""
    return "${" in source or "#{" in source


def inner(source: str) -> str:
    """The text inside `${ }`; JuelRefused for `#{ }` (deferred evaluation) or text around."""
    text = source.strip()
    if text.startswith("#{"):
        raise JuelRefused("#{...} is deferred evaluation (a method or value binding), which "
                          "Pathways does not have")
    if not (text.startswith("${") and text.endswith("}")) or "${" in text[2:] \
            or "#{" in text:
        raise JuelRefused("only one ${...} making up the whole text is translated (no text "
                          "around it, no second expression)")
    return text[2:-1]


def condition(source: str) -> str:
    """The Pathways expression of a JUEL condition (`${...}`): true exactly when JUEL's is."""
    return _bounded(_boolean(parse(inner(source))))


def reference(source: str) -> str:
    """The Pathways expression of a JUEL value that only names a variable or a property of
    one (`${initiator}`, `${request.owner}`); JuelRefused for anything else."""
    node = parse(inner(source))
    if not isinstance(node, Name | Property):
        raise JuelRefused("only a variable or a property of one is taken here")
    return _bounded(_value(node))


def _bounded(text: str) -> str:
    if len(text) > MAX_LENGTH:
        raise JuelRefused(f"translated, it is longer than {MAX_LENGTH} characters")
    return text


def _boolean(node: Node) -> str:
    """Pathways text giving True or False, as JUEL reads the node as a boolean (null false)."""
    if isinstance(node, Binary | Unary):
        return _value(node)
    if isinstance(node, Literal):
        if isinstance(node.value, bool) or node.value is None:
            return repr(bool(node.value))
        raise JuelRefused(f"{node.value!r} is not a yes/no value")
    return f"({_value(node)} is True)"


def _value(node: Node) -> str:
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Property):
        return _property(node)
    if isinstance(node, Unary):
        if node.op == "not":
            return f"(not {_boolean(node.operand)})"
        if isinstance(node.operand, Literal):  # JUEL: null, '' are empty; others not
            value = node.operand.value
            return repr(value is None or value == "")
        operand = _value(node.operand)
        return f"({operand} is None or len({operand}) == 0)"
    if node.op in ("and", "or"):
        return f"({_boolean(node.left)} {node.op} {_boolean(node.right)})"
    return _relation(node.op, node.left, node.right)


def _relation(op: str, left: Node, right: Node) -> str:
    """`==`/`!=` as Python's; an order compares two present values: with null it is false,
    except null <= null and null >= null (JUEL: the same value)."""
    a, b = _value(left), _value(right)
    if op in ("==", "!="):
        return f"({a} {op} {b})"
    guards = [f"{text} is not None" for node, text in ((left, a), (right, b))
              if not (isinstance(node, Literal) and node.value is not None)]
    if any(isinstance(node, Literal) and node.value is None for node in (left, right)):
        return repr(op in ("<=", ">=") and _both_null(left, right)) if not guards else (
            f"({a} is None and {b} is None)" if op in ("<=", ">=") else "False")
    compared = " and ".join([*guards, f"{a} {op} {b}"])
    if op in ("<=", ">=") and len(guards) == 2:
        return f"(({a} is None and {b} is None) or ({compared}))"
    return f"({compared})"


def _both_null(left: Node, right: Node) -> bool:
    return all(isinstance(node, Literal) and node.value is None for node in (left, right))


def _property(node: Property) -> str:
    """`a.b.c` as a read that gives None where a step of the path is null or missing."""
    parts: list[str] = []
    base: Node = node
    while isinstance(base, Property):
        parts.append(base.name)
        base = base.base
    if not isinstance(base, Name):
        raise JuelRefused("reads a property of something other than a variable")
    path, guards = base.name, []
    for part in reversed(parts):
        guards += [f"{path} is not None", f"{part!r} in {path}"]
        path = f"{path}.{part}"
    return f"({path} if {' and '.join(guards)} else None)"
