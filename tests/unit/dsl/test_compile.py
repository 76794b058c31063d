"""dsl.compile: each construct compiled, parsed by the engine and run on the real Engine.

Documents are plain YAML (what yaml.safe_load gives for a validated file); every compiled
bundle is published through Engine.publish, which parses it with SpiffWorkflow's XSD
validator on, so each test also checks the BPMN is schema-valid and loadable.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from dsl import compile as dsl_compile
from dsl import layout, validate
from dsl.compile import (
    CompiledPathway,
    compile_pathway,
    expr_call,
    form_schema,
    rewrite_client_fields,
    rewrite_due,
)
from engine import Engine, FormValidationError
from engine.workflow import definitions as engine_definitions
from engine.workflow.definitions import parse_bundle
from engine.workflow.runner import COMPLETED_PREFIX
from tests.case_steps import complete, open_steps
from tests.unit.engine.fakes import FakeClock

NS = {"bpmn": dsl_compile.BPMN_NS, "bpmndi": dsl_compile.BPMNDI_NS, "dc": dsl_compile.DC_NS,
      "di": dsl_compile.DI_NS, "spiffworkflow": dsl_compile.SPIFF_NS}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "task", "scriptTask", "exclusiveGateway",
              "parallelGateway", "intermediateCatchEvent", "subProcess")

HEADER = """\
pathway: {pathway}
title: {title}
roles:
  worker: {{title: Support worker, organisations: [org]}}
  manager: {{title: Manager}}
client_fields:
  release_date: date
  phone: text
  children: integer
steps:
"""


def doc(steps: str, pathway: str = "demo", title: str = "Demo pathway") -> dict[str, Any]:
    text = HEADER.format(pathway=pathway, title=title) + textwrap.indent(
        textwrap.dedent(steps), "  ")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def compiled(steps: str, pathway: str = "demo") -> CompiledPathway:
    return compile_pathway(doc(steps, pathway))


def publish(engine: Engine, result: CompiledPathway) -> None:
    engine.publish(result.files(), result.bpmn_file)


def start(engine: Engine, result: CompiledPathway, **fields: Any) -> int:
    publish(engine, result)
    client = engine.add_client("Ann", fields)
    return engine.start_case(result.pathway, client.id or 0).case.id or 0


def walk(engine: Engine, case_id: int, *moves: tuple[str, list[str]]) -> None:
    """Complete each (step, the steps open after it) in turn, checking what opens."""
    for step, then_open in moves:
        complete(engine, case_id, step)
        assert open_steps(engine, case_id) == then_open, f"after {step}"


def status(engine: Engine, case_id: int) -> str:
    return engine.get_case(case_id).case.status


def events(engine: Engine, case_id: int, kind: str) -> list[Any]:
    return [e for e in engine.events(case_id) if e.type == kind]


def xml(result: CompiledPathway) -> Any:
    return etree.fromstring(result.bpmn.encode("utf-8"))


def element(result: CompiledPathway, element_id: str) -> Any:
    [found] = xml(result).xpath(f"//*[@id='{element_id}']")
    return found


def properties(result: CompiledPathway, element_id: str) -> dict[str, str]:
    node = element(result, element_id)
    return {p.get("name"): p.get("value") for p in node.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
        namespaces=NS)}


def conditions(result: CompiledPathway, gateway: str) -> dict[str, str]:
    root = xml(result)
    return {flow.get("targetRef"): flow.findtext("bpmn:conditionExpression", namespaces=NS)
            for flow in root.xpath(f"//bpmn:sequenceFlow[@sourceRef='{gateway}']",
                                   namespaces=NS)}


# -- task ---------------------------------------------------------------------------------

TASK = """\
- task: assess
  role: manager
  title: Assess needs
  instructions: Ask about housing.
  due: release_date - P7D
  form:
    risk: {type: choice, options: [low, high], required: true}
- record: assessed
  outcome: assessed
"""


def test_task_is_a_user_task_in_its_roles_lane_with_form_and_due(engine: Engine) -> None:
    result = compiled(TASK)
    task = element(result, "assess")
    assert etree.QName(task).localname == "userTask"
    assert task.get("name") == "Assess needs"
    assert task.findtext("bpmn:documentation", namespaces=NS) == "Ask about housing."
    assert properties(result, "assess") == {
        "formJsonSchemaFilename": "demo.assess.schema.json",
        "due": "client.release_date - P7D"}
    assert set(result.forms) == {"demo.assess.schema.json"}
    lanes = {lane.get("id"): [ref.text for ref in lane] for lane in
             xml(result).xpath("//bpmn:lane", namespaces=NS)}
    # start in the first role; automatic steps in the lane of the task before them
    assert lanes == {"worker": ["start"], "manager": ["assess", "assessed", "end"]}
    assert element(result, "manager").get("name") == "Manager"

    case_id = start(engine, result, release_date="2026-02-01")
    [view] = engine.get_case(case_id).tasks
    assert (view.task.role, view.task.title) == ("manager", "Assess needs")
    assert view.task.due is not None and view.task.due.date().isoformat() == "2026-01-25"
    assert view.schema is not None and view.schema["title"] == "Assess needs"
    with pytest.raises(FormValidationError):
        complete(engine, case_id, "assess", {"risk": "extreme"})
    complete(engine, case_id, "assess", {"risk": "high"})
    assert status(engine, case_id) == "completed"


def test_a_task_without_form_gets_an_empty_object_schema(engine: Engine) -> None:
    result = compiled("- task: call\n  role: worker\n  title: Call the client\n  due: P2D\n")
    assert properties(result, "call")["due"] == "P2D"
    assert json.loads(result.forms["demo.call.schema.json"]) == {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Call the client",
        "type": "object", "properties": {}, "required": [], "additionalProperties": False}
    case_id = start(engine, result)
    with pytest.raises(FormValidationError):
        complete(engine, case_id, "call", {"anything": 1})
    complete(engine, case_id, "call")
    assert status(engine, case_id) == "completed"


# -- decide -------------------------------------------------------------------------------

DECIDE = """\
- task: assess
  role: worker
  title: Assess
  form:
    risk: {type: choice, options: [low, medium, high], required: true}
    kids: {type: integer}
