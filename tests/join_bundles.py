"""Pathways whose branches join, and the reload scenarios run on them both on fakes (unit)
and on real storage (integration): parallel or inclusive branches meeting at `join`, and a
parallel multi-instance `each`."""

from __future__ import annotations

import json

from engine import CaseView, Engine
from engine.ports import UnitOfWorkFactory
from tests.bpmn_text import CLOSE, SPIFF, flows
from tests.unit.engine.fakes import FakeClock

# GATEWAY, INIT, LOOP, BRANCH_A and BRANCH_B are placeholders each test fills in
JOINED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="joined_defs"
  targetNamespace="https://pathways.example/tests">
  <bpmn:process id="joined" name="Joined" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init" name="Init"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>INIT</bpmn:script></bpmn:scriptTask>
    <bpmn:GATEWAY id="split"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>fa</bpmn:outgoing>
      <bpmn:outgoing>fb</bpmn:outgoing></bpmn:GATEWAY>
    <bpmn:scriptTask id="branch_a" name="Branch A"><bpmn:incoming>fa</bpmn:incoming>
      <bpmn:outgoing>fa2</bpmn:outgoing>LOOP<bpmn:script>BRANCH_A</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="branch_b" name="Branch B"><bpmn:incoming>fb</bpmn:incoming>
      <bpmn:outgoing>fb2</bpmn:outgoing><bpmn:script>BRANCH_B</bpmn:script></bpmn:scriptTask>
    <bpmn:GATEWAY id="join"><bpmn:incoming>fa2</bpmn:incoming><bpmn:incoming>fb2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:GATEWAY>
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>init f2:init>split fa:split>branch_a fb:split>branch_b "
            "fa2:branch_a>join fb2:branch_b>join f3:join>review f4:review>end") + CLOSE

# TASK (the kind of task `each` is) and BODY (what it holds) are placeholders
MULTI = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="multi_defs"
  targetNamespace="https://pathways.example/tests">
  <bpmn:process id="multi" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>items = ['seed']</bpmn:script></bpmn:scriptTask>
    <bpmn:TASK id="each"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
      BODY</bpmn:TASK>
    <bpmn:userTask id="review"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
""" + flows("f1:start>init f2:init>each f3:each>review f4:review>end") + CLOSE


def branch_b_joined_after_a_reload(factory: UnitOfWorkFactory) -> CaseView:
    """Branch A appends 'a' at once, branch B is a person who appends 'b' when done: the case
    is stored and loaded again (a fresh Engine) before B is done and the branches join."""
    text = (JOINED.replace("GATEWAY", "parallelGateway").replace("INIT", "items = ['seed']")
            .replace("BRANCH_A", "items = items + ['a']").replace("LOOP", "")
            .replace('<bpmn:scriptTask id="branch_b" name="Branch B">',
                     '<bpmn:userTask id="branch_b" name="Branch B"><bpmn:extensionElements>'
                     "<spiffworkflow:postScript>items = items + ['b']</spiffworkflow:postScript>"
                     "</bpmn:extensionElements>")
            .replace("<bpmn:script>BRANCH_B</bpmn:script></bpmn:scriptTask>", "</bpmn:userTask>")
            .replace('id="joined_defs"', f'id="joined_defs" {SPIFF}'))
    first = Engine(uow=factory, clock=FakeClock())
    first.publish({"joined.bpmn": text}, "joined.bpmn")
    started = first.start_case("joined", first.add_client("Ann").id or 0)
    [waiting] = started.tasks
    again = Engine(uow=factory, clock=FakeClock())  # nothing held in memory: loads stored state
    again.complete_task(waiting.task.id, {})
    return Engine(uow=factory, clock=FakeClock()).get_case(started.case.id or 0)


def people_merged_after_reloads(factory: UnitOfWorkFactory) -> CaseView:
    """The three instances of `each` are people, done one by one ("amy", "bo", "cy", each
    answering items ['seed', name]), the case stored and loaded again between them."""
    text = (MULTI.replace("TASK", "userTask").replace("BODY", "")
            .replace('<bpmn:userTask id="each">',
                     '<bpmn:userTask id="each"><bpmn:extensionElements><spiffworkflow:properties>'
                     '<spiffworkflow:property name="formJsonSchemaFilename" '
                     'value="multi.each.schema.json"/></spiffworkflow:properties>'
                     "</bpmn:extensionElements>")
            .replace('id="multi_defs"', f'id="multi_defs" {SPIFF}'))
    form = json.dumps({"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string"}}}})
    first = Engine(uow=factory, clock=FakeClock())
    first.publish({"multi.bpmn": text, "multi.each.schema.json": form}, "multi.bpmn")
    case_id = first.start_case("multi", first.add_client("Ann").id or 0).case.id or 0
    for person in ("amy", "bo", "cy"):
        engine = Engine(uow=factory, clock=FakeClock())  # loads the stored state each time
        [instance, *_] = [v for v in engine.get_case(case_id).tasks if v.task.step == "each"]
        engine.complete_task(instance.task.id, {"items": ["seed", person]})
    return Engine(uow=factory, clock=FakeClock()).get_case(case_id)
