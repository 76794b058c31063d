"""dsl.types: the validator as a type checker, each mistake located at what is wrong.

Every check here is one that today lets a case fail, or silently take the wrong way, when it
runs; the shipped pathways get no complaint from any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import answered, steps
from dsl.answered import DEFINERS, Definition, Type
from dsl.loader import load
from dsl.types import type_problems
from tests.unit.dsl.test_validate import at, doc, one, problems, where

ROOT = Path(__file__).parents[3]
SHIPPED = sorted((ROOT / "definitions").glob("*.yaml"))

ASSESS = """\
- task: assess
  role: worker
  title: Assess
  form:
    risk: {type: choice, required: true, options: [high, medium, low]}
    needs: {type: multiple_choice, required: true, options: [housing, money]}
    engaged: {type: boolean, required: true}
    move_in_date: {type: date, required: true}
    visits: {type: integer, required: true}
    notes: {type: text}
"""


def record(value: str) -> str:
    return doc(ASSESS + f'- record: checked\n  outcome: checked\n  value: "{value}"\n')


def typed(text: str) -> list[str]:
    """Only the type checker's messages (dsl.validate adds its own checks around them)."""
    document, found = load(text, "p.yaml")
    assert document is not None and not found
    return [problem.message for problem in type_problems(document, "p.yaml")]


# -- types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "needle", "message"), [
    pytest.param("risk == 'High'", "'High'",
                 "'High' is not an option of risk (high, medium, low): did you mean 'high'?",
                 id="an_option_misspelt_in_capitals"),
    pytest.param("'meduim' != risk", "'meduim'",
                 "'meduim' is not an option of risk (high, medium, low): did you mean "
                 "'medium'?",
                 id="an_option_on_the_left"),
    pytest.param("risk in ['high', 'urgent']", "'urgent'",
                 "'urgent' is not an option of risk (high, medium, low): use one of them, or "
                 "add it to the field's options",
                 id="an_option_in_a_list"),
    pytest.param("'Housing' in needs", "'Housing'",
                 "'Housing' is not an option of needs (housing, money): did you mean "
                 "'housing'?",
                 id="an_option_of_a_multiple_choice"),
    pytest.param("engaged == 'yes'", "'yes'",
                 "engaged is a yes/no answer (true or false), never the text 'yes', so this "
                 "comparison is never true: write `engaged` for yes or `not engaged` for no",
                 id="a_yes_no_answer_compared_with_text"),
    pytest.param("engaged != 1", "1",
                 "engaged is a yes/no answer (true or false), never the number 1, so this "
                 "comparison is never true: write `engaged` for yes or `not engaged` for no",
                 id="a_yes_no_answer_compared_with_a_number"),
    pytest.param("move_in_date > 3", "3",
                 "a date is compared with the number 3, which fails when the case gets here: "
                 "compare it with a date, or count days with days_between(a, b)",
                 id="a_date_ordered_against_a_number"),
])
def test_a_type_mistake_in_a_condition_is_named_at_its_value(value: str, needle: str,
                                                             message: str) -> None:
    text = record(value)
    problem = one(text)
    assert problem.message == message
    assert where(problem) == at(text, needle, occurrence=text.count(needle))
    assert problem.path == "steps[1].value"


@pytest.mark.parametrize(("until", "needle", "message"), [
    pytest.param("move_in_date + 30", "30",
                 "move_in_date + 30 adds a number to a date, which fails when the case gets "
                 "here: a date moves by a duration; write move_in_date + P30D for 30 days "
                 "(P1W a week, P1M a month)",
                 id="a_number_added_to_a_date"),
    pytest.param("release_date - 7", "7",
                 "release_date - 7 takes a number from a date, which fails when the case gets "
                 "here: a date moves by a duration; write release_date - P7D for 7 days "
                 "(P1W a week, P1M a month)",
                 id="a_number_taken_from_a_client_date"),
    pytest.param("move_in_date - release_date", "move_in_date - release_date",
                 "move_in_date - release_date subtracts two dates, which fails when the case "
                 "gets here: use days_between(release_date, move_in_date) for the days from "
                 "one to the other",
                 id="two_dates_subtracted"),
])
def test_date_arithmetic_with_a_number_is_named(until: str, needle: str, message: str) -> None:
    text = doc(ASSESS + f"- wait: settle\n  until: {until}\n")
    problem = one(text)
    assert problem.message == message
    assert where(problem) == at(text, needle, occurrence=text.count(needle))
    assert problem.path == "steps[1].until"


