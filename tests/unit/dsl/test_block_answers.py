"""What was answered inside a block that a handler interrupts is kept (issue 15, Talking
Therapies: the scores of the sessions attended before a risk at a session stopped them).

SpiffWorkflow copies an embedded subprocess's data back to the process only when the
subprocess completes; an interrupting boundary event carries on with the data the block
started with, so the answers given in it, and a repeat's rounds, were lost from the case:
neither the handler's steps nor the steps after the block could read them. Run on the real
engine (each command loads and saves the case's state)."""

from __future__ import annotations

from datetime import timedelta

from engine import Engine
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_block import in_review, send
from tests.unit.dsl.test_compile import compiled, start, status
from tests.unit.engine.fakes import FakeClock

VISITS = """\
- task: intake
  role: worker
  title: Intake
  form:
    referred_by: {type: text, required: true}
- block: tenancy
  steps:
    - repeat: visits
      max: 5
      steps:
        - task: visit
          role: worker
          title: "Home visit {round}"
          form:
            wellbeing: {type: integer, required: true}
            tenancy_ended: {type: boolean, required: true}
  handlers:
    - when: tenancy_ended
      steps:
        - task: rehouse
          role: worker
          title: Find another home
          form:
            seen_wellbeing: {type: integer, computed: wellbeing}
- set: kept
  values:
    visits_kept: len(visits.rounds)
    first_wellbeing: visits.rounds[0].wellbeing
    last_wellbeing: visits.rounds[-1].wellbeing
- task: close
  role: worker
  title: Close
"""


def test_a_condition_handler_and_the_steps_after_the_block_read_what_was_answered_in_it(
        engine: Engine) -> None:
    case_id = start(engine, compiled(VISITS))
    complete(engine, case_id, "intake", {"referred_by": "GP"})
    complete(engine, case_id, "visit", {"wellbeing": 6, "tenancy_ended": False})
    complete(engine, case_id, "visit", {"wellbeing": 3, "tenancy_ended": True})
    assert open_steps(engine, case_id) == ["rehouse"]  # the visits were interrupted
    data = engine.get_case(case_id).case.data
    assert (data["referred_by"], data["wellbeing"], data["tenancy_ended"]) == ("GP", 3, True)
    assert [r["wellbeing"] for r in data["visits"]["rounds"]] == [6, 3]
    complete(engine, case_id, "rehouse")
    assert engine.get_case(case_id).case.data["seen_wellbeing"] == 3  # the handler saw it
    assert open_steps(engine, case_id) == ["close"]
    data = engine.get_case(case_id).case.data
    assert (data["visits_kept"], data["first_wellbeing"], data["last_wellbeing"]) == (2, 6, 3)
    complete(engine, case_id, "close")
    assert status(engine, case_id) == "completed"


def test_a_message_that_interrupts_keeps_the_answers_and_adds_its_payload(
        engine: Engine, clock: FakeClock) -> None:
    """The block's message handlers too: the weekly review answered before the breach is
    kept, beside the breach's payload."""
    case_id, client_id = in_review(engine, clock)
    complete(engine, case_id, "review", {"attended": False})
    clock.current += timedelta(days=7)
    engine.fire_due_timers(clock.now())
    assert send(engine, clock, "breach", client_id, {"court": "Peterborough"}) == 1
    assert open_steps(engine, case_id) == ["breach_review"]
    data = engine.get_case(case_id).case.data
    assert data["attended"] is False
    assert data["breach"] == {"court": "Peterborough"}
    assert [r.get("attended") for r in data["reviews"]["rounds"]] == [False]


CHECKS = """\
- task: household
  role: worker
  title: Household
  form:
    household_size: {type: integer, required: true}
- block: checks
  steps:
    - for_each: member_check
      in: client.kids
      steps:
        - task: check_member
          role: worker
          title: "Check on {item.name}"
          form:
            safe: {type: boolean, required: true}
  handlers:
    - message: moved_away
      steps:
        - task: close_early
          role: worker
          title: Close early
"""


def test_a_for_each_cut_short_leaves_no_item_and_no_single_answer_behind(
        engine: Engine, clock: FakeClock) -> None:
    """A for_each's answers reach the case only as `<id>_results` once every item is done:
    one item's answer (or its `item`) must not pass for the case's after an interruption."""
    case_id = start(engine, compiled(CHECKS), kids=[{"name": "Ann"}, {"name": "Bo"}])
    complete(engine, case_id, "household", {"household_size": 3})
    first = engine.get_case(case_id).tasks[0]
    engine.complete_task(first.task.id, {"safe": False})
    assert send(engine, clock, "moved_away", engine.get_case(case_id).case.client_id) == 1
    assert open_steps(engine, case_id) == ["close_early"]
    data = engine.get_case(case_id).case.data
    assert data["household_size"] == 3
    assert "item" not in data and "safe" not in data


WAITING_ITEMS = """\
- task: intake
  role: worker
  title: Intake
  form:
    score: {type: integer, required: true}
- block: outer
  steps:
    - for_each: calls
      in: "[1, 2]"
      steps:
        - wait: until_monday
          until: date("2026-01-09")
        - task: call
          role: worker
          title: "Call {item}"
          form:
            reached: {type: boolean, required: true}
    - end: done
      reason: completed
  handlers:
    - at: date("2026-01-09")
      interrupting: false
      steps:
        - task: check_in
          role: worker
          title: Check in
          form:
            well: {type: boolean, required: true}
"""


def test_a_handler_that_went_off_while_a_for_each_waited_joins_the_end_without_error(
        engine: Engine, clock: FakeClock) -> None:
    """A non-interrupting handler's path starts from the block's answers as they were when
    it went off: here the for_each's list as the items, before their answers replaced them.
    Where its path and the block's met at the end, SpiffWorkflow's merge of a list of
    numbers with a list of answers raised (TypeError: argument of type 'int' is not
    iterable) and the case ended in error (found by the DSL's property test); had it not, the
    handler's old copy of the list would have replaced the answers. The handler's path only
    changed what it answered: the for_each's answers are kept, and the handler's."""
    case_id = start(engine, compiled(WAITING_ITEMS))
    complete(engine, case_id, "intake", {"score": 0})
    clock.advance(days=5)
    engine.fire_due_timers(clock.now())
    assert sorted(open_steps(engine, case_id)) == ["call", "call", "check_in"]
    for task in engine.get_case(case_id).tasks:  # the block's path reaches its end first
        if task.task.step == "call":
            engine.complete_task(task.task.id, {"reached": task.task.title == "Call 1"})
    assert open_steps(engine, case_id) == ["check_in"]
    complete(engine, case_id, "check_in", {"well": True})
    case = engine.get_case(case_id).case
    assert (case.status, case.error) == ("completed", None)
    assert case.data["calls_results"] == [{"item": 1, "reached": True},
                                          {"item": 2, "reached": False}]
    assert case.data["well"] is True and case.data["score"] == 0
