"""A task's `remind` and `escalate`: non-interrupting boundary timers on its userTask.

    remind: P2D before due                  # or {before: P2D, to: assignee, message: ...}
    escalate: {after: P3D overdue, to: team_leader, message: ...}

Each is a boundaryEvent (cancelActivity="false") attached to the task, whose timeDate is the
task's due time moved by the offset: `pathways_due("<due rule>", "-P2D")`, computed by the
engine from the same rule, data and command time as the task's own due time
(engine.workflow.due), so the engine clock (`pathways timers run --now`) fires it. Its path:

* remind: a sendTask notifying `to` (default `assignee`: whoever holds the task, else its
  role), then an end event;
* escalate: a sendTask notifying the role, then a userTask in that role's lane, "Overdue:
  <title>", so the escalation sits in their inbox until someone there marks it followed up,
  then an end event.

SpiffWorkflow 3.2 cancels a waiting non-interrupting boundary event when its task completes
(BoundaryEventJoin), so a task done in time sends no reminder; one that fires leaves the task
open. Ids: `<task>_remind`, `_reminder`, `_reminded`, `_escalate`, `_escalation`,
`_overdue`, `_escalated` (reserved step id endings, dsl.validate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dsl import layout as lay
from dsl.bpmn_xml import SENSITIVE_PROPERTY, Node
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import humanise, rewrite_due
from dsl.form_schema import form_schema

if TYPE_CHECKING:
    from dsl.compile import Compiler

# spiffworkflow:properties the engine reads (engine.workflow.definition_model)
NOTIFY_TO, NOTIFY_MESSAGE = "pathwaysNotifyTo", "pathwaysNotifyMessage"
NOTIFY_ROLE, NOTIFY_TASK = "pathwaysNotifyRole", "pathwaysNotifyTask"
NOTIFY_KIND = "pathwaysNotifyKind"
FORM_PROPERTY = "formJsonSchemaFilename"
DUE_FUNCTION = "pathways_due"
TIMER_SUFFIXES = ("_remind", "_reminder", "_reminded", "_escalate", "_escalation",
                  "_overdue", "_escalated")

REMIND_MESSAGE = "Reminder: {task} (case {case}) is due on {due}."
ESCALATE_MESSAGE = "Overdue: {task} (case {case}) was due on {due} and is still open."
_DURATION = re.compile(r"P[0-9YMWDTHS]+")


def remind_spec(value: Any) -> tuple[str, str, str]:
    """(how long before due, to whom, message) of a validated `remind`."""
    if isinstance(value, Mapping):
        return (str(value["before"]), str(value.get("to") or "assignee"),
                str(value.get("message") or REMIND_MESSAGE))
    return _duration(str(value)), "assignee", REMIND_MESSAGE


def escalate_spec(value: Mapping[str, Any]) -> tuple[str, str, str]:
    """(how long after due, the role, message) of a validated `escalate`."""
    return (_duration(str(value["after"])), str(value["to"]),
            str(value.get("message") or ESCALATE_MESSAGE))


def _duration(text: str) -> str:
    found = _DURATION.search(text)
    return found.group(0) if found else text.strip()


def with_timers(c: Compiler, sid: str, step: Mapping[str, Any], ctx: Ctx, part: Part) -> Part:
    """The task's Part, with its reminder and escalation paths drawn off it (unchanged when
    it has neither)."""
    if step.get("remind") is None and step.get("escalate") is None:
        return part
    rule = rewrite_due(str(step["due"]), c.client_fields)
    role, title = str(step["role"]), str(step["title"])
    sides: list[lay.Seq] = []
    if step.get("remind") is not None:
        before, to, message = remind_spec(step["remind"])
        sides.append(_path(c, sid, ctx, role, "remind", f"{before} before due",
                           _due_call(rule, f"-{before}"),
                           _notify(sid, to, message, "reminder", role),
                           f"Remind {humanise(to).lower()}"))
    if step.get("escalate") is not None:
        after, to, message = escalate_spec(step["escalate"])
        sides.append(_path(c, sid, ctx, role, "escalate", f"{after} overdue",
                           _due_call(rule, after),
                           _notify(sid, to, message, "escalation", role),
                           f"Notify {humanise(to).lower()}", follow_up=(to, title)))
    if step.get("sensitive"):  # the paths reveal what the task does, as the task does
        for side in sides:
            for item in side.items:
                assert isinstance(item, lay.Leaf)
                c.nodes[item.node].properties.append((SENSITIVE_PROPERTY,
                                                      str(step["sensitive"])))
    return Part(lay.Exits(sid, tuple(sides)), part.pending, part.lane)


def _due_call(rule: str, offset: str) -> str:
    return f"{DUE_FUNCTION}({json.dumps(rule)}, {json.dumps(offset)})"


def _notify(sid: str, to: str, message: str, kind: str, role: str) -> list[tuple[str, str]]:
    return [(NOTIFY_TO, to), (NOTIFY_MESSAGE, message), (NOTIFY_TASK, sid),
            (NOTIFY_KIND, kind), (NOTIFY_ROLE, role)]


def _path(c: Compiler, sid: str, ctx: Ctx, lane: str, kind: str, label: str, when: str,
          properties: list[tuple[str, str]], send_title: str,
          follow_up: tuple[str, str] | None = None) -> lay.Seq:
    """boundary timer -> notification (-> follow-up task) -> end."""
    names = {"remind": ("_remind", "_reminder", "_reminded", "Reminded"),
             "escalate": ("_escalate", "_escalation", "_escalated", "Escalated")}[kind]
    boundary = c.add(c.auto(ctx, lane, sid + names[0], "boundaryEvent", "event", label,
                            timer=("timeDate", when), attached_to=(sid, False)))
    send = c.attach(c.auto(ctx, lane, sid + names[1], "sendTask", "task", send_title,
                           properties=properties), [Pending(boundary.id)])
    items: list[lay.Block] = [lay.Leaf(boundary.id), lay.Leaf(send.id)]
    last, last_lane = send.id, lane
    if follow_up is not None:
        role, title = follow_up
        form_file = f"{c.pathway}.{sid}_overdue.schema.json"
        task_title = f"Overdue: {title}"
        node = Node(f"{sid}_overdue", "userTask", "task", task_title, ctx.container,
                    ctx.fixed_lane or role, ctx.listed,
                    documentation=(f"\u201c{title}\u201d is past its due date and still "
                                   "open: follow it up with whoever holds it, then mark "
                                   "this done."),
                    properties=[(FORM_PROPERTY, form_file)])
        c.attach(node, [Pending(send.id)])
        c.forms[form_file] = json.dumps(form_schema(task_title, None), indent=2,
                                        ensure_ascii=False) + "\n"
        items.append(lay.Leaf(node.id))
        last, last_lane = node.id, role
    end = c.attach(c.auto(ctx, last_lane, sid + names[2], "endEvent", "event", names[3]),
                   [Pending(last)])
    items.append(lay.Leaf(end.id))
    return lay.Seq(tuple(items))
