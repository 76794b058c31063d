"""Left-to-right BPMN diagram layout for compiled pathways.

The compiler describes the flow as a tree of blocks (a sequence, a fork with its branches and
join, a gateway with side exits, an expanded subprocess) because that is how a pathway is
written. The layout walks that tree once:

* columns: each flow node takes the next column of its line; branches run side by side and
  their join takes the column after the longest branch;
* tracks: the main line is track 0, each branch of a fork stacks below the previous one
  (a branch is as tall as its own nested branches);
* lanes: every role is a horizontal band; a node sits in its lane's band, on the row of its
  track within that band (rows are only made for the tracks a lane actually uses);
* expanded subprocesses are boxes around their children, with room kept on each row for the
  boxes' borders.

Sequence flows get orthogonal waypoints. SpiffWorkflow reads the diagram too: it tries an
exclusive gateway's conditions in the vertical order of their targets, which is why the
compiler checks the positions this module returns (see dsl/compile.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)
_SIZES = {"task": TASK_SIZE, "event": EVENT_SIZE, "gateway": GATEWAY_SIZE}

COLUMN_WIDTH = 150
ROW_HEIGHT = 120
BOX_PAD = 20  # space between an expanded subprocess's border and its children
POOL_X = 100
POOL_Y = 80
POOL_HEADER = 30  # the pool's name strip, left of the lanes
CONTENT_MARGIN = 20  # between a lane's left edge and column 0, and after the last column
EMPTY_LANE_HEIGHT = ROW_HEIGHT

Point = tuple[int, int]


@dataclass(frozen=True)
class Bounds:
    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def cx(self) -> int:
        return self.x + self.width // 2

    @property
    def cy(self) -> int:
        return self.y + self.height // 2


@dataclass(frozen=True)
class Leaf:
    """One flow node."""

    node: str


@dataclass(frozen=True)
class Seq:
    """Blocks one after another."""

    items: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Fork:
    """A split gateway, its branches stacked top to bottom, and the join (None when every
    branch ends). An empty branch is given as the id of the flow from split to join."""

    split: str
    branches: tuple[Seq | str, ...]
    join: str | None


@dataclass(frozen=True)
class Exits:
    """A gateway whose main line carries straight on, with side branches below it."""

    split: str
    exits: tuple[Seq, ...]


@dataclass(frozen=True)
class Box:
    """An expanded subprocess drawn around its body."""

    node: str
    body: Seq


Block = Leaf | Seq | Fork | Exits | Box


@dataclass(frozen=True)
class Shape:
    """What the layout needs to know of a flow node: its kind ("task", "event", "gateway" or
    "box") and the lane it is drawn in (None only for a box that spans several lanes)."""

    kind: str
    lane: str | None


@dataclass(frozen=True)
class Diagram:
    pool: Bounds
    lanes: dict[str, Bounds]
    shapes: dict[str, Bounds]
    edges: dict[str, list[Point]]


@dataclass
class _Placement:
    cells: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # col, track, depth
    children: dict[str, list[str]] = field(default_factory=dict)  # box -> direct children
    first_leaf: dict[str, str] = field(default_factory=dict)  # box -> its start event
    # an empty branch: flow -> (split, track, depth, enclosing box)
    virtual: dict[str, tuple[str, int, int, str | None]] = field(default_factory=dict)
    max_col: int = 0


class _Placer:
    def __init__(self, shapes: Mapping[str, Shape]) -> None:
        self.shapes = shapes
        self.out = _Placement()

    def _put(self, node: str, col: int, track: int, depth: int, box: str | None) -> None:
        if node not in self.shapes:
            raise ValueError(f"layout: no shape for {node!r}")
        if node in self.out.cells:
            raise ValueError(f"layout: {node!r} placed twice")
        self.out.cells[node] = (col, track, depth)
        self.out.max_col = max(self.out.max_col, col)
        if box is not None:
            self.out.children.setdefault(box, []).append(node)

    def place(self, block: Block, col: int, track: int, depth: int,
              box: str | None) -> tuple[int, int]:
        """Place a block with its first node at (col, track); return (next column, height)."""
        if isinstance(block, Leaf):
            self._put(block.node, col, track, depth, box)
            return col + 1, 1
        if isinstance(block, Seq):
            height = 1
            for item in block.items:
                col, item_height = self.place(item, col, track, depth, box)
                height = max(height, item_height)
            return col, height
        if isinstance(block, Fork):
            self._put(block.split, col, track, depth, box)
            offset, end = 0, col + 1
            for branch in block.branches:
                if isinstance(branch, str):
                    self.out.virtual[branch] = (block.split, track + offset, depth, box)
                    offset += 1
                    continue
                if not branch.items:
                    offset += 1
                    continue
                branch_end, branch_height = self.place(branch, col + 1, track + offset, depth,
                                                       box)
                end = max(end, branch_end)
                offset += branch_height
            if block.join is None:
                return end, max(offset, 1)
            self._put(block.join, end, track, depth, box)
            return end + 1, max(offset, 1)
        if isinstance(block, Exits):
            self._put(block.split, col, track, depth, box)
            offset = 1
            for side in block.exits:
                _, side_height = self.place(side, col + 1, track + offset, depth, box)
                offset += side_height
            # the main line skips the exits' column, so that a split there cannot run its
            # branches down through them
            return col + 2, offset
        # Box
        self._put(block.node, col, track, depth, box)
        first = _first_leaf(block.body)
        if first is None:
            raise ValueError(f"layout: subprocess {block.node!r} is empty")
        self.out.first_leaf[block.node] = first
        return self.place(block.body, col, track, depth + 1, block.node)


def _first_leaf(block: Block) -> str | None:
    if isinstance(block, Leaf):
        return block.node
    if isinstance(block, Seq):
        return _first_leaf(block.items[0]) if block.items else None
    if isinstance(block, Fork | Exits):
        return block.split
    return block.node


def _row_height(depth: int) -> int:
    return ROW_HEIGHT + 2 * BOX_PAD * depth


def layout(root: Seq, shapes: Mapping[str, Shape], lanes: Sequence[str],
           flows: Iterable[tuple[str, str, str]]) -> Diagram:
    """Positions for every node in `root`, every lane, and waypoints for every flow.

    `flows` are (flow id, source, target). Raises ValueError if a node is placed twice, has
    no shape, or sits in a lane that is not listed.
    """
    placer = _Placer(shapes)
    placer.place(root, 0, 0, 0, None)
    placed = placer.out
    width = (placed.max_col + 1) * COLUMN_WIDTH + 2 * CONTENT_MARGIN
    pool, lane_bounds, row_center = _rows(_tracks_used(placed, shapes, lanes), lanes, width)
    drawing = _Drawing(placed, shapes, row_center)
    drawing.place_nodes()
    drawing.wrap_boxes()
    edges = {flow: drawing.edge(flow, source, target) for flow, source, target in flows}
    return Diagram(pool=pool, lanes=lane_bounds, shapes=drawing.bounds, edges=edges)


def _tracks_used(placed: _Placement, shapes: Mapping[str, Shape],
                 lanes: Sequence[str]) -> dict[str, dict[int, int]]:
    """lane -> track -> the deepest box nesting on it: each row tall enough for its boxes."""
    used: dict[str, dict[int, int]] = {lane: {} for lane in lanes}

    def use(lane: str | None, track: int, depth: int, what: str) -> None:
        if lane is None:
            return
        if lane not in used:
            raise ValueError(f"layout: {what!r} is in unknown lane {lane!r}")
        used[lane][track] = max(used[lane].get(track, 0), depth)

    for node, (_, track, depth) in placed.cells.items():
        if shapes[node].kind != "box":
            use(shapes[node].lane, track, depth, node)
    for flow, (split, track, depth, _) in placed.virtual.items():
        use(shapes[split].lane, track, depth, flow)
    return used


def _rows(used: Mapping[str, Mapping[int, int]], lanes: Sequence[str], width: int
          ) -> tuple[Bounds, dict[str, Bounds], dict[tuple[str, int], int]]:
    """(the pool, each lane's bounds, the centre y of each (lane, track) row)."""
    lane_x = POOL_X + POOL_HEADER
    lane_bounds: dict[str, Bounds] = {}
    row_center: dict[tuple[str, int], int] = {}
    y = POOL_Y
    for lane in lanes:
        tracks = sorted(used[lane])
        top = y
        for track in tracks:
            height = _row_height(used[lane][track])
            row_center[(lane, track)] = y + height // 2
            y += height
        if not tracks:
            y += EMPTY_LANE_HEIGHT
        lane_bounds[lane] = Bounds(lane_x, top, width, y - top)
    pool = Bounds(POOL_X, POOL_Y, width + POOL_HEADER, y - POOL_Y)
    return pool, lane_bounds, row_center


@dataclass
class _Drawing:
    """Bounds for the placed nodes and boxes, then the waypoints of each flow."""

    placed: _Placement
    shapes: Mapping[str, Shape]
    row_center: Mapping[tuple[str, int], int]
    bounds: dict[str, Bounds] = field(default_factory=dict)

    def place_nodes(self) -> None:
        content_left = POOL_X + POOL_HEADER + CONTENT_MARGIN
        for node, (col, track, _) in self.placed.cells.items():
            shape = self.shapes[node]
            if shape.kind == "box":
                continue
            w, h = _SIZES[shape.kind]
            assert shape.lane is not None
            cx = content_left + col * COLUMN_WIDTH + COLUMN_WIDTH // 2
            cy = self.row_center[(shape.lane, track)]
            self.bounds[node] = Bounds(cx - w // 2, cy - h // 2, w, h)

    def virtual_y(self, flow: str) -> int:
        split, track, _, _ = self.placed.virtual[flow]
        lane = self.shapes[split].lane
        assert lane is not None
        return self.row_center[(lane, track)]

    def wrap_boxes(self) -> None:
        placed, bounds = self.placed, self.bounds
        boxes = sorted((n for n in placed.cells if self.shapes[n].kind == "box"),
                       key=lambda n: -placed.cells[n][2])
        for box in boxes:  # innermost first, so an outer box wraps the inner ones
            inner = [bounds[child] for child in placed.children.get(box, [])]
            inner += [Bounds(bounds[split].cx, self.virtual_y(flow), 1, 1)  # empty branches
                      for flow, (split, _, _, owner) in placed.virtual.items() if owner == box]
            left = min(b.x for b in inner) - BOX_PAD
            top = min(b.y for b in inner) - BOX_PAD
            right = max(b.right for b in inner) + BOX_PAD
            bottom = max(b.bottom for b in inner) + BOX_PAD
            bounds[box] = Bounds(left, top, right - left, bottom - top)

    def anchor_y(self, node: str) -> int:
        while self.shapes[node].kind == "box":
            node = self.placed.first_leaf[node]
        return self.bounds[node].cy

    def edge(self, flow: str, source: str, target: str) -> list[Point]:
        s, t = self.bounds[source], self.bounds[target]
        sy, ty = self.anchor_y(source), self.anchor_y(target)
        if flow in self.placed.virtual:
            vy = self.virtual_y(flow)
            if vy == sy == ty:
                return [(s.right, sy), (t.x, ty)]
            return [(s.cx, s.bottom if vy > sy else s.y), (s.cx, vy), (t.cx, vy),
                    (t.cx, t.bottom if vy > ty else t.y)]
        if sy == ty:
            return [(s.right, sy), (t.x, ty)]
        if self.shapes[source].kind == "gateway":
            return [(s.cx, s.bottom if ty > sy else s.y), (s.cx, ty), (t.x, ty)]
        if self.shapes[target].kind == "gateway":
            return [(s.right, sy), (t.cx, sy), (t.cx, t.bottom if sy > ty else t.y)]
        mid = (s.right + t.x) // 2
        return [(s.right, sy), (mid, sy), (mid, ty), (t.x, ty)]
