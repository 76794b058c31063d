"""Event subprocesses in a called process (BPMN 2.0.2 §10.3.5, §13.5.4): Pathways does not
start them (SpiffWorkflow 3.2 starts event subprocesses of the case's own process only), so
publish refuses them, naming the start event, the process and the call
(engine/workflow/called_processes.py)."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    call,
    declare,
    end,
    error,
    flows,
    message,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance


def calling(event: str) -> dict[str, str]:
    """The pathway calls `batch`, whose event subprocess `more` starts on `event`."""
    more = subprocess("more", start("more_start", event), user("extra"), end("more_end"),
                      flows("more_start>extra>more_end"), event_triggered=True)
    called = process(start("b_start"), user("item"), end("b_end"), more,
                     flows("b_start>item>b_end"), process_id="batch")
    return model(process(start(), call("work", "batch"), script("after"), end(),
                         flows("start>work>after>end")), called,
                 declarations=[declare("message", "another"), declare("signal", "alarm"),
                               declare("error", "failed")])


@pytest.mark.parametrize("event", [message("another"), signal("alarm"), error("failed")],
                         ids=["message", "signal", "error"])
def test_a_triggered_event_subprocess_in_a_called_process_is_refused(
        bpmn: Conformance, event: str) -> None:
    """§13.5.4: the event subprocess would be active while the called process runs; Pathways
    would never start it (a message for it was kept for ever, an error thrown there was
    uncaught), so publish refuses it."""
    refused = bpmn.refusal(calling(event))
    assert (refused.element, refused.details["rule"]) == ("more_start", "called_event_subprocess")
    assert (refused.details["process"], refused.details["call"]) == ("batch", "work")
    assert "boundary event on the call activity" in refused.reason


def test_a_timer_event_subprocess_in_a_called_process_is_not_refused(bpmn: Conformance) -> None:
    """A timer start is not refused by this rule: the called process runs as before."""
    outcome = bpmn.run(calling(timer('"P1D"')), [Complete("item")])
    assert outcome.trace[:3] == ["start", "b_start", "item"]
