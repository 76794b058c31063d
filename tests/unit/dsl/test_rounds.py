"""Per-round data of a `repeat`, compiled and run on the real engine (issue 15, item 1).

`<repeat id>.rounds` keeps each completed round's answers, `round` numbers the round under
way for conditions inside the repeat and its `until`, and the plain names still hold the
latest answer after the loop.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from dsl import validate
from dsl.compile import compile_pathway
from engine import Engine
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_compile import compiled, events, start
from tests.unit.engine.fakes import FakeClock

VISITS = """\
- repeat: visits
  until: round >= 3
  steps:
    - task: visit
      role: worker
      title: Home visit
      form:
        score: {type: integer, required: true}
        note: {type: text}
    - decide: formal
      branches:
        - when: round % 2 == 0
          steps:
            - task: review
              role: manager
              title: Formal review
              form: {reviewed: {type: boolean, required: true}}
      otherwise: []
    - record: visited
      outcome: visit_round
      value: round
- record: total
  outcome: visits_kept
  value: len(visits.rounds)
- task: close
  role: worker
  title: Close
  form: {closing_note: {type: text}}
"""


def data(engine: Engine, case_id: int) -> dict[str, Any]:
    return dict(engine.get_case(case_id).case.data)


def test_three_rounds_keep_each_rounds_answers_and_round_takes_both_branches(
        engine: Engine) -> None:
    result = compiled(VISITS)
    case_id = start(engine, result)
    complete(engine, case_id, "visit", {"score": 4, "note": "first"})
    assert open_steps(engine, case_id) == ["visit"]  # round 1 is odd: no review
    complete(engine, case_id, "visit", {"score": 6})  # the note left blank
    assert open_steps(engine, case_id) == ["review"]  # round 2: the formal review
    complete(engine, case_id, "review", {"reviewed": True})
    complete(engine, case_id, "visit", {"score": 9, "note": "third"})
    assert open_steps(engine, case_id) == ["close"]  # until: round >= 3
    kept = data(engine, case_id)
    assert kept["visits"]["rounds"] == [
        {"score": 4, "note": "first"},
        {"score": 6, "reviewed": True},
        {"score": 9, "note": "third"}]
    assert kept["visits"]["round"] == 3
    # the plain names hold the latest answers, as before
    assert (kept["score"], kept["note"], kept["reviewed"]) == (9, "third", True)
    assert [e.data["value"] for e in events(engine, case_id, "outcome_recorded")] == [
        1, 2, 3, 3]
    complete(engine, case_id, "close", {})
    assert engine.get_case(case_id).case.status == "completed"


def test_a_blank_optional_answer_keeps_the_earlier_one_under_its_plain_name(
        engine: Engine) -> None:
    result = compiled(VISITS)
    case_id = start(engine, result)
    complete(engine, case_id, "visit", {"score": 4, "note": "first"})
    complete(engine, case_id, "visit", {"score": 6})
    complete(engine, case_id, "review", {"reviewed": False})
    kept = data(engine, case_id)
    assert kept["note"] == "first"
    assert kept["visits"]["rounds"][1] == {"score": 6, "reviewed": False}
    assert not [name for name in kept if name.startswith("pathways_")]


NESTED = """\
- repeat: quarters
  max: 2
  steps:
    - repeat: visits
      until: round >= quarters.round
      steps:
        - task: visit
          role: worker
          title: Visit
          form: {score: {type: integer, required: true}}
    - task: quarterly_review
      role: manager
      title: Quarterly review
      form: {rating: {type: integer, required: true}}
    - record: reviewed
      outcome: quarter_reviewed
      value: round