def test_date_plus_a_duration_is_a_date() -> None:
    """`P1M` is a duration: date +/- duration is the date a wait needs (the expression
    language reads bare durations; the type checker has nothing to say about them)."""
    for until in ("move_in_date + P1M", "release_date - P2W", "P7D + today()",
                  "client.release_date + PT12H"):
        assert typed(doc(ASSESS + f"- wait: settle\n  until: {until}\n")) == [], until


def test_well_typed_conditions_pass() -> None:
    text = record("risk == 'high' and engaged == true and 'money' in needs and visits > 2 "
                  "and risk in ['high', 'medium'] and days_between(move_in_date, today()) > 7 "
                  "and move_in_date < today() and not engaged and risk != visits")
    assert problems(text) == []


def test_a_mistake_in_visible_when_is_named_too() -> None:
    text = doc("""\
        - task: assess
          role: worker
          title: Assess
          form:
            risk: {type: choice, required: true, options: [high, low]}
            plan: {type: text, visible_when: risk == 'High'}
        """)
    problem = one(text)
    assert problem.message.startswith("'High' is not an option of risk (high, low)")
    assert where(problem) == at(text, "'High'")


def test_a_referral_result_compared_with_text_says_to_read_its_exit_reason() -> None:
    text = doc("""\
        - refer: housing
          pathway: housing
          wait: true
        - record: housed
          outcome: housed
          value: housing_result == 'completed'
        """)
    problem = one(text)
    assert problem.message == ("housing_result is the referred case's result, {case, "
                               "exit_reason}, never 'completed': compare "
                               "housing_result.exit_reason")
    assert where(problem) == at(text, "'completed'")


def test_a_field_asked_in_two_forms_offers_the_options_of_both() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          form:
            risk: {type: choice, required: true, options: [high, low]}
        - task: again
          role: worker
          title: Again
          form:
            risk: {type: choice, required: true, options: [medium]}
        - record: checked
          outcome: checked
          value: risk == 'medium' or risk == 'none'
        """)
    problem = one(text)
    assert problem.message.startswith("'none' is not an option of risk (high, low, medium)")


# -- answers read where they may not have been asked ----------------------------------------

OFFER = """\
- task: check
  role: worker
  title: Check
  form:
    eligible: {type: boolean, required: true}
- decide: gw_offer
  branches:
    - when: eligible
      steps:
        - task: offer
          role: worker
          title: Offer
          form:
            offer_accepted: {type: boolean, required: true}
  otherwise: []
"""


def test_an_answer_asked_only_in_a_branch_is_named_with_the_branch() -> None:
    text = doc(OFFER + "- record: accepted\n  outcome: accepted\n  value: offer_accepted\n")
    problem = one(text)
    assert problem.message == (
        f"offer_accepted may not have been asked here: it is asked only in the branch "
        f"`when: eligible` of decide gw_offer (line {at(text, 'gw_offer')[0]}); ask it on "
        "every path before this point, or read it only where it has been asked")
    assert where(problem) == at(text, "offer_accepted", occurrence=2)
    assert problem.path == "steps[2].value"


@pytest.mark.parametrize("value", ["eligible and offer_accepted",
                                   "not eligible or offer_accepted",
                                   "offer_accepted if eligible else false"])
def test_an_answer_read_only_when_its_branch_was_taken_passes(value: str) -> None:
    text = doc(OFFER + f"- record: accepted\n  outcome: accepted\n  value: {value}\n")
    assert problems(text) == []


def test_a_later_branch_knows_the_earlier_ones_did_not_hold() -> None:
    text = doc(OFFER + """\
        - decide: gw_next
          branches:
            - when: not eligible
              steps: [{end: declined, reason: declined}]
            - when: offer_accepted
              steps: [{end: accepted, reason: completed}]
          otherwise: []
        """.replace("        ", ""))
    assert problems(text) == []


EXTENDED = """\
- task: hearing
  role: worker
  title: Court hearing
  form:
    decision: {type: choice, required: true, options: [continues, extended, revoked]}
    new_end: {type: date, required_when: decision == 'extended'}
