"""`block`: steps that a message or a date can interrupt, or add to (issue 15, item 5).

A block is an embedded subProcess (not looped: SpiffWorkflow 3.2 crashes cancelling a
*looped* subprocess from a boundary event, so a block is never one, though a `repeat` inside
it is cancelled with it). Each handler is a boundary event on it:

* `message: breach` -> a message boundary event (message `breach`; its payload lands in the
  case data as `breach`);
* `at: <date expression>` -> a timer boundary event with a timeDate;
* `after: P6M` -> a timer boundary event with a timeDuration, from when the block starts.

An interrupting handler (the default; cancelActivity="true") cancels the block's running
steps, runs its own, then the pathway carries on after the block (through `<id>_merge`), or
ends if the handler's steps end. One with `interrupting: false` runs its steps beside the
block and then stops (`<id>_on<n>_end`): it may go off again (another message), so it never
joins the main line. An `end` inside the block's own steps ends the case like one inside a
`repeat` (the block is their scope: `pathways_exit`, then the exit gateway after the block).
A sensitive block marks its handlers' events and steps too: they are outside the subprocess,
so the engine would not derive them from it.

* `when: <condition>` -> a message boundary event of its own (`pathways_when_<event id>`)
  carrying the condition as its `pathwaysWhen` property: the engine checks it against the
  case's answers after every step and sends the message once it holds
  (engine.workflow.runner). Not a BPMN conditional event: SpiffWorkflow evaluates one on
  the data the subprocess started with, so answers given inside the block would never set it
  off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.bpmn_xml import SENSITIVE_PROPERTY, Node
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise, in_words, rewrite_client_fields

if TYPE_CHECKING:
    from dsl.compile import Compiler

# what the engine reads (engine.workflow.definition_model; a test keeps them equal)
CONDITION = "pathwaysWhen"
CONDITION_MESSAGE_PREFIX = "pathways_when_"

__all__ = ["compile_block", "generated_ids", "handler_event_id", "message_id", "problems",
           "written_names"]


def handler_event_id(sid: str, index: int) -> str:
    """The boundary event of a block's handler (index from 0)."""
    return f"{sid}_on{index + 1}"


def message_id(name: str) -> str:
    return f"msg_{name}"


def compile_block(c: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx,
                  pending: list[Pending], lane: str) -> Part:
    from dsl.compile import EXIT_FLAG, _repeat_lanes, _roles_in

    box_lane, listed, body_ctx = _repeat_lanes(sid, ctx, _roles_in(step["steps"]), lane)
    body_lane = box_lane or lane
    body, part = _body(c, sid, step, body_ctx, body_lane)
    exits = c.exits.get(sid, [])
    items: list[lay.Block] = []
    if exits:  # an `end` inside: say none was reached yet
        init = c.attach(c.auto(ctx, lane, f"{sid}_init", "scriptTask", "task",
                               f"Prepare {_title(sid, step).lower()}",
                               script=f"{EXIT_FLAG} = None"), pending)
        items.append(lay.Leaf(init.id))
        pending = [Pending(init.id)]
    box = Node(sid, "subProcess", "box", _title(sid, step), ctx.container, box_lane, listed)
    c.attach(box, pending)
    main: list[lay.Block] = [lay.Box(sid, body)]
    after = [Pending(sid)]
    after_lane = part.lane if part.pending else body_lane
    if exits:
        gate, sides = c.repeat_exits(sid, exits, ctx, body_lane)
        main.append(sides)
        after = [Pending(gate, default=True)]
    before = set(c.nodes)
    paths, joining = _handlers(c, sid, step["handlers"], ctx, body_lane)
    if step.get("sensitive"):  # the handlers are outside the subprocess: mark them too
        for node_id in set(c.nodes) - before:
            c.nodes[node_id].properties.append((SENSITIVE_PROPERTY, str(step["sensitive"])))
    if not joining:
        block = lay.Attached(lay.Seq(tuple(main)), sid, tuple(paths), None)
        return Part(lay.Seq((*items, block)), after, after_lane)
    merge = c.add(c.auto(ctx, after_lane, f"{sid}_merge", "exclusiveGateway", "gateway",
                         None))
    for item in [*after, *joining]:
        c.connect(item, merge.id)
    items.append(lay.Attached(lay.Seq(tuple(main)), sid, tuple(paths), merge.id))
    return Part(lay.Seq(tuple(items)), [Pending(merge.id)], after_lane)


def _title(sid: str, step: Mapping[str, Any]) -> str:
    return str(step.get("title") or humanise(sid))


def _body(c: Compiler, sid: str, step: Mapping[str, Any], body_ctx: Ctx,
          body_lane: str) -> tuple[lay.Seq, Part]:
    """The subprocess's start, its steps and its end."""
    start = c.add(c.auto(body_ctx, body_lane, f"{sid}_start", "startEvent", "event",
                         "Block starts"))
    part = c.steps(step["steps"], body_ctx, [Pending(start.id)], body_lane)
    blocks: list[lay.Block] = [lay.Leaf(start.id), part.block]
    if part.pending:
        end = c.attach(c.auto(body_ctx, part.lane, f"{sid}_end", "endEvent", "event",
                              "Block done"), part.pending)
        blocks.append(lay.Leaf(end.id))
    return lay.Seq(tuple(blocks)), part


