"""`block` with `handlers` (issue 15, item 5): a message, a date or a duration that interrupts a
running part of a pathway, or runs beside it; compiled and run on the real Engine (each
command loads the case's saved state and saves it again, so every step here also goes
through the state serializer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine
from engine.model import Message
from tests.case_steps import complete, open_steps
from tests.unit.dsl.test_compile import compiled, element, events, start, status, xml
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

ORDER = """\
- task: intake
  role: worker
  title: Intake
- block: order
  title: Referral order
  steps:
    - repeat: reviews
      every: P7D
      max: 3
      steps:
        - task: review
          role: worker
          title: Weekly review
          form:
            attended: {type: boolean}
    - task: close_order
      role: worker
      title: Close the order
  handlers:
    - message: breach
      steps:
        - task: breach_review
          role: manager
          title: Breach review
          form:
            back_to_court: {type: boolean, required: true}
    - message: address_changed
      interrupting: false
      steps:
        - task: update_address
          role: worker
          title: Update the address
    - at: client.release_date
      steps:
        - task: order_ended
          role: worker
          title: Order ended by date
- task: exit_interview
  role: worker
  title: Exit interview
"""


def send(engine: Engine, clock: FakeClock, name: str, client_id: int,
         payload: object = None) -> int:
    """A message kept for the client (as another case, or a sender outside, would leave
    it), then routed: how many it reached."""
    with engine._uow() as unit:
        unit.messages.add(Message(id=None, name=name, client_id=client_id, payload=payload,
                                  sender_case_id=None, created_at=clock.now()))
        unit.commit()
    return engine.deliver_messages()


def in_review(engine: Engine, clock: FakeClock) -> tuple[int, int]:
    """A case of ORDER waiting at the first weekly review; (case, client)."""
    case_id = start(engine, compiled(ORDER), release_date="2026-06-01")
    complete(engine, case_id, "intake")
    assert open_steps(engine, case_id) == []  # the first review waits a week
    clock.current += timedelta(days=7)
    engine.fire_due_timers(clock.now())
    assert open_steps(engine, case_id) == ["review"]
    return case_id, engine.get_case(case_id).case.client_id


def test_a_block_compiles_to_a_subprocess_with_boundary_events() -> None:
    result = compiled(ORDER)
    assert element(result, "order").tag.endswith("subProcess")
    breach, moved, dated = (element(result, f"order_on{n}") for n in (1, 2, 3))
    assert [e.get("attachedToRef") for e in (breach, moved, dated)] == ["order"] * 3
    assert [e.get("cancelActivity") for e in (breach, moved, dated)] == \
        ["true", "false", "true"]
    names = {m.get("id"): m.get("name") for m in xml(result).iter(
        "{http://www.omg.org/spec/BPMN/20100524/MODEL}message")}
    assert names == {"msg_breach": "breach", "msg_address_changed": "address_changed"}
    [date] = dated.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}timeDate")
    assert date.text == 'expr("client.release_date")'


def test_the_case_waits_for_the_blocks_messages_while_the_block_runs(
        engine: Engine, clock: FakeClock) -> None:
    case_id, _ = in_review(engine, clock)
    assert {"breach", "address_changed"} <= set(engine.get_case(case_id).case.waiting_for)


def test_a_message_interrupts_the_block_and_the_case_carries_on_after_it(
        engine: Engine, clock: FakeClock, uow: FakeUnitOfWorkFactory) -> None:
    """The review inside the looped repeat inside the block is cancelled, with the
    block's date timer; the handler runs, then the step after the block."""
    case_id, client_id = in_review(engine, clock)
    assert [t.step for t in uow.store.data.timers.get(case_id, [])] == ["order_on3"]
    assert send(engine, clock, "breach", client_id, {"court": "Leeds"}) == 1
    assert open_steps(engine, case_id) == ["breach_review"]
    assert uow.store.data.timers.get(case_id, []) == []
    case = engine.get_case(case_id).case
    assert case.waiting_for == []
    assert case.data["breach"] == {"court": "Leeds"}
    complete(engine, case_id, "breach_review", {"back_to_court": True})
    assert open_steps(engine, case_id) == ["exit_interview"]
    complete(engine, case_id, "exit_interview")
    assert status(engine, case_id) == "completed"
    assert "message_received" in [e.type for e in engine.events(case_id)]


