"""dsl.validate: every problem kind, located exactly, all at once, and never a traceback."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection
from pathlib import Path

import jsonschema
import pytest
import yaml

from dsl import DslError, DslProblem, json_schema, load_pathway, validate
from dsl.loader import MAX_DEPTH, MAX_NODES
from dsl.validate import reads
from engine.workflow.expressions import names

ROOT = Path(__file__).parents[3]
EXAMPLE = re.search(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(),
                    re.DOTALL).group(1)  # type: ignore[union-attr]

# every step kind and form field type, valid
RICH = textwrap.dedent("""\
    pathway: resettlement
    title: Resettlement support
    description: Housing and family support after release.
    organisation: nacro
    roles:
      caseworker:
        title: Caseworker
        organisations: [nacro]
      manager:
        title: Manager
    client_fields:
      release_date: date
      phone: text
      age: integer
      needs_housing: boolean
    steps:
      - task: assess
        role: caseworker
        title: Assess needs
        instructions: Ask about housing, money and family.
        due: release_date - P7D
        form:
          risk: {type: choice, options: [low, medium, high], required: true}
          needs: {type: multiple_choice, options: [accommodation, money, family], required: true}
          notes: {type: long_text, max_length: 2000}
          score: {type: scale, min: 1, max: 5, labels: {1: Poor, 5: Good}, required: true}
          income: {type: number, min: 0, max: 100000.5}
          children: {type: integer, min: 0, max: 20}
          seen_on: {type: date, title: Seen on}
          housed: {type: boolean, visible_when: "'accommodation' in needs"}
          phone: {type: text, max_length: 20, prefill: client.phone, save_to: client.phone}
      - decide: route
        branches:
          - when: risk == 'high'
            steps:
              - notify: alert_manager
                to: manager
                message: A high-risk client needs review.
              - refer: to_mappa
                pathway: mappa
                wait: true
              - record: mappa_outcome
                outcome: mappa_completed
                value: to_mappa_result.exit_reason == 'completed'
          - when: "'accommodation' in needs and not client.needs_housing"
            steps:
              - wait: until_release
                until: client.release_date
        otherwise: []
      - parallel: support
        branches:
          - steps:
              - task: housing
                role: caseworker
                title: Find housing
                due: client.release_date + P1D
                form:
                  housed_at: {type: text}
          - steps:
              - wait: cooling_off
                for: PT12H
              - record: checked
                outcome: checked_in
      - repeat: check_ins
        every: P1W
        until: done or days_between(client.release_date, today()) > 90
        max: 12
        steps:
          - task: check_in
            role: caseworker
            title: Check in
            form:
              done: {type: boolean, required: true}
      - record: housed
        outcome: housed
        value: len(needs) > 1
        when: score >= 3
      - end: finished
        reason: completed
    """)

HEAD = textwrap.dedent("""\
    pathway: demo
    title: Demo
    roles:
      worker: {title: Worker}
    client_fields:
      release_date: date
      phone: text
    steps:
    """)


def doc(steps: str) -> str:
    """A document with the given steps (written at the left margin) under HEAD."""
    return HEAD + textwrap.indent(textwrap.dedent(steps), "  ")


def at(text: str, needle: str, occurrence: int = 1, shift: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of needle in text, plus shift columns."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1 + shift


def problems(text: str, known_pathways: Collection[str] | None = None) -> list[DslProblem]:
    return validate(text, "p.yaml", known_pathways=known_pathways)[1]


def one(text: str, known_pathways: Collection[str] | None = None) -> DslProblem:
    found = problems(text, known_pathways)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def where(problem: DslProblem) -> tuple[int, int]:
    return problem.line, problem.column


# -- valid documents ---------------------------------------------------------------------


def test_the_example_in_the_docs_is_valid() -> None:
    document, found = validate(EXAMPLE, "family_support.yaml")
    assert found == []
    assert document == yaml.safe_load(EXAMPLE)


def test_a_document_with_every_kind_and_field_type_is_valid() -> None:
    assert problems(RICH, known_pathways={"mappa"}) == []


def test_load_pathway_returns_the_yaml_data_unchanged() -> None:
    document = load_pathway(RICH, "r.yaml")
    assert document["steps"][0]["form"]["score"]["labels"] == {"1": "Poor", "5": "Good"}
    assert document["steps"][2]["branches"][1]["steps"][0] == {"wait": "cooling_off",
                                                                "for": "PT12H"}
    assert document["steps"][1]["branches"][0]["steps"][1]["wait"] is True


def test_dates_stay_text() -> None:
    document = load_pathway(doc("""\
        - end: done
          reason: completed
        """).replace("title: Demo", "title: Demo\ndescription: 2026-01-01"), "p.yaml")
    assert document["description"] == "2026-01-01"


def test_the_shipped_schema_is_valid_and_accepts_the_valid_documents() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(EXAMPLE))) == []
    rich = load_pathway(RICH, "r.yaml")
    assert list(validator.iter_errors(rich)) == []
    rich["steps"][0]["rol"] = rich["steps"][0].pop("role")
    assert list(validator.iter_errors(rich))  # editors see the same rules


def test_json_schema_is_a_copy() -> None:
    json_schema()["$defs"].clear()
    assert "task" in json_schema()["$defs"]


# -- problems and errors -----------------------------------------------------------------


def test_a_problem_prints_file_line_column_message_and_path() -> None:
    problem = DslProblem("a.yaml", 3, 7, "steps[0].role", "it is wrong: fix it")
    assert str(problem) == "a.yaml:3:7: it is wrong: fix it [steps[0].role]"
    assert str(DslProblem("a.yaml", 1, 1, "", "empty")) == "a.yaml:1:1: empty"


def test_load_pathway_raises_dsl_error_with_every_problem() -> None:
    text = doc("""\
        - task: first
          rol: worker
          title: First
        - end: done
          reason: completed
        - end: late
          reason: completed
        """)
    with pytest.raises(DslError) as caught:
        load_pathway(text, "p.yaml")
    assert len(caught.value.problems) == 2
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    assert str(caught.value).startswith("p.yaml:")


# -- the schema, step by step -------------------------------------------------------------


# one problem, at one place: (steps; whether its message starts with, contains or is the text
# given; the text it points at and which occurrence of that text; its path, or None where
# the place alone was pinned)
ONE_PROBLEM = [
    pytest.param(
        """\
                - task: first
                  rol: worker
                  title: First
                """,
        "starts",
        "unknown key 'rol' (did you mean 'role'?)",
        "rol:", 1, "steps[0].rol",
        id="a_misspelt_key_is_unknown_with_a_guess_and_not_also_missing"),
    pytest.param(
        """\
                - task: first
                  role: worker
                  title: First
                  form:
                    age: {type: integer, options: [a, b]}
                """,
        "starts",
        "unknown key 'options' (it belongs to choice and multiple_choice fields)",
        "options", 1, "steps[0].form.age.options",
        id="a_key_of_another_kind_says_where_it_belongs"),
    pytest.param(
        """\
                - task: first
                  role: worker
                  title: First
                  due: relase_date - P7D
                """,
        "starts",
        "'relase_date' is not defined (did you mean 'release_date'?)",
        "relase_date", 1, "steps[0].due",
        id="due_naming_an_undeclared_field"),
    pytest.param(
        """\
                - task: first
                  role: worker
                  title: First
                  due: phone
                """,
        "contains",
        "a text client field, but due needs a date",
        "phone", 2, None,
        id="due_naming_a_field_that_is_not_a_date"),
    pytest.param(
        """\
                - task: first
                  role: worker
                  title: yes
                """,
        "starts",
        "'title' must be text, not true: put it in quotes",
        "yes", 1, "steps[0].title",
        id="a_wrong_type_says_what_was_expected_and_found"),
    pytest.param(
        """\
                - task: first
                  role: worker
                  title:
                """,
        "starts",
        "'title' must be text, not empty",
        "title:\n", 1, None,
        id="an_empty_value_points_at_its_key"),
    pytest.param(
        """\
                - role: worker
                  title: First
                """,
        "starts",
        "this step has no kind: start it with one of task, "
        "decide, parallel, wait, repeat, refer, record, notify, end",
        "role: worker", 1, "steps[0]",
        id="a_step_without_a_kind"),
    pytest.param(
        """\
                - taks: first
                  role: worker
                  title: First
                """,
        "starts",
        "unknown step kind 'taks' (did you mean 'task'?)",
        "taks", 1, "steps[0].taks",
        id="an_unknown_step_kind_close_to_a_known_one"),
    pytest.param(
        """\
                - task: first
                  end: done
                  role: worker
                  title: First
                """,
        "starts",
        "this step has several kinds (task, end)",
        "end: done", 1, None,
        id="a_step_with_several_kinds_names_them"),
    pytest.param(
        """\
                - just text
                """,
        "starts",
        "a step must be a mapping such as `- task: <id>`",
        "just text", 1, "steps[0]",
        id="a_step_that_is_not_a_mapping"),
    pytest.param(
        """\
                - repeat: rounds
                  steps:
                    - end: done
                      reason: completed
                """,
        "starts",
        "a repeat needs at least one of `every`",
        "repeat: rounds", 1, "steps[0]",
        id="repeat_needs_every_until_or_max"),
    pytest.param(
        """\
                - parallel: both
                  branches:
                    - steps: [{record: seen, outcome: seen}]
                """,
        "starts",
        "a parallel needs at least two branches",
        "- steps", 1, "steps[0].branches",
        id="parallel_needs_two_branches"),
    pytest.param(
        """\
                - record: r
                  outcome: o
                  when: open('x')
                """,
        "contains",
        "only these functions can be called",
        "open", 1, None,
        id="functions_outside_the_language_are_refused"),
    pytest.param(
        """\
                - refer: housing
                  pathway: housing
                  wait: true
                - refer: debt
                  pathway: debt
                - record: r
                  outcome: o
                  value: housing_result.exit_reason == 'completed' and debt_result
                """,
        "contains",
        "'debt_result' is not defined",
        "debt_result", 1, None,
        id="a_referral_result_is_defined_only_when_the_referral_waits"),
    pytest.param(
        """\
                - parallel: both
                  branches:
                    - steps:
                        - end: stop
                          reason: stopped
                    - steps: [{record: seen, outcome: seen}]
                """,
        "starts",
        "a parallel branch cannot end the pathway: remove the end "
        "step 'stop' from the branch, or put it after the "
        "parallel step 'both'",
        "stop", 1, "steps[0].branches[0].steps[0].end",
        id="a_parallel_branch_cannot_end_the_pathway"),
]


@pytest.mark.parametrize(("steps", "how", "message", "marker", "occurrence", "path"),
                         ONE_PROBLEM)
def test_one_problem_located(steps: str, how: str, message: str, marker: str, occurrence: int,
                             path: str | None) -> None:
    text = doc(steps)
    problem = one(text)
    if how == "starts":
        assert problem.message.startswith(message)
    elif how == "contains":
        assert message in problem.message
    else:
        assert problem.message == message
    assert where(problem) == at(text, marker, occurrence=occurrence)
    if path is not None:
        assert problem.path == path



def test_a_missing_required_key() -> None:
    text = doc("""\
        - task: first
          title: First
        """)
    problem = one(text)
    assert problem.message.startswith("missing required key 'role'")
    assert "add `role: ...`" in problem.message
    assert where(problem) == at(text, "task: first")
    assert problem.path == "steps[0]"


@pytest.mark.parametrize(("line", "message"), [
    ("every: P7X", "'P7X' is not an ISO-8601 duration such as P7D or PT12H"),
    ("every: 7 days", "'7 days' is not an ISO-8601 duration such as P7D or PT12H"),
    ("every: P", "'P' is not an ISO-8601 duration"),
    ("every: P1DT", "'P1DT' is not an ISO-8601 duration"),
])
def test_durations_must_be_iso_8601(line: str, message: str) -> None:
    text = doc(f"""\
        - repeat: rounds
          {line}
          steps:
            - end: done
              reason: completed
        """)
    problem = one(text)
    assert problem.message.startswith(message)
    assert where(problem) == at(text, line, shift=len("every: "))
    assert problem.path == "steps[0].every"


@pytest.mark.parametrize("due", ["P7D", "PT12H", "P1Y2M3DT5H6M7S", "P2W", "release_date",
                                 "client.release_date", "release_date - P7D",
                                 "release_date + P1D", "release_date-P7D"])
def test_due_accepts_a_duration_a_date_field_or_a_date_field_plus_a_duration(due: str) -> None:
    assert problems(doc(f"""\
        - task: first
          role: worker
          title: First
          due: {due}
        """)) == []


@pytest.mark.parametrize("due, message", [
    ("P7X", "invalid expression 'P7X': P7X is not an ISO-8601 duration: write P, then whole "
            "numbers with Y (years), M (months), D (days)"),
    # weeks stand alone in ISO 8601; publishing refused this before, now the validator says why
    ("P1Y2M3W4D", "invalid expression 'P1Y2M3W4D': P1Y2M3W4D is not an ISO-8601 duration: "
                  "write P, then whole numbers"),
    ("release_date * 2", "due 'release_date * 2' does not give a date: write a date field, "
                         "today(), working_days(n)"),
    ("Release_date", "'Release_date' is not defined (did you mean 'release_date'?)"),
    ("release_date + 7", "add a duration such as P7D, not a number, to move a date: e.g. "
                         "release_date + P7D"),
])
def test_due_that_is_neither(due: str, message: str) -> None:
    problem = one(doc(f"""\
        - task: first
          role: worker
          title: First
          due: {due}
        """))
    assert problem.message.startswith(message)
    assert problem.path == "steps[0].due"


def test_ids_must_be_lower_snake_case() -> None:
    text = doc("""\
        - task: First-Contact
          role: worker
          title: First
          form:
            Risk: {type: text}
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "First-Contact"), at(text, "Risk")]
    assert found[0].message.startswith("'First-Contact' is not a valid id: ids are "
                                       "lower_snake_case")
    assert [p.path for p in found] == ["steps[0].task", "steps[0].form.Risk"]


