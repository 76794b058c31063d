"""The `set` step: expression results written into case data (a PHQ-9 total, an age).

```yaml
- set: score_phq9
  values:
    phq9_total: q1 + q2 + q3
    improved: baseline_total - phq9_total >= 6
```

It compiles to a scriptTask whose script only hands each expression, as text, to the
sandbox's `expr` (engine.workflow.expressions.evaluate: the DSL's expression language, never
Python) and stores the result under its name: `phq9_total = expr("q1 + q2 + q3")`. The values
are computed in the order written, each seeing those before it. The names it sets are listed
in the `pathwaysSets` property, so that sensitivity follows the data (a total of health answers
is health data).
"""

from __future__ import annotations

import keyword
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise
from engine.data_names import reserved_data_name
from engine.workflow.expressions import CONSTANTS, FUNCTIONS

if TYPE_CHECKING:
    from dsl.compile import Compiler

SETS_PROPERTY = "pathwaysSets"  # the case data names a set step writes, space-separated
TITLE_LIMIT = 60
DSL_FUNCTION = "expr"  # what the compiled script calls (engine.workflow.sandbox.DSL_FUNCTION)


def expression_source(value: Any) -> str:
    """An expression given as YAML: `3` or `true` are expressions too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def set_script(compiler: Compiler, values: Mapping[str, Any]) -> str:
    """One line a value: `<name> = expr("<expression>")`; nothing else reaches Python."""
    lines = []
    for name, value in values.items():
        if not str(name).isidentifier() or keyword.iskeyword(str(name)):
            raise ValueError(f"set: {name!r} is not a name case data can take")
        lines.append(f"{name} = {compiler.expr(expression_source(value))}")
    return "\n".join(lines)


def default_title(names: list[str]) -> str:
    """`Set: PHQ-9 total, improved` from the names, cut to TITLE_LIMIT characters."""
    title = "Set: " + ", ".join(humanise(name).lower() for name in names)
    return title if len(title) <= TITLE_LIMIT else title[:TITLE_LIMIT - 1] + "\u2026"


def compile_set(compiler: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx,
                pending: list[Pending], lane: str) -> Part:
    values: Mapping[str, Any] = step["values"]
    names = [str(name) for name in values]
    title = str(step["title"]) if step.get("title") else default_title(names)
    node = compiler.auto(ctx, lane, sid, "scriptTask", "task", title,
                         script=set_script(compiler, values),
                         properties=[(SETS_PROPERTY, " ".join(names))])
    compiler.attach(node, pending)
    return Part(lay.Leaf(sid), [Pending(sid)], lane)


def set_name_problem(name: str, client_fields: Collection[str],
                     referral_results: Collection[str]) -> str | None:
    """Why a `set` step may not write case data `name`, or None (for the validator)."""
    problem = reserved_data_name(name)
    if problem is not None:
        return problem
    if name in referral_results:
        return (f"{name!r} is reserved: the referral step it is named after puts the referred "
                "case's result there")
    if name in client_fields:
        return (f"{name!r} is a client field: a set step writes case data, not the client "
                "record, and expressions would still read the client's")
    if keyword.iskeyword(name) or name in CONSTANTS or name in FUNCTIONS \
            or name == DSL_FUNCTION:
        return f"{name!r} is a word of the expression language"
    return None
