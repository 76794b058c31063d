"""Recursion through call activities (workflow pattern WCP22), bounded as BPMN leaves it.

BPMN 2.0.2 §10.3.5 (Call Activity) lets a process call any process, itself included, directly
or through others; SpiffWorkflow 3.2 runs such a call (each call a subprocess of its own, kept
and reloaded with the case). A call cycle is only endless when every call in it is reached
whatever the data: publish refuses that one (rule recursive_call, `check_call_cycles`) and
lets pass one that a decision can end (an exclusive, inclusive or complex gateway choosing
among several flows, a conditional or default flow, an event-based gateway). One that a
decision could end but the data never ends stops at run time: `DepthBoundCallActivity`, the
call activity the parser builds (engine.workflow.bpmn_events), refuses to start a process
nested deeper than MAX_CALL_DEPTH, and the case stops in error there, as an incident
(never a worker stuck creating subprocesses).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.specs.defaults import CallActivity

from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import BpmnDocument

MAX_CALL_DEPTH = 50  # processes and subprocesses nested in one another in one case
_CHOOSERS = frozenset({"exclusiveGateway", "inclusiveGateway", "complexGateway",
                       "eventBasedGateway"})
_SCOPES = frozenset({"subProcess", "transaction"})


class DepthBoundCallActivity(CallActivity):  # type: ignore[misc]
    """A call activity that will not nest the case's processes deeper than MAX_CALL_DEPTH."""

    def start_workflow(self, my_task: Any) -> None:
        depth = my_task.workflow.depth + 1
        if depth > MAX_CALL_DEPTH:
            my_task.error()
            raise WorkflowTaskException(
                f"call activity {self.bpmn_id!r} would start process {self.spec!r} nested "
                f"{depth} deep (at most {MAX_CALL_DEPTH}): a recursion whose end condition "
                "never holds?", task=my_task)
        super().start_workflow(my_task)


def check_call_cycles(documents: list[BpmnDocument]) -> None:
    """Refuse a process that calls itself, directly or through others, when every call on
    the way is reached whatever the data: each call would start another, without end."""
    calls: dict[str, list[tuple[BpmnDocument, Any]]] = {}
    for document in documents:
        for process in document.all("process"):
            calls[str(process.get("id"))] = [
                (document, call) for call in process.iter(f"{{{BPMN_NS}}}callActivity")
                if call.get("calledElement")]
    for start in calls:
        path: list[str] = [start]
        via: list[Any] = []  # the call into each process of the path after the first
        todo = [iter(calls[start])]
        while todo:
            step = next(todo[-1], None)
            if step is None:
                todo.pop()
                path.pop()
                if via:
                    via.pop()
                continue
            document, call = step
            called = str(call.get("calledElement"))
            if called == start and all(map(always_reached, [*via, call])):
                cycle = " -> ".join([*path, called])
                raise document.refuse(call, "recursive_call",
                                      f"call activity {call.get('id')!r} makes process "
                                      f"{start!r} call itself ({cycle}) whatever the data: "
                                      "each call would start another, without end (let a "
                                      "gateway's condition decide whether to call)",
                                      value=called)
            if called in calls and called not in path:
                path.append(called)
                via.append(call)
                todo.append(iter(calls[called]))


def always_reached(call: Any) -> bool:
    """Whether every case of the call's process reaches the call activity: it is reachable
    from the process's start along flows no decision chooses (a token may still wait on the
    way: the path is there whatever the data)."""
    process = next(a for a in call.iterancestors() if local_name(a) == "process")
    nodes, leaving = _graph(process)
    todo = _starts(process)
    seen: set[str] = set()
    while todo:
        node = todo.pop()
        if node is call:
            return True
        if str(node.get("id")) in seen:
            continue
        seen.add(str(node.get("id")))
        if local_name(node) in _SCOPES and node.get("triggeredByEvent") != "true":
            todo += _starts(node)
        todo += [nodes[target] for target in _undecided(node, leaving) if target in nodes]
    return False


def _graph(process: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The process's elements by id, and the sequence flows leaving each (at any depth)."""
    nodes: dict[str, Any] = {}
    leaving: dict[str, list[Any]] = {}
    for element in process.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        nodes[str(element.get("id"))] = element
        if local_name(element) == "sequenceFlow":
            leaving.setdefault(str(element.get("sourceRef")), []).append(element)
    return nodes, leaving


def _undecided(node: Any, leaving: dict[str, list[Any]]) -> list[str]:
    """Where the node's outgoing flows lead whatever the data: none after a choice among
    several flows; never along a conditional or a default flow."""
    flows = leaving.get(str(node.get("id")), [])
    if local_name(node) in _CHOOSERS and len(flows) > 1:
        return []
    return [str(flow.get("targetRef")) for flow in flows
            if flow.find(f"{{{BPMN_NS}}}conditionExpression") is None
            and flow.get("id") != node.get("default")]


def _starts(container: Any) -> list[Any]:
    return [child for child in container if isinstance(child.tag, str)
            and local_name(child) == "startEvent"]