def test_unknown_top_level_key() -> None:
    text = HEAD.replace("title: Demo", "titel: Demo")
    found = problems(text + "  - end: done\n    reason: completed\n")
    assert len(found) == 1
    assert found[0].message.startswith("unknown key 'titel' (did you mean 'title'?): a "
                                       "pathway has the keys pathway, title,")
    assert where(found[0]) == (2, 1)
    assert found[0].path == "titel"


def test_missing_top_level_keys_and_empty_steps() -> None:
    found = problems("pathway: demo\nsteps: []\n")
    messages = sorted(p.message.split(" (")[0] for p in found)
    assert messages == ["a pathway needs at least one step: add one under steps, e.g. "
                        "`- task: first_contact`",
                        "missing required key 'roles'", "missing required key 'title'"]
    assert all(where(p) in {(1, 1), (2, 8)} for p in found)


def test_roles_must_not_be_empty_and_client_field_types_are_known() -> None:
    text = ("pathway: demo\ntitle: Demo\nroles: {}\nclient_fields:\n  phone: txt\n"
            "steps:\n  - end: done\n    reason: completed\n")
    found = problems(text)
    assert [where(p) for p in found] == [(3, 8), (5, 10)]
    assert found[0].message.startswith("a pathway needs at least one role")
    assert found[1].message == ("the text 'txt' is not allowed for 'phone' (did you mean "
                                "'text'?): use one of text, number, integer, boolean, date")
    assert found[1].path == "client_fields.phone"


