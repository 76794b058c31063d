"""Statistical disclosure control: which counts an aggregate may show.

Every table, chart and CSV of figures about clients a commissioner or designer sees goes
through here (the dashboard; see README "Disclosure control"). The rule:

* Primary suppression: a count from 1 to threshold - 1 (default 10) is never shown; nor is any
  figure computed from it (a share, rate, interval, difference, ratio or p-value). A group's
  row is hidden as a whole (its size, its count and what follows from them), so a hidden
  count cannot be recovered from the group's size minus the rest of the row.
* Zero is shown. A zero says nobody in a group of at least `threshold` (or in no group at all)
  has the outcome; it names no one. A shown zero is a known value for the subtraction attack
  below, so it never protects a hidden cell on its own.
* Secondary suppression: every total is taken to be known (shown, or derivable from another
  table of the same population). A partition with exactly one hidden group would give it
  away by subtraction, so a second group is hidden too: the smallest, preferring one that is
  not all zeros. In a two-way table (`suppress_table`) hiding continues until no hidden cell
  follows from the known row and column totals by any sum or difference of them.

Hidden values are shown as SUPPRESSED, the same word for primary and secondary suppression,
so the reader cannot tell which cells are the small ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

DEFAULT_THRESHOLD = 10
SUPPRESSED = "suppressed"

Cell = tuple[int, int]


def small(value: float | None, threshold: int) -> bool:
    """A count that must not be shown: more than zero and under the threshold."""
    return value is not None and 0 < value < threshold


def suppress_groups(groups: Sequence[Sequence[float]], threshold: int, *,
                    forced: Collection[int] = ()) -> frozenset[int]:
    """The groups (rows) of one partition to hide. Each group is its counts (e.g. its size,
    its count with the outcome and without it); every column's total is taken to be known.
    Hidden: every group with a small count, every group in `forced` (hidden for another
    reason), and, if that leaves exactly one hidden among several, the smallest other."""
    hidden = {i for i, cells in enumerate(groups) if any(small(c, threshold) for c in cells)}
    hidden |= set(forced)
    if len(hidden) == 1 and len(groups) > 1:
        others = [i for i in range(len(groups)) if i not in hidden]
        hidden.add(min(others, key=lambda i: (all(c == 0 for c in groups[i]),
                                              sum(groups[i]), i)))
    return frozenset(hidden)


def suppress_table(matrix: Sequence[Sequence[float]], threshold: int, *,
                   known_rows: Sequence[bool] | None = None,
                   known_columns: Sequence[bool] | None = None,
                   forced: Collection[Cell] = ()) -> frozenset[Cell]:
    """The cells of a two-way table of counts to hide, given which row and column totals are
    known (default: all). Small cells and `forced` cells are hidden; then, while a hidden
    cell can be worked out exactly from the shown cells and the known totals (it is fixed by
    the linear equations the totals give), another cell is hidden: one in its row or column,
    the smallest that stops it being fixed (else the smallest there, a step towards a
    cycle). A cell the totals alone fix is left as it is: its total is as small as it is."""
    rows = len(matrix)
    columns = len(matrix[0]) if rows else 0
    row_known = list(known_rows) if known_rows is not None else [True] * rows
    column_known = list(known_columns) if known_columns is not None else [True] * columns
    everything = {(r, c) for r in range(rows) for c in range(columns)}
    hidden = {cell for cell in everything if small(matrix[cell[0]][cell[1]], threshold)}
    hidden |= set(forced)
    # cells the known totals fix even with every cell hidden: they equal a total (e.g. the
    # only month of a row whose total is known), which is then as small as they are and not
    # shown; hiding more would protect nothing
    hopeless = set(determined_cells(everything, rows, columns, row_known, column_known))
    while True:
        fixed = next((cell for cell in determined_cells(hidden, rows, columns, row_known,
                                                        column_known)
                      if cell not in hopeless), None)
        if fixed is None:
            return frozenset(hidden)
        hidden.add(_next_to_hide(matrix, fixed, hidden, everything, row_known, column_known))


def _next_to_hide(matrix: Sequence[Sequence[float]], fixed: Cell, hidden: set[Cell],
                  everything: Collection[Cell], known_rows: Sequence[bool],
                  known_columns: Sequence[bool]) -> Cell:
    """The shown cell to hide so that `fixed` stops being fixed: in its row or column first,
    the smallest (a zero last) that does it; if none does, the first of them (a step towards
    a cycle)."""
    r, c = fixed

    def smallest_first(cell: Cell) -> tuple[bool, float, int, int]:
        value = matrix[cell[0]][cell[1]]
        return (value == 0, value, *cell)

    shown = [cell for cell in everything if cell not in hidden]
    near = sorted((cell for cell in shown if cell[0] == r or cell[1] == c), key=smallest_first)
    rest = sorted((cell for cell in shown if cell[0] != r and cell[1] != c),
                  key=smallest_first)
    candidates = near + rest
    rows, columns = len(known_rows), len(known_columns)
    return next((cell for cell in candidates
                 if not _determined(fixed, hidden | {cell}, rows, columns, known_rows,
                                    known_columns)), candidates[0])


def determined_cells(hidden: Collection[Cell], rows: int, columns: int,
                     known_rows: Sequence[bool], known_columns: Sequence[bool]
                     ) -> list[Cell]:
    """The hidden cells that the known totals fix exactly (empty: the suppression holds).

    A cell is fixed when its unit vector lies in the span of the equations (one per known
    row or column, over the hidden cells in it). Those equations are a bipartite graph's:
    rows and columns are its vertices, hidden cells its edges, a known total a constraint
    on a vertex. Taking every unknown total as one unconstrained vertex, a cell's value can
    move (the equations leave it free) exactly when its edge lies on a cycle; it is fixed
    exactly when its edge is a bridge. Found in one pass for every cell, exactly, where a
    matrix rank per cell made a few years of monthly activity take minutes (issue 12,
    item 9); tests/unit/engine/test_disclosure.py checks it against the rank definition."""
    order = sorted(hidden)
    free = -1  # the vertex every unknown total stands for

    def vertex(side: int, number: int, known: Sequence[bool]) -> int:
        return 2 * number + side if known[number] else free

    ends = [(vertex(0, r, known_rows), vertex(1, c, known_columns)) for r, c in order]
    return [order[k] for k in sorted(_bridges(ends))]


def _bridges(ends: Sequence[tuple[int, int]]) -> set[int]:
    """The edges (by index) of a multigraph that lie on no cycle (Tarjan's low-link, without
    recursion; a loop or a parallel edge is never a bridge)."""
    around: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for index, (a, b) in enumerate(ends):
        if a != b:
            around[a].append((b, index))
            around[b].append((a, index))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    found: set[int] = set()
    for root in around:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # vertex, edge in, next neighbour
        while stack:
            node, came_by, position = stack[-1]
            if position < len(around[node]):
                stack[-1] = (node, came_by, position + 1)
                other, edge = around[node][position]
                if edge == came_by:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = len(order)
                    stack.append((other, edge, 0))
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > order[parent]:
                    found.add(came_by)
    return found


def _determined(cell: Cell, hidden: Collection[Cell], rows: int, columns: int,
                known_rows: Sequence[bool], known_columns: Sequence[bool]) -> bool:
    """Whether the known totals fix `cell` (see determined_cells)."""
    return cell in determined_cells(hidden, rows, columns, known_rows, known_columns)


# -- what a table may be split by -------------------------------------------------------------

MAX_SPLIT_VALUES = 12


def splittable_fields(schemas: Iterable[Mapping[str, Any]], sensitive: Collection[str]
                      ) -> frozenset[str]:
    """The form fields an aggregate may be split by: in every form that has it, a yes/no, one
    of a fixed list of options, or a whole number with a range of at most MAX_SPLIT_VALUES
    values; never free text (a text answer can name or describe a person) and never a field
    marked sensitive (health or offence) in any form or listed in `sensitive`. No role may
    split by the others: the dashboard is for every viewer the same aggregate view."""
    kinds: dict[str, bool] = {}
    for schema in schemas:
        for name, prop in (schema.get("properties") or {}).items():
            ok = isinstance(prop, Mapping) and _categorical(prop) \
                and not prop.get("x-pathways-sensitive")
            kinds[name] = kinds.get(name, True) and ok
    return frozenset(name for name, ok in kinds.items() if ok and name not in sensitive)


def _categorical(prop: Mapping[str, Any]) -> bool:
    if prop.get("type") == "boolean":
        return True
    if isinstance(prop.get("enum"), list) and prop.get("type") in ("string", "integer", None):
        return len(prop["enum"]) <= MAX_SPLIT_VALUES * 2
    if prop.get("type") == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        return isinstance(low, int) and isinstance(high, int) \
            and 0 <= high - low < MAX_SPLIT_VALUES
    return False
