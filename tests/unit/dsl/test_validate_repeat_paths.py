"""A repeat's rounds read on a path where the repeat never ran (issue 15, Talking Therapies:
step 2's sessions are a repeat in one branch, step 3's in the other).

The validator checked only that `<id>.rounds` came after its repeat in the file; a path that
skipped the repeat never defines `<id>`, and the case failed at the step that read it. It is
now part of the definite-assignment check, located and worded for a repeat."""

from __future__ import annotations

import yaml

from dsl import compile_pathway
from engine import Engine
from tests.case_steps import complete
from tests.unit.dsl.test_validate import doc, one, problems

BRANCHED = """\
- task: intake
  role: worker
  title: Intake
  form:
    short: {type: boolean, required: true}
- decide: gw
  branches:
    - when: short
      steps:
        - repeat: visits
          max: 2
          steps:
            - task: visit
              role: worker
              title: Visit
              form:
                seen: {type: boolean, required: true}
  otherwise: []
- set: counted
  values:
    visits_kept: len(visits.rounds)
"""


def test_reading_the_rounds_where_the_repeat_may_not_have_run_is_refused() -> None:
    problem = one(doc(BRANCHED))
    assert problem.path == "steps[2].values.visits_kept"
    assert problem.message.startswith(
        "the repeat visits may not have run here, so visits.rounds may not be there: it "
        "runs only in the branch `when: short` of decide gw (line")
    assert "gather them in a `set` right after it" in problem.message


def test_reading_them_where_the_repeat_has_run_is_fine() -> None:
    inside = BRANCHED.replace("  otherwise: []\n", """\
        - set: counted_inside
          values:
            visits_inside: len(visits.rounds)
  otherwise: []
""").replace("visits_kept: len(visits.rounds)", "visits_kept: 1")
    assert problems(doc(inside)) == []
    after_both = BRANCHED.replace("  otherwise: []", """\
  otherwise:
    - repeat: visits_again
      max: 1
      steps:
        - task: call
          role: worker
          title: Call
""").replace("visits_kept: len(visits.rounds)", "calls: len(visits_again.rounds)")
    assert [p.path for p in problems(doc(after_both))] == ["steps[2].values.calls"]


def test_the_case_it_would_have_let_through_fails_at_that_step(engine: Engine) -> None:
    """What the check prevents: compiled anyway, the short-cut path fails at the set step."""
    compiled = compile_pathway(yaml.safe_load(doc(BRANCHED)))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Ann", {"release_date": "2026-03-01"})
    case_id = engine.start_case("demo", client.id or 0).case.id or 0
    complete(engine, case_id, "intake", {"short": False})
    case = engine.get_case(case_id).case
    assert case.status == "error"
    assert case.error is not None and "'visits' is not defined" in case.error["message"]
