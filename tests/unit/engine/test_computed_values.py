"""`required_when` fields and `set` steps, compiled from the DSL and run through the real
SpiffWorkflow (issue 15, items 2 and 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from dsl import DslError, compile_pathway, load_pathway, validate
from engine import Engine, FormValidationError
from engine.workflow.forms import computed_values, validate_submission

HOUSING = """
pathway: housing_offer
title: Housing offer
roles:
  worker: {title: Worker}
client_fields:
  needs_adaptation: boolean
steps:
  - task: offer
    role: worker
    title: Tenancy offer
    form:
      offer_accepted: {type: boolean, required: true}
      move_in_date: {type: date, required_when: offer_accepted}
      adaptations: {type: text, required_when: offer_accepted and needs_adaptation}
  - end: done
    reason: completed
"""


def publish(engine: Engine, text: str) -> None:
    """Publish the pathway; PHQ-9's optional q3, read by the set step, is the mistake planted
    to make a case fail there: the validator must see it, and it is compiled anyway."""
    _, problems = validate(text, "p.yaml")
    planted = [p for p in problems if p.message.startswith("q3 may not have been asked here")]
    if problems != planted:
        raise DslError(problems)
    if text.startswith(PHQ9[:200]) and "q1 + q2 + q3" in text:
        assert planted, "the validator no longer sees the planted mistake"
    compiled = compile_pathway(yaml.safe_load(text) if planted else load_pathway(text, "p.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)


def first_task(engine: Engine, pathway: str, fields: dict[str, Any] | None = None) -> str:
    client = engine.add_client("Ann", fields or {}).id or 0
    return engine.start_case(pathway, client).tasks[0].task.id


def test_a_set_expression_is_text_to_the_expression_language_not_python(
        engine: Engine, tmp_path: Path) -> None:
    """Quotes in an expression cannot end the compiled call early: a string stays a string."""
    marker = tmp_path / "escaped"
    source = f"'x\") or __import__(\"os\").system(\"touch {marker}\") or (\"'"
    publish(engine, PHQ9.replace("phq9_total: q1 + q2 + q3", f"phq9_total: {json.dumps(source)}")
            .replace("baseline - phq9_total >= 6", "false"))
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 1, "q2": 2, "q3": 0, "baseline": 12})
    case = engine.get_case(done.case_id).case
    assert case.status == "completed"
    assert case.data["phq9_total"] == source[1:-1]
    assert not marker.exists()


# -- required_when -------------------------------------------------------------------------


def test_a_required_when_field_is_required_while_its_condition_holds(engine: Engine) -> None:
    publish(engine, HOUSING)
    task = first_task(engine, "housing_offer", {"needs_adaptation": False})
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"offer_accepted": True})
    assert caught.value.fields == {"move_in_date": ["this field is required when offer accepted"]}
    done = engine.complete_task(task, {"offer_accepted": True, "move_in_date": "2026-03-01"})
    assert done.status == "completed"


def test_a_required_when_field_is_optional_while_its_condition_is_false(engine: Engine) -> None:
    publish(engine, HOUSING)
    task = first_task(engine, "housing_offer", {"needs_adaptation": True})
    assert engine.complete_task(task, {"offer_accepted": False}).status == "completed"


def test_a_required_when_condition_reads_the_case_data_too(engine: Engine) -> None:
    publish(engine, HOUSING)
    task = first_task(engine, "housing_offer", {"needs_adaptation": True})
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"offer_accepted": True, "move_in_date": "2026-03-01"})
    assert caught.value.fields == {"adaptations": [
        "this field is required when offer accepted and client.needs adaptation"]}


def test_required_when_beside_visible_when_applies_only_while_shown() -> None:
    schema = {"type": "object", "properties": {
        "reached": {"type": "boolean"},
        "urgent": {"type": "boolean"},
        "why": {"type": "string", "x-pathways-visible-when": "reached",
                "x-pathways-required-when": "urgent"}}}
    validate_submission(schema, {"reached": False, "urgent": True}, context={})
    with pytest.raises(FormValidationError) as caught:
        validate_submission(schema, {"reached": True, "urgent": True}, context={})
    assert caught.value.fields == {"why": ["this field is required when urgent"]}
    # a condition that cannot be evaluated (an answer not given) does not hold
    validate_submission(schema, {"reached": True}, context={})


# -- set steps -----------------------------------------------------------------------------

PHQ9 = """
pathway: talking_therapies
title: Talking therapies
roles:
  therapist: {title: Therapist}
client_fields:
  birth_date: date
  release_date: date
steps:
  - task: assess
    role: therapist
    title: PHQ-9
    form:
      q1: {type: scale, min: 0, max: 3, required: true}
      q2: {type: scale, min: 0, max: 3, required: true}
      q3: {type: scale, min: 0, max: 3}
      baseline: {type: integer, required: true}
  - set: score
    values:
      phq9_total: q1 + q2 + q3
      reliable_improvement: baseline - phq9_total >= 6
      age_at_release: days_between(birth_date, release_date) // 365
  - decide: improved_check
    branches:
      - when: reliable_improvement
        steps:
          - end: recovered
            reason: recovered
    otherwise: []
  - end: continuing
    reason: continuing