def test_a_non_interrupting_message_runs_beside_the_block(
        engine: Engine, clock: FakeClock) -> None:
    case_id, client_id = in_review(engine, clock)
    assert send(engine, clock, "address_changed", client_id) == 1
    assert open_steps(engine, case_id) == ["review", "update_address"]
    # BPMN 2.0.2 §13.5.3: the non-interrupting handler stays armed while the block runs,
    # so a second message is handled too (engine.workflow.rearming)
    assert engine.get_case(case_id).case.waiting_for == ["address_changed", "breach"]
    assert send(engine, clock, "address_changed", client_id) == 1
    assert open_steps(engine, case_id) == ["review", "update_address", "update_address"]
    for _ in range(2):
        view = next(v for v in engine.get_case(case_id).tasks if v.task.step == "update_address")
        engine.complete_task(view.task.id, {})
    assert open_steps(engine, case_id) == ["review"]
    complete(engine, case_id, "review", {"attended": True})
    assert status(engine, case_id) == "active"
    assert send(engine, clock, "breach", client_id) == 1  # the interrupting one still waits
    assert open_steps(engine, case_id) == ["breach_review"]


def test_the_date_handler_fires_at_the_date_on_the_engines_clock(
        engine: Engine, clock: FakeClock, uow: FakeUnitOfWorkFactory) -> None:
    case_id, _ = in_review(engine, clock)
    [timer] = uow.store.data.timers[case_id]
    assert timer.due_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert engine.fire_due_timers(datetime(2026, 5, 31, tzinfo=UTC)) == 0
    assert open_steps(engine, case_id) == ["review"]
    clock.current = datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert engine.fire_due_timers(clock.now()) == 1
    assert open_steps(engine, case_id) == ["order_ended"]
    complete(engine, case_id, "order_ended")
    assert open_steps(engine, case_id) == ["exit_interview"]


def test_a_block_that_finishes_first_stops_waiting_for_its_handlers(
        engine: Engine, clock: FakeClock, uow: FakeUnitOfWorkFactory) -> None:
    case_id, client_id = in_review(engine, clock)
    for _ in range(3):
        if open_steps(engine, case_id) != ["review"]:
            clock.current += timedelta(days=7)
            engine.fire_due_timers(clock.now())
        complete(engine, case_id, "review", {"attended": True})
    complete(engine, case_id, "close_order")
    assert open_steps(engine, case_id) == ["exit_interview"]
    assert uow.store.data.timers.get(case_id, []) == []
    assert engine.get_case(case_id).case.waiting_for == []
    assert send(engine, clock, "breach", client_id) == 0  # kept: nothing waits for it


def test_a_fresh_engine_on_the_saved_case_takes_the_message(
        uow: FakeUnitOfWorkFactory, clock: FakeClock) -> None:
    """The boundary events are armed in the saved state, not only in memory."""
    first = Engine(uow=uow, clock=clock)
    case_id, client_id = in_review(first, clock)
    again = Engine(uow=uow, clock=clock)
    assert send(again, clock, "breach", client_id) == 1
    assert open_steps(again, case_id) == ["breach_review"]


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_handler_after_a_duration(engine: Engine, clock: FakeClock,
                                    interrupting: bool) -> None:
    result = compiled(f"""\
        - block: support
          steps:
            - task: support_plan
              role: worker
              title: Support plan
          handlers:
            - after: P30D
              interrupting: {str(interrupting).lower()}
              steps:
                - task: chase
                  role: manager
                  title: Chase the plan
        """)
    case_id = start(engine, result)
    clock.current += timedelta(days=30)
    assert engine.fire_due_timers(clock.now()) == 1
    assert open_steps(engine, case_id) == (["chase"] if interrupting
                                           else ["chase", "support_plan"])
    complete(engine, case_id, "chase")
    if not interrupting:
        complete(engine, case_id, "support_plan")
    assert status(engine, case_id) == "completed"


def test_a_handler_that_ends_ends_the_case(engine: Engine, clock: FakeClock) -> None:
    result = compiled("""\
        - block: community
          steps:
            - task: visit
              role: worker
              title: Visit
          handlers:
            - message: custody
              steps:
                - end: returned_to_custody
                  reason: returned to custody
        - task: after
          role: worker
          title: After
        """)
    case_id = start(engine, result)
    client_id = engine.get_case(case_id).case.client_id
    assert send(engine, clock, "custody", client_id) == 1
    case = engine.get_case(case_id).case
    assert (case.status, case.exit_reason) == ("completed", "returned to custody")


