"""`include` (issue 15, item 10): another published pathway's steps run inside this case, for
the same client (a call activity), compiled and run on the real Engine."""

from __future__ import annotations

import pytest

from dsl import validate
from engine import Engine
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_compile import compiled, element, publish, status

FRAGMENT = """\
- task: risk_questions
  role: worker
  title: Risk questions
  form:
    risk: {type: choice, options: [low, high], required: true}
- decide: risky
  branches:
    - when: risk == 'high'
      steps:
        - task: safety_plan
          role: manager
          title: Safety plan
  otherwise: []
"""

MAIN = """\
- task: intake
  role: worker
  title: Intake
- include: risk
  pathway: risk_check
  provides: [risk]
- decide: after_risk
  branches:
    - when: risk == 'high'
      steps:
        - task: high_risk_follow_up
          role: worker
          title: High risk follow-up
  otherwise: []
"""


def started(engine: Engine) -> int:
    publish(engine, compiled(FRAGMENT, pathway="risk_check"))
    main = compiled(MAIN, pathway="main")
    publish(engine, main)
    client = engine.add_client("Ann")
    return engine.start_case("main", client.id or 0).case.id or 0


def test_include_compiles_to_a_call_activity() -> None:
    call = element(compiled(MAIN, pathway="main"), "risk")
    assert call.tag.endswith("callActivity")
    assert (call.get("calledElement"), call.get("name")) == ("risk_check", "Risk check")


@pytest.mark.parametrize(("risk", "then"), [("high", ["high_risk_follow_up"]), ("low", [])])
def test_the_included_steps_run_in_the_same_case(engine: Engine, risk: str,
                                                 then: list[str]) -> None:
    case_id = started(engine)
    complete(engine, case_id, "intake")
    assert open_steps(engine, case_id) == ["risk_questions"]
    [view] = engine.get_case(case_id).tasks
    assert (view.task.case_id, view.task.title) == (case_id, "Risk questions")
    complete(engine, case_id, "risk_questions", {"risk": risk})
    if risk == "high":
        complete(engine, case_id, "safety_plan")
    assert open_steps(engine, case_id) == then
    assert engine.get_case(case_id).case.data["risk"] == risk  # the fragment's answers
    for step in then:
        complete(engine, case_id, step)
    assert status(engine, case_id) == "completed"
    assert len(engine.list_cases()) == 1  # no other case was started


def test_an_unknown_or_own_pathway_is_refused_where_it_is_named() -> None:
    from tests.unit.dsl.test_validate import at, doc, problems

    text = doc("- include: risk\n  pathway: risk_chek\n")
    [problem] = problems(text, known_pathways={"risk_check"})
    assert "pathway 'risk_chek' is not known (did you mean 'risk_check'?)" in problem.message
    assert (problem.line, problem.column) == at(text, "risk_chek")
    own = doc("- include: again\n  pathway: demo\n")
    [problem] = problems(own, known_pathways={"risk_check"})
    assert "a pathway cannot include itself" in problem.message
    assert (problem.line, problem.column) == at(own, "demo", 2)


def test_include_needs_a_pathway() -> None:
    from tests.unit.dsl.test_validate import doc

    found = validate(doc("- include: risk\n"), "p.yaml")[1]
    assert ["missing required key 'pathway'" in p.message for p in found] == [True]


def test_the_fields_an_include_provides_may_be_read_after_it() -> None:
    from tests.unit.dsl.test_validate import doc, problems

    text = doc(MAIN)
    assert problems(text, known_pathways={"risk_check"}) == []
    without = [p.message for p in problems(text.replace("    provides: [risk]\n", ""),
                                           known_pathways={"risk_check"})]
    assert without and all("'risk' is not defined" in m for m in without), without


def test_the_readmes_include_example_validates() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    [example] = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
                 if "- include: risk" in b]
    text = ("pathway: example\ntitle: Example\nroles:\n  worker: {title: W}\nsteps:\n"
            + example.replace("steps: [...]", "steps: [{end: x, reason: y}]"))
    assert validate(text, "example.yaml", known_pathways={"risk_check"})[1] == []
