"""Multi-instance data (BPMN 2.0.2 §10.3.7, §13.3.7): each instance's output item collected
into the output collection, and the instance attribute loopCounter."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import end, flows, model, process, script, start
from tests.conformance.harness import Conformance


def collecting(sequential: bool, code: str) -> dict[str, str]:
    """`double` runs once per item of `numbers`; each instance's `doubled` is its output
    item, collected into `results`."""
    characteristics = (
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        "<bpmn:loopDataInputRef>numbers</bpmn:loopDataInputRef>"
        "<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="number" name="number"/>'
        '<bpmn:outputDataItem id="doubled" name="doubled"/>'
        "</bpmn:multiInstanceLoopCharacteristics>")
    return model(process(
        start(), script("setup", "numbers = [1, 2, 3]"),
        script("double", code, inside=characteristics), end(),
        flows("start>setup>double>end")))


@pytest.mark.parametrize("sequential", [True, False])
def test_output_items_are_collected_in_input_order(bpmn: Conformance, sequential: bool) -> None:
    """BPMN 2.0.2 §10.3.7: outputDataItem "represents for every Activity instance the
    single item of the collection stored in the loopDataOutputRef"; the i-th instance's
    item is the i-th of the output collection."""
    outcome = bpmn.run(collecting(sequential, "doubled = number * 2"))
    assert outcome.trace == ["start", "setup", "double[i]", "double[i]", "double[i]",
                             "double", "end"]
    assert outcome.status == "completed"
    assert outcome.data["results"] == [2, 4, 6]
    assert outcome.data["numbers"] == [1, 2, 3]



@pytest.mark.parametrize("sequential", [True, False])
def test_an_instance_reads_its_index_through_its_input_item(bpmn: Conformance,
                                                             sequential: bool) -> None:
    """With a loopCardinality, the instance's inputDataItem is its index, 0 first (README,
    Multi-instance); BPMN 2.0.2's loopCounter, 1 first, is beside it
    (test_multi_instance_behavior.py)."""
    characteristics = (
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
        "<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="index" name="index"/>'
        '<bpmn:outputDataItem id="square" name="square"/>'
        "</bpmn:multiInstanceLoopCharacteristics>")
    outcome = bpmn.run(model(process(
        start(), script("each", "square = index * index if loopCounter == index + 1 else None",
                      inside=characteristics), end(),
        flows("start>each>end"))))
    assert outcome.trace == ["start", "each[i]", "each[i]", "each[i]", "each", "end"]
    assert (outcome.status, outcome.data["results"]) == ("completed", [0, 1, 4])