# -- step kinds -----------------------------------------------------------------------------


def test_refer_wait_is_an_option_not_a_kind() -> None:
    assert problems(doc("""\
        - refer: other
          pathway: other
          wait: true
        """)) == []


@pytest.mark.parametrize("keys", ["", "\n  for: P1D\n  until: client.release_date"])
def test_wait_needs_exactly_one_of_for_and_until(keys: str) -> None:
    text = doc(f"- wait: pause{keys}\n")
    problem = one(text)
    assert problem.message.startswith("a wait needs exactly one of `for`")
    assert where(problem) == at(text, "wait: pause")


# -- step ids, roles, referrals -------------------------------------------------------------


def test_duplicate_step_ids_anywhere_report_the_second() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
        - decide: check
          branches:
            - when: true_or_false
              steps:
                - task: first
                  role: worker
                  title: Again
          otherwise: []
        """).replace("true_or_false", "release_date")
    problem = one(text)
    line = at(text, "task: first")[0]
    assert problem.message.startswith(f"step id 'first' is already used by the step at line "
                                      f"{line}")
    assert where(problem) == at(text, "first", occurrence=2)
    assert problem.path == "steps[1].branches[0].steps[0].task"


def test_an_undeclared_role_and_notify_target() -> None:
    text = doc("""\
        - task: first
          role: wroker
          title: First
        - notify: tell
          to: boss
          message: Hello
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "wroker"), at(text, "boss")]
    assert found[0].message.startswith("role 'wroker' (the task's role) is not declared under "
                                       "roles (did you mean 'worker'?): declare it there")
    assert found[1].message.startswith("role 'boss' (who is notified) is not declared")
    assert [p.path for p in found] == ["steps[0].role", "steps[1].to"]