"""
CLIENT = {"birth_date": "1990-01-01", "release_date": "2026-07-01"}


def test_a_set_step_writes_its_values_in_order_to_the_case_data(engine: Engine) -> None:
    publish(engine, PHQ9)
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 1, "q2": 2, "q3": 0, "baseline": 12})
    case = engine.get_case(done.case_id).case
    assert (case.status, case.exit_reason) == ("completed", "recovered")
    assert (case.data["phq9_total"], case.data["reliable_improvement"],
            case.data["age_at_release"]) == (3, True, 36)


def test_a_set_step_the_decision_after_it_reads(engine: Engine) -> None:
    publish(engine, PHQ9)
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 3, "q2": 3, "q3": 3, "baseline": 12})
    case = engine.get_case(done.case_id).case
    assert (case.exit_reason, case.data["reliable_improvement"]) == ("continuing", False)


def test_a_set_expression_failing_at_run_time_is_the_usual_incident(engine: Engine) -> None:
    publish(engine, PHQ9)
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 1, "q2": 2, "baseline": 12})  # q3 left out
    case = engine.get_case(done.case_id).case
    assert case.status == "error"
    assert case.error is not None and case.error["step"] == "score"
    assert "'q3' is not defined" in case.error["message"]
    assert "phq9_total" not in case.data


def test_a_set_step_reading_sensitive_answers_writes_sensitive_data(engine: Engine) -> None:
    publish(engine, PHQ9.replace("q1: {type: scale,", "q1: {type: scale, sensitive: health,"))
    parsed = engine.definition("talking_therapies", 1)
    assert parsed.sensitive_steps["score"] == "health"
    assert {"phq9_total", "reliable_improvement", "age_at_release"} <= set(parsed.step_fields)


ESCAPES = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__base__.__subclasses__()",
    "open('{marker}', 'w')",
    "x\\\") or __import__('os').system('touch {marker}') or (\\\"",
    "[c for c in ().__class__.__mro__]",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_a_set_expression_cannot_reach_beyond_the_expression_language(
        engine: Engine, source: str, tmp_path: Path) -> None:
    """Even past the validator (a hand-made document), the compiled script only hands the
    text to the expression language: the case stops with an incident, nothing runs."""
    marker = tmp_path / "escaped"
    document = yaml.safe_load(PHQ9)
    document["steps"][1]["values"] = {"phq9_total": source.format(marker=marker)}
    document["steps"] = document["steps"][:2]
    compiled = compile_pathway(document)
    engine.publish(compiled.files(), compiled.bpmn_file)
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 1, "q2": 2, "q3": 0, "baseline": 12})
    case = engine.get_case(done.case_id).case
    assert case.status == "error" and case.error is not None
    assert case.error["step"] == "score"
    assert "phq9_total" not in case.data
    assert not marker.exists()


# -- computed form fields ------------------------------------------------------------------

SCORED = """
pathway: scored
title: Scored
roles:
  therapist: {title: Therapist}
client_fields:
  birth_date: date
steps:
  - task: intake
    role: therapist
    title: Intake
    form:
      seen_on: {type: date, required: true}
  - task: assess
    role: therapist
    title: PHQ-9
    form:
      age: {type: integer, computed: "days_between(birth_date, seen_on) // 365"}
      q1: {type: scale, min: 0, max: 3, required: true}
      q2: {type: scale, min: 0, max: 3}
      total: {type: integer, computed: q1 + q2, title: PHQ-9 total}
      severe: {type: boolean, computed: total >= 5}