- decide: route
  branches:
    - when: risk == 'high'
      steps:
        - task: urgent
          role: worker
          title: Urgent review
    - when: risk == 'medium' and children > 0
      steps:
        - task: family
          role: worker
          title: Family support
  otherwise:
    - task: routine
      role: manager
      title: Routine contact
- task: close
  role: worker
  title: Close
"""


@pytest.mark.parametrize("risk, children, taken", [
    ("high", 2, "urgent"), ("medium", 2, "family"), ("medium", 0, "routine"),
    ("low", 3, "routine")])
def test_decide_takes_each_branch_and_otherwise(engine: Engine, risk: str, children: int,
                                                 taken: str) -> None:
    result = compiled(DECIDE)
    gateway = element(result, "route")
    assert gateway.get("name") == "Route?"
    assert gateway.get("default") == "flow_route_routine"
    assert conditions(result, "route") == {
        "urgent": "expr(\"risk == 'high'\")",
        # a declared client field is read from the client record
        "family": "expr(\"risk == 'medium' and client.children > 0\")",
        "routine": None}
    flow = element(result, "flow_route_family")
    assert flow.get("name") == "risk == 'medium' and children > 0"
    assert element(result, "flow_route_routine").get("name") == "otherwise"
    assert etree.QName(element(result, "route_merge")).localname == "exclusiveGateway"

    case_id = start(engine, result, children=children)
    complete(engine, case_id, "assess", {"risk": risk})
    assert open_steps(engine, case_id) == [taken]
    decision = events(engine, case_id, "decision")[0]
    assert decision.data["taken"] == [taken]
    walk(engine, case_id, (taken, ["close"]), ("close", []))
    assert status(engine, case_id) == "completed"


def test_empty_branches_go_straight_to_the_merge(engine: Engine) -> None:
    result = compiled("""\
        - task: ask
          role: worker
          title: Ask
          form: {extra: {type: boolean, required: true}}
        - decide: more
          branches:
            - when: extra
              steps:
                - task: more_help
                  role: worker
                  title: More help
          otherwise: []
        - task: last
          role: worker
          title: Last
        """)
    assert conditions(result, "more") == {"more_help": 'expr("extra")', "more_merge": None}
    for extra, seen in ((True, ["more_help", "last"]), (False, ["last"])):
        case_id = start(engine, result)
        complete(engine, case_id, "ask", {"extra": extra})
        done = []
        while steps := open_steps(engine, case_id):
            done.append(steps[0])
            complete(engine, case_id, steps[0])
        assert done == seen and status(engine, case_id) == "completed"


def test_a_decide_where_every_path_ends_has_no_merge_and_no_implicit_end(
        engine: Engine) -> None:
    result = compiled("""\
        - task: ask
          role: worker
          title: Ask
          form: {agreed: {type: boolean, required: true}}
        - decide: outcome
          branches:
            - when: agreed
              steps:
                - end: accepted
                  reason: accepted
          otherwise:
            - end: refused
              reason: refused
        """)
    ids = set(xml(result).xpath("//@id"))
    assert "outcome_merge" not in ids and "end" not in ids
    assert properties(result, "refused") == {"pathwaysExitReason": "refused"}
    assert element(result, "refused").get("name") == "refused"
    for agreed, reason in ((True, "accepted"), (False, "refused")):
        case_id = start(engine, result)
        complete(engine, case_id, "ask", {"agreed": agreed})
        case = engine.get_case(case_id).case
        assert (case.status, case.exit_reason) == ("completed", reason)


def test_branches_out_of_diagram_order_are_guarded_so_the_first_true_when_wins(
        engine: Engine) -> None:
    # SpiffWorkflow tries conditions top to bottom in the diagram (by the top edge of the
    # targets); the branches' first steps share a row, but the first branch's is a
    # decision, whose diamond's top is below the second branch's task's
    result = compiled("""\
        - task: ask
          role: worker
          title: Ask
          form:
            a: {type: boolean, required: true}
            b: {type: boolean, required: true}
        - decide: pick
          branches:
            - when: a
              steps:
                - decide: inner
                  branches:
                    - when: a
                      steps:
                        - task: first
                          role: manager
                          title: First
                  otherwise: []
            - when: b
              steps:
                - task: second
                  role: worker
                  title: Second
          otherwise: []
        """)
    assert conditions(result, "pick") == {"inner": 'expr("a")',
                                          "second": 'not expr("a") and expr("b")',
                                          "pick_merge": None}
    for a, b, taken in ((True, True, "first"), (False, True, "second"),
                        (True, False, "first")):
        case_id = start(engine, result)
        complete(engine, case_id, "ask", {"a": a, "b": b})
        assert open_steps(engine, case_id) == [taken]


def test_branches_in_diagram_order_are_not_guarded() -> None:
    result = compiled(DECIDE)
    assert all("not" not in (c or "") for c in conditions(result, "route").values())


def test_long_when_is_truncated_in_the_flow_name() -> None:
    when = "risk == 'high' and " + " and ".join(f"x{i} > {i}" for i in range(12))
    result = compiled(f"""\
        - task: ask
          role: worker
          title: Ask
        - decide: check
          branches:
            - when: "{when}"
              steps: []
          otherwise: []
        """)
    name = element(result, "flow_check_check_merge").get("name")
    assert len(name) == 60 and name.startswith("risk == 'high'") and name.endswith("…")


# -- parallel -----------------------------------------------------------------------------

def test_parallel_runs_both_branches_then_joins(engine: Engine) -> None:
    result = compiled("""\
        - parallel: together
          branches:
            - steps:
                - task: housing
                  role: worker
                  title: Housing
            - steps:
                - task: money
                  role: manager
                  title: Money
                - task: money_check
                  role: manager
                  title: Check money
        - task: review
          role: worker
          title: Review
        """)
    assert etree.QName(element(result, "together")).localname == "parallelGateway"
    assert etree.QName(element(result, "together_join")).localname == "parallelGateway"
    case_id = start(engine, result)
    assert open_steps(engine, case_id) == ["housing", "money"]
    walk(engine, case_id, ("money", ["housing", "money_check"]), ("housing", ["money_check"]),
         ("money_check", ["review"]), ("review", []))
    assert status(engine, case_id) == "completed"


def test_an_end_inside_a_parallel_branch_ends_the_whole_case(engine: Engine) -> None:
    # dsl.validate refuses this; the compiler still makes it mean "the case ends"
    result = compiled("""\
        - task: ask
          role: worker
          title: Ask
          form: {stop: {type: boolean, required: true}}
        - parallel: both
          branches:
            - steps:
                - task: slow
                  role: worker
                  title: Slow
            - steps:
                - decide: maybe
                  branches:
                    - when: stop
                      steps:
                        - end: stopped
                          reason: stopped
                  otherwise: []
        """)
    assert element(result, "stopped").find("bpmn:terminateEventDefinition",
                                           namespaces=NS) is not None
    case_id = start(engine, result)
    complete(engine, case_id, "ask", {"stop": True})
    case = engine.get_case(case_id).case
    assert (case.status, case.exit_reason) == ("completed", "stopped")
    case_id = start(engine, result)
    complete(engine, case_id, "ask", {"stop": False})
    complete(engine, case_id, "slow")
    assert status(engine, case_id) == "completed"


# -- wait ---------------------------------------------------------------------------------

def test_wait_for_a_duration(engine: Engine, clock: FakeClock) -> None:
    result = compiled("""\
        - wait: cooling_off
          for: P7D
        - task: follow_up
          role: worker
          title: Follow up
        """)
    timer = element(result, "cooling_off")
    assert etree.QName(timer).localname == "intermediateCatchEvent"
    assert timer.findtext("bpmn:timerEventDefinition/bpmn:timeDuration",
                          namespaces=NS) == '"P7D"'
    case_id = start(engine, result)
    assert open_steps(engine, case_id) == []
    assert engine.fire_due_timers(clock.now() + timedelta(days=6)) == 0
    assert engine.fire_due_timers(clock.now() + timedelta(days=7, seconds=1)) == 1
    assert open_steps(engine, case_id) == ["follow_up"]


def test_wait_until_a_date_from_the_client_record(engine: Engine, clock: FakeClock) -> None:
    result = compiled("""\
        - wait: until_release
          until: release_date
        - task: meet
          role: worker
          title: Meet at the gate
        """)
    assert element(result, "until_release").findtext(
        "bpmn:timerEventDefinition/bpmn:timeDate",
        namespaces=NS) == 'expr("client.release_date")'
    release = clock.now() + timedelta(days=10)
    case_id = start(engine, result, release_date=release.isoformat())
    assert engine.fire_due_timers(release - timedelta(minutes=1)) == 0
    assert engine.fire_due_timers(release + timedelta(minutes=1)) == 1
    assert open_steps(engine, case_id) == ["meet"]


# -- repeat -------------------------------------------------------------------------------

def run_rounds(engine: Engine, case_id: int, step: str, data: Any) -> int:
    """Complete `step` while it is open; `data(n)` gives round n's answers. Returns rounds."""
    rounds = 0
    while step in open_steps(engine, case_id):
        rounds += 1
        complete(engine, case_id, step, data(rounds))
    return rounds


