"""Who does a task, worked out from the case data (engine.workflow.task_people)."""

from __future__ import annotations

from engine.workflow.task_people import name_from_data


def test_a_name_is_worked_out_from_the_answers() -> None:
    assert name_from_data("keyworker", {"keyworker": " sam "}) == ("sam", None)
    assert name_from_data("keyworker", {"keyworker": ""}) == (None, None)


def test_a_value_that_is_not_a_name_is_never_repeated_in_the_problem() -> None:
    """The problem is kept on the task_ready event, which more people see than the answer
    it read (a sensitive one, say): it says what kind of value came, not the value."""
    value, problem = name_from_data("risk_score", {"risk_score": 27})
    assert value is None and problem is not None
    assert "not a name" in problem and "27" not in problem
    value, problem = name_from_data("flag", {"flag": True})
    assert value is None and problem is not None and "True" not in problem