def test_refer_to_an_unknown_pathway_when_the_known_ones_are_given() -> None:
    text = doc("""\
        - refer: onward
          pathway: housng
        - refer: again
          pathway: demo
        """)
    assert problems(text) == []
    problem = one(text, known_pathways=["housing", "debt"])
    assert problem.message.startswith("pathway 'housng' is not known (did you mean 'housing'?)")
    assert where(problem) == at(text, "housng")
    assert problem.path == "steps[0].pathway"


def test_an_unknown_pathway_message_offers_only_pathway_ids_not_file_names() -> None:
    """Names that cannot be a pathway id (a file name such as housing_support.yaml, passed
    in by a caller that took it from a file) are never offered as pathways to refer to."""
    text = doc("""\
        - refer: onward
          pathway: housng
        """)
    problem = one(text, known_pathways=["housing_support.yaml", "My Draft", "debt"])
    assert problem.message == ("pathway 'housng' is not known: publish it first, or refer "
                               "to one of the known pathways (debt, demo)")


# -- expressions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "offending"), [
    ("when: release_date ==", None),
    ("when: release_date and (", "("),
    ('when: "release_date and ("', "("),
    ("when: 'release_date and ('", "("),
    ('when: "  release_date and ("', "("),
])
def test_an_expression_that_does_not_parse_points_into_the_yaml(
        written: str, offending: str | None) -> None:
    text = doc(f"""\
        - decide: check
          branches:
            - {written}
              steps: []
          otherwise: []
        """)
    problem = one(text)
    assert problem.message.startswith("invalid expression")
    assert problem.path == "steps[0].branches[0].when"
    if offending is None:  # Python places this one at the start: still inside the value
        line, column = at(text, written, shift=len("when: "))
        assert problem.line == line
        assert column <= problem.column < column + len("release_date ==")
    else:
        assert where(problem) == at(text, offending)


