"""dsl.validate on `required_when` fields and `set` steps: located exactly (issue 15)."""

from __future__ import annotations

import html
import json
import re
import textwrap
from pathlib import Path

from dsl import compile_pathway, load_pathway
from tests.unit.dsl.test_validate import HEAD, at, doc, one, problems, where

OFFER = """\
- task: offer
  role: worker
  title: Tenancy offer
  form:
    offer_accepted: {type: boolean, required: true}
    move_in_date: {type: date, required_when: offer_accepted}
"""


def test_a_required_when_field_is_valid() -> None:
    assert problems(doc(OFFER)) == []


def test_a_required_when_reading_an_undefined_name_is_located_at_the_name() -> None:
    text = doc(OFFER.replace("required_when: offer_accepted", "required_when: ofer_accepted"))
    problem = one(text)
    assert where(problem) == at(text, "ofer_accepted")
    assert problem.path == "steps[0].form.move_in_date.required_when"
    assert problem.message.startswith("'ofer_accepted' is not defined (did you mean "
                                      "'offer_accepted'?)")


def test_a_required_when_that_does_not_parse_points_into_it() -> None:
    text = doc(OFFER.replace("required_when: offer_accepted", "required_when: offer_accepted =="))
    problem = one(text)
    assert problem.path == "steps[0].form.move_in_date.required_when"
    assert problem.message.startswith("invalid expression 'offer_accepted ==': does not parse")
    assert problem.line == at(text, "offer_accepted ==")[0]


def test_required_true_beside_required_when_is_refused_at_required() -> None:
    text = doc(OFFER.replace("{type: date, required_when", "{type: date, required: true, "
                                                          "required_when"))
    problem = one(text)
    assert where(problem) == at(text, "required: true, ")
    assert problem.message.startswith("required: true makes the field always required")


def test_a_misspelt_required_when_is_an_unknown_key_with_the_spelling() -> None:
    text = doc(OFFER.replace("required_when", "required_wen"))
    problem = one(text)
    assert where(problem) == at(text, "required_wen")
    assert "did you mean 'required_when'" in problem.message


SCORE = OFFER + """\
- set: score
  values:
    days_to_move: days_between(today(), move_in_date) if offer_accepted else 0
    soon: days_to_move < 14
- decide: soon_check
  branches:
    - when: soon and offer_accepted
      steps:
        - end: moving
          reason: moving
  otherwise: []
"""


def test_a_set_step_is_valid_and_its_names_are_defined_for_later_expressions() -> None:
    assert problems(doc(SCORE)) == []


def test_a_set_value_reading_an_undefined_name_is_located_at_the_name() -> None:
    text = doc(SCORE.replace("days_to_move < 14", "days_to_mov < 14"))
    problem = one(text)
    assert where(problem) == at(text, "days_to_mov <")
    assert problem.path == "steps[1].values.soon"
    assert "did you mean 'days_to_move'" in problem.message


def test_a_set_value_calling_outside_the_language_is_refused_where_it_calls() -> None:
    text = doc(SCORE.replace("days_to_move < 14", "__import__('os').system('ls')"))
    found = problems(text)
    assert [p.path for p in found] == ["steps[1].values.soon"]
    assert where(found[0]) == at(text, "__import__")
    assert "only these functions can be called" in found[0].message


def test_a_set_step_needs_values() -> None:
    text = doc("""\
        - set: score
          title: Score
        """)
    problem = one(text)
    assert where(problem) == at(text, "set: score")
    assert problem.message.startswith("missing required key 'values'")


def test_a_set_name_reserved_by_the_engine_is_refused_at_the_name() -> None:
    text = doc(SCORE.replace("soon: days_to_move < 14", "client: days_to_move < 14"))
    found = problems(text)
    assert where(found[0]) == at(text, "client: days_to_move")
    assert found[0].message.startswith("set value 'client' is reserved")


def test_a_set_name_that_is_a_client_field_or_a_function_is_refused() -> None:
    text = doc(OFFER + """\
- set: derive
  values:
    release_date: date('2026-01-01')
    today: 3
    pathways_total: 4
""")
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "release_date: date("), at(text, "today: 3"),
                                         at(text, "pathways_total")]
    assert "'release_date' is a client field" in found[0].message
    assert "'today' is a word of the expression language" in found[1].message
    assert "names starting 'pathways_' are kept" in found[2].message


