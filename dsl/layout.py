"""Top-to-bottom BPMN diagram layout for compiled pathways.

A pathway is read down the page, one step a row, with a vertical lane (a column) per role
that has a step: however long the pathway, its width is its roles and parallel branches,
so a 30-step pathway fits a laptop screen (1366 px) at 70% zoom and more. BPMN DI gives a
lane one rectangle, so rows that wrap like text cannot keep lanes; vertical lanes can.

The compiler describes the flow as a tree of blocks (a sequence, a fork with its branches and
join, a gateway with side exits, an expanded subprocess) because that is how a pathway is
written. The layout walks that tree once:

* ranks (`col` below): each flow node takes the next row of its line; branches run side by
  side and their join takes the row after the longest branch;
* tracks: the main line is track 0, each branch of a fork goes right of the previous one
  (a branch is as wide as its own nested branches);
* lanes: every role with a step is a vertical band; a node sits in its lane, in the column of
  its track within that lane (columns are only made for the tracks a lane uses, and a role
  with no step gets no lane);
* expanded subprocesses are boxes around their children, with room kept for their borders
  on both axes.

Sequence flows get orthogonal waypoints; every external label (an event's or gateway's
name, a branch's condition) gets bounds where it overlaps no shape and no other label
(dsl/labels.py). SpiffWorkflow reads the diagram too: it tries an exclusive gateway's
conditions in the vertical order of their targets, which is why the compiler checks the
positions this module returns (see dsl/compile.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)
_SIZES = {"task": TASK_SIZE, "event": EVENT_SIZE, "gateway": GATEWAY_SIZE}

RANK_HEIGHT = 120  # from one step's centre to the next one's, down the page
TRACK_WIDTH = 180  # a column of a lane: a task and room beside it for labels
BOX_PAD = 20  # space between an expanded subprocess's border and its children
POOL_X = 100
POOL_Y = 80
POOL_HEADER = 30  # the pool's name strip, above the lanes
LANE_HEADER = 30  # each lane's name strip, above its steps
CONTENT_MARGIN = 20  # between a lane's header and the first row, and after the last row

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


@dataclass(frozen=True)
class Attached:
    """Events on the border of an expanded subprocess: `main` (the box, and what follows it
    up to the join) on the line, and beside it each event's path, whose first item is its
    event's Leaf (a boundary event, drawn on the box's right border); then the join, None
    when no path and not the main line reach one."""

    main: Seq
    box: str
    paths: tuple[Seq, ...]
    join: str | None


Block = Leaf | Seq | Fork | Exits | Box | Attached


@dataclass(frozen=True)
class Shape:
    """What the layout needs to know of a flow node: its kind ("task", "event", "gateway" or
    "box") and the lane it is drawn in (None only for a box that spans several lanes)."""

    kind: str
    lane: str | None


@dataclass(frozen=True)
class Diagram:
    pool: Bounds
    lanes: dict[str, Bounds]  # only the lanes with a step, left to right
    shapes: dict[str, Bounds]
    edges: dict[str, list[Point]]
    labels: dict[str, Bounds] = field(default_factory=dict)  # element id -> its label


@dataclass
class _Placement:
    cells: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # col, track, depth
    children: dict[str, list[str]] = field(default_factory=dict)  # box -> direct children
    first_leaf: dict[str, str] = field(default_factory=dict)  # box -> its start event
    # an empty branch: flow -> (split, track, depth, enclosing box)
    virtual: dict[str, tuple[str, int, int, str | None]] = field(default_factory=dict)
    max_col: int = 0
    attached: dict[str, str] = field(default_factory=dict)  # boundary event -> its box


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
            offset, end = 1, col + 2
            for side in block.exits:
                side_end, side_height = self.place(side, col + 1, track + offset, depth, box)
                offset += side_height
                end = max(end, side_end)
            # the main line skips the exits' columns (a task's reminder path is several long),
            # so that a split there cannot run its branches down through them
            return end, offset
        if isinstance(block, Attached):
            return self.place_attached(block, col, track, depth, box)
        # Box
        self._put(block.node, col, track, depth, box)
        first = _first_leaf(block.body)
        if first is None:
            raise ValueError(f"layout: subprocess {block.node!r} is empty")
        self.out.first_leaf[block.node] = first
        return self.place(block.body, col, track, depth + 1, block.node)


    def place_attached(self, block: Attached, col: int, track: int, depth: int,
                       box: str | None) -> tuple[int, int]:
        """The main line, then each path a track further right: its event a row lower
        than the one before, so the events stack down the box's border, and its steps from
        the row after the last event and after the box, so that no event sits beside another
        path's step and no box is drawn over one."""
        end, offset = self.place(block.main, col, track, depth, box)
        # below the box too: a box spanning several lanes would otherwise be drawn over a
        # path's steps in a lane it crosses
        below = max(col + 1 + len(block.paths), end)
        for index, path in enumerate(block.paths):
            event, rest = path.items[0], Seq(path.items[1:])
            assert isinstance(event, Leaf)
            self.out.attached[event.node] = block.box
            self._put(event.node, col + 1 + index, track + offset, depth, box)
            path_end, height = self.place(rest, below, track + offset, depth, box)
            end, offset = max(end, path_end), offset + height
        if block.join is None:
            return end, offset
        self._put(block.join, end, track, depth, box)
        return end + 1, offset


