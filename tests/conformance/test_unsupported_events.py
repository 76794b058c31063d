"""What BPMN 2.0.2 says of constructs SpiffWorkflow 3.2 runs silently wrong, and the
refusal at publish Pathways gives each instead (issue 16, items 4 and 5; item 7, conditional
events, now runs: test_conditional_events.py): the spec's
runs are written out as models; each test checks publish refuses the model, naming the
element and the rule, and saying what to do instead."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    catch,
    declare,
    end,
    flows,
    gateway,
    message,
    model,
    process,
    script,
    start,
    subprocess,
    user,
)
from tests.conformance.harness import Complete, Conformance

# -- item 4: multi-instance behavior (BPMN 2.0.2 §10.3.7 / §13.3.7) ------------------------


def multi_instance_with(behavior: str, inside: str = "", extra: str = "") -> dict[str, str]:
    """Two parallel instances of the script `each`, with `behavior` (and what `inside` adds
    to its loop characteristics), beside a catch of the signal `one_done`: BPMN has the
    activity throw the signal when its behaviour says so, and the catch then lets `heard`
    run."""
    characteristics = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="false"'
                       f' behavior="{behavior}"{extra}>'
                       f"<bpmn:loopCardinality>2</bpmn:loopCardinality>{inside}"
                       "</bpmn:multiInstanceLoopCharacteristics>")
    return model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"),
        f'<bpmn:scriptTask id="each">{characteristics}<bpmn:script>pass</bpmn:script>'
        "</bpmn:scriptTask>",
        catch("one_done", '<bpmn:signalEventDefinition signalRef="signal_one_done"/>'),
        script("heard"), end(), flows("start>split>each>join>end", "split>one_done>heard>join")),
        declarations=[declare("signal", "one_done"),
                      '<bpmn:signalEventDefinition id="throw_one_done"'
                      ' signalRef="signal_one_done"/>'])


def test_multi_instance_behavior_one_throwing_an_event_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.7: behavior One: "the EventDefinition referenced through the
    oneBehaviorEventRef will be thrown" when the first instance completes, so `heard` would
    run. SpiffWorkflow ignores behavior (nothing is thrown: the case would wait for the
    signal for ever: before this rule it stayed active waiting for `one_done` after both
    instances), so publish refuses it, naming the activity."""
    refused = bpmn.refusal(multi_instance_with(
        "One", extra=' oneBehaviorEventRef="throw_one_done"'))
    assert (refused.element, refused.details["rule"]) == ("each", "multi_instance_behavior")
    assert "behavior" in refused.reason and "'each'" in refused.reason


def test_multi_instance_behavior_none_throwing_an_event_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.7: behavior None: "the EventDefinition which is associated through
    the noneBehaviorEventRef will be thrown for each instance completing"."""
    refused = bpmn.refusal(multi_instance_with(
        "None", extra=' noneBehaviorEventRef="throw_one_done"'))
    assert (refused.element, refused.details["rule"]) == ("each", "multi_instance_behavior")


def test_complex_behavior_definition_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.7: behavior Complex: "the complexBehaviorDefinitions are consulted
    to determine if and which Events to throw" (each a condition and an implicit throw
    event). SpiffWorkflow reads none of it."""
    refused = bpmn.refusal(multi_instance_with(
        "Complex", inside='<bpmn:complexBehaviorDefinition id="when_one">'
        "<bpmn:condition>True</bpmn:condition>"
        '<bpmn:event id="throw_it"><bpmn:signalEventDefinition signalRef="signal_one_done"/>'
        "</bpmn:event></bpmn:complexBehaviorDefinition>"))
    assert refused.details["rule"] == "multi_instance_behavior"
    assert refused.element in ("each", "when_one")
    assert "complexBehaviorDefinition" in refused.reason


@pytest.mark.parametrize("behavior", ["All", "One", "None", "Complex"])
def test_a_behavior_that_throws_nothing_runs(bpmn: Conformance, behavior: str) -> None:
    """BPMN 2.0.2 §10.3.7: All (the default) throws no event; One, None and Complex without
    an event to throw throw nothing either: the instances run and the activity completes
    after both, as without the attribute."""
    files = model(process(
        start(),
        '<bpmn:scriptTask id="each"><bpmn:multiInstanceLoopCharacteristics isSequential="false"'
        f' behavior="{behavior}"><bpmn:loopCardinality>2</bpmn:loopCardinality>'
        "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>pass</bpmn:script>"
        "</bpmn:scriptTask>", end(), flows("start>each>end")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "end"]
    assert outcome.status == "completed"


# -- item 5: event subprocesses inside an embedded subprocess (BPMN 2.0.2 §10.3.5) ----------


def nested_event_subprocess() -> dict[str, str]:
    """The embedded subprocess `block` (the user task `inner`) holds the event subprocess
    `on_news`, started by the message `news`."""
    return model(process(
        start(), end(), flows("start>block>end"),
        subprocess("block", start("b_start"), user("inner"), end("b_end"),
                   flows("b_start>inner>b_end"),
                   subprocess("on_news", start("news_start", message("news")), user("handle"),
                              end("handled"), flows("news_start>handle>handled"),
                              event_triggered=True))),
        declarations=[declare("message", "news")])


def test_event_subprocess_inside_a_subprocess_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: an Event Sub-Process "is not part of the Normal Flow of its parent
    Process": it starts only when its start event's trigger occurs while the enclosing
    subprocess runs. SpiffWorkflow 3.2 wires event subprocesses only at process level: one
    inside an embedded subprocess starts at once, beside `inner` (`handle` would be open
    without any `news`), so publish refuses it, naming the event subprocess."""
    refused = bpmn.refusal(nested_event_subprocess())
    assert (refused.element, refused.details["rule"]) == (
        "on_news", "nested_event_subprocess")
    assert "boundary event with the same trigger to 'block'" in refused.reason


def test_event_subprocess_at_process_level_still_runs(bpmn: Conformance) -> None:
    """The supported place (see test_events.py): the same event subprocess at process level
    waits for its message; the work goes on without it."""
    files = model(process(
        start(), user("inner"), end(), flows("start>inner>end"),
        subprocess("on_news", start("news_start", message("news")), user("handle"),
                   end("handled"), flows("news_start>handle>handled"), event_triggered=True)),
        declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Complete("inner")])
    assert outcome.trace == ["start", "inner", "end"]
    assert outcome.status == "completed"
