"""The disclosure-control rule (engine.outcomes.disclosure): small counts hidden, and hidden counts
not recoverable by subtraction from what is shown and the totals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.outcomes.disclosure import determined_cells, small, suppress_groups, suppress_table

T = 10
counts = st.one_of(st.integers(0, 3), st.integers(0, 40))


def test_small_is_one_to_threshold_minus_one() -> None:
    assert [v for v in range(12) if small(v, T)] == list(range(1, 10))
    assert not small(None, T) and not small(0, T) and not small(10, T)


def test_one_hidden_group_takes_the_smallest_other_with_it() -> None:
    assert suppress_groups([(30,), (3,), (12,), (50,)], T) == {1, 2}
    assert suppress_groups([(30,), (3,), (0,), (50,)], T) == {0, 1}  # a zero protects nothing
    assert suppress_groups([(3,)], T) == {0}  # alone: the total is the same small count
    assert suppress_groups([(30,), (40,)], T) == frozenset()
    assert suppress_groups([(30,), (40,), (50,)], T, forced={2}) == {0, 2}


def _by_subtraction(groups: list[tuple[int, ...]], hidden: frozenset[int]) -> bool:
    """Whether some hidden group's count follows from a known column total minus the shown
    groups: a column whose total is known with exactly one hidden group in it."""
    return len(groups) > 1 and len(hidden) == 1


@given(st.lists(st.tuples(counts, counts), min_size=1, max_size=8),
       st.sets(st.integers(0, 7), max_size=2))
@settings(max_examples=400, deadline=None)
def test_partitions_show_no_small_count_and_give_none_away(
        groups: list[tuple[int, int]], forced: set[int]) -> None:
    """Each group: (count with the outcome, count without); the group size is their sum."""
    forced = {i for i in forced if i < len(groups)}
    cells = [(a + b, a, b) for a, b in groups]
    hidden = suppress_groups(cells, T, forced=forced)
    for i, row in enumerate(cells):
        if i not in hidden:
            assert not any(small(v, T) for v in row)  # every shown count is 0 or >= T
    assert not _by_subtraction(cells, hidden)
    # every column total is known: with the hidden groups as unknowns, one equation per
    # column, no hidden count is fixed (two unknowns or more in each equation)
    matrix = [list(row) for row in cells]
    known = [False] * len(matrix)
    hidden_cells = {(i, j) for i in hidden for j in range(3)}
    if len(matrix) > 1:
        assert determined_cells(hidden_cells, len(matrix), 3, known, [True] * 3) == []


@given(st.integers(1, 6).flatmap(lambda rows: st.integers(1, 6).flatmap(
    lambda columns: st.tuples(
        st.lists(st.lists(counts, min_size=columns, max_size=columns),
                 min_size=rows, max_size=rows),
        st.lists(st.booleans(), min_size=rows, max_size=rows),
        st.lists(st.booleans(), min_size=columns, max_size=columns)))))
@settings(max_examples=300, deadline=None)
def test_tables_show_no_small_count_and_no_hidden_cell_follows_from_the_totals(
        table: tuple[list[list[int]], list[bool], list[bool]]) -> None:
    matrix, known_rows, known_columns = table
    hidden = suppress_table(matrix, T, known_rows=known_rows, known_columns=known_columns)
    rows, columns = len(matrix), len(matrix[0])
    for r in range(rows):
        for c in range(columns):
            if (r, c) not in hidden:
                assert not small(matrix[r][c], T)
    fixed = determined_cells(hidden, rows, columns, known_rows, known_columns)
    # a cell can only stay fixed when the known totals alone fix it (with every cell hidden):
    # then the totals give it away whatever is hidden (the caller must not treat such totals
    # as safe to show); suppression never leaves a cell that more hiding could protect
    everything = {(r, c) for r in range(rows) for c in range(columns)}
    alone = determined_cells(everything, rows, columns, known_rows, known_columns)
    assert set(fixed) <= set(alone)


def test_a_two_way_table_closes_the_cycle() -> None:
    matrix = [[3, 20, 30], [25, 40, 50], [30, 60, 70]]
    hidden = suppress_table(matrix, T)
    assert (0, 0) in hidden and len(hidden) >= 4
    assert determined_cells(hidden, 3, 3, [True] * 3, [True] * 3) == []


def _fixed_one_by_one(hidden: set[tuple[int, int]], rows: int, columns: int,
                      known_rows: list[bool], known_columns: list[bool]
                      ) -> list[tuple[int, int]]:
    """The definition, cell by cell: a hidden cell is fixed when its unit vector adds nothing
    to the rank of the equations the known totals give over the hidden cells."""
    import numpy

    order = sorted(hidden)
    lines = [[1.0 if cell[0] == r else 0.0 for cell in order]
             for r in range(rows) if known_rows[r]]
    lines += [[1.0 if cell[1] == j else 0.0 for cell in order]
              for j in range(columns) if known_columns[j]]
    lines = [line for line in lines if any(line)]
    if not lines:
        return []
    system = numpy.array(lines)
    rank = numpy.linalg.matrix_rank(system)
    return [cell for k, cell in enumerate(order)
            if numpy.linalg.matrix_rank(numpy.vstack([system, numpy.eye(len(order))[k]]))
            == rank]


@given(st.integers(1, 7).flatmap(lambda rows: st.integers(1, 7).flatmap(
    lambda columns: st.tuples(
        st.just(rows), st.just(columns),
        st.sets(st.tuples(st.integers(0, rows - 1), st.integers(0, columns - 1))),
        st.lists(st.booleans(), min_size=rows, max_size=rows),
        st.lists(st.booleans(), min_size=columns, max_size=columns)))))
@settings(max_examples=300, deadline=None)
def test_the_fixed_cells_are_found_all_at_once_as_cell_by_cell(
        case: tuple[int, int, set[tuple[int, int]], list[bool], list[bool]]) -> None:
    """Issue 12, item 9: one factorisation for every hidden cell, not one per cell; the same
    cells as the definition."""
    rows, columns, hidden, known_rows, known_columns = case
    assert determined_cells(hidden, rows, columns, known_rows, known_columns) == \
        _fixed_one_by_one(hidden, rows, columns, known_rows, known_columns)
