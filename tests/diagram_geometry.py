"""What a colleague would call a badly drawn diagram, measured from the BPMN file's own
diagram (BPMN DI), not from the layout code that wrote it (issue 14, item 7): shapes on
shapes, labels on shapes or on each other, a label across a subprocess's border, a missing
label, an empty lane, flows of different steps drawn on one line, and a width that does
not fit a laptop screen."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from lxml import etree

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
SCREEN_WIDTH = 1366
PAGE_MARGINS = 66  # the page's own margins around the diagram's frame
SMALLEST_ZOOM = 0.7
FITS = (SCREEN_WIDTH - PAGE_MARGINS) / SMALLEST_ZOOM  # the widest diagram that fits
EXTERNAL = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
            "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
            "eventBasedGateway", "sequenceFlow"}
CONTAINERS = {"participant", "lane", "subProcess"}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def overlaps(self, other: Box) -> bool:
        return (self.x < other.right and other.x < self.right and self.y < other.bottom
                and other.y < self.bottom)

    def inside(self, other: Box) -> bool:
        return (other.x <= self.x and self.right <= other.right and other.y <= self.y
                and self.bottom <= other.bottom)


def _box(element: etree._Element) -> Box:
    b = element.find("dc:Bounds", NS)
    assert b is not None
    return Box(*(float(b.get(k) or 0) for k in ("x", "y", "width", "height")))


def problems(bpmn: str) -> list[str]:
    """Every way the diagram is badly drawn, in words (empty: none)."""
    root = etree.fromstring(bpmn.encode("utf-8"))
    kinds = {e.get("id"): etree.QName(e).localname for e in root.iter()
             if isinstance(e.tag, str) and e.get("id")}
    names = {e.get("id"): e.get("name") for e in root.iter()
             if isinstance(e.tag, str) and e.get("name")}
    shapes = {s.get("bpmnElement"): _box(s) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    labels = {}
    for di in [*root.iterfind(".//bpmndi:BPMNShape", NS),
               *root.iterfind(".//bpmndi:BPMNEdge", NS)]:
        label = di.find("bpmndi:BPMNLabel", NS)
        if label is not None and label.find("dc:Bounds", NS) is not None:
            labels[di.get("bpmnElement")] = _box(label)
    edges = {e.get("bpmnElement"): [(float(p.get("x") or 0), float(p.get("y") or 0))
                                    for p in e.iterfind("di:waypoint", NS)]
             for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    found: list[str] = []
    solid = {k: b for k, b in shapes.items() if kinds.get(k) not in CONTAINERS}
    boxes = {k: b for k, b in shapes.items() if kinds.get(k) == "subProcess"}
    # a boundary event sits on the border of the task it is attached to
    hosts = {e.get("id"): e.get("attachedToRef") for e in root.iter()
             if isinstance(e.tag, str) and e.get("attachedToRef")}
    for (a, ab), (b, bb) in itertools.combinations(solid.items(), 2):
        if ab.overlaps(bb) and hosts.get(a) != b and hosts.get(b) != a:
            found.append(f"shapes {a} and {b} overlap")
    for element, kind in kinds.items():
        if kind in EXTERNAL and names.get(element) and element not in labels:
            found.append(f"{element} ({names[element]!r}) has no label bounds")
    for element, label in labels.items():
        for other, bounds in solid.items():
            if label.overlaps(bounds):
                found.append(f"the label of {element} overlaps the shape {other}")
        for other, bounds in boxes.items():
            if label.overlaps(bounds) and not label.inside(bounds):
                found.append(f"the label of {element} crosses the border of {other}")
    for (a, al), (b, bl) in itertools.combinations(labels.items(), 2):
        if al.overlaps(bl):
            found.append(f"the labels of {a} and {b} overlap")
    for lane in root.iterfind(".//bpmn:lane", NS):
        if lane.find("bpmn:flowNodeRef", NS) is None:
            found.append(f"lane {lane.get('id')} is empty")
    found += _shared_runs(root, edges)
    for participant, bounds in shapes.items():
        if kinds.get(participant) == "participant" and bounds.width > FITS:
            found.append(f"the pool is {bounds.width:.0f} px wide: more than {FITS:.0f}, "
                         f"so {SCREEN_WIDTH} px at {SMALLEST_ZOOM:.0%} zoom does not show it")
    return found


def _shared_runs(root: etree._Element, edges: dict[str, list[tuple[float, float]]]
                 ) -> list[str]:
    """Flows drawn along the same line for a stretch, unless they leave the same element
    or enter the same one (a fan-out or fan-in is drawn that way on purpose)."""
    ends = {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in root.iterfind(".//bpmn:sequenceFlow", NS)}
    runs = {flow: list(itertools.pairwise(points)) for flow, points in edges.items()}
    found = []
    for a, b in itertools.combinations(runs, 2):
        (a_source, a_target), (b_source, b_target) = ends.get(a, (a, a)), ends.get(b, (b, b))
        if a_source == b_source or a_target == b_target:
            continue
        if any(_collinear_overlap(p, q) for p in runs[a] for q in runs[b]):
            found.append(f"flows {a} and {b} are drawn along the same line")
    return found


def _collinear_overlap(p: tuple[tuple[float, float], tuple[float, float]],
                       q: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    (x1, y1), (x2, y2) = p
    (x3, y3), (x4, y4) = q
    if x1 == x2 == x3 == x4:
        return min(max(y1, y2), max(y3, y4)) - max(min(y1, y2), min(y3, y4)) > 0
    if y1 == y2 == y3 == y4:
        return min(max(x1, x2), max(x3, x4)) - max(min(x1, x2), min(x3, x4)) > 0
    return False
