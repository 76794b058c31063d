"""Compile a validated pathway document to BPMN 2.0 with a diagram, and JSON Schema forms.

The input is the plain mapping YAML gives for a file that dsl.validate has accepted; the
output runs on the engine exactly like hand-written BPMN (see the README's DSL reference and
engine/workflow/definitions.py for what the engine reads). The same document always gives the same
bytes: ids come from step ids, nothing is timestamped, and every collection is written in the
document's order.

How each step kind compiles, and what SpiffWorkflow 3.2 needs of it:

* task: a userTask in its role's lane, its form in `<pathway>.<step>.schema.json`.
* decide: an exclusive gateway with a `<id>_merge` after it (unless every path ends).
  SpiffWorkflow tries the conditions in the vertical order of their targets in the diagram;
  when lanes put the branches out of order, each condition is guarded with the negations of
  the earlier ones, so the first true `when` still wins.
* parallel: a parallel split and a `<id>_join`.
* wait: a timer catch event.
* repeat: an embedded subProcess with standardLoopCharacteristics: a flat task tree however
  many rounds. SpiffWorkflow stops the loop when loopCondition is *false*, so `until: X`
  becomes `not expr("X")`; pre/post scripts keep `<id>.rounds` and `round` (dsl/rounds.py).
* go_to: dsl/kinds/go_to.py (a bounded back edge to a merge in front of its target).
* end: an end event carrying its exit reason. Inside a parallel branch it is a terminate end
  event (the case ends, not just the branch). Inside a repeat it sets `pathways_exit` first,
  the loop stops on it, and an exit gateway after the loop leads to an end event with the same
  reason in the enclosing scope (a boundary error event would be the BPMN idiom, but
  SpiffWorkflow 3.2 crashes cancelling a looped subprocess from a boundary event).
* record / notify / refer: a serviceTask / sendTask / sendTask (a referral starts a case of
  its own, not a sub-process: no callActivity) with the pathways* properties the engine runs
  as a plain task (engine/workflow/bpmn_events.py); refer with `wait` is followed by a catch
  of the message `completed:<pathway>`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dsl import layout as lay
from dsl import rounds
from dsl.bpmn_xml import (
    BPMN_NS,
    BPMNDI_NS,
    DC_NS,
    DI_NS,
    RENAMED_FROM_PROPERTY,
    SENSITIVE_PROPERTY,
    SPIFF_NS,
    BpmnWriter,
    Flow,
    Node,
)
from dsl.compile_parts import Ctx, Part, Pending
from dsl.expression_text import (
    branch_name,
    expr_call,
    humanise,
    in_words,
    question,
    rewrite_client_fields,
    rewrite_due,
)
from dsl.form_schema import SENSITIVE, form_schema
from dsl.kinds import STEP_COMPILERS
from dsl.kinds.go_to import go_to_targets, merge_before
from dsl.kinds.task_timers import NOTIFY_ROLE, with_timers
from dsl.roles_file import roles_bundle
from dsl.schema import KINDS
from dsl.steps import step_kinds

__all__ = [
    "BPMNDI_NS",
    "BPMN_NS",
    "COMPLETED_PREFIX",
    "DC_NS",
    "DI_NS",
    "EXIT_FLAG",
    "SENSITIVE",
    "SENSITIVE_PROPERTY",
    "SPIFF_NS",
    "CompiledPathway",
    "compile_pathway",
    "expr_call",
    "form_schema",
    "rewrite_client_fields",
    "rewrite_due",
]

# spiffworkflow:properties the engine reads (engine/workflow/definitions.py; a test keeps them
# equal)
FORM_PROPERTY = "formJsonSchemaFilename"
DUE_PROPERTY = "due"
OUTCOME, OUTCOME_VALUE, OUTCOME_WHEN = "pathwaysOutcome", "pathwaysOutcomeValue", \
    "pathwaysOutcomeWhen"
NOTIFY_TO, NOTIFY_MESSAGE = "pathwaysNotifyTo", "pathwaysNotifyMessage"
REFER = "pathwaysRefer"
ASSIGN, TASK_ORGANISATION = "pathwaysAssign", "pathwaysOrganisation"
EXIT_REASON = "pathwaysExitReason"
COMPLETED_PREFIX = "completed:"  # the message a referred case throws when it completes
EXIT_FLAG = "pathways_exit"  # case data: the id of the `end` reached inside a repeat
ROLES_SUFFIX = ".roles.json"  # <pathway>.roles.json: owner, roles and their organisations


@dataclass(frozen=True)
class CompiledPathway:
    """A pathway compiled: its id, the BPMN text, its forms (file name -> JSON text), and
    its roles file (who may do its tasks, see roles_bundle).

    Publish as a bundle: files().
    """

    pathway: str
    bpmn: str
    forms: dict[str, str]
    roles: str = ""

    @property
    def bpmn_file(self) -> str:
        return f"{self.pathway}.bpmn"

    @property
    def roles_file(self) -> str:
        return f"{self.pathway}{ROLES_SUFFIX}"

    def files(self) -> dict[str, str]:
        """The bundle to publish: the BPMN, every form and the roles file, by file name."""
        roles = {self.roles_file: self.roles} if self.roles else {}
        return {self.bpmn_file: self.bpmn, **self.forms, **roles}


def compile_pathway(doc: Mapping[str, Any]) -> CompiledPathway:
    """Compile a validated pathway document (the mapping yaml.safe_load gives)."""
    compiled = Compiler(doc).run()
    return CompiledPathway(compiled.pathway, compiled.bpmn, compiled.forms,
                           json.dumps(roles_bundle(doc), indent=2, ensure_ascii=False) + "\n")


class Compiler:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.pathway: str = doc["pathway"]
        self.title: str = doc["title"]
        roles: Mapping[str, Any] = doc["roles"]
        self.roles = [(role, (spec or {}).get("title") or humanise(role))
                      for role, spec in roles.items()]
        if not self.roles:
            raise ValueError("a pathway needs at least one role")
        form_fields = {name for step in _all_steps(doc["steps"])
                       for name in (step.get("form") or {}) if "task" in step}
        # a form field of the same name shadows a client field: it is in the case data
        self.client_fields = frozenset(set(doc.get("client_fields") or {}) - form_fields)
        self.nodes: dict[str, Node] = {}
        self.order: dict[str | None, list[str]] = {None: []}
        self.flows: list[Flow] = []
        self.flow_ids: set[str] = set()
        self.messages: dict[str, str] = {}
        self.forms: dict[str, str] = {}
        self.exits: dict[str, list[tuple[str, str]]] = {}
        self.go_to_targets = go_to_targets(doc["steps"])

    # -- building blocks --

    def expr(self, source: str) -> str:
        return expr_call(rewrite_client_fields(source, self.client_fields))

    def add(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"element id {node.id!r} is used twice")
        self.nodes[node.id] = node
        self.order.setdefault(node.container, []).append(node.id)
        if node.tag == "subProcess":
            self.order.setdefault(node.id, [])
        return node

    def connect(self, pending: Pending, target: str) -> str:
        base = f"flow_{pending.source}_{target}"
        flow_id, n = base, 1
        while flow_id in self.flow_ids:
            n += 1
            flow_id = f"{base}_{n}"
        self.flow_ids.add(flow_id)
        self.flows.append(Flow(flow_id, pending.source, target, pending.name,
                                pending.condition, pending.branch, pending.when))
        self.nodes[pending.source].outgoing.append(flow_id)
        self.nodes[target].incoming.append(flow_id)
        if pending.default:
            self.nodes[pending.source].default = flow_id
        return flow_id

    def attach(self, node: Node, pending: Sequence[Pending]) -> Node:
        self.add(node)
        for item in pending:
            self.connect(item, node.id)
        return node

    def auto(self, ctx: Ctx, lane: str, node_id: str, tag: str, kind: str,
             name: str | None, **extra: Any) -> Node:
        """A node nobody works on: drawn in the lane of the nearest preceding task."""
        return Node(node_id, tag, kind, name, ctx.container, ctx.fixed_lane or lane,
                     ctx.listed, **extra)

    # -- the document --

    def run(self) -> CompiledPathway:
        first_role = self.roles[0][0]
        top = Ctx(container=None, scope=None, in_parallel=False, fixed_lane=None, listed=True)
        # every event is named (bpmnlint's label-required): a colleague reads the diagram
        start = self.attach(self.auto(top, first_role, "start", "startEvent", "event",
                                      "Case starts"), [])
        part = self.steps(self.doc["steps"], top, [Pending(start.id)], first_role)
        items: list[lay.Block] = [lay.Leaf(start.id), part.block]
        if part.pending:
            end = self.attach(self.auto(top, part.lane, "end", "endEvent", "event",
                                        "completed"), part.pending)
            items.append(lay.Leaf(end.id))
        shapes = {n.id: lay.Shape(n.kind, n.lane) for n in self.nodes.values()}
        named = {n.id: n.name for n in self.nodes.values()
                 if n.name and n.kind in ("event", "gateway")}
        named.update({f.id: f.name for f in self.flows if f.name})
        diagram = lay.layout(lay.Seq(tuple(items)), shapes, [r for r, _ in self.roles],
                             [(f.id, f.source, f.target) for f in self.flows], named,
                             self.task_timers())
        self.guard_out_of_order_conditions(diagram)
        return CompiledPathway(self.pathway, self.write(diagram), dict(self.forms))

    def task_timers(self) -> dict[str, str]:
        """A task's reminder and escalation events -> the task (a block's handlers are
        placed with the block: dsl.kinds.block)."""
        return {n.id: n.attached_to[0] for n in self.nodes.values()
                if n.attached_to and self.nodes[n.attached_to[0]].kind != "box"}

    def steps(self, steps: Sequence[Mapping[str, Any]], ctx: Ctx, pending: list[Pending],
              lane: str) -> Part:
        blocks: list[lay.Block] = []
        for step in steps:
            part = self.step(step, ctx, pending, lane)
            blocks.append(part.block)
            pending, lane = part.pending, part.lane
        return Part(lay.Seq(tuple(blocks)), pending, lane)

    def step(self, step: Mapping[str, Any], ctx: Ctx, pending: list[Pending],
             lane: str) -> Part:
        kind = step_kind(step)
        if kind is None:
            raise ValueError(f"step has no kind key ({', '.join(KINDS)}): {dict(step)!r}")
        merge = merge_before(self, str(step[kind]), ctx, pending, lane, self.go_to_targets)
        if merge is not None:  # a go_to comes back here
            pending = [Pending(merge)]
        handler = STEP_COMPILERS.get(kind)
        if handler is not None:
            part: Part = handler(self, str(step[kind]), step, ctx, pending, lane)
        else:
            part = getattr(self, f"step_{kind}")(str(step[kind]), step, ctx, pending, lane)
        if merge is not None:
            part = Part(lay.Seq((lay.Leaf(merge), part.block)), part.pending, part.lane)
        if step.get("sensitive"):  # every kind's element has the step's id
            self.nodes[str(step[kind])].properties.append(
                (SENSITIVE_PROPERTY, str(step["sensitive"])))
        if step.get("renamed_from"):
            self.nodes[str(step[kind])].properties.append(
                (RENAMED_FROM_PROPERTY, str(step["renamed_from"])))
        return part

    # -- steps --

    def step_task(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                  pending: list[Pending], lane: str) -> Part:
        role = str(step["role"])
        title = str(step["title"])
        form_file = f"{self.pathway}.{sid}.schema.json"
        properties = [(FORM_PROPERTY, form_file)]
        if step.get("due") is not None:
            properties.append((DUE_PROPERTY, rewrite_due(str(step["due"]),
                                                         self.client_fields)))
        for key, name in (("assign", ASSIGN), ("organisation", TASK_ORGANISATION)):
            if step.get(key) is not None:
                properties.append((name, rewrite_client_fields(_source(step[key]),
                                                               self.client_fields)))
        node = Node(sid, "userTask", "task", title, ctx.container, ctx.fixed_lane or role,
                     ctx.listed, documentation=step.get("instructions"),
                     properties=properties)
        fields = [str(name) for name in step.get("form") or {}]
        if ctx.scope is not None and fields:  # in a round: its answers are kept per round
            node.pre_script = rounds.task_before(fields)
            node.post_script = rounds.task_after(ctx.scope, fields)
        self.attach(node, pending)
        schema = form_schema(title, step.get("form"), self.client_fields)
        self.forms[form_file] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        return with_timers(self, sid, step, ctx, Part(lay.Leaf(sid), [Pending(sid)], role))

    def step_decide(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                    pending: list[Pending], lane: str) -> Part:
        gateway = self.attach(self.auto(ctx, lane, sid, "exclusiveGateway", "gateway",
                                        _titled(step, question(sid))), pending)
        arms: list[tuple[Pending, Sequence[Mapping[str, Any]]]] = []
        for index, branch in enumerate(step["branches"]):
            when = str(branch["when"])
            arms.append((Pending(gateway.id, name=branch_name(_titled(branch, in_words(when))),
                                  condition=self.expr(when), branch=index, when=when),
                         branch.get("steps") or []))
        arms.append((Pending(gateway.id, name="otherwise", default=True),
                     step.get("otherwise") or []))
        return self.fork(gateway, "exclusiveGateway", f"{sid}_merge", arms, ctx, lane)

    def step_parallel(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                      pending: list[Pending], lane: str) -> Part:
        gateway = self.attach(self.auto(ctx, lane, sid, "parallelGateway", "gateway", None),
                              pending)
        inner = Ctx(ctx.container, ctx.scope, True, ctx.fixed_lane, ctx.listed)
        arms = [(Pending(gateway.id), branch.get("steps") or [])
                for branch in step["branches"]]
        return self.fork(gateway, "parallelGateway", f"{sid}_join", arms, inner, lane,
                         outer=ctx)

    def fork(self, gateway: Node, join_tag: str, join_id: str,
             arms: Sequence[tuple[Pending, Sequence[Mapping[str, Any]]]], ctx: Ctx,
             lane: str, outer: Ctx | None = None) -> Part:
        """Branches side by side from a split, then a join unless every branch ends."""
        branches: list[lay.Seq | Pending] = []
        ends: list[tuple[list[Pending], str]] = []
        for first, steps in arms:
            if not steps:
                branches.append(first)
                ends.append(([first], lane))
                continue
            part = self.steps(steps, ctx, [first], lane)
            assert isinstance(part.block, lay.Seq)
            branches.append(part.block)
            if part.pending:
                ends.append((part.pending, part.lane))
        if not ends:
            return Part(lay.Fork(gateway.id, tuple(b for b in branches
                                                    if isinstance(b, lay.Seq)), None), [],
                         lane)
        end_lanes = {end_lane for _, end_lane in ends}
        join_lane = end_lanes.pop() if len(end_lanes) == 1 else lane
        join = self.add(self.auto(outer or ctx, join_lane, join_id, join_tag, "gateway", None))
        laid = self.join(join, branches, ends)
        return Part(lay.Fork(gateway.id, tuple(laid), join.id), [Pending(join.id)],
                     join_lane)

    def join(self, join: Node, branches: Sequence[lay.Seq | Pending],
             ends: Sequence[tuple[list[Pending], str]]) -> list[lay.Seq | str]:
        """Every open end into the join: an empty branch's flow takes its place in the
        fork's layout, in branch order."""
        laid: list[lay.Seq | str] = []
        for branch in branches:
            laid.append(self.connect(branch, join.id) if isinstance(branch, Pending)
                        else branch)
        for part_pending, _ in ends:
            for item in part_pending:
                if not any(item is b for b in branches):
                    self.connect(item, join.id)
        return laid

    def step_wait(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                  pending: list[Pending], lane: str) -> Part:
        if step.get("for") is not None:
            timer = ("timeDuration", json.dumps(str(step["for"])))
        else:
            timer = ("timeDate", self.expr(str(step["until"])))
        self.attach(self.auto(ctx, lane, sid, "intermediateCatchEvent", "event", humanise(sid),
                              timer=timer), pending)
        return Part(lay.Leaf(sid), [Pending(sid)], lane)

    def step_repeat(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                    pending: list[Pending], lane: str) -> Part:
        box_lane, listed, body_ctx = _repeat_lanes(sid, ctx, _roles_in(step.get("steps") or []),
                                                   lane)
        body_lane = box_lane or lane
        body, part = self.repeat_body(sid, step, body_ctx, body_lane)
        exits = self.exits.get(sid, [])
        items: list[lay.Block] = []
        if exits:
            init = self.attach(self.auto(ctx, lane, f"{sid}_init", "scriptTask", "task",
                                         f"Prepare {humanise(sid).lower()}",
                                         script=f"{EXIT_FLAG} = None"), pending)
            items.append(lay.Leaf(init.id))
            pending = [Pending(init.id)]
        box = Node(sid, "subProcess", "box", humanise(sid), ctx.container, box_lane, listed,
                   loop=self.loop(step, bool(exits)), pre_script=rounds.round_start(sid),
                   post_script=rounds.round_end(sid, rounds.nested_repeats(step["steps"]),
                                                ctx.scope))
        self.attach(box, pending)  # after its children, yet written around them
        items.append(lay.Box(sid, body))
        after_lane = part.lane if part.pending else body_lane
        if not exits:
            return Part(lay.Seq(tuple(items)), [Pending(sid)], after_lane)
        gate, sides = self.repeat_exits(sid, exits, ctx, body_lane)
        items.append(sides)
        return Part(lay.Seq(tuple(items)), [Pending(gate, default=True)], after_lane)

    def repeat_body(self, sid: str, step: Mapping[str, Any], body_ctx: Ctx,
                    body_lane: str) -> tuple[lay.Seq, Part]:
        """The subprocess's start, its `every` timer, its steps and its end."""
        start = self.add(self.auto(body_ctx, body_lane, f"{sid}_start", "startEvent", "event",
                                   "Round starts"))
        blocks: list[lay.Block] = [lay.Leaf(start.id)]
        inner = [Pending(start.id)]
        if step.get("every") is not None:
            every = str(step["every"])
            wait = self.attach(self.auto(body_ctx, body_lane, f"{sid}_wait",
                                         "intermediateCatchEvent", "event", f"Wait {every}",
                                         timer=("timeDuration", json.dumps(every))), inner)
            blocks.append(lay.Leaf(wait.id))
            inner = [Pending(wait.id)]
        part = self.steps(step.get("steps") or [], body_ctx, inner, body_lane)
        blocks.append(part.block)
        if part.pending:
            end = self.attach(self.auto(body_ctx, part.lane, f"{sid}_end", "endEvent", "event",
                                        "Round ends"), part.pending)
            blocks.append(lay.Leaf(end.id))
        return lay.Seq(tuple(blocks)), part

    def loop(self, step: Mapping[str, Any], has_exits: bool) -> tuple[str | None, int | None]:
        """(loopCondition, loopMaximum): SpiffWorkflow loops while the condition is true."""
        conditions = []
        if has_exits:
            conditions.append(f"{EXIT_FLAG} is None")
        if step.get("until") is not None:
            until = rounds.rewrite_round(str(step["until"]), str(step["repeat"]))
            conditions.append(f"not {self.expr(until)}")
        maximum = int(step["max"]) if step.get("max") is not None else None
        condition = " and ".join(conditions) if conditions else None
        if condition is None and maximum is None:
            condition = "True"  # `every` alone: SpiffWorkflow needs a condition or a maximum
        return condition, maximum

    def repeat_exits(self, sid: str, exits: Sequence[tuple[str, str]], ctx: Ctx,
                     body_lane: str) -> tuple[str, lay.Exits]:
        """After the loop, a gateway to an end event for each `end` reached inside it."""
        # level with the subprocess's own flow (its start event), so the lines stay apart
        gate = self.attach(self.auto(ctx, body_lane, f"{sid}_exit", "exclusiveGateway",
                                     "gateway", "Case ended inside?"), [Pending(sid)])
        sides: list[lay.Seq] = []
        for end_id, reason in exits:
            flag = Pending(gate.id, name=branch_name(f"ended: {reason}"),
                            condition=f"{EXIT_FLAG} == {json.dumps(end_id)}")
            sides.append(self.end_node(f"{end_id}_via_{sid}", end_id, reason, ctx, [flag],
                                       body_lane))
        return gate.id, lay.Exits(gate.id, tuple(sides))

    def end_node(self, node_id: str, end_id: str, reason: str, ctx: Ctx,
                 pending: list[Pending], lane: str) -> lay.Seq:
        """An end event with its exit reason. In a parallel branch it terminates the case (or
        the round); inside a repeat the loop's scope learns of it."""
        node = self.auto(ctx, lane, node_id, "endEvent", "event", reason,
                         properties=[(EXIT_REASON, reason)], terminate=ctx.in_parallel)
        self.attach(node, pending)
        if ctx.scope is not None:
            self.exits.setdefault(ctx.scope, []).append((end_id, reason))
        return lay.Seq((lay.Leaf(node_id),))

    def step_end(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                 pending: list[Pending], lane: str) -> Part:
        reason = str(step["reason"])
        blocks: list[lay.Block] = []
        if ctx.scope is not None:  # inside a repeat: say which end was reached, then end
            mark = self.attach(self.auto(ctx, lane, f"{sid}_mark", "scriptTask", "task",
                                         f"Mark the case {reason}",
                                         script=f"{EXIT_FLAG} = {json.dumps(sid)}"), pending)
            blocks.append(lay.Leaf(mark.id))
            pending = [Pending(mark.id)]
        blocks.append(self.end_node(sid, sid, reason, ctx, pending, lane))
        return Part(lay.Seq(tuple(blocks)), [], lane)

    def step_refer(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                   pending: list[Pending], lane: str) -> Part:
        target = str(step["pathway"])
        self.attach(self.auto(ctx, lane, sid, "sendTask", "task",
                              _titled(step, f"Refer to {humanise(target).lower()}"),
                              properties=[(REFER, target)]), pending)
        if not step.get("wait"):
            return Part(lay.Leaf(sid), [Pending(sid)], lane)
        message_id = f"msg_completed_{target}"
        self.messages[message_id] = f"{COMPLETED_PREFIX}{target}"
        done = self.attach(self.auto(ctx, lane, f"{sid}_done", "intermediateCatchEvent",
                                     "event", f"{humanise(target)} completed",
                                     message=(message_id, f"{sid}_result")), [Pending(sid)])
        return Part(lay.Seq((lay.Leaf(sid), lay.Leaf(done.id))), [Pending(done.id)], lane)

    def step_record(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                    pending: list[Pending], lane: str) -> Part:
        outcome = str(step["outcome"])
        value = step.get("value")
        properties = [(OUTCOME, outcome), (OUTCOME_VALUE, "true" if value is None else
                                           rewrite_client_fields(_source(value),
                                                                 self.client_fields))]
        if step.get("when") is not None:
            properties.append((OUTCOME_WHEN, rewrite_client_fields(str(step["when"]),
                                                                   self.client_fields)))
        self.attach(self.auto(ctx, lane, sid, "serviceTask", "task",
                              _titled(step, f"Record: {humanise(outcome).lower()}"),
                              properties=properties), pending)
        return Part(lay.Leaf(sid), [Pending(sid)], lane)

    def step_notify(self, sid: str, step: Mapping[str, Any], ctx: Ctx,
                    pending: list[Pending], lane: str) -> Part:
        to = str(step["to"])
        properties = [(NOTIFY_TO, to), (NOTIFY_MESSAGE, str(step["message"]))]
        if to not in self.doc["roles"]:  # assignee / team_lead: of the role whose work it is
            properties.append((NOTIFY_ROLE, ctx.fixed_lane or lane))
        self.attach(self.auto(ctx, lane, sid, "sendTask", "task",
                              _titled(step, f"Notify {humanise(to).lower()}"),
                              properties=properties), pending)
        return Part(lay.Leaf(sid), [Pending(sid)], lane)

    # -- SpiffWorkflow reads the diagram: keep "first true when wins" --

    def guard_out_of_order_conditions(self, diagram: lay.Diagram) -> None:
        """SpiffWorkflow tries an exclusive gateway's conditions in the order of their
        targets' y position (ties in document order). Where that is not the DSL's branch
        order, make each condition false whenever an earlier branch's is true."""
        position = {flow.id: index for index, flow in enumerate(self.flows)}
        by_gateway: dict[str, list[Flow]] = {}
        for flow in self.flows:
            if flow.branch is not None:
                by_gateway.setdefault(flow.source, []).append(flow)
        for flows in by_gateway.values():
            written = sorted(flows, key=lambda f: f.branch or 0)
            tried = sorted(flows, key=lambda f: (diagram.shapes[f.target].y, position[f.id]))
            if [f.id for f in tried] == [f.id for f in written]:
                continue
            earlier: list[str] = []
            for flow in written:
                assert flow.when is not None
                this = self.expr(flow.when)
                flow.condition = " and ".join([*(f"not {e}" for e in earlier), this])
                earlier.append(this)

    # -- XML --

    def write(self, diagram: lay.Diagram) -> str:
        return BpmnWriter(self.pathway, self.title, self.doc, self.roles, self.nodes,
                          self.order, self.flows, self.messages).write(diagram)


