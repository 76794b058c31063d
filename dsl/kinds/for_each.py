"""`for_each`: the same steps once for each item of a list, side by side (issue 15, item 9):
one task per family member.

Compiles to:

* a scriptTask `<id>_list` putting the list (the `in:` expression) in `<id>_results`
  (SpiffWorkflow's loopDataInputRef names a variable, not an expression);
* an embedded subProcess `<id>` with parallel multiInstanceLoopCharacteristics over that
  list, updated in place (loopDataOutputRef is the same list): each instance starts from the
  case data with its item in `<id>_item` (the inputDataItem's id is the variable, and ids are
  unique in a file), which a first scriptTask `<id>_take` copies to `item`; it runs the
  steps, and a last scriptTask `<id>_collect`
  gathers `{"item": item, <each form field of the steps it answered>: ...}` into
  `<id>_answer`, which SpiffWorkflow puts in the item's place. So `<id>_results` follows the
  list's order whatever order the tasks are done in (a separate output list would follow the
  completion order). With an output collection SpiffWorkflow merges nothing else of an
  instance back (engine/workflow/joins.py leaves that path alone), so the answers of one
  member never overwrite another's: `<id>_results` is where they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.bpmn_xml import Node
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise

if TYPE_CHECKING:
    from dsl.compile import Compiler

__all__ = ["ITEM", "compile_for_each", "generated_ids", "problems", "results_name",
           "written_names"]

ITEM = "item"  # each instance's item, in its data


def item_name(sid: str) -> str:
    """The variable SpiffWorkflow gives each instance its item in (then copied to `item`)."""
    return f"{sid}_item"


def results_name(sid: str) -> str:
    """The case data a for_each fills: one entry per item, in the list's order."""
    return f"{sid}_results"


def compile_for_each(c: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx,
                     pending: list[Pending], lane: str) -> Part:
    from dsl.compile import _all_steps, _repeat_lanes, _roles_in

    title = str(step.get("title") or humanise(sid))
    listing = c.attach(c.auto(ctx, lane, f"{sid}_list", "scriptTask", "task",
                              f"List: {title.lower()}",
                              script=f"{results_name(sid)} = {c.expr(str(step['in']))}"),
                       pending)
    box_lane, listed, body_ctx = _repeat_lanes(sid, ctx, _roles_in(step["steps"]), lane)
    body_lane = box_lane or lane
    start = c.add(c.auto(body_ctx, body_lane, f"{sid}_start", "startEvent", "event",
                         "Each item"))
    # the inputDataItem's id is the variable SpiffWorkflow sets, and ids are unique in a file:
    # each for_each sets its own `<id>_item`, which the first task of a round calls `item`
    take = c.attach(c.auto(body_ctx, body_lane, f"{sid}_take", "scriptTask", "task",
                           "Take the item", script=f"{ITEM} = {item_name(sid)}"),
                    [Pending(start.id)])
    part = c.steps(step["steps"], body_ctx, [Pending(take.id)], body_lane)
    fields = [name for inner in _all_steps(step["steps"]) if "task" in inner
              for name in (inner.get("form") or {})]
    collect = c.attach(c.auto(body_ctx, part.lane, f"{sid}_collect", "scriptTask", "task",
                              "Keep the answers", script=_collect(sid, fields)),
                       part.pending)
    end = c.attach(c.auto(body_ctx, part.lane, f"{sid}_end", "endEvent", "event",
                          "Item done"), [Pending(collect.id)])
    body = lay.Seq((lay.Leaf(start.id), lay.Leaf(take.id), part.block, lay.Leaf(collect.id),
                    lay.Leaf(end.id)))
    c.attach(Node(sid, "subProcess", "box", title, ctx.container, box_lane, listed,
                  instances=(results_name(sid), item_name(sid), results_name(sid),
                             f"{sid}_answer")),
             [Pending(listing.id)])
    return Part(lay.Seq((lay.Leaf(listing.id), lay.Box(sid, body))), [Pending(sid)],
                part.lane)


def _collect(sid: str, fields: Sequence[str]) -> str:
    """The script that gathers one instance's answers: each field it answered (a field
    left unanswered, e.g. on a branch not taken, is left out)."""
    answer = f"{sid}_answer"
    lines = [f"{answer} = {{{ITEM!r}: {ITEM}}}"]
    for name in dict.fromkeys(fields):
        lines += ["try:", f"    {answer}[{name!r}] = {name}", "except NameError:", "    pass"]
    return "\n".join(lines)


# -- what the validator checks (dsl.validate calls these; the schema has checked the shape) --

Problem = tuple[tuple[str | int, ...], str]


def generated_ids(step: Mapping[str, Any]) -> set[str]:
    """The element ids the for_each adds beside its own: no step may take one."""
    sid = step.get("for_each")
    return {f"{sid}_list", f"{sid}_take", f"{sid}_collect"} if isinstance(sid, str) else set()


def written_names(step: Mapping[str, Any]) -> dict[str, str]:
    """Case data a for_each writes, with why each is taken."""
    sid = step.get("for_each")
    if not isinstance(sid, str):
        return {}
    why = f"the for_each step {sid!r} puts"
    return {ITEM: f"{why} each item there", results_name(sid): f"{why} its answers there",
            f"{sid}_answer": f"{why} an answer there", item_name(sid): f"{why} each item there"}


def problems(step: Mapping[str, Any], path: tuple[str | int, ...]) -> list[Problem]:
    """An `end` (one item cannot end the pathway for all) or another for_each (its `item`
    would hide this one's) among the steps."""
    from dsl.steps import all_steps

    found: list[Problem] = []
    for inner, kind, inner_path in all_steps(step.get("steps"), (*path, "steps")):
        if kind == "end":
            found.append(((*inner_path, "end"),
                          f"the end step {inner['end']!r} is inside the for_each "
                          f"{step.get('for_each')!r}: one item cannot end the pathway for "
                          "all; decide after the for_each, on its results"))
        if kind == "for_each":
            found.append(((*inner_path, "for_each"),
                          f"a for_each inside the for_each {step.get('for_each')!r}: both "
                          "would name their item `item`; run the inner one after it, "
                          "on its results"))
    return found