def _first_leaf(block: Block) -> str | None:
    if isinstance(block, Leaf):
        return block.node
    if isinstance(block, Seq):
        return _first_leaf(block.items[0]) if block.items else None
    if isinstance(block, Fork | Exits):
        return block.split
    if isinstance(block, Attached):
        return _first_leaf(block.main)
    return block.node


def _track_width(depth: int) -> int:
    return TRACK_WIDTH + 2 * BOX_PAD * depth


def layout(root: Seq, shapes: Mapping[str, Shape], lanes: Sequence[str],
           flows: Iterable[tuple[str, str, str]],
           names: Mapping[str, str] | None = None,
           attached: Mapping[str, str] | None = None) -> Diagram:
    """Positions for every node in `root`, every lane with a node, waypoints for every flow
    and bounds for the label of every element named in `names` (events, gateways, flows).

    `flows` are (flow id, source, target); `attached`: boundary event -> its task, drawn on
    the task's border (placed like any node first, which leaves its path room). Raises
    ValueError if a node is placed twice, has
    no shape, or sits in a lane that is not listed.
    """
    placer = _Placer(shapes)
    placer.place(root, 0, 0, 0, None)
    placed = placer.out
    order, track_x = _columns(_tracks_used(placed, shapes, lanes), lanes)
    flow_list = list(flows)
    names = names or {}
    drawing = _Drawing(placed, shapes, track_x,
                       _rank_centres(placed, shapes, _label_room(placed, flow_list, names)),
                       Counter(source for _, source, _ in flow_list), attached=attached or {})
    drawing.place_nodes()
    drawing.wrap_boxes({})
    labels, edges = drawing.label(flow_list, names)
    pool, lane_bounds = _pool_and_lanes(order, [*drawing.bounds.values(), *labels.values()])
    return Diagram(pool=pool, lanes=lane_bounds, shapes=drawing.bounds, edges=edges,
                   labels=labels)


def _pool_and_lanes(order: Sequence[tuple[str, int, int]], drawn: Sequence[Bounds]
                    ) -> tuple[Bounds, dict[str, Bounds]]:
    """The pool around everything drawn; its lanes side by side, the last one to its right
    edge, all down to its bottom."""
    right = max(b.right for b in drawn) + CONTENT_MARGIN
    bottom = max(b.bottom for b in drawn) + CONTENT_MARGIN
    pool = Bounds(POOL_X, POOL_Y, max(right, order[-1][2] if order else 0) - POOL_X,
                  bottom - POOL_Y)
    lane_bounds = {}
    for index, (lane, left, lane_right) in enumerate(order):
        lane_right = pool.right if index == len(order) - 1 else lane_right
        lane_bounds[lane] = Bounds(left, POOL_Y + POOL_HEADER, lane_right - left,
                                   pool.bottom - POOL_Y - POOL_HEADER)
    return pool, lane_bounds


