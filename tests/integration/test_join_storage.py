"""Branch data merged at joins survives real storage (SQLite and PostgreSQL): the split's
data found after the case was saved and loaded again, a multi-instance's kept start data
round-tripping through the JSON columns (issue 11 item 8)."""

from __future__ import annotations

import json

from engine import Engine
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock
from tests.unit.engine.test_join_merge import _BPMN, _MULTI


def test_a_join_after_a_reload_keeps_both_branches_items(uow_factory: UnitOfWorkFactory) -> None:
    text = (_BPMN.replace("GATEWAY", "parallelGateway").replace("INIT", "items = ['seed']")
            .replace("BRANCH_A", "items = items + ['a']").replace("LOOP", "")
            .replace('<bpmn:scriptTask id="branch_b" name="Branch B">',
                     '<bpmn:userTask id="branch_b" name="Branch B"><bpmn:extensionElements>'
                     "<spiffworkflow:postScript>items = items + ['b']</spiffworkflow:postScript>"
                     "</bpmn:extensionElements>")
            .replace("<bpmn:script>BRANCH_B</bpmn:script></bpmn:scriptTask>", "</bpmn:userTask>")
            .replace('id="joined_defs"', 'id="joined_defs" xmlns:spiffworkflow='
                     '"http://spiffworkflow.org/bpmn/schema/1.0/core"'))
    first = Engine(uow=uow_factory, clock=FakeClock())
    first.publish({"joined.bpmn": text}, "joined.bpmn")
    started = first.start_case("joined", first.add_client("Ann").id or 0)
    again = Engine(uow=uow_factory, clock=FakeClock())
    again.complete_task(started.tasks[0].task.id, {})
    case = Engine(uow=uow_factory, clock=FakeClock()).get_case(started.case.id or 0)
    assert case.case.data["items"] == ["seed", "a", "b"]


def test_multi_instance_start_data_round_trips(uow_factory: UnitOfWorkFactory) -> None:
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
    first = Engine(uow=uow_factory, clock=FakeClock())
    first.publish({"multi.bpmn": text, "multi.each.schema.json": form}, "multi.bpmn")
    case_id = first.start_case("multi", first.add_client("Ann").id or 0).case.id or 0
    for person in ("amy", "bo", "cy"):
        engine = Engine(uow=uow_factory, clock=FakeClock())
        [instance, *_] = [v for v in engine.get_case(case_id).tasks if v.task.step == "each"]
        engine.complete_task(instance.task.id, {"items": ["seed", person]})
    case = Engine(uow=uow_factory, clock=FakeClock()).get_case(case_id)
    assert case.case.data["items"] == ["seed", "amy", "bo", "cy"]