@pytest.mark.parametrize("quoted", ["risk == \u2018high\u2019", "risk == \u201chigh\u201d",
                                    "risk == \u2019high\u2019", '"  risk == \u2018high\u2019"'])
def test_curly_quotes_in_an_expression_are_named_with_the_fix(quoted: str) -> None:
    """Word processors turn ' into curly quotes: the message says so, at the quote (issue 15)."""
    text = doc(f"""\
        - decide: check
          branches:
            - when: {quoted}
              steps: []
          otherwise: []
        """)
    problem = one(text)
    curly = next(c for c in quoted if c in "\u2018\u2019\u201c\u201d")
    assert "use straight quotes" in problem.message and curly in problem.message
    assert where(problem) == at(text, curly)


def test_an_unquoted_option_says_to_quote_it_not_to_add_a_field() -> None:
    """`risk == high` reads a name `high`: when it is an option of a choice field, the fix
    is quotes, not a new field (issue 15)."""
    text = doc("""\
        - task: assess
          role: worker
          title: Assess
          form:
            risk: {type: choice, required: true, options: [low, high]}
        - decide: check
          branches:
            - when: risk == high
              steps: []
          otherwise: []
        """)
    problem = one(text)
    assert problem.message == ("'high' is not defined: it is an option of 'risk'; as a value "
                               "it is text, so put it in quotes: 'high'")
    assert where(problem) == at(text, "high\n")


@pytest.mark.parametrize(("title", "made"), [("{Plan, review}", "a mapping"),
                                            ("[Plan, review]", "a list")])
def test_a_title_yaml_reads_as_a_mapping_or_list_says_to_quote_it(title: str,
                                                                   made: str) -> None:
    """`title: {Plan, review}` is a YAML mapping: say to put the text in quotes (issue 15),
    not only that a title must be text."""
    text = doc(f"""\
        - task: plan
          role: worker
          title: {title}
        """)
    problem = one(text)
    assert made in problem.message
    assert f'put the whole text in quotes: title: "{title}"' in problem.message


def test_an_expression_in_a_block_scalar_points_at_the_scalar() -> None:
    text = doc("""\
        - record: r
          outcome: o
          value: |
            release_date and (
        """)
    problem = one(text)
    assert where(problem) == at(text, "|")
    assert problem.path == "steps[0].value"


@pytest.mark.parametrize("source", [
    "risk", "needs.accommodation and risk in ['high', 'very high']", "len(needs) > 2",
    "days_between(client.release_date, today()) > 7", "a.b.c == a.b", "x if y else z.w",
    "True and none_of_these or null", "len(x.y) + len",
    "[a, b.c][0] == d['e']", "not  (a.b or c)",
])
def test_reads_finds_the_names_the_engine_finds(source: str) -> None:
    assert set(reads(source)) == names(source)


def test_true_false_and_numbers_are_expressions() -> None:
    assert problems(doc("""        - record: r
          outcome: o
          value: 3
          when: true
        """)) == []


def test_an_overlong_expression_is_refused() -> None:
    text = doc(f"""        - record: r
          outcome: o
          when: {"a and " * 200}a
        """)
    problem = one(text)
    assert problem.message.startswith("the expression is 1201 characters long, more than the "
                                      "1000 allowed")


def test_undefined_names_in_expressions() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          form:
            risk: {type: text, required: true}
            needs: {type: text, required: true}
            other: {type: text, visible_when: risk == 'x' and client.phone}
        - record: r
          outcome: o
          value: rsk == 'high' or needs.accommodation or release_date
          when: client.adress and len(needs) > 0 and today() and date
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "rsk"), at(text, "client.adress")]
    assert found[0].message.startswith("'rsk' is not defined (did you mean 'risk'?)")
    assert found[1].message.startswith("'client.adress' reads the client field 'adress', "
                                       "which is not declared under client_fields")
    assert [p.path for p in found] == ["steps[1].value", "steps[1].when"]


