"""Case data merged at parallel joins: keyed or appended, never truncated (issue 11 item 8).

SpiffWorkflow's own merge cuts a list to one branch's length (`del a[len(b):]`); these run
real SpiffWorkflow through the engine on fakes, then check the rule engine.joins documents.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine import Engine
from engine.joins import merge_branches
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
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
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="split"/>
    <bpmn:sequenceFlow id="fa" sourceRef="split" targetRef="branch_a"/>
    <bpmn:sequenceFlow id="fb" sourceRef="split" targetRef="branch_b"/>
    <bpmn:sequenceFlow id="fa2" sourceRef="branch_a" targetRef="join"/>
    <bpmn:sequenceFlow id="fb2" sourceRef="branch_b" targetRef="join"/>
    <bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
_THREE_ROUNDS = ('<bpmn:standardLoopCharacteristics loopMaximum="3">'
                 '<bpmn:loopCondition>True</bpmn:loopCondition>'
                 '</bpmn:standardLoopCharacteristics>')


def _joined_data(init: str, branch_a: str, branch_b: str, *, gateway: str = "parallelGateway",
                 loop: bool = False) -> dict[str, Any]:
    """Run init, both branches and the join; the case data at the review after the join."""
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    text = _BPMN
    if gateway == "inclusiveGateway":  # an inclusive split takes every flow whose condition holds
        for flow in ("fa", "fb"):
            head = f'<bpmn:sequenceFlow id="{flow}" sourceRef="split" targetRef="branch_{flow[1]}"'
            text = text.replace(head + "/>", head + "><bpmn:conditionExpression>True"
                                "</bpmn:conditionExpression></bpmn:sequenceFlow>")
    text = (text.replace("GATEWAY", gateway).replace("INIT", init)
            .replace("BRANCH_A", branch_a).replace("BRANCH_B", branch_b)
            .replace("LOOP", _THREE_ROUNDS if loop else ""))
    engine.publish({"joined.bpmn": text}, "joined.bpmn")
    client = engine.add_client("Ann")
    view = engine.start_case("joined", client.id or 0)
    assert view.case.status == "active", view.case.error
    assert [t.task.step for t in view.tasks] == ["review"]
    return view.case.data


@pytest.mark.parametrize("gateway", ["parallelGateway", "inclusiveGateway"])
def test_two_parallel_branches_each_appending_keep_every_item(gateway: str) -> None:
    data = _joined_data("items = ['seed']", "items = items + ['a1', 'a2']",
                        "items = items + ['b1']", gateway=gateway)
    assert data["items"] == ["seed", "a1", "a2", "b1"]


def test_both_branches_appending_the_same_value_keep_both() -> None:
    data = _joined_data("visits = []", "visits = visits + ['home']",
                        "visits = visits + ['home']")
    assert data["visits"] == ["home", "home"]


def test_a_loop_adding_items_before_the_join_keeps_them_all() -> None:
    data = _joined_data("items = []", "items = items + [len(items)]",
                        "items = items + ['b']", loop=True)
    assert sorted(map(str, data["items"])) == ["0", "1", "2", "b"]
    assert [i for i in data["items"] if i != "b"] == [0, 1, 2]  # the loop's order kept


def test_dicts_are_merged_by_key() -> None:
    data = _joined_data("needs = {'housing': 'open'}",
                        "needs = {**needs, 'housing': 'referred', 'work': 'open'}",
                        "needs = {**needs, 'debt': 'open'}")
    assert data["needs"] == {"housing": "referred", "work": "open", "debt": "open"}


def test_a_scalar_only_one_branch_changed_keeps_that_change() -> None:
    data = _joined_data("status = 'new'", "status = 'seen'", "other = 1")
    assert data["status"] == "seen"


def test_conflicting_scalars_the_branch_that_joined_last_wins() -> None:
    # Branch A runs first (three loop rounds), B after it: B reaches the join last.
    data = _joined_data("status = 'new'", "status = 'from_a'", "status = 'from_b'")
    assert data["status"] == "from_b"


def test_merge_rule_against_the_split_data() -> None:
    base = {"items": [1], "tags": {"a": 1}, "n": 0}
    first = {"items": [1, 2], "tags": {"a": 1, "b": 2}, "n": 5}
    second = {"items": [1, 3, 4], "tags": {"a": 9}, "n": 0, "new": True}
    assert merge_branches(base, [first, second]) == {
        "items": [1, 2, 3, 4], "tags": {"a": 9, "b": 2}, "n": 5, "new": True}
    # a list a branch rebuilt (not only appended to): every item of both kept, none twice
    assert merge_branches({"l": [1, 2]}, [{"l": [2, 5]}, {"l": [1, 2, 6]}]) == {
        "l": [2, 5, 1, 6]}
    assert merge_branches({"x": 1}, [{"x": 2}, {"x": 3}]) == {"x": 3}
    assert merge_branches({"x": 1}, [{"x": 2}, {"x": 1}]) == {"x": 2}


def test_branches_joined_after_the_case_was_stored_and_reloaded() -> None:
    """A branch waiting on a person: the case is saved and loaded again before the join."""
    factory = FakeUnitOfWorkFactory()
    text = (_BPMN.replace("GATEWAY", "parallelGateway").replace("INIT", "items = ['seed']")
            .replace("BRANCH_A", "items = items + ['a']").replace("LOOP", "")
            .replace('<bpmn:scriptTask id="branch_b" name="Branch B">',
                     '<bpmn:userTask id="branch_b" name="Branch B"><bpmn:extensionElements>'
                     "<spiffworkflow:postScript>items = items + ['b']</spiffworkflow:postScript>"
                     "</bpmn:extensionElements>")
            .replace("<bpmn:script>BRANCH_B</bpmn:script></bpmn:scriptTask>", "</bpmn:userTask>")
            .replace('id="joined_defs"', 'id="joined_defs" xmlns:spiffworkflow='
                     '"http://spiffworkflow.org/bpmn/schema/1.0/core"'))
    first = Engine(uow=factory, clock=FakeClock())
    first.publish({"joined.bpmn": text}, "joined.bpmn")
    client = first.add_client("Ann")
    started = first.start_case("joined", client.id or 0)
    [waiting] = started.tasks
    again = Engine(uow=factory, clock=FakeClock())  # nothing held in memory: loads stored state
    again.complete_task(waiting.task.id, {})
    case = again.get_case(started.case.id or 0)
    assert [t.task.step for t in case.tasks] == ["review"]
    assert case.case.data["items"] == ["seed", "a", "b"]


_MULTI = """<?xml version="1.0" encoding="UTF-8"?>
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
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="each"/>
    <bpmn:sequenceFlow id="f3" sourceRef="each" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_parallel_multi_instance_keeps_what_every_instance_added() -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    text = (_MULTI.replace("TASK", "scriptTask")
            .replace("BODY", "<bpmn:script>items = items + ['x' + str(len(items))]</bpmn:script>"))
    engine.publish({"multi.bpmn": text}, "multi.bpmn")
    view = engine.start_case("multi", engine.add_client("Ann").id or 0)
    assert [t.task.step for t in view.tasks] == ["review"]
    # each instance started from ['seed']: three additions of 'x1', none lost
    assert view.case.data["items"] == ["seed", "x1", "x1", "x1"]