def _handlers(c: Compiler, sid: str, handlers: Sequence[Mapping[str, Any]], ctx: Ctx,
              lane: str) -> tuple[list[lay.Seq], list[Pending]]:
    """Each handler's path from its boundary event; the open ends that join the main line
    after the block (those of interrupting handlers)."""
    paths: list[lay.Seq] = []
    joining: list[Pending] = []
    for index, handler in enumerate(handlers):
        interrupting = handler.get("interrupting", True) is not False
        event_id = handler_event_id(sid, index)
        event = c.add(c.auto(ctx, lane, event_id, "boundaryEvent",
                             "event", _event_name(handler), attached_to=(sid, interrupting),
                             **_trigger(c, handler, event_id)))
        part = c.steps(handler["steps"], ctx, [Pending(event.id)], lane)
        blocks: list[lay.Block] = [lay.Leaf(event.id), part.block]
        if part.pending and interrupting:
            joining.extend(part.pending)
        elif part.pending:  # beside the block: its path ends by itself
            end = c.attach(c.auto(ctx, part.lane, f"{event.id}_end", "endEvent", "event",
                                  "Handled"), part.pending)
            blocks.append(lay.Leaf(end.id))
        paths.append(lay.Seq(tuple(blocks)))
    return paths, joining


def _trigger(c: Compiler, handler: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    """The boundary event's definition: a message (its payload kept under its name), a
    date, a duration, or a condition: a message of the event's own that the engine sends
    the case once the condition (its `pathwaysWhen` property) holds."""
    if handler.get("when") is not None:
        name = f"{CONDITION_MESSAGE_PREFIX}{event_id}"
        c.messages[message_id(name)] = name
        return {"message": (message_id(name), name),
                "properties": [(CONDITION, rewrite_client_fields(_source(handler["when"]),
                                                                 c.client_fields))]}
    if handler.get("message") is not None:
        name = str(handler["message"])
        c.messages[message_id(name)] = name
        return {"message": (message_id(name), name)}
    if handler.get("at") is not None:
        return {"timer": ("timeDate", c.expr(str(handler["at"])))}
    return {"timer": ("timeDuration", json.dumps(str(handler["after"])))}


def _source(value: Any) -> str:
    """A condition given as YAML: `when: true` is an expression too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _event_name(handler: Mapping[str, Any]) -> str:
    if handler.get("title"):
        return str(handler["title"])
    if handler.get("when") is not None:
        return f"When {in_words(_source(handler['when']))}"
    if handler.get("message") is not None:
        return humanise(str(handler["message"]))
    if handler.get("at") is not None:
        return f"On {in_words(str(handler['at']))}"
    return f"After {handler['after']}"


# -- what the validator checks (dsl.validate calls these; the schema has checked the shape) --

Problem = tuple[tuple[str | int, ...], str]


def generated_ids(step: Mapping[str, Any]) -> set[str]:
    """The element ids the block adds beside its own: no step may take one."""
    sid = step.get("block")
    handlers = step.get("handlers")
    if not isinstance(sid, str) or not isinstance(handlers, list):
        return set()
    return {name for index in range(len(handlers))
            for name in (handler_event_id(sid, index), f"{handler_event_id(sid, index)}_end")}


def written_names(step: Mapping[str, Any]) -> dict[str, str]:
    """Case data the block's messages write (their payloads), with why each is taken."""
    return {name: f"the message handler of block {step.get('block')!r} puts the "
                  "message's payload there"
            for name in _messages(step)}


def _messages(step: Mapping[str, Any]) -> list[str]:
    handlers = step.get("handlers")
    return [h["message"] for h in handlers if isinstance(h, dict)
            and isinstance(h.get("message"), str)] if isinstance(handlers, list) else []


def problems(step: Mapping[str, Any], path: tuple[str | int, ...]) -> list[Problem]:
    """A message handled twice by one block; an `end` in a handler that does not interrupt
    (it runs beside the block, so it cannot end the pathway)."""
    from dsl.steps import all_steps

    found: list[Problem] = []
    handlers = step.get("handlers")
    seen: set[str] = set()
    for index, handler in enumerate(handlers if isinstance(handlers, list) else []):
        if not isinstance(handler, dict):
            continue
        where = (*path, "handlers", index)
        name = handler.get("message")
        if isinstance(name, str) and name in seen:
            found.append(((*where, "message"),
                          f"block {step.get('block')!r} already handles the message {name!r}: "
                          "a message goes to one handler; merge the two handlers' steps"))
        if isinstance(name, str):
            seen.add(name)
        if isinstance(name, str) and name.startswith("pathways_"):
            found.append(((*where, "message"),
                          f"message {name!r} starts with pathways_, which Pathways keeps for "
                          "its own messages (a `when:` handler's); choose another name"))
        if handler.get("interrupting") is not False:
            continue
        for inner, kind, inner_path in all_steps(handler.get("steps"), (*where, "steps")):
            if kind == "end":
                found.append(((*inner_path, "end"),
                              f"the end step {inner['end']!r} is in a handler that does not "
                              "interrupt (interrupting: false): it runs beside the block and "
                              "cannot end the pathway; make the handler interrupting, or "
                              "remove the end step"))
    return found