def test_repeat_until_stops_after_the_round_that_meets_it(engine: Engine) -> None:
    result = compiled("""\
        - repeat: sessions
          until: goals_met
          steps:
            - task: session
              role: worker
              title: Session
              form: {goals_met: {type: boolean, required: true}}
        - task: close
          role: worker
          title: Close
        """)
    box = element(result, "sessions")
    assert etree.QName(box).localname == "subProcess" and box.get("name") == "Sessions"
    loop = box.find("bpmn:standardLoopCharacteristics", namespaces=NS)
    assert loop.get("testBefore") == "false" and loop.get("loopMaximum") is None
    # SpiffWorkflow carries on while loopCondition is true
    assert loop.findtext("bpmn:loopCondition", namespaces=NS) == 'not expr("goals_met")'
    case_id = start(engine, result)
    assert run_rounds(engine, case_id, "session", lambda n: {"goals_met": n == 3}) == 3
    assert open_steps(engine, case_id) == ["close"]


def test_repeat_max_60_runs_exactly_60_rounds_on_a_flat_task_tree(engine: Engine) -> None:
    result = compiled("""\
        - repeat: weekly
          max: 60
          steps:
            - task: contact
              role: worker
              title: Weekly contact
        - task: close
          role: worker
          title: Close
        """)
    assert element(result, "weekly").find("bpmn:standardLoopCharacteristics",
                                          namespaces=NS).get("loopMaximum") == "60"
    case_id = start(engine, result)
    assert run_rounds(engine, case_id, "contact", lambda n: {}) == 60
    assert open_steps(engine, case_id) == ["close"]
    state = engine.get_case(case_id).case.state
    assert len(state["tasks"]) < 80  # one finished round task each; no back-edge chain
    complete(engine, case_id, "close")
    assert status(engine, case_id) == "completed"


