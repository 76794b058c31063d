"""Publish rules on how a BPMN file's elements connect: sequence flows, start and end events,
gateways and reachability inside each process or subprocess, and the messages, signals,
errors, escalations and links events name (engine.workflow.validation runs them in this order)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import DefinitionError
from engine.workflow.bpmn_xml import BPMN_NS, local_name
from engine.workflow.validation_document import (
    ACTIVITIES,
    DECISIONS,
    FLOW_NODES,
    GATEWAYS,
    BpmnDocument,
)

_CATCHES_AFTER_EVENT_GATEWAY = frozenset({"intermediateCatchEvent", "receiveTask"})
# event definition -> (attribute naming the root element it uses, that element's tag)
_EVENT_REFERENCES = {
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}
_CATCHING = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})
# a catch of one of these that names none would wait for ever
_MUST_NAME_WHAT_IT_CATCHES = frozenset({"messageEventDefinition", "signalEventDefinition"})
_CONDITION = f"{{{BPMN_NS}}}conditionExpression"


@dataclass
class _Graph:
    """One process or subprocess: its flow nodes by id, its sequence flows, and each node's
    outgoing and incoming flows."""

    document: BpmnDocument
    container: Any
    nodes: dict[str, Any]
    flows: list[Any]
    outgoing: dict[str, list[Any]]
    incoming: dict[str, list[Any]]

    def refuse(self, element: Any, rule: str, message: str) -> DefinitionError:
        return self.document.refuse(element, rule, message)


def check_container(document: BpmnDocument, container: Any) -> None:
    """Flows, start and end events, gateways and reachability inside one process or
    subprocess (each container is its own graph in BPMN)."""
    graph = _read_graph(document, container)
    adhoc = local_name(container) == "adHocSubProcess"
    _check_has_start(graph, adhoc)
    for node_id, node in graph.nodes.items():
        for kinds, rule in _NODE_RULES:
            problem = rule(graph, node_id, node) \
                if kinds is None or local_name(node) in kinds else None
            if problem is not None:
                raise problem
    _check_conditions(graph)
    _check_exclusive_flows(graph)
    if not adhoc and container.get("triggeredByEvent") != "true":
        _check_reachable(graph)


def _read_graph(document: BpmnDocument, container: Any) -> _Graph:
    """The container's graph; a sequence flow that does not join two of its nodes refused."""
    nodes: dict[str, Any] = {}
    flows: list[Any] = []
    for child in container:
        kind = local_name(child)
        if kind == "sequenceFlow":
            flows.append(child)
        elif kind in FLOW_NODES and child.get("id"):
            nodes[child.get("id")] = child
    graph = _Graph(document, container, nodes, flows, {node: [] for node in nodes},
                   {node: [] for node in nodes})
    for flow in flows:
        for end, table in (("sourceRef", graph.outgoing), ("targetRef", graph.incoming)):
            ref = flow.get(end)
            if ref not in nodes:
                where = ("in another process or subprocess" if ref and ref in document.ids()
                         else "missing")
                raise graph.refuse(
                    flow, "dangling_flow",
                    f"sequence flow {flow.get('id')!r} has {end} {ref!r}, an element "
                    f"{where}: a flow must join two elements of the same process")
            table[ref].append(flow)
    return graph


def _check_has_start(graph: _Graph, adhoc: bool) -> None:
    starts = [n for n in graph.nodes.values() if local_name(n) == "startEvent"]
    if not starts and not adhoc and graph.nodes:
        container = graph.container
        raise graph.refuse(container, "no_start_event",
                           f"{local_name(container)} {container.get('id')!r} has no start "
                           "event: nothing could ever run in it")


NodeRule = Callable[[_Graph, str, Any], DefinitionError | None]


# node kind -> (the flows it may not have, the rule, why)
_NO_FLOWS = {
    "endEvent": ("outgoing", "end_event_outgoing",
                 "end event {id!r} has an outgoing sequence flow: an end event ends its path, "
                 "nothing can follow it"),
    "startEvent": ("incoming", "start_event_incoming",
                   "start event {id!r} has an incoming sequence flow: nothing can lead into a "
                   "start event"),
    "boundaryEvent": ("incoming", "boundary_event_incoming",
                      "boundary event {id!r} has an incoming sequence flow"),
}