def test_an_end_inside_the_block_ends_the_case(engine: Engine) -> None:
    result = compiled("""\
        - block: community
          steps:
            - task: visit
              role: worker
              title: Visit
              form:
                engaged: {type: boolean, required: true}
            - decide: engaged_check
              branches:
                - when: not engaged
                  steps:
                    - end: disengaged
                      reason: disengaged
              otherwise: []
          handlers:
            - message: custody
              steps:
                - task: note_custody
                  role: worker
                  title: Note custody
        - task: after
          role: worker
          title: After
        """)
    ended = start(engine, result)
    complete(engine, ended, "visit", {"engaged": False})
    case = engine.get_case(ended).case
    assert (case.status, case.exit_reason) == ("completed", "disengaged")
    going = start(engine, result)
    complete(engine, going, "visit", {"engaged": True})
    assert open_steps(engine, going) == ["after"]
    assert events(engine, going, "case_completed") == []


# -- the validator -------------------------------------------------------------------------

BLOCK = """\
- task: ask
  role: worker
  title: Ask
  form:
    end_date: {type: date}
- block: order
  steps:
    - task: visit
      role: worker
      title: Visit
  handlers:
"""


@pytest.mark.parametrize(("handlers", "message", "marker", "occurrence"), [
    ("  - message: breach\n    steps: []\n", "a handler needs at least one step", "[]", 1),
    ("  - message: breach\n    at: end_date\n    steps: [{end: x, reason: y}]\n",
     "a handler needs exactly one of `message`", "message: breach", 1),
    ("  - message: Breach\n    steps: [{end: x, reason: y}]\n", "not a valid id", "Breach", 1),
    ("  - message: moved\n    interrupting: false\n    steps: [{end: gone, reason: moved}]\n",
     "does not interrupt (interrupting: false)", "gone", 1),
    ("  - message: breach\n    steps: [{end: a, reason: b}]\n"
     "  - message: breach\n    steps: [{end: c, reason: d}]\n",
     "already handles the message 'breach'", "breach", 2),
    ("  - at: order_end\n    steps: [{end: a, reason: b}]\n", "'order_end' is not defined",
     "order_end", 1),
    ("  - at: \"'soon'\"\n    steps: [{end: a, reason: b}]\n", "which is not a date",
     "\"'soon'\"", 1),
    ("  - after: 6 months\n    steps: [{end: a, reason: b}]\n", "not an ISO-8601 duration",
     "6 months", 1),
])
def test_block_mistakes_are_located(handlers: str, message: str, marker: str,
                                    occurrence: int) -> None:
    from tests.unit.dsl.test_validate import at, doc, problems

    text = doc(BLOCK + handlers)
    found = [p for p in problems(text) if message in p.message]
    assert found, "\n".join(map(str, problems(text)))
    assert (found[0].line, found[0].column) == at(text, marker, occurrence)


def test_a_block_needs_handlers_and_says_so_for_on() -> None:
    """`on:` reads as true in YAML 1.1: the key is refused, and handlers is asked for."""
    from tests.unit.dsl.test_validate import doc, problems

    found = problems(doc(BLOCK.replace("handlers:", "on:") + "  - message: breach\n"
                                                           "    steps: [{end: a, reason: b}]\n"))
    texts = [p.message for p in found]
    assert any("the key 'on' reads as true or false" in t for t in texts), texts
    assert any("missing required key 'handlers'" in t for t in texts), texts


def test_the_message_payload_is_a_defined_name_and_not_a_form_field() -> None:
    from tests.unit.dsl.test_validate import doc, problems

    handler = ("  - message: breach\n    steps:\n"
               "      - decide: serious\n        branches:\n"
               "          - when: breach.level == 'high'\n"
               "            steps: [{end: a, reason: b}]\n        otherwise: []\n")
    assert problems(doc(BLOCK + handler)) == []
    clash = doc(BLOCK.replace("end_date: {type: date}", "breach: {type: text}") + handler)
    # the clash is named first (the type checker then sees the field read unasked)
    assert "'breach' is reserved" in problems(clash)[0].message


