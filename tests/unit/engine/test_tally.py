"""Counting cases in groups (engine.outcomes.tally): groups kept apart by client, given each
client's measured outcome, add up as the same cases counted one by one would."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError
from engine.outcomes import tally
from engine.summary_ports import CaseGroup


def _group(version: int, cases: int, *, happened: bool = False) -> CaseGroup:
    return CaseGroup(version, "active", None, None, happened, None, True, cases)


def test_groups_by_client_take_their_client_s_outcome_and_add_up() -> None:
    by_client = [(1, _group(1, 2)), (2, _group(1, 1)), (3, _group(1, 1)), (4, _group(2, 1)),
                 (5, _group(1, 1, happened=True))]
    outcomes = {1: 0, 2: 0, 3: None, 4: 2, 5: 0}  # client 6 has no case; client 3 no date
    found = tally.with_client_outcomes(by_client, {**outcomes, 6: 1})
    assert found == tally.merged([
        CaseGroup(1, "active", None, 0, False, None, True, 3),
        CaseGroup(1, "active", None, None, False, None, True, 1),
        CaseGroup(2, "active", None, 2, False, None, True, 1),
        CaseGroup(1, "active", None, 0, True, None, True, 1)])
    assert sum(group.cases for group in found) == 6
    # a client missing from the outcomes is unknown, as None is
    assert tally.with_client_outcomes([(9, _group(1, 1))], {}) == [_group(1, 1)]


def test_a_client_s_outcome_that_is_not_a_count_nor_yes_no_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        tally.with_client_outcomes([(1, _group(1, 1))], {1: -1})