def _flows_it_may_not_have(graph: _Graph, node_id: str, node: Any) -> DefinitionError | None:
    """Nothing follows an end event; nothing leads into a start or boundary event."""
    forbidden = _NO_FLOWS.get(local_name(node))
    if forbidden is None:
        return None
    direction, rule, message = forbidden
    flows = graph.outgoing if direction == "outgoing" else graph.incoming
    return graph.refuse(node, rule, message.format(id=node_id)) if flows[node_id] else None


def _boundary_not_attached(graph: _Graph, node_id: str, node: Any) -> DefinitionError | None:
    attached = graph.nodes.get(node.get("attachedToRef"))
    if attached is not None and local_name(attached) in ACTIVITIES:
        return None
    return graph.refuse(node, "boundary_not_attached",
                        f"boundary event {node_id!r} is attached to "
                        f"{node.get('attachedToRef')!r}, which is not an activity of the same "
                        "process")


def _gateway_without_outputs(graph: _Graph, node_id: str, node: Any) -> DefinitionError | None:
    if not graph.outgoing[node_id]:
        return graph.refuse(node, "gateway_without_outputs",
                            f"gateway {node_id!r} has no outgoing sequence flow: a case "
                            "reaching it could go nowhere")
    return None


def _event_gateway_target(graph: _Graph, node_id: str, node: Any) -> DefinitionError | None:
    for flow in graph.outgoing[node_id]:
        target = graph.nodes[flow.get("targetRef")]
        if local_name(target) not in _CATCHES_AFTER_EVENT_GATEWAY:
            return graph.refuse(flow, "event_gateway_target",
                                f"event-based gateway {node_id!r} leads to "
                                f"{local_name(target)} {target.get('id')!r}: it may "
                                "only lead to catch events or receive tasks")
    return None


def _bad_default_flow(graph: _Graph, node_id: str, node: Any) -> DefinitionError | None:
    default = node.get("default")
    if default and default not in {f.get("id") for f in graph.outgoing[node_id]}:
        return graph.refuse(node, "bad_default_flow",
                            f"the default flow {default!r} of {node_id!r} is not one "
                            "of its outgoing sequence flows")
    return None


# checked node by node, in this order (the first broken rule is the one reported), each on
# the kinds of node it names (None: every node)
_NODE_RULES: tuple[tuple[frozenset[str] | None, NodeRule], ...] = (
    (None, _flows_it_may_not_have),
    (frozenset({"boundaryEvent"}), _boundary_not_attached),
    (GATEWAYS, _gateway_without_outputs),
    (frozenset({"eventBasedGateway"}), _event_gateway_target),
    (None, _bad_default_flow))


def _check_conditions(graph: _Graph) -> None:
    """Only flows leaving a decision or an activity have conditions, and never a default
    flow."""
    for flow in graph.flows:
        problem = _condition_problem(graph, flow) if flow.find(_CONDITION) is not None \
            else None
        if problem is not None:
            raise graph.refuse(flow, *problem)


def _condition_problem(graph: _Graph, flow: Any) -> tuple[str, str] | None:
    """(rule, why) when the flow may not have the condition it has."""
    source = graph.nodes[flow.get("sourceRef")]
    if local_name(source) not in DECISIONS | ACTIVITIES:
        return ("condition_on_non_decision_flow",
                f"sequence flow {flow.get('id')!r} has a condition but leaves "
                f"{local_name(source)} {source.get('id')!r}: only flows leaving an activity "
                "or an exclusive, inclusive or complex gateway are decided by conditions "
                "(BPMN allows no condition on the others)")
    if source.get("default") == flow.get("id"):
        return ("condition_on_default_flow",
                f"sequence flow {flow.get('id')!r} is the default flow of "
                f"{source.get('id')!r} and has a condition: a default flow is taken when no "
                "condition holds")
    return None


def _check_exclusive_flows(graph: _Graph) -> None:
    """Every flow out of an exclusive gateway with a choice has a condition or is its
    default."""
    for node_id, node in graph.nodes.items():
        if local_name(node) != "exclusiveGateway" or len(graph.outgoing[node_id]) < 2:
            continue
        for flow in graph.outgoing[node_id]:
            if flow.find(_CONDITION) is None and node.get("default") != flow.get("id"):
                raise graph.refuse(flow, "unconditioned_decision_flow",
                                   f"sequence flow {flow.get('id')!r} leaves exclusive "
                                   f"gateway {node_id!r} without a condition and is not its "
                                   "default flow")