def test_repeat_every_waits_before_each_round(engine: Engine, clock: FakeClock) -> None:
    result = compiled("""\
        - repeat: checkins
          every: P7D
          max: 3
          until: settled
          steps:
            - task: checkin
              role: worker
              title: Check in
              form: {settled: {type: boolean, required: true}}
        """)
    wait = element(result, "checkins_wait")
    assert wait.getparent().get("id") == "checkins"
    assert wait.findtext("bpmn:timerEventDefinition/bpmn:timeDuration",
                         namespaces=NS) == '"P7D"'
    case_id = start(engine, result)
    for _ in range(3):
        assert open_steps(engine, case_id) == []
        assert engine.fire_due_timers(clock.now() + timedelta(days=6)) == 0
        clock.advance(days=7, seconds=1)
        assert engine.fire_due_timers(clock.now()) == 1
        complete(engine, case_id, "checkin", {"settled": False})
    assert status(engine, case_id) == "completed"  # max reached
    case_id = start(engine, result)
    clock.advance(days=7, seconds=1)
    engine.fire_due_timers(clock.now())
    complete(engine, case_id, "checkin", {"settled": True})
    assert status(engine, case_id) == "completed"  # until met after one round


def test_repeat_with_only_every_goes_on_until_the_case_is_ended(engine: Engine,
                                                                clock: FakeClock) -> None:
    result = compiled("""\
        - repeat: forever
          every: P1D
          steps:
            - task: ping
              role: worker
              title: Ping
        """)
    loop = element(result, "forever").find("bpmn:standardLoopCharacteristics", namespaces=NS)
    assert loop.findtext("bpmn:loopCondition", namespaces=NS) == "True"
    case_id = start(engine, result)
    for _ in range(5):
        clock.advance(days=1, seconds=1)
        assert engine.fire_due_timers(clock.now()) == 1
        complete(engine, case_id, "ping")
    assert status(engine, case_id) == "active"


def test_tasks_of_several_roles_in_a_repeat_keep_their_roles(engine: Engine) -> None:
    result = compiled("""\
        - repeat: rounds
          max: 2
          steps:
            - task: visit
              role: worker
              title: Visit
            - task: sign_off
              role: manager
              title: Sign off
        """)
    lanes = {lane.get("id"): [ref.text for ref in lane] for lane in
             xml(result).xpath("//bpmn:lane", namespaces=NS)}
    assert "rounds" not in lanes["worker"] + lanes["manager"]
    assert "visit" in lanes["worker"] and "sign_off" in lanes["manager"]
    case_id = start(engine, result)
    seen = []
    while views := engine.get_case(case_id).tasks:
        seen.append((views[0].task.step, views[0].task.role))
        engine.complete_task(views[0].task.id, {})
    assert seen == [("visit", "worker"), ("sign_off", "manager")] * 2
    assert status(engine, case_id) == "completed"


def test_a_one_role_repeat_sits_in_that_lane_and_its_children_are_not_listed() -> None:
    result = compiled("""\
        - task: first
          role: worker
          title: First
        - repeat: rounds
          max: 2
          steps:
            - task: review
              role: manager
              title: Review
        """)
    lanes = {lane.get("id"): [ref.text for ref in lane] for lane in
             xml(result).xpath("//bpmn:lane", namespaces=NS)}
    assert lanes == {"worker": ["start", "first"], "manager": ["rounds", "end"]}
    parsed = parse_bundle(result.files(), result.bpmn_file)
    assert parsed.user_tasks["review"].role == "manager"


REPEAT_WITH_ENDS = """\
- repeat: outer
  max: 4
  steps:
    - task: check
      role: worker
      title: Check
      form:
        stop: {type: boolean, required: true}
        cut: {type: boolean, required: true}
    - repeat: inner
      max: 2
      steps:
        - task: review
          role: manager
          title: Review
        - decide: stop_now
          branches:
            - when: stop
              steps:
                - end: stopped
                  reason: stopped early
          otherwise: []
    - decide: maybe_cut
      branches:
        - when: cut
          steps:
            - parallel: both
              branches:
                - steps:
                    - task: left
                      role: worker
                      title: Left
                - steps:
                    - end: cut_short
                      reason: cut short
      otherwise: []
- task: close
  role: worker
  title: Close
"""


@pytest.mark.parametrize("answer, reason, reviews", [
    ("stop", "stopped early", 3), ("cut", "cut short", 4), (None, None, 8)])
