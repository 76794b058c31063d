"""The BPMN 2.0 XML (with its diagram) of a compiled flow graph, written with lxml.

The compiler (dsl.compile) builds the graph: nodes in containers, flows between them, lanes;
this module only writes it, in document order, so the same graph always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from dsl import layout as lay

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS,
         "spiffworkflow": SPIFF_NS, "xsi": XSI_NS}
TARGET_NAMESPACE = "https://pathways.example/dsl"
# spiffworkflow:property on a step's element or on the process: what its existence reveals
SENSITIVE_PROPERTY = "sensitive"
# spiffworkflow:property on a step's element: the id it had in an earlier version (migration)
RENAMED_FROM_PROPERTY = "pathwaysRenamedFrom"


@dataclass
class Node:
    id: str
    tag: str  # BPMN element name
    kind: str  # layout kind: task, event, gateway, box
    name: str | None
    container: str | None  # the subProcess it is in, None for the process
    lane: str | None  # the lane it is drawn in
    listed: bool  # named in the laneSet
    documentation: str | None = None
    properties: list[tuple[str, str]] = field(default_factory=list)
    default: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    timer: tuple[str, str] | None = None  # (timeDuration | timeDate, expression)
    message: tuple[str, str] | None = None  # (message id, variable)
    terminate: bool = False
    script: str | None = None
    loop: tuple[str | None, int | None] | None = None  # (loopCondition, loopMaximum)
    attached_to: tuple[str, bool] | None = None  # a boundary event: (activity, interrupting)
    # spiffworkflow:preScript / postScript (on a looped subprocess: run for each round)
    pre_script: str | None = None
    post_script: str | None = None
    # parallel multi-instance: (input collection, input item, output collection, output item)
    instances: tuple[str, str, str, str] | None = None
    called: str | None = None  # a callActivity's calledElement: the process it runs


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None
    condition: str | None
    branch: int | None  # position of a decide's branch, for the condition-order check
    when: str | None  # the branch's DSL source


@dataclass
class BpmnWriter:
    """One pathway's process, lanes and diagram as BPMN XML text."""

    pathway: str
    title: str
    doc: Mapping[str, Any]  # for the process's description and sensitivity
    roles: Sequence[tuple[str, str]]  # (lane id, title)
    nodes: Mapping[str, Node]
    order: Mapping[str | None, list[str]]  # container -> its node ids, in document order
    flows: Sequence[Flow]
    messages: Mapping[str, str]

    def write(self, diagram: lay.Diagram) -> str:
        root = etree.Element(_q(BPMN_NS, "definitions"), nsmap=NSMAP)
        root.set("id", f"{self.pathway}_definitions")
        root.set("targetNamespace", TARGET_NAMESPACE)
        root.set("exporter", "pathways dsl")
        root.set("exporterVersion", "1")
        collaboration = _sub(root, "collaboration", id=f"{self.pathway}_collaboration")
        _sub(collaboration, "participant", id=f"{self.pathway}_participant", name=self.title,
             processRef=self.pathway)
        for message_id in sorted(self.messages):
            _sub(root, "message", id=message_id, name=self.messages[message_id])
        self.write_process(root)
        self.write_diagram(root, diagram)
        _refuse_duplicate_ids(root)
        text: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + text.decode("utf-8")

    def write_process(self, root: Any) -> None:
        process = _sub(root, "process", id=self.pathway, name=self.title,
                       isExecutable="true")
        if self.doc.get("description"):
            _sub(process, "documentation", text=str(self.doc["description"]))
        if self.doc.get("sensitive"):
            properties = etree.SubElement(_sub(process, "extensionElements"),
                                          _q(SPIFF_NS, "properties"))
            etree.SubElement(properties, _q(SPIFF_NS, "property"), name=SENSITIVE_PROPERTY,
                             value=str(self.doc["sensitive"]))
        lane_set = _sub(process, "laneSet", id=f"{self.pathway}_lanes")
        for role, title in self.roles:
            if not any(node.listed and node.lane == role for node in self.nodes.values()):
                continue  # a role with no step here: no empty lane on the diagram
            lane = _sub(lane_set, "lane", id=role, name=title)
            for node in self.nodes.values():
                if node.listed and node.lane == role:
                    _sub(lane, "flowNodeRef", text=node.id)
        self.write_container(process, None)

    def write_diagram(self, root: Any, diagram: lay.Diagram) -> None:
        di = etree.SubElement(root, _q(BPMNDI_NS, "BPMNDiagram"), id=f"{self.pathway}_diagram")
        plane = etree.SubElement(di, _q(BPMNDI_NS, "BPMNPlane"), id=f"{self.pathway}_plane",
                                 bpmnElement=f"{self.pathway}_collaboration")
        # top to bottom: the pool and its lanes are vertical (dsl/layout.py says why)
        _shape(plane, f"{self.pathway}_participant", diagram.pool, isHorizontal="false")
        for role, _ in self.roles:
            if role in diagram.lanes:
                _shape(plane, role, diagram.lanes[role], isHorizontal="false")
        for node in self._document_order(None):
            extra = {}
            if node.tag == "subProcess":
                extra["isExpanded"] = "true"
            elif node.tag == "exclusiveGateway":
                extra["isMarkerVisible"] = "true"
            shape = _shape(plane, node.id, diagram.shapes[node.id], **extra)
            _label(shape, diagram.labels.get(node.id))
        for flow in self.flows:
            edge = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNEdge"), id=f"{flow.id}_di",
                                    bpmnElement=flow.id)
            for x, y in diagram.edges[flow.id]:
                etree.SubElement(edge, _q(DI_NS, "waypoint"), x=str(x), y=str(y))
            _label(edge, diagram.labels.get(flow.id))

    def _document_order(self, container: str | None) -> list[Node]:
        out: list[Node] = []
        for node_id in self.order.get(container, []):
            node = self.nodes[node_id]
            out.append(node)
            if node.tag == "subProcess":
                out.extend(self._document_order(node.id))
        return out

    def write_container(self, parent: Any, container: str | None) -> None:
        members = set(self.order.get(container, []))
        for node_id in self.order.get(container, []):
            self.write_node(parent, self.nodes[node_id])
        for flow in self.flows:
            if flow.source in members:
                attrs = {"id": flow.id}
                if flow.name:
                    attrs["name"] = flow.name
                attrs.update(sourceRef=flow.source, targetRef=flow.target)
                element = _sub(parent, "sequenceFlow", **attrs)
                if flow.condition is not None:
                    _expression(element, "conditionExpression", flow.condition)

    def write_node(self, parent: Any, node: Node) -> None:
        attrs = {"id": node.id}
        if node.name:
            attrs["name"] = node.name
        if node.default:
            attrs["default"] = node.default
        if node.called is not None:
            attrs["calledElement"] = node.called
        if node.attached_to is not None:
            attrs["attachedToRef"] = node.attached_to[0]
            attrs["cancelActivity"] = "true" if node.attached_to[1] else "false"
        element = _sub(parent, node.tag, **attrs)
        if node.documentation:
            _sub(element, "documentation", text=str(node.documentation))
        _write_extensions(element, node)
        for flow_id in node.incoming:
            _sub(element, "incoming", text=flow_id)
        for flow_id in node.outgoing:
            _sub(element, "outgoing", text=flow_id)
        if node.loop is not None:
            _write_loop(element, *node.loop,
                        on_rounds=node.pre_script is not None or node.post_script is not None)
        if node.instances is not None:
            _write_instances(element, *node.instances)
        if node.script is not None:
            _sub(element, "script", text=node.script)
        _write_event_definitions(element, node)
        if node.tag == "subProcess":
            self.write_container(element, node.id)