def _is_root(node: Any) -> bool:
    """Where a path can begin: a start or boundary event, a compensation handler, a link
    catch."""
    kind = local_name(node)
    return kind in ("startEvent", "boundaryEvent") or node.get("isForCompensation") == "true" \
        or (kind == "intermediateCatchEvent"
            and node.find(f"{{{BPMN_NS}}}linkEventDefinition") is not None)


def _check_reachable(graph: _Graph) -> None:
    reached: set[str] = set()
    todo = [n for n, e in graph.nodes.items() if _is_root(e)]
    while todo:
        node_id = todo.pop()
        if node_id in reached:
            continue
        reached.add(node_id)
        todo += [f.get("targetRef") for f in graph.outgoing[node_id]]
        todo += [n for n, e in graph.nodes.items() if e.get("attachedToRef") == node_id]
    for node_id, node in graph.nodes.items():
        if node_id not in reached and not (local_name(node) == "subProcess"
                                           and node.get("triggeredByEvent") == "true"):
            raise graph.refuse(node, "unreachable",
                               f"{local_name(node)} {node_id!r} cannot be reached from a "
                               "start event: no sequence flow leads to it")


def check_event_references(document: BpmnDocument, ids: Mapping[str, Any]) -> None:
    """Every message, signal, error and escalation an event names exists (SpiffWorkflow's
    own refusal of a missing one fails with a TypeError, and a catch naming none waits for
    ever); every link thrown has its catch."""
    for local, (attribute, target) in _EVENT_REFERENCES.items():
        for definition in document.all(local):
            _check_named(document, ids, definition, local, attribute, target)
    for container in document.containers():
        _check_links(document, container)
    for ref in document.all("eventDefinitionRef"):
        _check_shared_definition(document, ids, ref)


def _check_shared_definition(document: BpmnDocument, ids: Mapping[str, Any], ref: Any) -> None:
    """An eventDefinitionRef names an event definition declared at the top of the file
    (engine.workflow.shared_definitions puts a copy of it in the event)."""
    name = (ref.text or "").strip().rsplit(":", 1)[-1]
    target = ids.get(name)
    if (target is None or not local_name(target).endswith("EventDefinition")
            or target.getparent() is not document.root):
        event = ref.getparent()
        raise document.refuse(ref, "missing_reference",
                              f"{local_name(event)} {event.get('id')!r}: eventDefinitionRef "
                              f"{name!r} names no event definition declared at the top of "
                              "this file (a bpmn:definitions child)",
                              attribute="eventDefinitionRef", value=name)


def _check_named(document: BpmnDocument, ids: Mapping[str, Any], definition: Any,
                 local: str, attribute: str, target: str) -> None:
    ref = definition.get(attribute)
    event = definition.getparent()
    if ref is None:
        if local_name(event) in _CATCHING and local in _MUST_NAME_WHAT_IT_CATCHES:
            raise document.refuse(definition, "missing_reference",
                                  f"{local_name(event)} {event.get('id')!r} catches a "
                                  f"{target} but names none ({attribute}): it would "
                                  "wait for ever")
        return
    ref = ref.rsplit(":", 1)[-1]  # a QName: prefix:id
    if ref not in ids or local_name(ids[ref]) != target:
        raise document.refuse(definition, "missing_reference",
                              f"{attribute} {ref!r} names no bpmn:{target} of this "
                              f"file: declare <bpmn:{target} id=\"{ref}\" .../>",
                              attribute=attribute, value=ref)


def _check_links(document: BpmnDocument, container: Any) -> None:
    link = f"{{{BPMN_NS}}}linkEventDefinition"
    caught = {d.get("name") for e in container
              if local_name(e) == "intermediateCatchEvent" for d in e.iterfind(link)}
    for event in container:
        if local_name(event) != "intermediateThrowEvent":
            continue
        for definition in event.iterfind(link):
            if definition.get("name") not in caught:
                raise document.refuse(definition, "link_without_catch",
                                      f"link {definition.get('name')!r} thrown by "
                                      f"{event.get('id')!r} has no catching link event "
                                      "of that name in the same process")