def test_wait_until_and_repeat_until_are_checked() -> None:
    text = doc("""\
        - wait: pause
          until: releese_date
        - repeat: rounds
          max: 2
          until: finished
          steps:
            - end: done
              reason: completed
        """)
    found = problems(text)
    assert [where(p) for p in found[:2]] == [at(text, "releese_date"), at(text, "finished")]


# -- client fields --------------------------------------------------------------------------


def test_prefill_and_save_to_must_name_declared_client_fields() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          form:
            mobile: {type: text, prefill: client.mobile, save_to: phone}
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "client.mobile"), at(text, "phone", 2)]
    assert found[0].message.startswith("'client.mobile' names the client field 'mobile', "
                                       "which is not declared under client_fields")
    assert found[1].message.startswith("'phone' does not name a client field: write "
                                       "client.<field>")
    assert [p.path for p in found] == ["steps[0].form.mobile.prefill",
                                       "steps[0].form.mobile.save_to"]


# -- reachability -----------------------------------------------------------------------------


def test_steps_after_an_end_are_unreachable_each_once() -> None:
    text = doc("""\
        - end: done
          reason: completed
        - task: late
          role: worker
          title: Late
        - repeat: later
          max: 2
          steps:
            - task: inner
              role: worker
              title: Inner
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "task: late"), at(text, "repeat: later")]
    line = at(text, "end: done")[0]
    assert found[0].message == (f"step 'late' can never run: it comes after 'done' (line "
                                f"{line}), which ends the pathway; move it before 'done', or "
                                "remove it")
    assert [p.path for p in found] == ["steps[1]", "steps[2]"]


def test_steps_after_a_decide_that_always_ends_are_unreachable() -> None:
    text = doc("""\
        - decide: check
          branches:
            - when: release_date
              steps:
                - end: early
                  reason: early
          otherwise:
            - end: late
              reason: late
        - task: never
          role: worker
          title: Never
        """)
    problem = one(text)
    assert problem.message.startswith("step 'never' can never run: it comes after 'check'")
    assert "ends the pathway on every branch" in problem.message
    assert where(problem) == at(text, "task: never")


def test_a_decide_with_a_way_through_does_not_end_the_pathway() -> None:
    assert problems(doc("""\
        - decide: check
          branches:
            - when: release_date
              steps:
                - end: early
                  reason: early
          otherwise: []
        - end: done
          reason: completed
        """)) == []


# -- form fields ----------------------------------------------------------------------------


def field_problems(fields: str) -> tuple[str, list[DslProblem]]:
    text = doc("""\
        - task: first
          role: worker
          title: First
          form:
        """) + textwrap.indent(textwrap.dedent(fields), " " * 6)
    return text, problems(text)


def test_choice_fields_need_options() -> None:
    text, found = field_problems("""\
        a: {type: choice}
        b: {type: multiple_choice, options: []}
        """)
    assert [where(p) for p in found] == [at(text, "{type: choice}"), at(text, "[]")]
    assert found[0].message.startswith("missing required key 'options'")
    assert found[0].path == "steps[0].form.a"
    assert found[1].message.startswith("a choice needs at least one option")
    assert found[1].path == "steps[0].form.b.options"


def test_duplicate_options_point_at_the_duplicate() -> None:
    text, found = field_problems("""\
        a: {type: choice, options: [low, high, low]}
        """)
    assert len(found) == 1
    assert found[0].message == ("'low' appears twice in 'options' (first as item 1): remove "
                                "the duplicate")
    assert where(found[0]) == at(text, "low", occurrence=2)
    assert found[0].path == "steps[0].form.a.options[2]"


def test_yes_and_no_options_must_be_quoted() -> None:
    text, found = field_problems("""\
        a: {type: choice, options: [yes, no]}
        """)
    assert [where(p) for p in found] == [at(text, "yes"), at(text, "no]")]
    assert "put it in quotes" in found[0].message


def test_min_greater_than_max_and_scales_need_both() -> None:
    text, found = field_problems("""\
        a: {type: integer, min: 10, max: 1}
        b: {type: scale, max: 5}
        c: {type: scale, min: 1, max: 5, labels: {0: None, 3: Mid}}
        """)
    assert [where(p) for p in found] == [at(text, "1}"), at(text, "{type: scale, max"),
                                         at(text, "0: None")]
    assert found[0].message == "min (10) is greater than max (1): swap them, or correct one"
    assert found[0].path == "steps[0].form.a.max"
    assert found[1].message.startswith("missing required key 'min'")
    assert found[2].message.startswith("the label for 0 is outside the scale (1 to 5)")


def test_field_types_are_known() -> None:
    text, found = field_problems("""\
        a: {type: txt}
        b: {title: B}
        c: text
        """)
    assert [where(p) for p in found] == [at(text, "txt"), at(text, "{title: B}"),
                                         at(text, "text", 2)]
    assert found[0].message.startswith("the text 'txt' is not a field type (did you mean "
                                       "'text'?)")
    assert found[1].message.startswith("missing required key 'type'")
    assert found[2].message.startswith("'c' must be a mapping (key: value lines), not the "
                                       "text 'text'")


# -- all at once ------------------------------------------------------------------------------


def test_five_mistakes_give_five_problems() -> None:
    text = doc("""\
        - task: first
          rol: worker
          title: First
          due: P7X
          form:
            risk: {type: choice, options: [low, high]}
        - decide: check
          branches:
            - when: rsk == 'high'
              steps:
                - notify: tell
                  to: boss
                  message: High risk
          otherwise: []
        - end: done
          reason: completed
        - end: again
          reason: completed
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "rol:"), at(text, "P7X"), at(text, "rsk"),
                                         at(text, "boss"), at(text, "end: again")]
    assert found == sorted(found, key=lambda p: (p.line, p.column))


