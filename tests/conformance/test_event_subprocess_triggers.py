"""Two event subprocesses of one scope for the same error or escalation (BPMN 2.0.2
§10.3.5, §10.5.3: a thrown error or escalation is caught by *the* event of the innermost
scope that catches it, so exactly one handler runs). Pathways would start both, so publish
refuses such a scope, at the second start event, with the rule
`duplicate_event_subprocess_trigger`; one for another error, or beside a boundary event on
an activity, is fine."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    declare,
    end,
    error,
    escalation,
    flows,
    model,
    process,
    start,
    subprocess,
    user,
)
from tests.conformance.harness import Complete, Conformance


def handler(node: str, event: str) -> str:
    return subprocess(node, start(f"{node}_start", event), end(f"{node}_end"),
                      flows(f"{node}_start>{node}_end"), event_triggered=True)


def two_handlers(first: str, second: str, *, nested: bool = False) -> dict[str, str]:
    body = [start("inner_start"), user("work"), end("inner_end", error("broken")),
            flows("inner_start>work>inner_end"), handler("on_first", first),
            handler("on_second", second)]
    if nested:
        main = [start(), subprocess("scope", *body), end(), flows("start>scope>end")]
    else:
        main = body
    return model(process(*main), declarations=[declare("error", "broken", "other"),
                                               declare("escalation", "late")])


@pytest.mark.parametrize("nested", [False, True], ids=["process", "subprocess"])
@pytest.mark.parametrize(("first", "second"), [
    (error("broken"), error("broken")),
    ("<bpmn:errorEventDefinition/>", error("broken")),          # a catch-all and a code
    (escalation("late"), escalation("late")),
], ids=["same-error", "catch-all-error", "same-escalation"])
def test_two_event_subprocesses_for_one_trigger_are_refused(
        bpmn: Conformance, first: str, second: str, nested: bool) -> None:
    refused = bpmn.refusal(two_handlers(first, second, nested=nested))
    assert refused.details["rule"] == "duplicate_event_subprocess_trigger"
    assert refused.element == "on_second_start"
    assert "'on_first'" in refused.reason


def test_event_subprocesses_for_different_errors_run(bpmn: Conformance) -> None:
    """Each error has its own handler: the thrown one runs, the other does not."""
    outcome = bpmn.run(two_handlers(error("broken"), error("other")), [Complete("work")])
    assert "on_first_start" in outcome.trace
    assert "on_second_start" not in outcome.trace
    assert outcome.status == "completed"
