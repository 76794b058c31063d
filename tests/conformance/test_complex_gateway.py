"""The complex gateway (BPMN 2.0.2 §10.6.5, §13.3.5): Pathways does not run it, so publish
refuses it, naming the element and the rule (issue 16: never run a construct silently wrong).

As a join it fires once its `activationCondition` over the tokens waiting (e.g.
`_activationCount >= 2`) holds, then waits for the remaining tokens and resets without
firing again; as a split it takes its true conditional flows, as an inclusive gateway with a
default. SpiffWorkflow 3.2 has no parser for it: left to it, publish failed with its bare "no
support implemented for this task type". Refused at publish, with the way to model it instead,
in a join or a split, with or without an activation condition, in a subprocess too.
"""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from engine.workflow.validation import check_offline
from tests.conformance.bpmn import (
    MAIN_FILE,
    end,
    flow,
    flows,
    gateway,
    model,
    process,
    script,
    start,
)
from tests.conformance.bpmn import subprocess as sub
from tests.conformance.harness import Conformance


def two_of_three(activation: str | None, first: str = "start", last: str = "end") -> str:
    """A parallel split to three scripts joined by complex gateway `join` (with the given
    activationCondition), then `after` once."""
    condition = ("" if activation is None else
                 f"<bpmn:activationCondition>{activation}</bpmn:activationCondition>")
    return "".join([
        start(first), gateway("parallel", "fork"), script("a"), script("b"), script("c"),
        f'<bpmn:complexGateway id="join">{condition}</bpmn:complexGateway>',
        script("after"), end(last),
        flows(f"{first}>fork", "fork>a>join", "fork>b>join", "fork>c>join",
              f"join>after>{last}")])


def split() -> str:
    """Complex gateway `choose` as a split: two conditional flows and a default."""
    return "".join([
        start(), script("decide", "x = 2"), '<bpmn:complexGateway id="choose" '
        'default="choose-other"/>', script("low"), script("high"), script("other"), end("e1"),
        end("e2"), end("e3"), flows("start>decide>choose", "low>e1", "high>e2", "other>e3"),
        flow("choose", "low", cond="x < 3"), flow("choose", "high", cond="x > 1"),
        flow("choose", "other")])


@pytest.mark.parametrize("activation", ["_activationCount &gt;= 2", None],
                         ids=["activation_condition", "no_condition"])
def test_a_complex_join_is_refused(bpmn: Conformance, activation: str | None) -> None:
    """§13.3.5: the join fires on the activation condition and absorbs the later tokens:
    the 2-of-3 join would run `after` once in BPMN; Pathways cannot, so it refuses."""
    refused = bpmn.refusal(model(process(two_of_three(activation))))
    assert refused.element == "join"
    assert refused.details["rule"] == "complex_gateway"
    assert refused.file == "conformance.bpmn" and refused.line is not None
    assert refused.column is not None
    assert "complexGateway 'join'" in refused.reason
    assert "inclusive" in refused.reason and "parallel" in refused.reason


def test_a_complex_split_is_refused(bpmn: Conformance) -> None:
    """§13.3.5: as a split it takes its true conditions (here `low` and `high`), else its
    default; refused all the same, with the inclusive gateway named as the way to model it."""
    refused = bpmn.refusal(model(process(split())))
    assert (refused.element, refused.details["rule"]) == ("choose", "complex_gateway")
    assert "inclusive" in refused.reason


def test_a_complex_gateway_inside_a_subprocess_is_refused(bpmn: Conformance) -> None:
    files = model(process(start(), sub("inner", two_of_three("_activationCount &gt;= 2", "s", "e")),
                          end(), flows("start>inner>end")))
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("join", "complex_gateway")


def test_the_same_model_with_an_inclusive_gateway_runs(bpmn: Conformance) -> None:
    """The refusal is of the complex gateway alone: the split modelled as the reason says
    (an inclusive gateway with the same flows) publishes and runs both true branches."""
    files = model(process(split().replace("complexGateway", "inclusiveGateway")))
    outcome = bpmn.run(files)
    assert sorted(outcome.trace[:2]) == ["decide", "start"]
    assert sorted(outcome.trace[2:]) == ["e1", "e2", "high", "low"]
    assert outcome.status == "completed"


def test_pathways_validate_refuses_it_too() -> None:
    """`pathways validate` runs the same rule without a database (check_offline)."""
    files = model(process(split()))
    with pytest.raises(DefinitionError) as refused:
        check_offline(files, MAIN_FILE)
    assert (refused.value.element, refused.value.details["rule"]) == ("choose", "complex_gateway")
    assert refused.value.line is not None