"""


def second_task(engine: Engine) -> tuple[int, str]:
    publish(engine, SCORED)
    task = first_task(engine, "scored", {"birth_date": "1990-01-01"})
    done = engine.complete_task(task, {"seen_on": "2026-07-01"})
    return done.case_id, done.tasks[0].task.id


def test_computed_fields_are_worked_out_on_completion_and_stored(engine: Engine) -> None:
    case_id, task = second_task(engine)
    engine.complete_task(task, {"q1": 3, "q2": 2})
    case = engine.get_case(case_id).case
    assert (case.data["age"], case.data["total"], case.data["severe"]) == (36, 5, True)
    completed = [e for e in engine.events(case_id) if e.type == "task_completed"][-1]
    assert completed.data["data"]["total"] == 5


def test_a_submitted_value_for_a_computed_field_is_refused(engine: Engine) -> None:
    case_id, task = second_task(engine)
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"q1": 3, "q2": 2, "total": 0})
    assert caught.value.fields == {
        "total": ["this field is computed, not entered: leave it out of the submission"]}
    assert "total" not in engine.get_case(case_id).case.data


def test_a_computed_field_that_cannot_be_worked_out_refuses_the_completion(
        engine: Engine) -> None:
    case_id, task = second_task(engine)
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"q1": 3})  # q2 is optional, and the total reads it
    assert list(caught.value.fields) == ["total", "severe"]  # severe reads the total
    assert caught.value.fields["total"][0].startswith("cannot be computed: 'q2' is not defined")
    assert engine.get_case(case_id).tasks[0].task.id == task  # nothing was saved


def test_a_computed_value_of_the_wrong_type_is_named(engine: Engine) -> None:
    publish(engine, SCORED.replace("computed: q1 + q2,", "computed: \"'many'\",")
            .replace("computed: total >= 5", "computed: false"))
    task = first_task(engine, "scored", {"birth_date": "1990-01-01"})
    task = engine.complete_task(task, {"seen_on": "2026-07-01"}).tasks[0].task.id
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"q1": 3, "q2": 2})
    assert list(caught.value.fields) == ["total"]
    assert caught.value.fields["total"][0].startswith("the computed value 'many' does not fit")


def test_computed_values_for_showing_the_form_leave_out_what_cannot_be_worked_out() -> None:
    schema = {"type": "object", "properties": {
        "age": {"type": "integer",
                "x-pathways-computed": "days_between(born, '2026-07-01') // 365"},
        "total": {"type": "integer", "x-pathways-computed": "q1 + q2"}}}
    assert computed_values(schema, {}, {"born": "1990-01-01"}, strict=False) == {"age": 36}


def test_a_computed_field_reading_sensitive_answers_is_sensitive(engine: Engine) -> None:
    publish(engine, SCORED.replace("q1: {type: scale,", "q1: {type: scale, sensitive: health,"))
    parsed = engine.definition("scored", 1)
    assert parsed.step_fields.get("total") == "health"
    assert parsed.step_fields.get("severe") == "health"  # reads total, in turn
    assert "age" not in parsed.step_fields


def test_a_set_step_inside_a_repeat_and_a_parallel_branch(engine: Engine) -> None:
    publish(engine, """
pathway: visits
title: Visits
roles:
  worker: {title: Worker}
steps:
  - task: start_visits
    role: worker
    title: Start
    form:
      visits_so_far: {type: integer, required: true}
  - repeat: weekly
    until: visits_so_far >= 2
    max: 5
    steps:
      - task: visit
        role: worker
        title: Visit
        form:
          score: {type: integer, required: true}
      - set: count_visit
        values:
          visits_so_far: visits_so_far + 1
          last_score: score * 10
  - parallel: wrap_up
    branches:
      - steps:
          - set: summarise
            values:
              visits_total: visits_so_far
              points: visits_total * 100
      - steps:
          - set: flag
            values:
              high: last_score > 20
""")
    task = first_task(engine, "visits")
    result = engine.complete_task(task, {"visits_so_far": 0})
    result = engine.complete_task(result.tasks[0].task.id, {"score": 1})
    result = engine.complete_task(result.tasks[0].task.id, {"score": 3})
    case = engine.get_case(result.case_id).case
    assert case.status == "completed", case.error
    assert (case.data["visits_so_far"], case.data["last_score"]) == (2, 30)
    assert (case.data["visits_total"], case.data["points"], case.data["high"]) == (2, 200, True)


def test_a_required_when_may_read_a_computed_field_of_the_same_form(engine: Engine) -> None:
    publish(engine, SCORED.replace(
        "      severe: {type: boolean, computed: total >= 5}\n",
        "      severe: {type: boolean, computed: total >= 5}\n"
        "      plan: {type: text, required_when: severe}\n"))
    task = first_task(engine, "scored", {"birth_date": "1990-01-01"})
    task = engine.complete_task(task, {"seen_on": "2026-07-01"}).tasks[0].task.id
    with pytest.raises(FormValidationError) as caught:
        engine.complete_task(task, {"q1": 3, "q2": 2})
    assert caught.value.fields == {"plan": ["this field is required when severe"]}
    assert engine.complete_task(task, {"q1": 1, "q2": 2}).status == "completed"


@pytest.mark.parametrize("source", ["1e308 * 10", "[1, -1e308 - 1e308]",
                                    "1000000000 * 1000000000 * 10"])
def test_a_set_value_out_of_bounds_stops_the_case_at_the_step(engine: Engine,
                                                              source: str) -> None:
    publish(engine, PHQ9.replace("phq9_total: q1 + q2 + q3", f'phq9_total: "{source}"'))
    task = first_task(engine, "talking_therapies", CLIENT)
    done = engine.complete_task(task, {"q1": 1, "q2": 2, "q3": 0, "baseline": 12})
    case = engine.get_case(done.case_id).case
    assert case.status == "error" and case.error is not None
    assert case.error["step"] == "score" and "out of bounds" in case.error["message"]
    assert "phq9_total" not in case.data


def test_a_set_step_marked_sensitive_writes_sensitive_data(engine: Engine) -> None:
    publish(engine, PHQ9.replace("  - set: score\n", "  - set: score\n    sensitive: offence\n"))
    parsed = engine.definition("talking_therapies", 1)
    assert parsed.sensitive_steps["score"] == "offence"
    assert parsed.step_fields["age_at_release"] == "offence"
