"""Step kinds compiled outside dsl.compile: one module a kind, registered here.

A step compiler takes (the compiler, the step's id, the step, its context, the flows waiting
for it, the lane of the task before it) and returns the Part it adds, like the compiler's own
`step_<kind>` methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dsl.compile_parts import Ctx, Part, Pending
from dsl.kinds.set_step import compile_set

if TYPE_CHECKING:
    from dsl.compile import Compiler

StepCompiler = Callable[["Compiler", str, Mapping[str, Any], Ctx, list[Pending], str], Part]

STEP_COMPILERS: dict[str, StepCompiler] = {
    "set": compile_set,
}


def _register() -> None:
    """The kinds whose modules use the compiler's parts (imported once this one exists)."""
    from dsl.kinds.block import compile_block
    from dsl.kinds.for_each import compile_for_each
    from dsl.kinds.go_to import step_go_to
    from dsl.kinds.include import compile_include

    STEP_COMPILERS["go_to"] = step_go_to
    STEP_COMPILERS["block"] = compile_block
    STEP_COMPILERS["for_each"] = compile_for_each
    STEP_COMPILERS["include"] = compile_include


_register()

__all__ = ["STEP_COMPILERS", "StepCompiler"]
