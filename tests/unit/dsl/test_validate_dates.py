"""dsl.validate on dates: `due` and `wait until` read any earlier date answer, moved by a
duration, or working days; anything else is reported where it is written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dsl import compile_pathway, load_pathway
from tests.unit.dsl.test_validate import at, doc, one, problems, where

# a date asked in the first task, a text and a number answer beside it
ASKED = """\
- task: offer
  role: worker
  title: Offer
  form:
    move_in_date: {type: date, required: true}
    landlord: {type: text, required: true}
    rooms: {type: integer, required: true}
"""


def with_asked(steps: str) -> str:
    return doc(ASKED + textwrap.dedent(steps))


@pytest.mark.parametrize("due", [
    "move_in_date", "move_in_date + P1M", "move_in_date - P14D", "move_in_date + P1Y6M",
    "working_days(20)", "add_working_days(move_in_date, 5)", "add_working_days(today(), 3)",
    "today() + P2W", "release_date - P7D", "client.release_date + P1M + P1D",
    "move_in_date + P1M if rooms > 1 else move_in_date", "P7D", "\"'2027-01-01'\"",
])
def test_due_takes_any_date_known_by_then(due: str) -> None:
    text = with_asked(f"""\
        - task: visit
          role: worker
          title: Visit
          due: {due}
        """)
    assert problems(text) == []


@pytest.mark.parametrize("until", [
    "move_in_date + P1M", "working_days(20)", "add_working_days(move_in_date, -2)",
    "release_date - P7D", "move_in_date",
])
def test_wait_until_takes_any_date_known_by_then(until: str) -> None:
    text = with_asked(f"""\
        - wait: settle_in
          until: {until}
        """)
    assert problems(text) == []


@pytest.mark.parametrize("key, value, needle, message", [
    ("due", "landlord + P1M", "landlord",
     "due reads 'landlord', a text form field, but due needs a date: make it `{type: date}` "
     "in its form, or use a date field"),
    ("until", "rooms", "rooms",
     "until reads 'rooms', a integer form field, but until needs a date"),
    ("due", "phone - P7D", "phone",
     "due reads 'phone', a text client field, but due needs a date: declare it as "
     "`phone: date` under client_fields"),
    ("until", "move_in_date + 30", "30",  # the type checker's word (dsl.types)
     "move_in_date + 30 adds a number to a date, which fails when the case gets here: a date "
     "moves by a duration; write move_in_date + P30D for 30 days"),
    ("due", "move_in_date - 7", "move_in_date - 7",
     "subtract a duration such as P7D, not a number, to move a date: e.g. move_in_date - P7D"),
    ("until", "P7D", "P7D",
     "until is given a duration, P7D, where it needs a date: to wait a time, write `for: P7D`"),
    ("due", "move_in_date + P1X", "P1X",
     "invalid expression 'move_in_date + P1X': P1X is not an ISO-8601 duration: write P, "
     "then whole numbers with Y (years), M (months), D (days), and after T: H (hours), M "
     "(minutes), S (seconds), e.g. P7D, P1M, P1Y6M, PT12H; or weeks alone, e.g. P2W"),
    ("due", "move_in_date + landlord", "move_in_date + landlord",
     "due 'move_in_date + landlord' does not give a date: a date can only be moved by a "
     "duration such as P7D"),
    ("due", "\"'next week'\"", "'next week'",
     "due 'next week' is not a date: write it as 'YYYY-MM-DD', e.g. '2026-03-01'"),
    ("due", "move_in_dat + P1M", "move_in_dat",
     "'move_in_dat' is not defined (did you mean 'move_in_date'?)"),
])
def test_a_date_that_is_not_one_is_reported_where_it_is_written(
        key: str, value: str, needle: str, message: str) -> None:
    step = ("- task: visit\n  role: worker\n  title: Visit\n" if key == "due"
            else "- wait: settle_in\n")
    text = with_asked(f"{step}  {key}: {value}\n")
    problem = one(text)
    assert problem.message.startswith(message), problem.message
    assert problem.path == f"steps[1].{key}"
    assert where(problem) == at(text, needle, occurrence=text.count(needle))


def test_due_cannot_read_the_tasks_own_answer_nor_a_later_one() -> None:
    text = doc("""\
        - task: offer
          role: worker
          title: Offer
          due: move_in_date + P1M
          form:
            move_in_date: {type: date}
        - wait: settle_in
          until: review_date
        - task: review
          role: worker
          title: Review
          form:
            review_date: {type: date}
        """)
    first, second = problems(text)
    assert first.message == (
        "due reads 'move_in_date', which is only asked in this task's own form: it has no "
        "value yet here; ask it in an earlier task, or use a client date field")
    assert (first.path, where(first)) == ("steps[0].due", at(text, "move_in_date + P1M"))
    assert second.message.startswith("until reads 'review_date', which is only asked in a "
                                     "later step")
    assert (second.path, where(second)) == ("steps[1].until", at(text, "review_date"))


def test_a_date_asked_in_an_earlier_branch_counts_as_earlier() -> None:
    text = doc("""\
        - decide: route
          branches:
            - when: "true"
              steps:
                - task: offer
                  role: worker
                  title: Offer
                  form:
                    move_in_date: {type: date}
          otherwise:
            - task: other
              role: worker
              title: Other
        - task: visit
          role: worker
          title: Visit
          due: move_in_date + P1M
        """)
    assert problems(text) == []


def test_the_compiled_due_reads_form_dates_as_written_and_client_dates_from_the_client() -> None:
    text = with_asked("""\
        - task: visit
          role: worker
          title: Visit
          due: add_working_days(release_date, 5)
        - task: panel
          role: worker
          title: Panel
          due: working_days(20)
        - task: check
          role: worker
          title: Check
          due: move_in_date + P1M
        """)
    compiled = compile_pathway(load_pathway(text, "p.yaml")).bpmn
    assert 'value="add_working_days(client.release_date, 5)"' in compiled
    assert 'value="working_days(20)"' in compiled
    assert 'value="move_in_date + P1M"' in compiled


def test_the_readme_example_of_dates_is_valid_and_compiles() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("#### Dates"):]
    steps = section[section.index("```yaml\n") + 8:section.index("```\n", 10)]
    text = ("pathway: housing_first\ntitle: Housing First\nroles:\n"
            "  keyworker: {title: Keyworker}\nsteps:\n" + steps)
    assert problems(text) == []
    assert "working_days(20)" in compile_pathway(load_pathway(text, "h.yaml")).bpmn


def test_a_duration_in_a_condition_is_a_value_not_an_undefined_field() -> None:
    text = with_asked("""\
        - decide: settled
          branches:
            - when: move_in_date + P1M < today()
              steps:
                - end: settled_in
                  reason: settled
          otherwise: []
        """)
    assert problems(text) == []
    problem = one(text.replace("P1M < today()", "P1X < today()"))
    assert problem.message.startswith("invalid expression 'move_in_date + P1X < today()': P1X "
                                      "is not an ISO-8601 duration")
    assert where(problem) == at(text, "P1M < today()")