def _tracks_used(placed: _Placement, shapes: Mapping[str, Shape],
                 lanes: Sequence[str]) -> dict[str, dict[int, int]]:
    """lane -> track -> the deepest box nesting on it: each column wide enough for its
    boxes."""
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


def _box_ranks(placed: _Placement, box: str) -> tuple[int, int]:
    """The first and last rank a box's children (and theirs) take."""
    ranks = []
    for child in placed.children.get(box, []):
        ranks.append(placed.cells[child][0])
        if child in placed.children:
            ranks.extend(_box_ranks(placed, child))
    ranks += [placed.cells[split][0] for split, _, _, owner in placed.virtual.values()
              if owner == box]
    return min(ranks), max(ranks)


def _label_room(placed: _Placement, flows: Sequence[tuple[str, str, str]],
                names: Mapping[str, str]) -> dict[int, int]:
    """rank -> the extra height needed above it for the tallest condition label of a flow
    from the rank before (a long condition takes more lines than a row's gap holds)."""
    from dsl.labels import label_size

    gap = RANK_HEIGHT - GATEWAY_SIZE[1] // 2 - TASK_SIZE[1] // 2 - 8
    room: dict[int, int] = {}
    for flow, source, _ in flows:
        if flow in names and source in placed.cells:
            rank = placed.cells[source][0] + 1
            height = min(label_size(names[flow], width)[1] for width in (120, 150))
            room[rank] = max(room.get(rank, 0), height - gap)
    return room


def _rank_centres(placed: _Placement, shapes: Mapping[str, Shape],
                  room: Mapping[int, int]) -> list[int]:
    """The centre y of each rank: RANK_HEIGHT apart, plus room for each box border that
    starts or ends between two ranks and for long labels."""
    borders = [0] * (placed.max_col + 2)
    for node in placed.cells:
        if shapes[node].kind == "box" and placed.children.get(node):
            first, last = _box_ranks(placed, node)
            borders[first] += 1
            borders[last + 1] += 1
    y = POOL_Y + POOL_HEADER + LANE_HEADER + CONTENT_MARGIN + TASK_SIZE[1] // 2
    centres = []
    for rank in range(placed.max_col + 1):
        y += BOX_PAD * borders[rank] + max(room.get(rank, 0), 0)
        centres.append(y)
        y += RANK_HEIGHT
    return centres


def _columns(used: Mapping[str, Mapping[int, int]], lanes: Sequence[str]
             ) -> tuple[list[tuple[str, int, int]], dict[tuple[str, int], int]]:
    """(each lane with a step, with its left and right x, left to right; the centre x of
    each (lane, track) column)."""
    order: list[tuple[str, int, int]] = []
    track_x: dict[tuple[str, int], int] = {}
    x = POOL_X
    for lane in lanes:
        tracks = sorted(used[lane])
        if not tracks:
            continue
        left = x
        for track in tracks:
            width = _track_width(used[lane][track])
            track_x[(lane, track)] = x + width // 2
            x += width
        order.append((lane, left, x))
    return order, track_x


BACK_EDGE_GUTTER = 20  # how far left of its ends a back edge runs up