"""


def test_a_nested_repeat_starts_afresh_each_outer_round_and_round_is_the_outer_one_after_it(
        engine: Engine) -> None:
    """Quarter n has n visits (the inner `until` reads both rounds); after the visits,
    `round` is the quarter's number again; each quarter's entry holds its visits."""
    case_id = start(engine, compiled(NESTED))
    score = 0
    for quarter in (1, 2):
        for _ in range(quarter):
            score += 1
            complete(engine, case_id, "visit", {"score": score})
        complete(engine, case_id, "quarterly_review", {"rating": quarter * 10})
    kept = data(engine, case_id)
    assert engine.get_case(case_id).case.status == "completed"
    assert kept["quarters"]["rounds"] == [
        {"visits": {"round": 1, "rounds": [{"score": 1}]}, "rating": 10},
        {"visits": {"round": 2, "rounds": [{"score": 2}, {"score": 3}]}, "rating": 20}]
    assert "visits" not in kept  # kept per quarter, not for the whole case
    assert [e.data["value"] for e in events(engine, case_id, "outcome_recorded")] == [1, 2]


def test_rounds_in_the_case_export_and_the_event_log(engine: Engine) -> None:
    from engine.exports.tables import cases_csv
    from engine.exports.xes import to_xes

    case_id = start(engine, compiled(VISITS))
    for score in (4, 6):
        complete(engine, case_id, "visit", {"score": score})
    complete(engine, case_id, "review", {"reviewed": True})
    case = engine.get_case(case_id).case
    text = cases_csv([case])
    header, row = text.splitlines()[:2]
    assert "data.visits.rounds" in header.split(",")
    assert '""score"": 4' in row and '""reviewed"": true' in row
    log = to_xes([case], {case_id: engine.events(case_id)})
    assert log.count("<event>") == len(engine.events(case_id))


def test_the_readmes_rounds_example_is_valid_and_reviews_every_12th_visit(
        engine: Engine, clock: FakeClock) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme[readme.index("### Rounds of a repeat"):]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    text = ("pathway: housing_first\ntitle: Housing First\nroles:\n"
            "  keyworker: {title: Keyworker}\nsteps:\n" + textwrap.indent(match.group(1), "  "))
    document, found = validate(text, "housing_first.yaml")
    assert found == [] and document is not None
    result = compile_pathway(document)
    case_id = start(engine, result)
    for visit in range(1, 14):
        clock.advance(days=7, seconds=1)
        assert engine.fire_due_timers(clock.now()) == 1
        complete(engine, case_id, "visit", {"wellbeing": 5, "tenancy_ended": visit == 13})
        if visit == 12:
            complete(engine, case_id, "formal_review", {"on_track": True})
    assert engine.get_case(case_id).case.status == "completed"
    kept = data(engine, case_id)["visits"]["rounds"]
    assert len(kept) == 13 and kept[11] == {"wellbeing": 5, "tenancy_ended": False,
                                            "on_track": True}
    assert [e.data["value"] for e in events(engine, case_id, "outcome_recorded")] == [13]


def test_a_sensitive_repeats_rounds_are_left_out_like_its_answers() -> None:
    """The rounds a sensitive repeat keeps tell that it ran: they are data only a sensitive
    step sets (dropped for those who may not see health), like its tasks' answers."""
    from engine.workflow.definitions import parse_bundle

    text = VISITS.replace("- repeat: visits\n", "- repeat: visits\n  sensitive: health\n")
    result = compiled(text.split("- record: total")[0])
    definition = parse_bundle(result.files(), result.bpmn_file)
    assert {"visits", "round", "score", "note"} <= set(definition.step_fields)
    assert set(definition.step_fields.values()) == {"health"}
    plain = parse_bundle(compiled(VISITS).files(), compiled(VISITS).bpmn_file)
    assert plain.step_fields == {}


def test_a_round_whose_start_scripts_never_ran_is_kept_not_failed() -> None:
    """A case moved to a version with rounds in the middle of a round (its task already open,
    the round already started) reaches the end scripts without the start's: the round is
    kept, counted from the rounds there are, and nothing fails."""
    from dsl import rounds
    from engine.workflow.sandbox import SandboxEnvironment

    env = SandboxEnvironment()
    data: dict[str, Any] = {"score": 3}
    env.execute(rounds.task_after("visits", ["score", "type"]), data)
    env.execute(rounds.round_end("visits", ["inner"], "outer"), data)
    assert data == {"score": 3, "visits": {"round": 1, "rounds": [{"score": 3}]}}


def test_a_list_answer_after_the_loop_is_the_last_rounds(engine: Engine) -> None:
    """A multiple-choice answer of ['a', 'b'], then ['c']: after the loop the plain name
    holds ['c'] (SpiffWorkflow's DeepMerge of the rounds' data made it ['a'])."""
    case_id = start(engine, compiled("""\
        - repeat: visits
          max: 2
          steps:
            - task: visit
              role: worker
              title: Visit
              form: {needs: {type: multiple_choice, options: [a, b, c]}}
        - task: close
          role: worker
          title: Close
        """))
    complete(engine, case_id, "visit", {"needs": ["a", "b"]})
    complete(engine, case_id, "visit", {"needs": ["c"]})
    kept = data(engine, case_id)
    assert kept["needs"] == ["c"]
    assert kept["visits"]["rounds"] == [{"needs": ["a", "b"]}, {"needs": ["c"]}]


def test_the_rounds_scripts_mark_is_the_engines() -> None:
    """The engine's migration reads a script starting with this mark as bookkeeping derived
    from the forms and steps (a form change is judged as a form change, not a script one)."""
    from dsl import rounds
    from engine.workflow import definition_model

    assert rounds.ROUNDS_SCRIPT == definition_model.ROUNDS_SCRIPT
    assert rounds.ANSWERS_PREFIX == definition_model.ROUND_ANSWERS_PREFIX
    assert rounds.round_start("visits").startswith(rounds.ROUNDS_SCRIPT)
    assert rounds.task_after("visits", ["mood"]).startswith(rounds.ROUNDS_SCRIPT)


def test_a_task_title_in_a_repeat_may_say_which_round_it_is(engine: Engine) -> None:
    """"Home visit {round}": the inbox says Home visit 1, 2, 3 (after the loop, `round`
    is the last round's number)."""
    text = VISITS.replace("title: Home visit", 'title: "Home visit {round}"').replace(
        "title: Close", 'title: "Close ({round})"')
    case_id = start(engine, compiled(text))
    titles = []
    for answers in ({"score": 4}, {"score": 6}, {"score": 9}):
        (view,) = [v for v in engine.get_case(case_id).tasks if v.task.step == "visit"]
        titles.append(view.task.title)
        complete(engine, case_id, "visit", answers)
        if "review" in open_steps(engine, case_id):
            complete(engine, case_id, "review", {"reviewed": True})
    assert titles == ["Home visit 1", "Home visit 2", "Home visit 3"]
    (close,) = engine.get_case(case_id).tasks
    assert close.task.title == "Close (3)"  # the last round's number, kept after the loop
