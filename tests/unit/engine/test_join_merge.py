"""Case data merged at parallel joins: keyed or appended, never truncated (issue 11 item 8).

SpiffWorkflow's own merge cuts a list to one branch's length (`del a[len(b):]`); these run
real SpiffWorkflow through the engine on fakes, then check the rule engine.workflow.joins documents.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine import Engine
from engine.workflow.joins import merge_branches
from tests.join_bundles import (
    JOINED,
    MULTI,
    branch_b_joined_after_a_reload,
    people_merged_after_reloads,
)
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

_THREE_ROUNDS = ('<bpmn:standardLoopCharacteristics loopMaximum="3">'
                 '<bpmn:loopCondition>True</bpmn:loopCondition>'
                 '</bpmn:standardLoopCharacteristics>')


def _joined_data(init: str, branch_a: str, branch_b: str, *, gateway: str = "parallelGateway",
                 loop: bool = False) -> dict[str, Any]:
    """Run init, both branches and the join; the case data at the review after the join."""
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    text = JOINED
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
    case = branch_b_joined_after_a_reload(FakeUnitOfWorkFactory())
    assert [t.task.step for t in case.tasks] == ["review"]
    assert case.case.data["items"] == ["seed", "a", "b"]


def test_parallel_multi_instance_keeps_what_every_instance_added() -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    text = (MULTI.replace("TASK", "scriptTask")
            .replace("BODY", "<bpmn:script>items = items + ['x' + str(len(items))]</bpmn:script>"))
    engine.publish({"multi.bpmn": text}, "multi.bpmn")
    view = engine.start_case("multi", engine.add_client("Ann").id or 0)
    assert [t.task.step for t in view.tasks] == ["review"]
    # each instance started from ['seed']: three additions of 'x1', none lost
    assert view.case.data["items"] == ["seed", "x1", "x1", "x1"]


def test_parallel_multi_instance_of_people_merges_after_reloads() -> None:
    """Instances done one by one, the case stored and loaded again between them."""
    case = people_merged_after_reloads(FakeUnitOfWorkFactory())
    assert [t.task.step for t in case.tasks] == ["review"]
    assert case.case.data["items"] == ["seed", "amy", "bo", "cy"]
