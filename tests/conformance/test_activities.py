"""Activities: call activities, embedded subprocesses and multi-instance activities, as
BPMN 2.0.2 §13.3 (execution semantics of activities) says."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    call,
    end,
    flows,
    model,
    multi_instance,
    process,
    script,
    start,
    subprocess,
    user,
)
from tests.conformance.harness import Complete, Conformance, in_any_order, matches


def test_call_activity_runs_the_called_process_then_goes_on(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.4 (Sub-Process/Call Activity): the called process is instantiated
    when the call activity is reached, and the call activity completes when it completes;
    the caller then goes on."""
    files = model(
        process(start(), script("before", "x = 1"), call("call_it", "called"), user("after"),
                end(), flows("start>before>call_it>after>end")),
        process(start("called_start"), user("inside"), script("inside_script", "y = x + 1"),
                end("called_end"), flows("called_start>inside>inside_script>called_end"),
                process_id="called"))
    outcome = bpmn.run(files, [Complete("inside"), Complete("after")])
    assert outcome.trace == ["start", "before", "called_start", "inside", "inside_script",
                             "called_end", "call_it", "after", "end"]
    assert outcome.status == "completed"
    assert outcome.data["y"] == 2


def test_embedded_subprocess_runs_its_flow_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.4: a subprocess starts at its start event and completes when its
    flow has reached its end; then the flow after it continues."""
    files = model(process(
        start(), subprocess("sub", start("sub_start"), user("inner"), end("sub_end"),
                            flows("sub_start>inner>sub_end")),
        user("after"), end(), flows("start>sub>after>end")))
    outcome = bpmn.run(files, [Complete("inner"), Complete("after")])
    assert outcome.trace == ["start", "sub_start", "inner", "sub_end", "sub", "after", "end"]
    assert outcome.status == "completed"


def test_parallel_multi_instance_runs_cardinality_instances_together(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.7: with isSequential false "the instances are created at once";
    loopCardinality gives how many; the activity completes when all instances have."""
    files = model(process(
        start(), user("each", multi_instance(sequential=False, cardinality="3")),
        script("after"), end(), flows("start>each>after>end")))
    outcome = bpmn.run(files, [Complete("each", nth=1), Complete("each")])
    assert outcome.open_tasks == ["each"]
    assert outcome.status == "active"
    outcome = bpmn.run(files, [Complete("each", nth=2), Complete("each"), Complete("each")])
    assert matches(outcome.trace, ["start", in_any_order("each[i]", "each[i]", "each[i]"), "each",
                                   "after", "end"])
    assert outcome.counts()["each[i]"] == 3
    assert outcome.status == "completed"


def test_sequential_multi_instance_runs_one_instance_after_another(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.7: with isSequential true the instances run one at a time: the next
    is created when the one before completes."""
    setup = model(process(
        start(), script("setup", "n = 2"),
        user("each", multi_instance(sequential=True, cardinality="n")),
        script("after"), end(), flows("start>setup>each>after>end")))
    outcome = bpmn.run(setup, [Complete("each")])
    assert outcome.open_tasks == ["each"]  # one at a time: the second only now
    outcome = bpmn.run(setup, [Complete("each"), Complete("each")])
    assert outcome.trace == ["start", "setup", "each[i]", "each[i]", "each", "after", "end"]
    assert outcome.status == "completed"


@pytest.mark.parametrize("sequential", [True, False])
def test_multi_instance_over_a_collection_runs_one_instance_per_item(
        bpmn: Conformance, sequential: bool) -> None:
    """BPMN 2.0.2 §13.3.7: with loopDataInputRef one instance is created per item of the
    collection, each seeing its own item through inputDataItem (SpiffWorkflow 3.2 merged the
    first instance's item into the activity's data and then refused to start the second
    sequential one: "input item already exists")."""
    files = model(process(
        start(), script("setup", "people = ['amy', 'bo']\ngreeted = []"),
        script("greet", "greeted = greeted + [item]", inside=multi_instance(
            sequential=sequential, collection="people", element="item")),
        end(), flows("start>setup>greet>end")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "setup", "greet[i]", "greet[i]", "greet", "end"]
    assert outcome.status == "completed"
    assert outcome.data["greeted"] == ["amy", "bo"]
    assert "item" not in outcome.data  # each instance's own


def test_zero_cardinality_skips_the_activity(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.7: a loopCardinality of 0 creates no instance; the activity completes
    at once and the flow goes on."""
    files = model(process(
        start(), user("each", multi_instance(sequential=False, cardinality="0")),
        script("after"), end(), flows("start>each>after>end")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "each", "after", "end"]
    assert outcome.status == "completed"


@pytest.mark.parametrize("tag", ["manualTask", "task"])
def test_a_manual_or_abstract_task_waits_for_a_person_then_goes_on(bpmn: Conformance,
                                                                    tag: str) -> None:
    """BPMN 2.0.2 §10.3.3: a Manual Task "is expected to be performed without the aid of any
    business process execution engine", and an abstract Task has no type: Pathways offers
    each to the inbox as a task to confirm (nothing to fill in). Completing one goes on (it
    crashed with AttributeError: SpiffWorkflow's manual tasks have no form to take data)."""
    files = model(process(start(), f'<bpmn:{tag} id="confirm"/>', script("after", "x = 1"),
                          end(), flows("start>confirm>after>end")))
    waiting = bpmn.run(files)
    assert waiting.open_tasks == ["confirm"]
    outcome = bpmn.run(files, [Complete("confirm")])
    assert outcome.trace == ["start", "confirm", "after", "end"]
    assert outcome.status == "completed"