def test_an_end_inside_a_repeat_ends_the_case_not_the_round(
        engine: Engine, answer: str | None, reason: str | None, reviews: int) -> None:
    result = compiled(REPEAT_WITH_ENDS)
    loop = element(result, "outer").find("bpmn:standardLoopCharacteristics", namespaces=NS)
    assert loop.findtext("bpmn:loopCondition", namespaces=NS) == "pathways_exit is None"
    assert conditions(result, "outer_exit") == {
        "stopped_via_outer": 'pathways_exit == "stopped"',
        "cut_short_via_outer": 'pathways_exit == "cut_short"', "close": None}
    assert properties(result, "stopped_via_outer") == {"pathwaysExitReason": "stopped early"}
    case_id = start(engine, result)
    steps = []
    while views := engine.get_case(case_id).tasks:
        view = views[0]
        steps.append(view.task.step)
        assert view.task.role == {"check": "worker", "review": "manager",
                                  "close": "worker"}[view.task.step]
        data = {}
        if view.task.step == "check":
            second = steps.count("check") == 2
            data = {"stop": second and answer == "stop", "cut": second and answer == "cut"}
        engine.complete_task(view.task.id, data)
    case = engine.get_case(case_id).case
    assert steps.count("review") == reviews
    assert case.status == "completed"
    assert case.exit_reason == reason
    assert ("close" in steps) == (reason is None)


# -- the example of the README's DSL reference ---------------------------------------------

def test_the_documented_example_runs_to_its_exit_reasons(engine: Engine,
                                                         clock: FakeClock) -> None:
    text = (Path(__file__).parents[3] / "README.md").read_text()
    match = re.search(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert match is not None
    result = compile_pathway(yaml.safe_load(match.group(1)))
    assert result.bpmn_file == "family_support.bpmn"
    assert set(result.forms) == {"family_support.consent.schema.json",
                                 "family_support.session.schema.json"}
    declined = start(engine, result, phone="0100")
    complete(engine, declined, "consent", {"consent_given": False})
    case = engine.get_case(declined).case
    assert (case.status, case.exit_reason) == ("completed", "declined")

    case_id = start(engine, result, phone="0100")
    complete(engine, case_id, "consent", {"consent_given": True, "phone": "0777"})
    for week in range(1, 4):
        assert open_steps(engine, case_id) == []
        clock.advance(days=7, seconds=1)
        assert engine.fire_due_timers(clock.now()) == 1
        complete(engine, case_id, "session", {"goals_met": week == 3})
    case = engine.get_case(case_id).case
    assert (case.status, case.exit_reason) == ("completed", "completed")
    assert [e.data for e in events(engine, case_id, "outcome_recorded")] == [
        {"outcome": "family_engaged", "value": True}]


# -- refer, record, notify, end -----------------------------------------------------------

def test_record_notify_refer_and_end(engine: Engine) -> None:
    helper = compiled("- task: help\n  role: worker\n  title: Help\n", pathway="helper")
    result = compiled("""\
        - task: contact
          role: worker
          title: Contact
          form:
            housed: {type: boolean, required: true}
            phone: {type: text, save_to: client.phone}
        - record: housed_outcome
          outcome: housed
          value: housed
        - record: parent_outcome
          outcome: parent
          value: children > 0
          when: children > 5
        - notify: tell_manager
          to: manager
          message: Client housed
        - refer: to_helper
          pathway: helper
          wait: true
        - refer: to_helper_again
          pathway: helper
        - end: closed
          reason: completed
        """)
    root = xml(result)
    # typed as a colleague reads them (issue 14, item 7): a record is done by the system (a
    # service task, the gear), a notification and a referral are sent (send tasks, the
    # envelope: a referral starts a case of its own, not a sub-process this case runs)
    assert [etree.QName(element(result, step)).localname for step in (
        "housed_outcome", "parent_outcome", "tell_manager", "to_helper", "to_helper_again")
    ] == ["serviceTask", "serviceTask", "sendTask", "sendTask", "sendTask"]
    assert element(result, "housed_outcome").get("name") == "Record: housed"
    assert properties(result, "housed_outcome") == {"pathwaysOutcome": "housed",
                                                    "pathwaysOutcomeValue": "housed"}
    assert properties(result, "parent_outcome") == {
        "pathwaysOutcome": "parent", "pathwaysOutcomeValue": "client.children > 0",
        "pathwaysOutcomeWhen": "client.children > 5"}
    assert element(result, "tell_manager").get("name") == "Notify manager"
    assert properties(result, "tell_manager") == {"pathwaysNotifyTo": "manager",
                                                  "pathwaysNotifyMessage": "Client housed"}
    assert element(result, "to_helper").get("name") == "Refer to helper"
    assert properties(result, "to_helper") == {"pathwaysRefer": "helper"}
    [message] = root.xpath("/bpmn:definitions/bpmn:message", namespaces=NS)
    assert (message.get("id"), message.get("name")) == ("msg_completed_helper",
                                                        f"{COMPLETED_PREFIX}helper")
    done = element(result, "to_helper_done")
    definition = done.find("bpmn:messageEventDefinition", namespaces=NS)
    assert definition.get("messageRef") == "msg_completed_helper"
    assert definition.findtext("bpmn:extensionElements/spiffworkflow:messageVariable",
                               namespaces=NS) == "to_helper_result"
    assert "end" not in set(root.xpath("//@id"))  # the last step is an end

    publish(engine, helper)
    case_id = start(engine, result, children=2)
    complete(engine, case_id, "contact", {"housed": True, "phone": "0777"})
    assert [e.data for e in events(engine, case_id, "outcome_recorded")] == [
        {"outcome": "housed", "value": True}]  # parent: `when` was false
    assert events(engine, case_id, "notification_requested")[0].data["to"] == "manager"
    assert status(engine, case_id) == "active"  # waits for the referred case
    [referred] = engine.list_cases(pathway="helper")
    [view] = engine.get_case(referred.id or 0).tasks
    engine.complete_task(view.task.id, {})
    case = engine.get_case(case_id).case
    assert (case.status, case.exit_reason) == ("completed", "completed")
    assert case.data["to_helper_result"]["case"] == referred.id
    assert [e.data["pathway"] for e in events(engine, case_id, "referral_made")] == [
        "helper", "helper"]


# -- forms --------------------------------------------------------------------------------

FORM = """\
- task: intake
  role: worker
  title: Intake
  form:
    name: {type: text, required: true, max_length: 5, title: Full name, help: As on ID}
    story: {type: long_text, max_length: 20}
    income: {type: number, min: 0, max: 100.5}
    kids: {type: integer, min: 0, max: 9, required: true}
    housed: {type: boolean}
    seen_on: {type: date}
    risk: {type: choice, options: [low, high]}
    needs: {type: multiple_choice, options: [money, family]}
    mood: {type: scale, min: 1, max: 5, labels: {1: Poor, 5: Good}}
    phone: {type: text, prefill: client.phone, save_to: client.phone}
    why: {type: text, required: true, visible_when: "risk == 'high'"}
"""


def test_form_schema_for_every_field_type() -> None:
    schema = json.loads(compiled(FORM).forms["demo.intake.schema.json"])
    assert schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Intake",
        "type": "object",
        "properties": {
            "name": {"title": "Full name", "description": "As on ID", "type": "string",
                     "maxLength": 5},
            "story": {"title": "Story", "type": "string", "maxLength": 20,
                      "x-pathways-widget": "textarea"},
            "income": {"title": "Income", "type": "number", "minimum": 0, "maximum": 100.5},
            "kids": {"title": "Kids", "type": "integer", "minimum": 0, "maximum": 9},
            "housed": {"title": "Housed", "type": "boolean"},
            "seen_on": {"title": "Seen on", "type": "string", "format": "date"},
            "risk": {"title": "Risk", "type": "string", "enum": ["low", "high"]},
            "needs": {"title": "Needs", "type": "array",
                      "items": {"type": "string", "enum": ["money", "family"]},
                      "uniqueItems": True},
            "mood": {"title": "Mood", "type": "integer", "minimum": 1, "maximum": 5,
                     "x-pathways-labels": {"1": "Poor", "5": "Good"}},
            "phone": {"title": "Phone", "type": "string", "x-pathways-prefill": "client.phone",
                      "x-pathways-save-to": "client.phone"},
            "why": {"title": "Why", "type": "string",
                    "x-pathways-visible-when": "risk == 'high'",
                    "x-pathways-required-when-visible": True},
        },
        "required": ["name", "kids"],
        "additionalProperties": False,
    }
    jsonschema.Draft202012Validator.check_schema(schema)