- decide: gw_court
  branches:
    - when: decision == 'revoked'
      steps: [{end: revoked, reason: revoked}]
    - when: decision == 'extended'
      steps:
        - set: extend
          values: {end_date: new_end}
        - wait: order_runs_on
          until: new_end
        - record: extended
          outcome: extended
          value: new_end
  otherwise:
    - record: not_extended
      outcome: extended
      value: "decision != 'revoked'"
"""


def test_a_step_inside_a_branch_knows_the_branchs_condition_holds() -> None:
    """The README's required_when (`required_when: offer_accepted`) read inside the branch
    `when: offer_accepted`: asked there, since the branch was taken. The steps of a branch
    were walked without its condition, so each such read was flagged as maybe not asked."""
    assert problems(doc(EXTENDED)) == []


def test_a_branchs_condition_no_longer_holds_once_a_step_inside_asks_again() -> None:
    """A task inside the branch that answers the condition's field again may have changed it:
    after it, the branch's condition is no longer known to hold."""
    text = doc(EXTENDED.replace("        - wait: order_runs_on", """\
        - task: hearing_again
          role: worker
          title: Court hearing again
          form:
            decision: {type: choice, required: true, options: [continues, extended, revoked]}
        - wait: order_runs_on"""))
    found = problems(text)
    assert [p.path for p in found] == ["steps[1].branches[1].steps[2].until",
                                       "steps[1].branches[1].steps[3].value"]
    assert all(p.message.startswith("new_end may not have been asked here") for p in found)
    assert where(found[0]) == at(text, "until: new_end", shift=len("until: "))


def test_a_branch_that_goes_back_does_not_rely_on_a_condition_it_may_change() -> None:
    """A go_to may run the branch's steps again after a task there answered the condition's
    field anew: from the first step on, the condition is not relied on."""
    text = doc(EXTENDED.replace("        - wait: order_runs_on", """\
        - task: hearing_again
          role: worker
          title: Court hearing again
          form:
            decision: {type: choice, required: true, options: [continues, extended, revoked]}
        - go_to: hear_again
          target: extend
          max: 1
        - wait: order_runs_on"""))
    found = problems(text)
    assert found[0].path == "steps[1].branches[1].steps[0].values.end_date"
    assert all(p.message.startswith("new_end may not have been asked here") for p in found)


def test_an_answer_asked_whether_a_condition_holds_or_not_is_certain() -> None:
    """Asked when the contract is agreed (required_when) and, when it is not, in the branch
    that deals with that: asked on every path, so certain after the decide. The two guards
    (contract_agreed true; contract_agreed false) were kept apart and a read after the
    decide, which knows neither, was flagged."""
    text = doc("""\
        - task: panel
          role: worker
          title: Panel
          form:
            contract_agreed: {type: boolean, required: true}
            end_date: {type: date, required_when: contract_agreed}
        - decide: gw_contract
          branches:
            - when: not contract_agreed
              steps:
                - task: reconvene
                  role: worker
                  title: Panel again
                  form:
                    end_date: {type: date, required: true}
          otherwise: []
        - wait: order_runs
          until: end_date
        """)
    assert problems(text) == []
    flagged = problems(text.replace("required_when: contract_agreed",
                                    "required_when: not child_attended")
                       .replace("contract_agreed: {type: boolean, required: true}",
                                "contract_agreed: {type: boolean, required: true}\n"
                                "      child_attended: {type: boolean, required: true}"))
    assert [p.path for p in flagged] == ["steps[2].until"]


def test_an_answer_asked_under_a_condition_before_a_decide_stays_so_after_it() -> None:
    """Asked when the order is extended, then a decide whose other branch ends the case:
    after it, the answer is still there whenever the order is extended (the branch taken
    added its own condition to the answer's, which a read knowing only `extended` lacked)."""
    text = doc("""\
        - task: hearing
          role: worker
          title: Court hearing
          form:
            decision: {type: choice, required: true, options: [continues, extended, revoked]}
            new_end: {type: date, required_when: decision == 'extended'}
            old_end: {type: date, required: true}
        - decide: gw_court
          branches:
            - when: decision != 'revoked'
              steps: []
          otherwise:
            - end: revoked
              reason: revoked
        - set: end_after_hearing
          values:
            end_date: "new_end if decision == 'extended' else old_end"
        """)
    assert problems(text) == []
    assert [p.path for p in problems(text.replace("if decision == 'extended'",
                                                  "if decision != 'revoked'"))] == [
        "steps[2].values.end_date"]