def test_a_step_may_not_take_a_handlers_event_id() -> None:
    from tests.unit.dsl.test_validate import doc, problems

    text = doc(BLOCK.replace("- task: visit", "- task: order_on1") + "  - message: breach\n"
               "    steps: [{end: a, reason: b}]\n")
    assert [p.message for p in problems(text) if "order_on1" in p.message]


def test_the_readmes_block_and_for_each_examples_validate_and_run(engine: Engine) -> None:
    """The DSL reference's examples, under a header declaring what they read."""
    import re
    from pathlib import Path

    from dsl import load_pathway
    from dsl.compile import compile_pathway

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    examples = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
                if "- block: order" in b or "- for_each: child_check" in b
                or "- block: tenancy" in b]
    assert len(examples) == 3
    head = ("pathway: example\ntitle: Example\nroles:\n  yot_worker: {title: W}\n"
            "  keyworker: {title: K}\n"
            "  yot_manager: {title: M}\n  family_worker: {title: F}\nsteps:\n"
            "  - task: ask\n    role: yot_worker\n    title: Ask\n    form:\n"
            "      order_end_date: {type: date}\n      children: {type: text}\n")
    for example in examples:
        text = head + example.replace("steps: [...]", "steps: [{end: x, reason: y}]")
        result = compile_pathway(load_pathway(text, "example.yaml"))
        engine.publish(result.files(), result.bpmn_file)


def test_a_sensitive_block_marks_its_handlers_too() -> None:
    """The handlers' events and steps are outside the subprocess: the engine derives only
    what is inside a sensitive one, so the compiler marks them."""
    from tests.unit.dsl.test_compile import properties

    result = compiled(ORDER.replace("  title: Referral order\n",
                                    "  title: Referral order\n  sensitive: offence\n"))
    for element_id in ("order", "order_on1", "breach_review", "order_on2", "update_address",
                       "order_on2_end", "order_on3", "order_ended"):
        assert properties(result, element_id).get("sensitive") == "offence", element_id
    for element_id in ("intake", "exit_interview", "review"):  # review: inside, derived
        assert "sensitive" not in properties(result, element_id), element_id


def test_a_block_inside_a_repeat_is_drawn_cleanly() -> None:
    """Found by the layout property: the box grown around its labels moved its border
    event onto the event's own label."""
    from tests.diagram_geometry import problems

    result = compiled("""\
        - repeat: rounds
          max: 1
          steps:
            - block: visit_block
              steps:
                - task: visit
                  role: manager
                  title: Check in
                  form:
                    note: {type: text, help: Check in}
                - wait: pause
                  until: date("2026-01-09")
                - wait: pause_again
                  until: date("2026-01-09")
              handlers:
                - message: moved
                  interrupting: false
                  steps:
                    - task: update
                      role: worker
                      title: Check in
                    - decide: check
                      branches:
                        - when: true
                          steps: []
                      otherwise:
                        - task: look_again
                          role: manager
                          title: Check in
        - end: closed
          reason: completed
        """)
    assert problems(result.bpmn) == []


CONDITIONAL = """\
- block: tenancy
  title: Tenancy support
  steps:
    - repeat: visits
      max: 5
      steps:
        - task: visit
          role: worker
          title: Home visit
          form:
            tenancy_ended: {type: boolean, required: true}
            arrears: {type: integer, required: true}
  handlers:
    - when: tenancy_ended
      steps:
        - task: rehouse
          role: worker
          title: Find another home
    - when: arrears > 500
      interrupting: false
      steps:
        - task: arrears_advice
          role: worker
          title: Arrears advice
- task: close
  role: worker
  title: Close
"""


def test_a_condition_handler_goes_off_when_an_answer_inside_the_block_makes_it_true(
        engine: Engine) -> None:
    """`when:` is checked against the case's answers after every step, not the data the block
    started with (SpiffWorkflow's own conditional events): a visit that records the tenancy
    ended interrupts the visits; arrears over 500 add advice beside them, once."""
    case_id = start(engine, compiled(CONDITIONAL))
    complete(engine, case_id, "visit", {"tenancy_ended": False, "arrears": 100})
    assert open_steps(engine, case_id) == ["visit"]  # neither holds: the visits go on
    # the handlers' own messages are the engine's: never listed, so never routed from outside
    assert not any(name.startswith("pathways_when_")
                   for name in engine.get_case(case_id).case.waiting_for)
    complete(engine, case_id, "visit", {"tenancy_ended": False, "arrears": 800})
    assert sorted(open_steps(engine, case_id)) == ["arrears_advice", "visit"]
    complete(engine, case_id, "arrears_advice")
    complete(engine, case_id, "visit", {"tenancy_ended": True, "arrears": 800})
    assert open_steps(engine, case_id) == ["rehouse"]  # the visits are cancelled
    complete(engine, case_id, "rehouse")
    assert open_steps(engine, case_id) == ["close"]
    complete(engine, case_id, "close")
    assert status(engine, case_id) == "completed"