GOOD = {"name": "Ann", "story": "x" * 20, "income": 100.5, "kids": 0, "housed": False,
        "seen_on": "2026-01-31", "risk": "high", "needs": ["money", "family"], "mood": 5,
        "phone": "0777", "why": "because"}


@pytest.mark.parametrize("change", [
    {"name": "Annabel"}, {"story": "x" * 21}, {"income": -1}, {"income": 101},
    {"kids": 1.5}, {"kids": 10}, {"housed": "yes"}, {"seen_on": "31/01/2026"},
    {"risk": "medium"}, {"needs": ["money", "money"]}, {"needs": ["rent"]}, {"mood": 6},
    {"mood": 0}, {"unknown": 1}, {"kids": None},
])
def test_form_schema_refuses_bad_data(change: dict[str, Any]) -> None:
    schema = json.loads(compiled(FORM).forms["demo.intake.schema.json"])
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(GOOD)
    assert validator.is_valid({"name": "Bo", "kids": 1})  # only the required fields
    assert not validator.is_valid({"name": "Bo"})
    assert not validator.is_valid({**GOOD, **change})


def test_form_is_enforced_by_the_engine(engine: Engine) -> None:
    case_id = start(engine, compiled(FORM), phone="0100")
    with pytest.raises(FormValidationError) as caught:
        complete(engine, case_id, "intake", {**GOOD, "seen_on": "soon", "kids": -1})
    assert set(caught.value.fields) == {"seen_on", "kids"}
    complete(engine, case_id, "intake", GOOD)
    assert status(engine, case_id) == "completed"


def test_form_schema_defaults_titles_from_field_names() -> None:
    schema = form_schema("T", {"release_date_confirmed": {"type": "boolean"}})
    assert schema["properties"]["release_date_confirmed"]["title"] == "Release date confirmed"


# -- expressions --------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("release_date", "client.release_date"),
    ("client.release_date", "client.release_date"),
    ("not consent_given", "not consent_given"),
    ("children > 2 and risk in ['high']", "client.children > 2 and risk in ['high']"),
    ("days_between(release_date, today()) < 7",
     "days_between(client.release_date, today()) < 7"),
    ("needs.children", "needs.children"),
    ("len(children_list)", "len(children_list)"),
])
def test_declared_client_fields_are_read_from_the_client_record(source: str,
                                                                 expected: str) -> None:
    assert rewrite_client_fields(source, {"release_date", "children"}) == expected


