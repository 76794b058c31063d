"""A decision whose branch leads to a step with boundary events (a `block`, a task with
`remind` or `escalate`) records the branch it took like any other: its sequence flow and
its title (issue 15, Talking Therapies: "Which step of care?" leads into a block).

SpiffWorkflow puts a hidden `<step>.BoundaryEventSplit` in front of such a step, and the
decision event named that internal task as the branch, with no flow: exports and the
analysts' branch counts lost the decision."""

from __future__ import annotations

from engine import Engine
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_compile import compiled, events, start

BRANCHES = """\
- task: intake
  role: worker
  title: Intake
  form:
    urgent: {type: boolean, required: true}
- decide: gw_urgent
  title: Urgent?
  branches:
    - when: urgent
      title: urgent
      steps:
        - task: call_back
          role: worker
          title: Call back
          due: P2D
          remind: P1D before due
  otherwise:
    - block: watch
      steps:
        - task: check_in
          role: worker
          title: Check in
      handlers:
        - message: moved_away
          steps:
            - task: close_early
              role: worker
              title: Close early
"""


def _decision(engine: Engine, urgent: bool) -> dict[str, object]:
    case_id = start(engine, compiled(BRANCHES))
    complete(engine, case_id, "intake", {"urgent": urgent})
    assert open_steps(engine, case_id) == (["call_back"] if urgent else ["check_in"])
    [decision] = events(engine, case_id, "decision")
    return dict(decision.data)


def test_a_branch_into_a_task_with_a_reminder_is_recorded_with_its_flow_and_title(
        engine: Engine) -> None:
    data = _decision(engine, urgent=True)
    assert (data["taken"], data["flows"], data["branches"]) == (
        ["call_back"], ["flow_gw_urgent_call_back"], ["urgent"])


def test_a_branch_into_a_block_is_recorded_with_its_flow_and_title(engine: Engine) -> None:
    data = _decision(engine, urgent=False)
    assert (data["taken"], data["flows"], data["branches"]) == (
        ["watch"], ["flow_gw_urgent_watch"], ["otherwise"])
