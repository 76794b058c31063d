"""Multi-instance behaviour (BPMN 2.0.2 §10.3.7, Tables 10.27 and 10.28; §13.3.7): the
events a multi-instance activity throws as its instances complete, and the instance
attributes (Table 10.30: loopCounter; numberOfInstances, numberOfActiveInstances,
numberOfCompletedInstances).

Each case runs a multi-instance user task `review` of three instances, completed one by one,
so the trace shows after which completion the event was thrown: the event's catcher runs
`heard` right after it."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    catch,
    declare,
    end,
    escalation,
    flows,
    gateway,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    user,
)
from tests.conformance.harness import Complete, Conformance, in_any_order, matches

THREE = [Complete("review", {"answer": n}) for n in (1, 2, 3)]
DONE_SIGNAL = '<bpmn:signalEventDefinition id="throw_done" signalRef="signal_done"/>'
DONE_ESCALATION = ('<bpmn:escalationEventDefinition id="throw_done"'
                   ' escalationRef="escalation_done"/>')


def characteristics(sequential: bool, behavior: str, extra: str = "", inside: str = "",
                    cardinality: str = "3") -> str:
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"'
            f' behavior="{behavior}"{extra}>'
            f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>{inside}"
            "</bpmn:multiInstanceLoopCharacteristics>")


def with_boundary(sequential: bool, behavior: str, extra: str = "",
                  inside: str = "") -> dict[str, str]:
    """`review` (three instances) with a non-interrupting escalation boundary event `told`:
    each escalation the activity throws runs `heard` once."""
    return model(process(
        start(), user("review", characteristics(sequential, behavior, extra, inside)), end(),
        boundary("told", "review", escalation("done"), interrupting=False),
        script("heard"), end("heard_end"),
        flows("start>review>end", "told>heard>heard_end")),
        declarations=[declare("escalation", "done"), DONE_ESCALATION])


def with_signal_catch(sequential: bool, behavior: str, extra: str = "",
                      inside: str = "") -> dict[str, str]:
    """`review` (three instances) beside an intermediate catch of the signal `done`: the
    first signal the activity throws lets `heard` run (a catch event catches once)."""
    return model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"),
        user("review", characteristics(sequential, behavior, extra, inside)),
        catch("wait_done", signal("done")), script("heard"), end(),
        flows("start>split>review>join>end", "split>wait_done>heard>join")),
        declarations=[declare("signal", "done"), DONE_SIGNAL])


BOTH = pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])


def with_event_subprocess(sequential: bool, behavior: str, extra: str = "") -> dict[str, str]:
    """`review` (three instances) in a process with a non-interrupting event subprocess
    started by the signal `done`: each signal the activity throws runs `heard` once."""
    return model(process(
        start(), user("review", characteristics(sequential, behavior, extra)), end(),
        flows("start>review>end"),
        subprocess("on_done", start("done_start", signal("done"), isInterrupting="false"),
                   script("heard"), end("heard_end"), flows("done_start>heard>heard_end"),
                   event_triggered=True)),
        declarations=[declare("signal", "done"), DONE_SIGNAL])


@BOTH
def test_behavior_none_throws_as_each_instance_completes(bpmn: Conformance,
                                                         sequential: bool) -> None:
    """§10.3.7: None: "the EventDefinition which is associated through the
    noneBehaviorEventRef will be thrown for each instance completing": three signals, each
    starting the non-interrupting event subprocess as its instance completes."""
    heard = ["done_start", "heard", "heard_end", "on_done"]
    outcome = bpmn.run(with_event_subprocess(sequential, "None",
                                             ' noneBehaviorEventRef="throw_done"'), THREE)
    assert matches(outcome.trace, [
        "start", "review[i]", *heard, "review[i]", *heard, "review[i]", *heard[:3],
        in_any_order("on_done", "review"), "end"])  # the last two complete together
    assert outcome.status == "completed"


@BOTH
def test_behavior_one_throws_when_the_first_instance_completes(bpmn: Conformance,
                                                               sequential: bool) -> None:
    """§10.3.7: One: "the EventDefinition referenced through the oneBehaviorEventRef will be
    thrown upon the first instance completing", and only then."""
    outcome = bpmn.run(with_boundary(sequential, "One", ' oneBehaviorEventRef="throw_done"'),
                       THREE)
    assert outcome.trace == ["start", "review[i]", "told", "heard", "heard_end",
                             "review[i]", "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_behavior_all_throws_nothing(bpmn: Conformance, sequential: bool) -> None:
    """§10.3.7: All: "no Event is ever thrown; a token is produced after completion of all
    instances"."""
    outcome = bpmn.run(with_boundary(sequential, "All"), THREE)
    assert outcome.trace == ["start", "review[i]", "review[i]", "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_behavior_complex_throws_when_its_condition_holds(bpmn: Conformance,
                                                          sequential: bool) -> None:
    """§10.3.7: Complex: "the complexBehaviorDefinitions are consulted to determine if and
    which Events to throw"; Table 10.28: the event "will be thrown when the condition is
    true". The condition reads the activity's numberOfCompletedInstances: the event is
    thrown as the second instance completes, and only then."""
    complex_definition = (
        '<bpmn:complexBehaviorDefinition id="second_done">'
        "<bpmn:condition>numberOfCompletedInstances == 2</bpmn:condition>"
        '<bpmn:event id="second_done_event"><bpmn:escalationEventDefinition'
        ' escalationRef="escalation_done"/></bpmn:event></bpmn:complexBehaviorDefinition>')
    outcome = bpmn.run(with_boundary(sequential, "Complex", inside=complex_definition), THREE)
    assert outcome.trace == ["start", "review[i]", "review[i]", "told", "heard", "heard_end",
                             "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_a_thrown_signal_is_caught_elsewhere_in_the_process(bpmn: Conformance,
                                                            sequential: bool) -> None:
    """§10.3.7 with a signal: the signal thrown as the first instance completes reaches the
    intermediate catch event waiting beside the activity, which lets `heard` run."""
    outcome = bpmn.run(with_signal_catch(sequential, "One",
                                         ' oneBehaviorEventRef="throw_done"'), THREE[:1])
    assert outcome.trace == ["start", "review[i]", "wait_done", "heard"]
    assert outcome.open_tasks == ["review", "review"] if not sequential else ["review"]
    outcome = bpmn.run(with_signal_catch(sequential, "One",
                                         ' oneBehaviorEventRef="throw_done"'), THREE)
    assert outcome.trace == ["start", "review[i]", "wait_done", "heard", "review[i]",
                             "review[i]", "review", "end"]
    assert outcome.status == "completed"