def test_an_expression_without_client_fields_is_kept_byte_for_byte() -> None:
    source = "risk  in  [ 'high' ]"
    assert rewrite_client_fields(source, {"release_date"}) == source


def test_a_form_field_shadows_a_client_field_of_the_same_name() -> None:
    result = compiled("""\
        - task: ask
          role: worker
          title: Ask
          form: {phone: {type: text}}
        - decide: has_phone
          branches:
            - when: phone != '' and release_date
              steps: []
          otherwise: []
        """)
    texts = [flow.findtext("bpmn:conditionExpression", namespaces=NS) for flow in
             xml(result).xpath("//bpmn:sequenceFlow[@sourceRef='has_phone']", namespaces=NS)]
    assert texts == ["expr(\"phone != '' and client.release_date\")", None]


@pytest.mark.parametrize("due, expected", [
    ("P7D", "P7D"), ("release_date", "client.release_date"),
    ("release_date - P7D", "client.release_date - P7D"),
    ("release_date + P1D", "client.release_date + P1D"),
    ("client.release_date - P7D", "client.release_date - P7D"),
    ("seen_on + P2D", "seen_on + P2D"),
])
def test_due_names_the_client_record(due: str, expected: str) -> None:
    assert rewrite_due(due, {"release_date"}) == expected


@pytest.mark.parametrize("source", ['name == "O\'Brien"', "a\\b", "café == 'é'",
                                    "x\ny"])
def test_expr_call_quotes_any_source_as_a_python_string(source: str) -> None:
    call = expr_call(source)
    assert call.startswith("expr(") and eval(call[5:-1]) == source  # noqa: S307


def test_property_names_match_the_engine() -> None:
    for name in ("FORM_PROPERTY", "DUE_PROPERTY", "OUTCOME", "OUTCOME_VALUE", "OUTCOME_WHEN",
                 "NOTIFY_TO", "NOTIFY_MESSAGE", "REFER", "EXIT_REASON", "ASSIGN",
                 "TASK_ORGANISATION"):
        assert getattr(dsl_compile, name) == getattr(engine_definitions, name)
    assert dsl_compile.COMPLETED_PREFIX == COMPLETED_PREFIX


# -- the whole file: schema, diagram, determinism -----------------------------------------

EVERYTHING = DECIDE + FORM + REPEAT_WITH_ENDS.replace("- task: close", "- task: close2") + """\
- parallel: fan
  branches:
    - steps:
        - wait: pause
          for: P1D
    - steps: []
- repeat: weekly
  every: P7D
  until: done
  max: 12
  steps:
    - task: session
      role: manager
      title: Session
      form: {done: {type: boolean, required: true}}
- refer: onward
  pathway: helper
  wait: true
- record: engaged
  outcome: engaged
- notify: heads_up
  to: manager
  message: Case closing
"""


def everything() -> CompiledPathway:
    document = doc(EVERYTHING)
    document["description"] = "Every construct at once."
    return compile_pathway(document)


def test_the_bpmn_validates_against_spiffworkflows_xsd_and_parses() -> None:
    result = everything()
    VALIDATOR.validate(etree.fromstring(result.bpmn.encode("utf-8")))
    parsed = parse_bundle(result.files(), result.bpmn_file)
    assert parsed.pathway == "demo"
    assert set(parsed.user_tasks) == {
        "assess", "urgent", "family", "routine", "close", "intake", "check", "review", "left",
        "close2", "session"}
    assert {info.form for info in parsed.user_tasks.values()} == set(result.forms)
    root = xml(result)
    [process] = root.xpath("/bpmn:definitions/bpmn:process", namespaces=NS)
    assert (process.get("id"), process.get("name"), process.get("isExecutable")) == (
        "demo", "Demo pathway", "true")
    assert process.findtext("bpmn:documentation", namespaces=NS) == "Every construct at once."
    assert root.get("targetNamespace") == "https://pathways.example/dsl"


def test_compiling_is_deterministic() -> None:
    first, second = everything(), everything()
    assert first.bpmn == second.bpmn and first.forms == second.forms
    assert compile_pathway(copy.deepcopy(doc(DECIDE))) == compile_pathway(doc(DECIDE))
    assert first.bpmn.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')


def bounds_of(shape: Any) -> layout.Bounds:
    b = shape.find("dc:Bounds", namespaces=NS)
    return layout.Bounds(*(int(b.get(k)) for k in ("x", "y", "width", "height")))