def test_a_set_name_must_be_lower_snake_case() -> None:
    text = doc(OFFER + """\
- set: derive
  values:
    Total: 3
""")
    problem = one(text)
    assert where(problem) == at(text, "Total")
    assert problem.path == "steps[1].values.Total"


def test_the_readme_examples_of_set_and_required_when_are_valid() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    set_step = next(b for b in blocks if "- set: score_phq9" in b)
    form = next(b for b in blocks if "required_when: offer_accepted" in b)
    fields = ["baseline_total: {type: integer, required: true}",
              "birth_date: {type: date, required: true}",
              "needs_adaptation: {type: boolean, required: true}",
              *(f"q{n}: {{type: scale, min: 0, max: 3, required: true}}" for n in range(1, 10))]
    steps = ("- task: assess\n  role: worker\n  title: Assess\n  form:\n"
             + "".join(f"    {line}\n" for line in fields)
             + "- task: offer\n  role: worker\n  title: Offer\n"
             + textwrap.indent(textwrap.dedent(form), "  ") + textwrap.dedent(set_step))
    text = HEAD + textwrap.indent(steps, "  ")
    assert problems(text) == []


COMPUTED = """\
- task: assess
  role: worker
  title: Assess
  form:
    q1: {type: integer, required: true}
    q2: {type: integer, required: true}
    total: {type: integer, computed: q1 + q2, title: Total}
    days_out: {type: integer, computed: "days_between(release_date, today())"}
"""


def test_a_computed_field_is_valid() -> None:
    assert problems(doc(COMPUTED)) == []


def test_a_computed_field_reading_an_undefined_name_is_located_at_the_name() -> None:
    text = doc(COMPUTED.replace("computed: q1 + q2", "computed: q1 + q3"))
    problem = one(text)
    assert where(problem) == at(text, "q3")
    assert problem.path == "steps[0].form.total.computed"


def test_a_computed_field_cannot_also_be_required_or_prefilled() -> None:
    text = doc(COMPUTED.replace("{type: integer, computed: q1 + q2,",
                                "{type: integer, required: true, computed: q1 + q2,"))
    problem = one(text)
    assert where(problem) == at(text, "required: true, computed")
    assert problem.message.startswith("a computed field is never entered, so required does "
                                      "not apply")


def test_a_choice_field_has_no_computed() -> None:
    text = doc(COMPUTED.replace("total: {type: integer,", "total: {type: choice, options: [a],"))
    problem = one(text)
    assert where(problem) == at(text, "computed: q1")
    assert "unknown key 'computed'" in problem.message


def test_a_computed_field_compiles_read_only_with_its_expression() -> None:
    compiled = compile_pathway(load_pathway(doc(COMPUTED), "p.yaml"))
    form = json.loads(compiled.forms["demo.assess.schema.json"])
    assert form["properties"]["total"]["x-pathways-computed"] == "q1 + q2"
    assert form["properties"]["total"]["readOnly"] is True
    assert form["properties"]["days_out"]["x-pathways-computed"] == \
        "days_between(client.release_date, today())"  # a client field, as the engine reads it
    assert "total" not in form["required"]


def test_the_readme_example_of_computed_fields_is_valid() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    form = next(b for b in blocks if "computed: q1 + q2" in b)
    steps = ("- task: assess\n  role: worker\n  title: Assess\n"
             + textwrap.indent(textwrap.dedent(form), "  "))
    text = HEAD.replace("release_date: date", "birth_date: date") + textwrap.indent(steps, "  ")
    assert problems(text) == []


def test_a_set_step_compiles_to_a_script_of_expr_calls_only() -> None:
    compiled = compile_pathway(load_pathway(doc(SCORE), "p.yaml"))
    script = re.search(r'<bpmn:scriptTask id="score" name="([^"]*)">.*?<bpmn:script>(.*?)'
                       r"</bpmn:script>", compiled.bpmn, re.DOTALL)
    assert script is not None
    assert script.group(1) == "Set: days to move, soon"
    assert html.unescape(script.group(2)).splitlines() == [
        'days_to_move = expr("days_between(today(), move_in_date) if offer_accepted else 0")',
        'soon = expr("days_to_move < 14")']
    assert '<spiffworkflow:property name="pathwaysSets" value="days_to_move soon"/>' \
        in compiled.bpmn


def test_the_set_step_names_match_the_engine() -> None:
    from dsl.kinds import set_step
    from engine.workflow import definition_model, sandbox
    assert set_step.DSL_FUNCTION == sandbox.DSL_FUNCTION
    assert set_step.SETS_PROPERTY == definition_model.SETS