@dataclass
class _Drawing:
    """Bounds for the placed nodes and boxes, then the waypoints of each flow."""

    placed: _Placement
    shapes: Mapping[str, Shape]
    track_x: Mapping[tuple[str, int], int]
    rank_y: Sequence[int]
    outgoing: Mapping[str, int]  # node -> how many flows leave it
    bounds: dict[str, Bounds] = field(default_factory=dict)
    attached: Mapping[str, str] = field(default_factory=dict)  # boundary event -> its task

    def place_nodes(self) -> None:
        for node, (col, track, _) in self.placed.cells.items():
            shape = self.shapes[node]
            if shape.kind == "box":
                continue
            w, h = _SIZES[shape.kind]
            assert shape.lane is not None
            cx = self.track_x[(shape.lane, track)]
            cy = self.rank_y[col]
            self.bounds[node] = Bounds(cx - w // 2, cy - h // 2, w, h)
        self.on_borders()

    def on_borders(self) -> None:
        """Each boundary event on its task's border, clear of the flow leaving the task's
        bottom centre: the first at the bottom right corner, the next up the right side."""
        seen: Counter[str] = Counter()
        for event, task in self.attached.items():
            host, own = self.bounds[task], self.bounds[event]
            k = seen[task]
            seen[task] += 1
            cx = host.right - own.width // 2 - 4 if k == 0 else host.right
            cy = host.bottom if k == 0 else host.y + own.height // 2 + 4 + (k - 1) * 40
            self.bounds[event] = Bounds(cx - own.width // 2, cy - own.height // 2,
                                        own.width, own.height)

    def virtual_x(self, flow: str) -> int:
        split, track, _, _ = self.placed.virtual[flow]
        lane = self.shapes[split].lane
        assert lane is not None
        return self.track_x[(lane, track)]

    def label(self, flows: Sequence[tuple[str, str, str]], names: Mapping[str, str]
              ) -> tuple[dict[str, Bounds], dict[str, list[Point]]]:
        """Bounds for every label: those inside a box first, then the box is grown around
        them, then the rest (clear of the grown boxes); and the flows' waypoints to the
        grown boxes."""
        from dsl.labels import place_labels

        area = Bounds(POOL_X + 2, POOL_Y + POOL_HEADER + LANE_HEADER + 2, 10**6, 10**6)
        kinds = {n: s.kind for n, s in self.shapes.items()}
        within = self.innermost_boxes(flows)
        around = {e: self.boxes_around(e, within) for e in names if within.get(e)}
        edges = {flow: self.edge(flow, source, target) for flow, source, target in flows}
        labels = place_labels(self.bounds, kinds, edges,
                              {e: t for e, t in names.items() if e in around}, area,
                              own_boxes=around)
        before = {event: self.bounds[event] for event in self.placed.attached}
        self.wrap_boxes({box: [labels[e] for e, boxes in around.items()
                               if box in boxes and e in labels]
                         for box in self.placed.children})
        self.move_labels_along(before, labels)
        edges = {flow: self.edge(flow, source, target) for flow, source, target in flows}
        labels.update(place_labels(self.bounds, kinds, edges,
                                   {e: t for e, t in names.items() if e not in around},
                                   area, placed=labels))
        return labels, edges

    def move_labels_along(self, before: Mapping[str, Bounds],
                          labels: dict[str, Bounds]) -> None:
        """A box grown around its labels took its border events along: their labels too."""
        for event, was in before.items():
            now, label = self.bounds[event], labels.get(event)
            if label is not None and now != was:
                labels[event] = Bounds(label.x + now.x - was.x, label.y + now.y - was.y,
                                       label.width, label.height)

    @cached_property
    def parents(self) -> dict[str, str]:
        """node -> the box it is directly in (placement is done: computed once)."""
        return {child: box for box, children in self.placed.children.items()
                for child in children}

    def innermost_boxes(self, flows: Sequence[tuple[str, str, str]]) -> dict[str, str]:
        """node or flow -> the box it is drawn in (a flow: when both its ends are)."""
        parent = self.parents
        within = dict(parent)
        for flow, source, target in flows:
            if source in parent and parent[source] == parent.get(target):
                within[flow] = parent[source]
        return within

    def boxes_around(self, element: str, within: Mapping[str, str]) -> frozenset[str]:
        parent = self.parents
        found = set()
        box = within.get(element)
        while box is not None:
            found.add(box)
            box = parent.get(box)
        return frozenset(found)

    def wrap_boxes(self, labels: Mapping[str, Sequence[Bounds]]) -> None:
        """Each box around its children, their labels and its inner boxes."""
        placed, bounds = self.placed, self.bounds
        boxes = sorted((n for n in placed.cells if self.shapes[n].kind == "box"),
                       key=lambda n: -placed.cells[n][2])
        for box in boxes:  # innermost first, so an outer box wraps the inner ones
            inner = [bounds[child] for child in placed.children.get(box, [])]
            inner += labels.get(box, [])
            inner += [Bounds(self.virtual_x(flow), bounds[split].cy, 1, 1)  # empty branches
                      for flow, (split, _, _, owner) in placed.virtual.items() if owner == box]
            left = min(b.x for b in inner) - BOX_PAD
            top = min(b.y for b in inner) - BOX_PAD
            right = max(b.right for b in inner) + BOX_PAD
            bottom = max(b.bottom for b in inner) + BOX_PAD
            bounds[box] = Bounds(left, top, right - left, bottom - top)
            self.on_border(box)

    def on_border(self, box: str) -> None:
        """The box's boundary events onto its right border, each level with its row (kept
        within the box's height)."""
        outline = self.bounds[box]
        for event, owner in self.placed.attached.items():
            if owner != box:
                continue
            w, h = EVENT_SIZE
            cy = min(max(self.bounds[event].cy, outline.y + h), outline.bottom - h)
            self.bounds[event] = Bounds(outline.right - w // 2, cy - h // 2, w, h)

    def anchor_x(self, node: str) -> int:
        while self.shapes[node].kind == "box":
            node = self.placed.first_leaf[node]
        return self.bounds[node].cx

    def virtual_edge(self, flow: str, s: Bounds, t: Bounds, sx: int, tx: int) -> list[Point]:
        """An empty branch's flow, down its own track from the split to the join."""
        vx = self.virtual_x(flow)
        if vx == sx == tx:
            return [(sx, s.bottom), (tx, t.y)]
        return [(s.right if vx > sx else s.x, s.cy), (vx, s.cy), (vx, t.cy),
                (t.right if vx > tx else t.x, t.cy)]

    def edge(self, flow: str, source: str, target: str) -> list[Point]:
        s, t = self.bounds[source], self.bounds[target]
        sx, tx = self.anchor_x(source), self.anchor_x(target)
        # a task's reminder: out to the side, then down
        if (source in self.attached or (source in self.placed.attached and sx != tx)) \
                and tx > s.right:
            return [(s.right, s.cy), (tx, s.cy), (tx, t.y)]
        if self.placed.cells[target][0] < self.placed.cells[source][0]:
            # a go_to's back edge: out of the left corner, up the left side, into the merge
            gutter = min(s.x, t.x) - BACK_EDGE_GUTTER
            return [(s.x, s.cy), (gutter, s.cy), (gutter, t.cy), (t.x, t.cy)]
        if flow in self.placed.virtual:
            return self.virtual_edge(flow, s, t, sx, tx)
        if sx == tx:
            return [(sx, s.bottom), (tx, t.y)]
        if self.shapes[source].kind == "gateway" and self.outgoing[source] > 1:
            return [(s.right if tx > sx else s.x, s.cy), (tx, s.cy), (tx, t.y)]
        if self.shapes[target].kind == "gateway" and self.outgoing[target] <= 1:
            return [(sx, s.bottom), (sx, t.cy), (t.right if sx > tx else t.x, t.cy)]
        mid = (s.bottom + t.y) // 2
        return [(sx, s.bottom), (sx, mid), (tx, mid), (tx, t.y)]