def test_every_node_has_a_shape_in_its_lane_and_every_flow_an_edge() -> None:
    result = everything()
    root = xml(result)
    shapes = {s.get("bpmnElement"): bounds_of(s)
              for s in root.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    nodes = [n for n in root.iter() if etree.QName(n).localname in FLOW_NODES]
    assert nodes and all(n.get("id") in shapes for n in nodes)
    lanes = root.xpath("//bpmn:lane", namespaces=NS)
    assert all(lane.get("id") in shapes for lane in lanes)
    for lane in lanes:
        band = shapes[lane.get("id")]
        for ref in lane:
            node = shapes[ref.text]
            if etree.QName(element(result, ref.text)).localname != "subProcess":
                assert band.x <= node.x and node.right <= band.right, ref.text
    for box in root.xpath("//bpmn:subProcess", namespaces=NS):
        outer = shapes[box.get("id")]
        for child in box:
            if etree.QName(child).localname in FLOW_NODES:
                inner = shapes[child.get("id")]
                assert outer.x < inner.x and inner.right < outer.right
                assert outer.y < inner.y and inner.bottom < outer.bottom
    size = {"userTask": (100, 80), "task": (100, 80), "scriptTask": (100, 80),
            "startEvent": (36, 36), "endEvent": (36, 36), "intermediateCatchEvent": (36, 36),
            "exclusiveGateway": (50, 50), "parallelGateway": (50, 50)}
    for n in nodes:
        kind = etree.QName(n).localname
        if kind in size:
            assert (shapes[n.get("id")].width, shapes[n.get("id")].height) == size[kind]
    edges = {e.get("bpmnElement"): [(int(p.get("x")), int(p.get("y"))) for p in
                                    e.xpath("di:waypoint", namespaces=NS)]
             for e in root.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    flows = root.xpath("//bpmn:sequenceFlow", namespaces=NS)
    assert len(edges) == len(flows)
    for flow in flows:
        points = edges[flow.get("id")]
        assert len(points) >= 2
        assert on_border(points[0], shapes[flow.get("sourceRef")]), flow.get("id")
        assert on_border(points[-1], shapes[flow.get("targetRef")]), flow.get("id")
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            assert x1 == x2 or y1 == y2  # orthogonal
        assert points[-1][1] >= points[0][1]  # top to bottom


def on_border(point: tuple[int, int], b: layout.Bounds) -> bool:
    x, y = point
    inside = b.x <= x <= b.right and b.y <= y <= b.bottom
    return inside and (x in (b.x, b.right, b.cx) or y in (b.y, b.bottom))


def test_layout_runs_top_to_bottom_with_branches_side_by_side() -> None:
    result = compiled(DECIDE)
    root = xml(result)
    shapes = {s.get("bpmnElement"): bounds_of(s)
              for s in root.xpath("//bpmndi:BPMNShape", namespaces=NS)}
    order = ["start", "assess", "route", "urgent", "route_merge", "close", "end"]
    ys = [shapes[n].cy for n in order]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    assert shapes["family"].cy == shapes["routine"].cy == shapes["urgent"].cy
    assert shapes["urgent"].cx < shapes["family"].cx  # branch order, left to right
    assert shapes["routine"].x >= shapes["manager"].x  # in the manager's lane
    assert shapes["demo_participant"].y < shapes["worker"].y
    assert {s.get("isHorizontal") for s in root.xpath(
        "//bpmndi:BPMNShape[@isHorizontal]", namespaces=NS)} == {"false"}


def test_duplicate_generated_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="check_merge"):
        compiled("""\
            - decide: check
              branches:
                - when: x
                  steps: []
              otherwise: []
            - task: check_merge
              role: worker
              title: Clash
            """)


def test_decide_record_notify_and_refer_steps_take_a_title_else_words_not_ids() -> None:
    """What a colleague reads on the diagram (issue 14, item 7): a step's own `title`, else
    words made from its id or outcome, never an id such as hf_tenancy_started."""
    titled = compiled("""\
        - task: contact
          role: worker
          title: Contact
          form:
            housed: {type: boolean, required: true}
        - decide: gw_housed
          title: Already housed?
          branches:
            - when: housed
              steps:
                - record: tenancy
                  title: Tenancy recorded
                  outcome: hf_tenancy_started
          otherwise:
            - notify: tell_manager
              title: Tell the manager
              to: manager
              message: Not housed
            - refer: housing
              title: Refer for housing
              pathway: housing_first
        """)
    assert [element(titled, step).get("name") for step in
            ("gw_housed", "tenancy", "tell_manager", "housing")] == [
        "Already housed?", "Tenancy recorded", "Tell the manager", "Refer for housing"]
    plain = compiled("""\
        - task: contact
          role: worker
          title: Contact
        - record: tenancy
          outcome: hf_tenancy_started
        - refer: housing
          pathway: housing_first
        """)
    assert element(plain, "tenancy").get("name") == "Record: hf tenancy started"
    assert element(plain, "housing").get("name") == "Refer to housing first"


def test_a_step_s_title_must_be_text() -> None:
    text = HEADER.format(pathway="demo", title="Demo") + textwrap.indent(textwrap.dedent("""\
        - task: contact
          role: worker
          title: Contact
        - record: tenancy
          title: Tenancy recorded
          outcome: tenancy_started
        - notify: tell
          title: [not, text]
          to: manager
          message: Hello
        """), "  ")
    found = validate(text, "p.yaml")[1]
    assert [(p.path, p.line, p.message) for p in found] == [
        ("steps[2].title", 18, "'title' must be text, not a list: YAML reads […] as "
         'structure, not text; put the whole text in quotes: title: "[not, text]"')], found


def test_assign_and_organisation_compile_to_task_properties() -> None:
    result = compiled("""\
        - task: refer
          role: worker
          title: Refer
          form:
            accepted_by: {type: choice, options: [org, other], required: true}
            keyworker: {type: text, required: true}
        - task: support
          role: worker
          title: Support
          assign: keyworker
          organisation: accepted_by
        - task: follow_up
          role: worker
          title: Follow up
          assign: client.keyworker_name
        """)
    assert properties(result, "support") == {
        "formJsonSchemaFilename": "demo.support.schema.json",
        "pathwaysAssign": "keyworker", "pathwaysOrganisation": "accepted_by"}
    assert properties(result, "follow_up")["pathwaysAssign"] == "client.keyworker_name"
