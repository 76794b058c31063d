"""What Pathways does not run is refused at publish, naming the element and the rule (issue
16: never run a construct silently wrong)."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import end, flows, model, process, start
from tests.conformance.harness import Conformance


def quantity(attribute: str, value: str) -> dict[str, str]:
    files = model(process(start(), '<bpmn:task id="work"/>', end(), flows("start>work>end")))
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        '<bpmn:task id="work"/>', f'<bpmn:userTask id="work" {attribute}="{value}"/>'
    )
    return files


@pytest.mark.parametrize("attribute", ["startQuantity", "completionQuantity"])
def test_token_quantities_over_one_are_refused(bpmn: Conformance, attribute: str) -> None:
    """BPMN 2.0.2 §10.3 (the Activity attributes): startQuantity is "the number of tokens that
    MUST arrive before the Activity can begin", completionQuantity "the number of tokens that
    MUST be generated from the Activity". SpiffWorkflow ignores both (one token in, one out),
    so a value over 1 would run wrong: publish refuses it, naming the element."""
    refused = bpmn.refusal(quantity(attribute, "2"))
    assert refused.element == "work"
    assert refused.details["rule"] == "quantity_not_supported"
    assert refused.details["attribute"] == attribute
    assert attribute in refused.reason


@pytest.mark.parametrize("attribute", ["startQuantity", "completionQuantity"])
def test_token_quantities_under_one_are_refused(bpmn: Conformance, attribute: str) -> None:
    """BPMN 2.0.2 §10.3 (the Activity attributes): both quantities are integers "greater
    than zero"."""
    refused = bpmn.refusal(quantity(attribute, "0"))
    assert (refused.element, refused.details["rule"]) == ("work", "quantity")


def test_a_quantity_of_one_runs(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3 (the Activity attributes): 1 is the default of both quantities:
    the model publishes as without them."""
    files = quantity("startQuantity", "1")
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        'startQuantity="1"', 'startQuantity="1" completionQuantity="1"'
    )
    bpmn.publish(files)


def test_a_negative_loop_maximum_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3 (Loop Characteristics, StandardLoopCharacteristics): loopMaximum
    caps the number of loop iterations; a negative cap means nothing, so publish refuses
    it, naming the element."""
    files = model(process(start(), '<bpmn:task id="work"/>', end(), flows("start>work>end")))
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        '<bpmn:task id="work"/>',
        '<bpmn:scriptTask id="work"><bpmn:standardLoopCharacteristics loopMaximum="-1"/>'
        "<bpmn:script>pass</bpmn:script></bpmn:scriptTask>",
    )
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("work", "loop_maximum")
    assert "loopMaximum" in refused.reason and "'work'" in refused.reason