# -- what YAML lets through, and what it should not -------------------------------------------


def test_malformed_yaml_is_located_by_the_parser() -> None:
    text = "pathway: demo\ntitle: a: b\n"
    problem = one(text)
    assert problem.message.startswith("the YAML does not parse: mapping values are not "
                                      "allowed here")
    assert where(problem) == (2, 9)


def test_tabs_are_a_problem_with_a_hint() -> None:
    problem = one("pathway: demo\nroles:\n\tworker: {title: W}\n")
    assert where(problem) == (3, 1)
    assert "indent with spaces, not tabs" in problem.message


def test_duplicate_keys_are_reported_and_checking_goes_on() -> None:
    text = doc("""\
        - task: first
          role: worker
          title: First
          role: boss
        """)
    found = problems(text)
    assert len(found) == 1
    assert found[0].message.startswith(f"duplicate key 'role': it is already set at line "
                                       f"{at(text, 'role: worker')[0]}")
    assert where(found[0]) == at(text, "role: boss")
    assert found[0].path == "steps[0].role"


def test_an_alias_bomb_is_refused_without_expanding() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
              f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(10)]
    document, found = validate("\n".join(lines) + "\n", "bomb.yaml")
    assert document is None
    assert [where(p) for p in found] == [(1, 4)]
    assert "anchors" in found[0].message


def test_an_alias_is_refused() -> None:
    document, found = validate("pathway: demo\ntitle: *t\n", "a.yaml")
    assert document is None
    assert len(found) == 1
    assert "aliases" in found[0].message
    assert where(found[0]) == (2, 8)


def test_a_document_over_one_mebibyte_is_refused() -> None:
    text = "pathway: demo\ndescription: " + "x" * (2 * 1024 * 1024) + "\n"
    document, found = validate(text, "big.yaml")
    assert document is None
    assert len(found) == 1
    assert found[0].message.startswith(f"the file is {len(text)} bytes, more than the "
                                       "1048576 allowed")


def test_deep_nesting_is_refused() -> None:
    depth = 10_000
    document, found = validate("a: " + "[" * depth + "]" * depth + "\n", "deep.yaml")
    assert document is None
    assert len(found) == 1
    assert f"deeper than {MAX_DEPTH} levels" in found[0].message
    assert where(found[0]) == (1, 4 + MAX_DEPTH - 1)


def test_too_many_nodes_are_refused() -> None:
    document, found = validate("a: [" + ", ".join(["1"] * MAX_NODES) + "]\n", "wide.yaml")
    assert document is None
    assert f"more than {MAX_NODES} values" in found[0].message


@pytest.mark.parametrize(("text", "start"), [
    ("", "the file is empty"),
    ("   \n# only a comment\n", "the file is empty"),
    ("- task: a\n", "the document is a list, but a pathway is a mapping"),
    ("just text\n", "the document is a single value"),
    ("pathway: a\n---\npathway: b\n", "a second YAML document starts here"),
    ("pathway: 'open\n", "the YAML does not parse"),
    ("pathway: a\x07\n", "the character #x0007 is not allowed"),
])
def test_files_that_are_not_a_pathway_give_one_clear_problem(text: str, start: str) -> None:
    document, found = validate(text, "x.yaml")
    assert document is None
    assert len(found) == 1
    assert found[0].message.startswith(start)
    assert found[0].line >= 1 and found[0].column >= 1