def test_a_branch_that_ends_leaves_the_answer_certain_after_the_decide() -> None:
    text = doc("""\
        - task: check
          role: worker
          title: Check
          form:
            eligible: {type: boolean, required: true}
        - decide: gw_offer
          branches:
            - when: not eligible
              steps:
                - end: declined
                  reason: declined
          otherwise:
            - task: offer
              role: worker
              title: Offer
              form:
                offer_accepted: {type: boolean, required: true}
        - record: accepted
          outcome: accepted
          value: offer_accepted
        """)
    assert problems(text) == []


def test_an_answer_asked_in_otherwise_is_named_so() -> None:
    text = doc(OFFER.replace("    - when: eligible\n      steps:\n        - task: offer",
                             "    - when: eligible\n      steps: []\n  otherwise:\n"
                             "        - task: offer").replace("  otherwise: []\n", "")
               + "- record: accepted\n  outcome: accepted\n  value: offer_accepted\n")
    problem = one(text)
    assert problem.message.startswith(
        "offer_accepted may not have been asked here: it is asked only when no branch of "
        f"decide gw_offer (line {at(text, 'gw_offer')[0]}) applies (its otherwise); ")


def test_an_optional_answer_is_named_with_its_task_and_the_fix() -> None:
    text = record("notes == 'x'")
    problem = one(text)
    assert problem.message == ("notes may not have been asked here: it is not required in "
                               "task assess (line 9); make it required (`required: true`)")
    assert where(problem) == at(text, "notes ==")


def test_an_answer_read_before_it_is_asked_is_named() -> None:
    text = doc("""\
        - decide: gw_early
          branches:
            - when: consent
              steps: [{end: early, reason: early}]
          otherwise: []
        - task: ask
          role: worker
          title: Ask
          form:
            consent: {type: boolean, required: true}
        """)
    problem = one(text)
    assert problem.message.startswith(
        "consent may not have been asked here: it is asked only later, in task ask (line 14)")
    assert where(problem) == at(text, "consent")


def test_an_answer_asked_later_inside_a_branch_is_named_as_later() -> None:
    text = doc("- record: early\n  outcome: early\n  value: offer_accepted\n" + OFFER)
    problem = one(text)
    assert problem.message.startswith("offer_accepted may not have been asked here: it is "
                                      "asked only later, in task offer (line ")


def test_an_answer_from_a_parallel_branch_is_certain_only_after_the_join() -> None:
    text = doc("""\
        - parallel: both
          branches:
            - steps:
                - task: left
                  role: worker
                  title: Left
                  form:
                    done_left: {type: boolean, required: true}
            - steps:
                - record: too_soon
                  outcome: too_soon
                  value: done_left
        - record: after
          outcome: after
          value: done_left
        """)
    problem = one(text)
    assert problem.message.startswith(
        "done_left may not have been asked here: it is asked in another branch of parallel "
        "both (line 9), which may not have finished; ")
    assert problem.path == "steps[0].branches[1].steps[0].value"


def test_a_repeat_runs_at_least_once_and_its_until_sees_the_round() -> None:
    text = doc("""\
        - repeat: visits
          max: 3
          until: goals_met
          steps:
            - decide: gw_first
              branches:
                - when: goals_met
                  steps: [{end: early, reason: early}]
              otherwise: []
            - task: visit
              role: worker
              title: Visit
              form:
                goals_met: {type: boolean, required: true}
        - record: met
          outcome: met
          value: goals_met
        """)
    problem = one(text)  # only the read before the first round's visit
    assert problem.message.startswith(
        "goals_met may not have been asked here: it is asked later in each round of repeat "
        "visits (line 9), so not yet in the first; ")
    assert where(problem) == at(text, "goals_met", occurrence=2)


def test_a_referral_result_exists_only_after_a_waiting_referral() -> None:
    text = doc(OFFER.replace("""        - task: offer
          role: worker
          title: Offer
          form:
            offer_accepted: {type: boolean, required: true}""", """        - refer: to_housing
          pathway: housing
          wait: true""") + """- record: housed
  outcome: housed
  value: to_housing_result.exit_reason == 'completed'
""")
    problem = one(text)
    assert problem.message.startswith("to_housing_result may not have been asked here: it is "
                                      "asked only in the branch `when: eligible`")


