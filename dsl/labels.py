"""Where the diagram's external labels go: an event's or gateway's name, a branch's condition.

bpmn-js draws such a label in the bounds the diagram gives it (BPMNLabel), wrapping the text
to their width in 11 px Arial, and breaks a word that is wider than that mid-word. Without
bounds it puts a 90 px label under the element, or on the middle of the flow, whatever is
there. So each label here gets a size made from its text (as wide as its longest word, so
that no word breaks, lines wrapped the way the viewer wraps them, measured a little wide)
and the first of a few positions beside its element or flow where it overlaps no shape, no
label placed before it, no border of a box it is not inside and, if one can be found, no
flow either.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

from dsl.layout import Bounds, Point

LINE_HEIGHT = 13.2  # bpmn-js: 11 px font, line height 1.2
WRAP_WIDTH = 96  # a label's width unless a word needs more
WIDTHS = (WRAP_WIDTH, 120, 80, 150)  # tried in turn: a wider label is a shorter one
MAX_WIDTH = 160
GAP = 5  # between a label and what it labels
# advance widths of 11 px Arial, grouped; anything else counts as a wide lowercase letter
_NARROW = set("iljI.,:;'|!`")
_THIN = set("ftr()[]{}- /\\\"*")
_WIDE = set("mwMW%@")
_SAFETY = 1.25  # a browser without Arial substitutes a metric-compatible or wider font


def text_width(text: str) -> float:
    """An estimate, on the wide side, of the text's width in 11 px Arial."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 2.5
        elif char in _THIN:
            width += 3.7
        elif char in _WIDE:
            width += 9.2
        elif char.isupper():
            width += 7.4
        else:
            width += 6.2
    return width * _SAFETY


def wrap(text: str, width: float) -> list[str]:
    """The lines bpmn-js makes of the text in that width (greedy, by words)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def label_size(text: str, wrap_width: int = WRAP_WIDTH) -> tuple[int, int]:
    """(width, height) of a label's bounds: no narrower than its longest word."""
    longest = max((text_width(word) for word in text.split()), default=0.0)
    width = min(max(wrap_width, math.ceil(longest)), MAX_WIDTH)
    lines = wrap(text, width)
    width = max(math.ceil(max(text_width(line) for line in lines)), 10)
    return width, math.ceil(len(lines) * LINE_HEIGHT) + 2


def place_labels(shapes: Mapping[str, Bounds], kinds: Mapping[str, str],
                 edges: Mapping[str, Sequence[Point]], names: Mapping[str, str],
                 area: Bounds, *, own_boxes: Mapping[str, frozenset[str]] | None = None,
                 placed: Mapping[str, Bounds] | None = None) -> dict[str, Bounds]:
    """Bounds for the label of each named element (a shape or a flow), in the order given,
    clear of `placed` labels too. own_boxes: element -> the boxes it is drawn in, which
    will be grown around its label (their borders are not in its way). A label that fits
    nowhere clear of flows still avoids every shape and label."""
    boxes = {node: b for node, b in shapes.items() if kinds.get(node) == "box"}
    solid = [b for node, b in shapes.items() if kinds.get(node) != "box"]
    segments = [_segment(p, q) for points in edges.values()
                for p, q in itertools.pairwise(points)]
    before = list((placed or {}).values())
    found: dict[str, Bounds] = {}
    for element, text in names.items():
        if not text.strip():
            continue
        mine = (own_boxes or {}).get(element, frozenset())
        others = [b for node, b in boxes.items() if node not in mine]
        spots = [spot for width in WIDTHS for spot in _spots(
            element, shapes, edges, *label_size(text, width))]
        found[element] = _best(spots, solid, others, [*before, *found.values()], segments,
                               area)
    return found


def _best(spots: Sequence[Bounds], solid: Sequence[Bounds], boxes: Sequence[Bounds],
          labels: Sequence[Bounds], segments: Sequence[Bounds], area: Bounds) -> Bounds:
    """The first spot clear of shapes, labels and boxes' borders and of flows; else the
    first clear of all but flows; else the first."""
    clear = [spot for spot in spots if _free(spot, solid, boxes, labels, area)]
    quiet = [spot for spot in clear if not any(_overlap(spot, s) for s in segments)]
    return (quiet or clear or list(spots))[0]


def _spots(element: str, shapes: Mapping[str, Bounds], edges: Mapping[str, Sequence[Point]],
           width: int, height: int) -> Iterator[Bounds]:
    if element in edges:
        return _flow_spots(edges[element], width, height)
    return _node_spots(shapes[element], width, height)


def _node_spots(b: Bounds, width: int, height: int) -> Iterator[Bounds]:
    """Left of the element, then right, then above and below on either side: its flows
    come in at the top and leave at the bottom or the right."""
    middle = b.cy - height // 2
    yield Bounds(b.x - GAP - width, middle, width, height)
    yield Bounds(b.right + GAP, middle, width, height)
    yield Bounds(b.right + GAP, b.y - height, width, height)
    yield Bounds(b.x - GAP - width, b.bottom + 2, width, height)
    yield Bounds(b.x - GAP - width, b.y - height - 2, width, height)
    yield Bounds(b.right + GAP, b.bottom + 2, width, height)


def _flow_spots(points: Sequence[Point], width: int, height: int) -> Iterator[Bounds]:
    """Beside the flow's first vertical run (right, then left), just below where it
    starts; then beside its other runs."""
    runs = list(itertools.pairwise(points))
    vertical = [(p, q) for p, q in runs if p[0] == q[0] and p[1] != q[1]]
    ordered = vertical + [run for run in runs if run not in vertical]
    for p, q in ordered:
        if p[0] == q[0]:
            top = min(p[1], q[1]) + 3
            yield Bounds(p[0] + GAP, top, width, height)
            yield Bounds(p[0] - GAP - width, top, width, height)
        else:
            left = min(p[0], q[0]) + 8
            yield Bounds(left, p[1] + 3, width, height)
            yield Bounds(left, p[1] - 3 - height, width, height)


def _segment(p: Point, q: Point) -> Bounds:
    return Bounds(min(p[0], q[0]), min(p[1], q[1]), abs(p[0] - q[0]) or 1,
                  abs(p[1] - q[1]) or 1)


def _overlap(a: Bounds, b: Bounds) -> bool:
    """Whether two rectangles share any area (touching edges do not)."""
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def _inside(a: Bounds, b: Bounds) -> bool:
    return b.x <= a.x and a.right <= b.right and b.y <= a.y and a.bottom <= b.bottom


def _free(spot: Bounds, solid: Sequence[Bounds], boxes: Sequence[Bounds],
          labels: Iterable[Bounds], area: Bounds) -> bool:
    if spot.x < area.x or spot.y < area.y:
        return False
    if any(_overlap(spot, b) for b in solid):
        return False
    if any(_overlap(spot, b) and not _inside(spot, b) for b in boxes):
        return False
    return not any(_overlap(spot, b) for b in labels)
