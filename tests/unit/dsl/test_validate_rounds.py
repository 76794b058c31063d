"""dsl.validate on per-round data: `round` only inside a repeat, `<id>.rounds` inside and
after its repeat, the names the rounds' bookkeeping keeps; each problem located exactly."""

from __future__ import annotations

import pytest

from tests.unit.dsl.test_validate import at, doc, one, problems, where

VISITS = """\
- repeat: visits
  until: round >= 3 or len(visits.rounds) > 5
  steps:
    - task: visit
      role: worker
      title: Visit
      form:
        score: {type: integer, visible_when: round > 1}
    - decide: formal
      branches:
        - when: round % 12 == 0 and visits.round > 0
          steps: []
      otherwise: []
    - record: visited
      outcome: visited
      value: round
      when: len(visits.rounds) >= 0
- record: kept
  outcome: kept
  value: len(visits.rounds) + visits.rounds[-1].score
"""


def test_round_inside_a_repeat_and_rounds_inside_and_after_it_are_accepted() -> None:
    assert problems(doc(VISITS)) == []


def test_round_outside_any_repeat_is_refused_where_it_is_read() -> None:
    text = doc(VISITS + """\
- decide: late
  branches:
    - when: score > 2 and round > 3
      steps: []
  otherwise: []
""")
    problem = one(text)
    assert problem.message.startswith("'round' is the number of the round under way, defined "
                                      "only inside a repeat")
    assert where(problem) == at(text, "round > 3")
    assert problem.path == "steps[2].branches[0].when"


def test_round_in_a_pathway_without_a_repeat() -> None:
    text = doc("""\
- record: early
  outcome: early
  value: round
""")
    problem = one(text)
    assert "only inside a repeat" in problem.message
    assert where(problem) == at(text, "round\n")


def test_rounds_read_before_the_repeat_runs() -> None:
    text = doc("""\
- record: early
  outcome: early
  value: len(visits.rounds)
""" + VISITS)
    problem = one(text)
    assert problem.message == (f"'visits' is the repeat at line {at(text, '- repeat')[0]}, "
                               "which comes later: its rounds can only be read inside it or "
                               "after it")
    assert where(problem) == at(text, "visits.rounds")


def test_a_nested_repeats_rounds_only_within_the_enclosing_repeat() -> None:
    text = doc("""\
- repeat: quarters
  max: 4
  steps:
    - repeat: visits
      until: round >= quarters.round
      steps:
        - task: visit
          role: worker
          title: Visit
    - record: per_quarter
      outcome: visits
      value: len(visits.rounds)
- record: after
  outcome: last_visits
  value: len(visits.rounds)
""")
    problem = one(text)
    assert problem.message.startswith("'visits' is the repeat at line 12, inside the repeat "
                                      "'quarters': its rounds are kept in each round of")
    assert "quarters.rounds[-1].visits.rounds" in problem.message
    assert where(problem) == at(text, "visits.rounds", occurrence=2)


def test_a_repeat_keeps_only_rounds_and_round() -> None:
    text = doc(VISITS.replace("visits.rounds[-1].score", "visits.total"))
    problem = one(text)
    assert problem.message.startswith("'visits.total': the repeat 'visits' (line 9) keeps "
                                      "'visits.rounds'")
    assert where(problem) == at(text, "visits.total")


@pytest.mark.parametrize("field, message", [
    ("visits", "form field 'visits' has the name of the repeat 'visits' (line 9)"),
    ("round", "form field 'round' would hide the round number"),
    ("from", "form field 'from' is a reserved word"),
])
def test_form_field_names_the_rounds_need(field: str, message: str) -> None:
    text = doc(VISITS.replace("score: {type: integer", f"{field}: {{type: integer")
               .replace(".score", ""))
    problem = one(text)
    assert problem.message.startswith(message)
    assert where(problem) == at(text, f"{field}: {{type")


def test_a_client_field_named_round_beside_a_repeat() -> None:
    text = doc(VISITS).replace("  phone: text\n", "  phone: text\n  round: integer\n")
    problem = one(text)
    assert problem.message.startswith("client field 'round' would hide the round number")
    assert where(problem) == at(text, "round: integer")


def test_a_field_named_round_is_fine_without_a_repeat() -> None:
    assert problems(doc("""\
- task: bout
  role: worker
  title: Bout
  form: {round: {type: integer, required: true}}
- record: scored
  outcome: scored
  value: round
""")) == []


def test_a_repeat_id_that_is_a_reserved_word() -> None:
    text = doc(VISITS.replace("visits", "pass"))
    found = [p for p in problems(text) if "reserved word" in p.message]
    assert [(p.message, where(p)) for p in found] == [
        ("repeat id 'pass' is a reserved word, and a repeat keeps its rounds under its id; "
         "choose another id", at(text, "pass"))]