def _source(value: Any) -> str:
    """An expression given as YAML: `value: 3` or `value: true` are expressions too."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def step_kind(step: Mapping[str, Any]) -> str | None:
    """The step's kind key (the first, on a step validation would refuse)."""
    kinds = step_kinds(step)
    return kinds[0] if kinds else None


def _all_steps(steps: Sequence[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for step in steps or []:
        yield step
        for branch in step.get("branches") or []:
            yield from _all_steps(branch.get("steps") or [])
        yield from _all_steps(step.get("otherwise") or [])
        if "repeat" in step or "block" in step or "for_each" in step:
            yield from _all_steps(step.get("steps") or [])
        for handler in step.get("handlers") or []:
            yield from _all_steps(handler.get("steps") or [])


def _repeat_lanes(sid: str, ctx: Ctx, roles: Sequence[str], lane: str
                  ) -> tuple[str | None, bool, Ctx]:
    """(the subprocess's lane, whether the laneSet lists it, its body's context)."""
    if ctx.fixed_lane is not None:
        box_lane: str | None = ctx.fixed_lane
        listed, body_fixed, body_listed = False, ctx.fixed_lane, False
    elif len(roles) <= 1:
        # SpiffWorkflow gives a subprocess's children the subprocess's lane
        box_lane = roles[0] if roles else lane
        listed, body_fixed, body_listed = ctx.listed, box_lane, False
    else:
        # tasks of several roles: the subprocess stays out of the lanes, so that each
        # child takes the lane that names it
        box_lane, listed, body_fixed, body_listed = None, False, None, True
    body_ctx = Ctx(container=sid, scope=sid, in_parallel=False, fixed_lane=body_fixed,
                    listed=body_listed)
    return box_lane, listed, body_ctx


def _roles_in(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    roles: list[str] = []
    for step in _all_steps(steps):
        if "task" in step and step.get("role") not in roles:
            roles.append(str(step["role"]))
        escalated = (step.get("escalate") or {}).get("to") if "task" in step else None
        if escalated is not None and escalated not in roles:
            roles.append(str(escalated))
    return roles


def _titled(step: Mapping[str, Any], default: str) -> str:
    """A step's name on the diagram: its `title`, else one made from its id or outcome in
    words (never the id itself: "Record: tenancy started", not "Record hf_tenancy_started")."""
    title = step.get("title")
    return str(title) if title else default
