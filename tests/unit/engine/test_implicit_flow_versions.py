"""An activity's own conditional flows (engine/workflow/implicit_flows.py) in `versions diff`
and in a migration, compared as a gateway's conditions are, under the activity's id; and
what they tell about a sensitive answer."""

from __future__ import annotations

import json

import pytest

from engine import Engine
from engine.workflow.definitions import parse_bundle
from tests.conformance.bpmn import MAIN_FILE, end, flow, flows, model, process, start, user
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory


@pytest.fixture
def engine() -> Engine:
    return Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())


def version(condition: str, *, title: str = "Decide") -> dict[str, str]:
    """`decide` leads to `a` when `condition` holds, else (its default flow) to `b`."""
    decide = user("decide").replace('">', f'" name="{title}" default="decide-b">', 1)
    return model(process(
        start(), decide, user("a"), user("b"), end("a_end"), end("b_end"),
        flows("start>decide", "a>a_end", "decide>b>b_end"),
        flow("decide", "a", cond=condition)))


def case_at_a(engine: Engine) -> int:
    client = engine.add_client("Client").id or 0
    case_id = engine.start_case("conformance", client, version=1).case.id or 0
    task = engine.get_case(case_id).tasks[0].task
    engine.complete_task(task.id, {"x": 3})
    assert [t.task.step for t in engine.get_case(case_id).tasks] == ["a"]
    return case_id


def test_diff_reports_a_changed_condition_on_an_activitys_flow(engine: Engine) -> None:
    engine.publish(version("x > 1"), MAIN_FILE)
    engine.publish(version("x > 5"), MAIN_FILE)
    changed = {c.step: c for c in engine.diff("conformance", 1, 2).changed}
    assert list(changed) == ["decide"]
    assert changed["decide"].kinds == ["conditions"]
    assert changed["decide"].behaviour_changed


def test_a_case_past_a_changed_condition_is_not_moved(engine: Engine) -> None:
    engine.publish(version("x > 1"), MAIN_FILE)
    engine.publish(version("x > 5"), MAIN_FILE)
    case_id = case_at_a(engine)
    report = engine.migrate("conformance", 1, 2)
    assert not report.cases[0].ok
    assert report.cases[0].reason == ("step 'decide', which this case has completed, changes "
                                      "in version 2 (conditions)")
    assert engine.get_case(case_id).case.version == 1


def test_a_case_past_an_unchanged_condition_moves(engine: Engine) -> None:
    engine.publish(version("x > 1"), MAIN_FILE)
    engine.publish(version("x > 1", title="Choose"), MAIN_FILE)
    case_id = case_at_a(engine)
    assert engine.migrate("conformance", 1, 2).cases[0].ok
    assert engine.get_case(case_id).case.version == 2


def test_an_activitys_condition_on_a_sensitive_answer_makes_its_branches_sensitive() -> None:
    """Which way an activity's conditional flows went tells the answer they read, as a
    gateway's decision does: the activity and the steps on its branches are sensitive."""
    ask = user("ask").replace("<spiffworkflow:properties>", '<spiffworkflow:properties>'
                              '<spiffworkflow:property name="sensitive" value="health"/>', 1)
    files = model(process(
        start(), ask, user("decide"), user("a"), user("b"), end("a_end"), end("b_end"),
        flows("start>ask>decide", "a>a_end", "b>b_end"),
        flow("decide", "a", cond="x > 1"), flow("decide", "b", cond="x <= 1")))
    files["conformance.ask.schema.json"] = json.dumps(
        {"type": "object", "properties": {"x": {"type": "integer"}}})
    steps = parse_bundle(files, MAIN_FILE).sensitive_steps
    assert {step: steps.get(step) for step in ("decide", "a", "b")} == {
        "decide": "health", "a": "health", "b": "health"}


def test_a_single_conditional_flow_on_a_sensitive_answer_makes_what_follows_sensitive() -> None:
    """One conditional flow and no default: a case goes on past the activity only when the
    condition held (else it stops in error), so every step after it tells the answer."""
    ask = user("ask").replace("<spiffworkflow:properties>", '<spiffworkflow:properties>'
                              '<spiffworkflow:property name="sensitive" value="health"/>', 1)
    files = model(process(
        start(), ask, user("decide"), user("a"), end("a_end"),
        flows("start>ask>decide", "a>a_end"), flow("decide", "a", cond="x > 1")))
    files["conformance.ask.schema.json"] = json.dumps(
        {"type": "object", "properties": {"x": {"type": "integer"}}})
    steps = parse_bundle(files, MAIN_FILE).sensitive_steps
    assert {step: steps.get(step) for step in ("decide", "a")} == {
        "decide": "health", "a": "health"}