def _write_extensions(element: Any, node: Node) -> None:
    if not node.properties and node.pre_script is None and node.post_script is None:
        return
    extensions = _sub(element, "extensionElements")
    if node.properties:
        listed = etree.SubElement(extensions, _q(SPIFF_NS, "properties"))
        for name, value in node.properties:
            etree.SubElement(listed, _q(SPIFF_NS, "property"), name=name, value=value)
    if node.pre_script is not None:
        etree.SubElement(extensions, _q(SPIFF_NS, "preScript")).text = node.pre_script
    if node.post_script is not None:
        etree.SubElement(extensions, _q(SPIFF_NS, "postScript")).text = node.post_script


def _write_loop(element: Any, condition: str | None, maximum: int | None, *,
                on_rounds: bool = False) -> None:
    loop = _sub(element, "standardLoopCharacteristics", testBefore="false")
    if on_rounds:  # the subprocess's pre/post scripts run for each round, not once
        loop.set(_q(SPIFF_NS, "scriptsOnInstances"), "true")
    if maximum is not None:
        loop.set("loopMaximum", str(maximum))
    if condition is not None:
        _expression(loop, "loopCondition", condition)


def _write_instances(element: Any, collection: str, item: str, results: str,
                     result: str) -> None:
    """Parallel multi-instance: one instance per item of `collection` (the item in `item`),
    each instance's `result` collected, in order, in the list `results`."""
    loop = _sub(element, "multiInstanceLoopCharacteristics", isSequential="false")
    _sub(loop, "loopDataInputRef", text=collection)
    _sub(loop, "loopDataOutputRef", text=results)
    _sub(loop, "inputDataItem", id=item, name=item)
    _sub(loop, "outputDataItem", id=result, name=result)


def _write_event_definitions(element: Any, node: Node) -> None:
    if node.timer is not None:
        timer = _sub(element, "timerEventDefinition")
        _expression(timer, node.timer[0], node.timer[1])
    if node.message is not None:
        message = _sub(element, "messageEventDefinition", messageRef=node.message[0])
        extensions = _sub(message, "extensionElements")
        etree.SubElement(extensions, _q(SPIFF_NS, "messageVariable")).text = node.message[1]
    if node.terminate:
        _sub(element, "terminateEventDefinition")


def _refuse_duplicate_ids(root: Any) -> None:
    ids = [el.get("id") for el in root.iter() if el.get("id") is not None]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"element ids used twice: {', '.join(map(str, duplicates))}")


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, _q(BPMN_NS, tag))
    for key, value in attrs.items():
        element.set(key, value)
    if text is not None:
        element.text = text
    return element


def _expression(parent: Any, tag: str, text: str) -> None:
    element = _sub(parent, tag, text=text)
    element.set(_q(XSI_NS, "type"), "bpmn:tFormalExpression")


def _shape(plane: Any, element_id: str, bounds: lay.Bounds, **attrs: str) -> Any:
    shape = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNShape"), id=f"{element_id}_di",
                             bpmnElement=element_id)
    for key, value in attrs.items():
        shape.set(key, value)
    _bounds(shape, bounds)
    return shape


def _label(parent: Any, bounds: lay.Bounds | None) -> None:
    """Where the viewer draws the element's name (dsl/labels.py chose it)."""
    if bounds is not None:
        _bounds(etree.SubElement(parent, _q(BPMNDI_NS, "BPMNLabel")), bounds)


def _bounds(parent: Any, bounds: lay.Bounds) -> None:
    etree.SubElement(parent, _q(DC_NS, "Bounds"), x=str(bounds.x), y=str(bounds.y),
                     width=str(bounds.width), height=str(bounds.height))