def test_a_condition_handler_that_is_always_true_or_reads_nothing_defined_is_refused() -> None:
    from tests.unit.dsl.test_validate import doc, problems

    text = doc(CONDITIONAL.replace("- when: tenancy_ended", "- when: tenancy_endd"))
    (problem,) = problems(text)
    assert problem.path == "steps[0].handlers[0].when"
    assert "'tenancy_endd' is not defined" in problem.message


def test_the_condition_handlers_names_are_the_engines_and_kept_for_it() -> None:
    from dsl.kinds import block
    from engine.workflow import definition_model
    from tests.unit.dsl.test_validate import doc, problems

    assert block.CONDITION == definition_model.CONDITION
    assert block.CONDITION_MESSAGE_PREFIX == definition_model.CONDITION_MESSAGE_PREFIX
    text = doc(ORDER.replace("- message: breach", "- message: pathways_when_order_on1"))
    assert [p.path for p in problems(text) if "starts with pathways_" in p.message] == [
        "steps[1].handlers[0].message"]


KEPT = """\
- repeat: quarters
  max: 2
  steps:
    - task: quarter_start
      role: worker
      title: "Quarter {round}"
      form:
        plan: {type: text}
    - block: order
      steps:
        - task: first_contact
          role: worker
          title: First contact
          form:
            seen: {type: boolean, required: true}
        - repeat: reviews
          max: 5
          steps:
            - task: review
              role: worker
              title: "Review {round}"
              form:
                attended: {type: boolean, required: true}
      handlers:
        - message: breach
          steps:
            - task: breach_review
              role: manager
              title: "Breach review in quarter {round}"
              form:
                back_to_court: {type: boolean, required: true}
            - record: reviews_before_breach
              outcome: reviews_before_breach
              value: len(reviews.rounds)
            - go_to: resume
              target: order
              max: 1
        - after: P30D
          interrupting: false
          steps:
            - notify: tell_manager
              to: manager
              message: "Seen: {seen}"
"""


def test_the_answers_given_inside_a_block_stay_when_a_handler_cuts_it_short(
        engine: Engine, clock: FakeClock) -> None:
    """A breach during the third review: the handler's steps, and the block run again by a
    go_to, see the answers given inside the block (its repeat's rounds carry on at 3), and
    the enclosing repeat's round is its own again. SpiffWorkflow starts a boundary event's
    path from the data the block started with, so every answer given inside it was lost:
    the record said 0 reviews and the block's reviews began again at 1."""
    case_id = start(engine, compiled(KEPT))
    client_id = engine.get_case(case_id).case.client_id
    complete(engine, case_id, "quarter_start", {"plan": "weekly"})
    complete(engine, case_id, "first_contact", {"seen": True})
    complete(engine, case_id, "review", {"attended": True})
    complete(engine, case_id, "review", {"attended": False})
    assert open_titles(engine, case_id) == ["Review 3"]
    clock.current += timedelta(days=31)
    assert engine.fire_due_timers(clock.now()) == 1  # beside the block, which goes on
    assert open_titles(engine, case_id) == ["Review 3"]
    assert send(engine, clock, "breach", client_id) == 1
    assert open_titles(engine, case_id) == ["Breach review in quarter 1"]
    complete(engine, case_id, "breach_review", {"back_to_court": False})
    outcomes = [e.data for e in engine.events(case_id) if e.type == "outcome_recorded"]
    assert outcomes == [{"outcome": "reviews_before_breach", "value": 2}]
    complete(engine, case_id, "first_contact", {"seen": True})
    assert open_titles(engine, case_id) == ["Review 3"]  # the rounds carry on


def open_titles(engine: Engine, case_id: int) -> list[str]:
    return sorted(t.task.title for t in engine.get_case(case_id).tasks)
