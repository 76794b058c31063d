"""Counting cases in groups (engine.outcomes.tally): groups given an outcome each (a
client's measured value) add up as the same cases counted one by one would."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError
from engine.outcomes import tally
from engine.summary_ports import CaseGroup


def _group(version: int, cases: int, *, happened: bool = False) -> CaseGroup:
    return CaseGroup(version, "active", None, None, happened, None, True, cases)


def test_groups_given_an_outcome_each_add_up() -> None:
    shared = _group(1, 1)  # one object for many clients, as the database's rows give it
    by_client = [(0, _group(1, 2)), (0, shared), (None, shared), (2, _group(2, 1)),
                 (0, _group(1, 1, happened=True)), (True, shared)]
    found = tally.with_outcomes(by_client)
    assert found == tally.merged([
        CaseGroup(1, "active", None, 0, False, None, True, 3),
        CaseGroup(1, "active", None, None, False, None, True, 1),
        CaseGroup(2, "active", None, 2, False, None, True, 1),
        CaseGroup(1, "active", None, 0, True, None, True, 1),
        CaseGroup(1, "active", None, True, False, None, True, 1)])  # a yes apart from 1
    assert sum(group.cases for group in found) == 7


def test_an_outcome_that_is_not_a_count_nor_yes_no_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        tally.with_outcomes([(-1, _group(1, 1))])