def test_parallel_multi_instance_of_people_merges_after_reloads() -> None:
    """Instances done one by one, the case stored and loaded again between them."""
    factory = FakeUnitOfWorkFactory()
    text = (_MULTI.replace("TASK", "userTask").replace("BODY", "")
            .replace('<bpmn:userTask id="each">',
                     '<bpmn:userTask id="each"><bpmn:extensionElements><spiffworkflow:properties>'
                     '<spiffworkflow:property name="formJsonSchemaFilename" '
                     'value="multi.each.schema.json"/></spiffworkflow:properties>'
                     "</bpmn:extensionElements>")
            .replace('id="multi_defs"', 'id="multi_defs" xmlns:spiffworkflow='
                     '"http://spiffworkflow.org/bpmn/schema/1.0/core"'))
    form = json.dumps({"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "string"}}}})
    first = Engine(uow=factory, clock=FakeClock())
    first.publish({"multi.bpmn": text, "multi.each.schema.json": form}, "multi.bpmn")
    case_id = first.start_case("multi", first.add_client("Ann").id or 0).case.id or 0
    for person in ("amy", "bo", "cy"):
        engine = Engine(uow=factory, clock=FakeClock())  # loads the stored state each time
        [instance, *_] = [v for v in engine.get_case(case_id).tasks if v.task.step == "each"]
        engine.complete_task(instance.task.id, {"items": ["seed", person]})
    case = Engine(uow=factory, clock=FakeClock()).get_case(case_id)
    assert [t.task.step for t in case.tasks] == ["review"]
    assert case.case.data["items"] == ["seed", "amy", "bo", "cy"]
