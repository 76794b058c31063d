"""`where(records, field, value)`: the rounds of a repeat (or a for_each's results) that
answered a field so, in order (issue 15: "sessions attended counted from the rounds", the
first and last sessions with scores). Without it the language, which has no comprehensions,
could read a round by its position but never count or pick the rounds that match."""

from __future__ import annotations

from typing import Any

import pytest

from engine.workflow.expressions import ExpressionError, evaluate

ROUNDS = [{"attended": True, "phq9_score": 15, "status": "continuing"},
          {"attended": False, "reason": "cancelled_by_client", "status": "continuing"},
          {"status": "continuing"},  # a round whose task was never reached
          {"attended": True, "phq9_score": 0, "status": "finished"}]
DATA = {"sessions": {"round": 4, "rounds": ROUNDS}}


@pytest.mark.parametrize("source, expected", [
    ("len(where(sessions.rounds, 'attended', true))", 2),
    ("where(sessions.rounds, 'attended', true)[0].phq9_score", 15),
    ("where(sessions.rounds, 'attended', true)[-1].phq9_score", 0),  # 0 is a score, kept
    ("len(where(sessions.rounds, 'attended', false))", 1),
    ("len(where(sessions.rounds, 'status', 'continuing'))", 3),
    ("len(where(sessions.rounds, 'phq9_score', 0))", 1),
    ("where(sessions.rounds, 'nothing', 1)", []),
    ("where([], 'attended', true)", []),
])
def test_where_keeps_the_records_whose_field_has_the_value_in_order(
        source: str, expected: Any) -> None:
    assert evaluate(source, DATA) == expected


def test_a_yes_no_answer_is_not_the_number_one() -> None:
    """true == 1 in Python; a count of the rounds that scored 1 must not count `attended`."""
    data = {"rounds": [{"x": True}, {"x": 1}, {"x": 1.0}, {"x": False}, {"x": 0}]}
    assert evaluate("len(where(rounds, 'x', 1))", data) == 2
    assert evaluate("len(where(rounds, 'x', true))", data) == 1
    assert evaluate("len(where(rounds, 'x', 0))", data) == 1


@pytest.mark.parametrize("source, says", [
    ("where(sessions, 'attended', true)", "reads a list of records"),
    ("where(sessions.rounds[0].status, 'x', 1)", "reads a list of records"),
    ("where([1, 2], 'x', 1)", "reads a list of records"),
    ("where(sessions.rounds, attended, true)", "'attended' is not defined"),
    ("where(sessions.rounds, 3, true)", "the field's name in quotes"),
    ("where(sessions.rounds, 'attended')", "where(records, 'field', value)"),
])
def test_where_says_what_it_needs(source: str, says: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, DATA)
    assert says in caught.value.message