def test_keys_must_be_text() -> None:
    text = doc("""\
        - end: done
          reason: completed
        """) + "yes: 1\n? [a]\n: 1\n"
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "yes:"), at(text, "? [a]", shift=2)]
    assert found[0].message.startswith("the key 'yes' reads as true or false in YAML, but keys "
                                       "must be text: put it in quotes")


def test_custom_tags_are_refused() -> None:
    text = HEAD.replace("title: Demo", "title: !!python/object:os.system Demo")
    found = problems(text + "  - end: done\n    reason: completed\n")
    assert len(found) == 1
    assert found[0].message.startswith("the YAML tag !!python/object:os.system is not "
                                       "supported")


@pytest.mark.parametrize("step_id", ["start", "end", "worker", "demo", "d_merge", "flow_a_b"])
def test_ids_the_compiler_needs_are_reserved(step_id: str) -> None:
    text = ("pathway: demo\ntitle: Demo\nroles:\n  worker: {title: Worker}\nsteps:\n"
            f"  - task: {step_id}\n    role: worker\n    title: T\n")
    _, problems = validate(text, "demo.yaml")
    assert len(problems) == 1 and "reserved" in problems[0].message
    assert (problems[0].line, problems[0].path) == (6, "steps[0].task")


def test_empty_parallel_branches_are_refused() -> None:
    text = ("pathway: demo\ntitle: Demo\nroles:\n  worker: {title: Worker}\nsteps:\n"
            "  - parallel: p\n    branches: [{steps: []}, {steps: []}]\n")
    _, problems = validate(text, "demo.yaml")
    assert [p.path for p in problems] == ["steps[0].branches[0].steps",
                                          "steps[0].branches[1].steps"]
    assert all("at least one step" in p.message for p in problems)


# -- names the engine writes into case data (issue 11 item 5) -------------------------------


@pytest.mark.parametrize("name", ["client", "referral", "pathways_exit", "pathways_anything"])
def test_a_form_field_named_as_the_engine_writes_is_refused_where_it_is(name: str) -> None:
    text = doc(f"""\
        - task: review
          role: worker
          title: T
          form:
            notes: {{type: text}}
            {name}: {{type: text}}
        """)
    problem = one(text)
    assert problem.path == f"steps[0].form.{name}"
    assert where(problem) == at(text, f"{name}:")
    assert "reserved" in problem.message and name in problem.message


def test_a_form_field_named_as_a_referral_result_is_refused() -> None:
    text = doc("""\
        - refer: refer_mind
          pathway: mental_health_referral
          wait: true
        - task: review
          role: worker
          title: T
          form:
            refer_mind_result: {type: text}
        """)
    problem = one(text, known_pathways={"mental_health_referral"})
    assert problem.path == "steps[1].form.refer_mind_result"
    assert where(problem) == at(text, "refer_mind_result:")


def test_a_form_field_named_exit_reason_is_the_caseworkers_own() -> None:
    """The engine keeps an end's reason apart from case data, so the name is free."""
    text = doc("""\
        - task: exit_review
          role: worker
          title: T
          form:
            exit_reason: {type: choice, options: [moved_away, reconvicted]}
        - end: closed
          reason: closed
        """)
    assert problems(text) == []


@pytest.mark.parametrize("until, why", [
    ('date("not a date")', "always fails"),
    ('"hello"', "is always 'hello', which is not a date"),
    ("3", "is always 3, which is not a date"),
    ('""', "is always '', which is not a date"),
])
def test_wait_until_a_constant_that_is_no_date_is_refused(until: str, why: str) -> None:
    """Such a wait could never be scheduled: every case reaching it would fail there."""
    text = doc(f"- wait: pause\n  until: '{until}'\n")
    problem = one(text)
    assert why in problem.message
    assert problem.path == "steps[0].until"


@pytest.mark.parametrize("until", ['date("2026-03-01")', '"2026-03-01T09:00:00+00:00"',
                                   "today()"])
def test_wait_until_a_constant_date_is_accepted(until: str) -> None:
    assert problems(doc(f"- wait: pause\n  until: '{until}'\n")) == []


def test_assign_and_organisation_are_expressions_checked_where_written() -> None:
    text = doc("""\
        - task: support
          role: worker
          title: Support
          assign: key_worker
          organisation: accepted_by +
        """)
    found = problems(text)
    assert [where(p) for p in found] == [at(text, "key_worker"),
                                         at(text, "accepted_by +")]
    assert "'key_worker' is not defined" in found[0].message
    assert "invalid expression" in found[1].message