def test_visible_when_may_read_an_answer_not_given() -> None:
    """A visible_when that cannot be evaluated hides its field (engine.workflow.forms): no
    failure, so no complaint."""
    text = doc(ASSESS + """\
- task: follow_up
  role: worker
  title: Follow up
  form:
    why: {type: text, visible_when: "notes == 'see below'"}
""")
    assert problems(text) == []


def test_a_client_field_is_always_there() -> None:
    assert problems(record("days_between(release_date, today()) > 3 and phone == 'x'")) == []


# -- extending and tolerating ---------------------------------------------------------------


def test_a_new_step_kind_defines_names_through_one_function(monkeypatch: Any) -> None:
    """A kind the walk does not know is walked as a plain step; what it sets comes from
    DEFINERS (as a `set:` step would register itself)."""
    monkeypatch.setattr(steps, "KINDS", (*steps.KINDS, "compute"))
    monkeypatch.setitem(DEFINERS, "compute", lambda step: [
        Definition(str(step["compute"]), Type("number"), True)])
    data: dict[str, Any] = {"steps": [
        {"task": "a", "form": {"late": {"type": "boolean"}}},
        {"compute": "total", "steps": [{"end": "x", "reason": "x"}]},
        {"record": "r", "value": "total > 1 and late"}]}
    found = answered.walk(data, [])
    assert found.sites["total"][0][0] == ("steps", 1)
    (read,) = found.reads
    assert read.state.certain == {"total"}


def test_a_field_set_when_a_condition_holds_may_be_read_under_it(monkeypatch: Any) -> None:
    """A definer can say a name is set whenever a condition holds (as `required_when` will):
    a read under that condition passes, any other is flagged with the definer's reason."""
    def task_with_required_when(step: Any) -> list[Definition]:
        found = []
        for name, spec in step.get("form", {}).items():
            when = spec.get("required_when")
            found.append(Definition(name, answered.field_type(spec), spec.get("required") is True,
                                    "it is required only when " + str(when), when))
        return found

    monkeypatch.setitem(DEFINERS, "task", task_with_required_when)
    data: dict[str, Any] = {"steps": [
        {"task": "offer", "form": {"accepted": {"type": "boolean", "required": True},
                                   "move_in": {"type": "date", "required_when": "accepted"}}},
        {"record": "ok", "when": "accepted", "value": "move_in"},
        {"record": "early", "value": "move_in"}]}
    found = answered.walk(data, [])
    guarded, unguarded = found.reads[1], found.reads[2]
    facts = answered.known_facts(guarded.assumptions)
    assert guarded.state.has("move_in", facts, found.conditions)
    assert not unguarded.state.has("move_in", set(), found.conditions)


def test_every_shipped_pathway_passes_the_type_checks() -> None:
    assert SHIPPED
    for path in SHIPPED:
        document, found = load(path.read_text(encoding="utf-8"), str(path))
        assert document is not None and not found
        assert type_problems(document, str(path)) == [], path


NAMES = st.sampled_from(["risk", "needs", "engaged", "move_in_date", "visits", "notes",
                         "release_date", "client.phone", "P1M", "missing", "true", "null"])
LITERALS = st.sampled_from(["'high'", "'High'", "'yes'", "1", "2.5", "[]", "['low', 'x']"])
OPERATORS = st.sampled_from(["==", "!=", "in", "not in", "<", "+", "-", "and", "or", "*"])


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(NAMES | LITERALS)
    left, right = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    shape = draw(st.sampled_from(["{} {} {}", "not ({} {} {})", "({} {} {})",
                                  "days_between({0}, {2}) {1} 3", "{0} if {2} else {0}"]))
    return shape.format(left, draw(OPERATORS), right)


@settings(max_examples=150, deadline=None)
@given(expressions(), st.sampled_from(["value", "when"]))
def test_any_expression_is_checked_without_failing(expression: str, key: str) -> None:
    """Whatever an expression mixes, the checks end with located problems, never an error."""
    text = doc(ASSESS + f'- record: checked\n  outcome: checked\n  {key}: "{expression}"\n')
    line = text.count("\n")
    for problem in problems(text):
        assert problem.message
        if problem.path == f"steps[1].{key}":
            assert problem.line == line and problem.column >= 9, problem
