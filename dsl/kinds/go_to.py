"""`go_to`: a bounded, explicit back edge to an earlier step (breach -> court -> resume).

    - go_to: resume_reviews
      target: reviews
      max: 3

compiles to a script task `<id>` counting the times the case reached it (case data
`pathways_go_to_<id>`), then an exclusive gateway `<id>_jump`: while the count is at most
`max` a flow goes back to `<target>_again`, an exclusive merge the compiler puts in front of
the target (BPMN wants a converging gateway where flows meet); otherwise, by default, the case
carries on with what comes after the go_to (put an `end` there to stop the case instead).
The validator (dsl.validate_go_to) keeps the target earlier on the same path and in the same
repeat and parallel branch, so the back edge never crosses a subprocess or a join.

A back edge deepens SpiffWorkflow's task tree with every jump (shared/notes, trap 1), which
is why `max` is required and at most 10: for many rounds, a `repeat` keeps the tree flat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise
from dsl.steps import all_steps

if TYPE_CHECKING:
    from dsl.compile import Compiler

COUNTER_PREFIX = "pathways_go_to_"  # + the go_to's id: how many times the case reached it
MERGE_SUFFIX = "_again"  # <target>_again: the merge in front of a go_to's target
JUMP_SUFFIX = "_jump"  # <go_to id>_jump: the gateway that goes back or carries on


def counter_script(sid: str) -> str:
    counter = f"{COUNTER_PREFIX}{sid}"
    return f"try:\n    {counter} = {counter} + 1\nexcept NameError:\n    {counter} = 1\n"


def step_go_to(compiler: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx,
               pending: list[Pending], lane: str) -> Part:
    target, most = str(step["target"]), int(step["max"])
    title = str(step.get("title") or f"Go back to {humanise(target).lower()}")
    count = compiler.attach(compiler.auto(ctx, lane, sid, "scriptTask", "task", title,
                                          script=counter_script(sid)), pending)
    jump = compiler.attach(compiler.auto(ctx, lane, f"{sid}{JUMP_SUFFIX}", "exclusiveGateway",
                                         "gateway", f"Gone back fewer than {most} times?"),
                           [Pending(count.id)])
    times = "once" if most == 1 else f"up to {most} times"
    compiler.connect(Pending(jump.id, name=f"back to {humanise(target).lower()} ({times})",
                             condition=f"{COUNTER_PREFIX}{sid} <= {most}"),
                     f"{target}{MERGE_SUFFIX}")
    return Part(lay.Seq((lay.Leaf(count.id), lay.Leaf(jump.id))),
                [Pending(jump.id, name="carry on", default=True)], lane)


def go_to_targets(steps: Any) -> set[str]:
    """The ids some go_to goes back to, wherever the go_to is (a block's steps and
    handlers, a for_each's steps included)."""
    return {str(step["target"]) for step, kind, _path in all_steps(steps, ("steps",))
            if kind == "go_to" and "target" in step}


def merge_before(compiler: Compiler, sid: str, ctx: Ctx, pending: Sequence[Pending],
                 lane: str, targets: set[str]) -> str | None:
    """When a go_to goes back to `sid`: the merge in front of it (attached to what flows
    into the step), else None."""
    if sid not in targets:
        return None
    merge = compiler.attach(compiler.auto(ctx, lane, f"{sid}{MERGE_SUFFIX}",
                                          "exclusiveGateway", "gateway", None), pending)
    return merge.id
