"""Names and expressions as the compiled BPMN carries them.

A DSL expression may name a declared client field bare (`release_date`); the engine reads it
as `client.release_date`, so the compiler rewrites such names, leaving other text unchanged.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping

_DUE_BASE = re.compile(r"^(\s*)([A-Za-z_]\w*)(?![\w.])")
# the due forms before expressions: a field, optionally plus or minus one duration
_SIMPLE_DUE = re.compile(r"\s*(?:client\.)?[A-Za-z_]\w*(?:\s*[+-]\s*P[0-9YMWDTHS]+)?\s*")


def humanise(name: str) -> str:
    """`release_date` -> `Release date`."""
    text = " ".join(name.replace("_", " ").split())
    return text[:1].upper() + text[1:]


def expr_call(source: str) -> str:
    """The Python text that hands a DSL expression to the engine: expr("<source>")."""
    return f"expr({json.dumps(source, ensure_ascii=False)})"


class _Qualified(ast.NodeTransformer):
    """Turn bare names into fields of a record: `name` -> `<root>.name`."""

    def __init__(self, roots: Mapping[str, str]) -> None:
        self.roots = roots
        self.changed = False

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(arg) for arg in node.args]  # the function name stays
        node.keywords = [self.visit(keyword) for keyword in node.keywords]
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        root = self.roots.get(node.id)
        if root is None:
            return node
        self.changed = True
        return ast.copy_location(
            ast.Attribute(value=ast.Name(id=root, ctx=ast.Load()), attr=node.id,
                          ctx=ast.Load()), node)


def qualify_names(source: str, roots: Mapping[str, str]) -> str:
    """Each bare name in `roots` read as a field of its record: with {"release_date":
    "client"}, `release_date < today()` -> `client.release_date < today()`. Text without
    such a name (or that does not parse: validation reports it) comes back unchanged, byte
    for byte."""
    if not roots:
        return source
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return source
    transformer = _Qualified(roots)
    new_tree = transformer.visit(tree)
    if not transformer.changed:
        return source
    return ast.unparse(ast.fix_missing_locations(new_tree))


def rewrite_client_fields(source: str, fields: Iterable[str]) -> str:
    """`release_date < today()` -> `client.release_date < today()` when release_date is a
    declared client field. Text without such a name comes back unchanged, byte for byte."""
    return qualify_names(source, dict.fromkeys(fields, "client"))


def rewrite_due(due: str, fields: Iterable[str]) -> str:
    """`release_date - P7D` -> `client.release_date - P7D`; `P7D` stays; any other date
    expression (`add_working_days(release_date, 5)`) has its client fields rewritten."""
    names = set(fields)
    match = _DUE_BASE.match(due)
    if match is None or not _SIMPLE_DUE.fullmatch(due):
        return rewrite_client_fields(due, names)
    if match.group(2) not in names:
        return due
    return f"{match.group(1)}client.{match.group(2)}{due[match.end():]}"


def question(step_id: str) -> str:
    """A decide's default title: its id as a question, without a `gw_`/`decide_` prefix
    (`gw_met_at_gate` -> `Met at gate?`)."""
    for prefix in ("gw_", "gateway_", "decide_"):
        if step_id.startswith(prefix) and len(step_id) > len(prefix):
            step_id = step_id[len(prefix):]
            break
    return f"{humanise(step_id)}?"


def in_words(source: str) -> str:
    """A condition as the diagram says it: its names in words (`not met_at_gate` -> `not met
    at gate`); quoted text is kept as written."""
    parts = re.split(r"""('[^']*'|"[^"]*")""", " ".join(source.split()))
    return "".join(part if index % 2 else part.replace("_", " ")
                   for index, part in enumerate(parts))


BRANCH_NAME_LIMIT = 60


def branch_name(text: str) -> str:
    """A flow's name, cut to BRANCH_NAME_LIMIT characters."""
    return text if len(text) <= BRANCH_NAME_LIMIT else text[:BRANCH_NAME_LIMIT - 1] + "…"
