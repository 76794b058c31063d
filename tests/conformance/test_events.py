"""Events: intermediate catch events, signals, and event subprocesses at process level, as
BPMN 2.0.2 §13.5 (execution semantics of events) says."""

from __future__ import annotations

from tests.conformance.bpmn import (
    catch,
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
from tests.conformance.harness import Complete, Conformance, Send, Wait

PAUSE = model(process(start(), catch("pause", timer('"P1D"')), script("after"), end(),
                      flows("start>pause>after>end")))


def test_intermediate_timer_waits_its_duration(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.2: "waiting starts when the Intermediate Event is reached" (a day
    here), and nothing after it runs before."""
    early = bpmn.run(PAUSE, [Wait(hours=23)])
    assert early.trace == ["start"]
    assert (early.status, early.timers) == ("active", ["pause"])


def test_intermediate_timer_goes_on_when_due(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.2: "Once the Event occurs, it is consumed. Sequence Flows leaving the
    Event are followed as usual"."""
    on_time = bpmn.run(PAUSE, [Wait(days=1)])
    assert on_time.trace == ["start", "pause", "after", "end"]
    assert (on_time.status, on_time.timers) == ("completed", [])


def test_intermediate_message_catch_waits_for_the_message(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.2 (message catch): the process waits at the event until the message
    arrives, then goes on."""
    files = model(process(start(), catch("answer", message("answer")), script("after"), end(),
                          flows("start>answer>after>end")),
                  declarations=[declare("message", "answer")])
    outcome = bpmn.run(files, [Send("answer", {"ok": True})])
    assert outcome.trace == ["start", "answer", "after", "end"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


def test_intermediate_signal_catch_hears_a_broadcast(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.5 (Signal): a signal is a broadcast that any process waiting for it
    may catch; the catch event then lets the flow go on."""
    files = model(process(start(), catch("alarm", signal("alarm")), script("after"), end(),
                          flows("start>alarm>after>end")),
                  declarations=[declare("signal", "alarm")])
    outcome = bpmn.run(files, [Send("alarm", signal=True)])
    assert outcome.trace == ["start", "alarm", "after", "end"]
    assert outcome.status == "completed"


def with_event_subprocess(trigger: str, *, interrupting: bool) -> dict[str, str]:
    """`work` (a user task) then `after`, beside the event subprocess `on_it` whose start
    event `it_start` catches `trigger` and leads to the user task `handle`."""
    flag = None if interrupting else "false"
    return model(process(
        start(), user("work"), user("after"), end(), flows("start>work>after>end"),
        subprocess("on_it", start("it_start", trigger, isInterrupting=flag), user("handle"),
                   end("handled"), flows("it_start>handle>handled"), event_triggered=True)),
        declarations=[declare("message", "news"), declare("signal", "alarm"),
                      declare("error", "broken")])


def test_interrupting_message_event_subprocess_cancels_the_process_work(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.4: for an interrupting Event Sub-Process, "the Event Sub-Process
    cancels the execution of the enclosing Sub-Process (Process)" once its start event
    occurs; the process completes when it does."""
    outcome = bpmn.run(with_event_subprocess(message("news"), interrupting=True),
                       [Send("news"), Complete("handle")])
    assert outcome.trace == ["start", "it_start", "handle", "handled", "on_it"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def test_non_interrupting_signal_event_subprocess_runs_beside(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.4: a non-interrupting Event Sub-Process runs "in parallel" to the
    enclosing process, which goes on; the process completes when both are done."""
    outcome = bpmn.run(with_event_subprocess(signal("alarm"), interrupting=False),
                       [Send("alarm", signal=True), Complete("work"), Complete("handle"),
                        Complete("after")])
    assert outcome.trace == ["start", "it_start", "work", "handle", "handled", "on_it",
                             "after", "end"]
    assert outcome.status == "completed"


def test_error_event_subprocess_catches_an_error_end(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.4 / §13.5.6: an error end event throws the error; the error event
    subprocess of the process catches it (always interrupting) and the rest of the process
    is cancelled."""
    files = with_event_subprocess(error("broken"), interrupting=True)
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        '<bpmn:endEvent id="end"></bpmn:endEvent>',
        '<bpmn:endEvent id="end"><bpmn:errorEventDefinition errorRef="error_broken"/>'
        "</bpmn:endEvent>")
    outcome = bpmn.run(files, [Complete("work"), Complete("after"), Complete("handle")])
    assert outcome.trace == ["start", "work", "after", "end", "it_start", "handle", "handled",
                             "on_it"]
    assert outcome.status == "completed"
