"""Event subprocesses inside an embedded subprocess (BPMN 2.0.2 §10.3.5 Event Sub-Processes,
§13.5.4, and the start events of §10.5.2): armed while the enclosing subprocess runs, and only
then; started by their start event's trigger; an interrupting one cancels the enclosing
subprocess's other work, which then completes when the event subprocess ends, and the process
goes on after it; a non-interrupting one runs beside that work, as often as its trigger comes.

Each model is the process `start > block > after > end`; the embedded subprocess `block` runs
`b_start > work > b_end` (or a variant) and holds the event subprocess `on_it`:
`it_start > handle > handled`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.bpmn import (
    boundary,
    call,
    declare,
    end,
    error,
    escalation,
    flow,
    flows,
    message,
    model,
    multi_instance,
    process,
    script,
    signal,
    start,
    subprocess,
    throw,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait, traced

DECLARATIONS = [declare("message", "news"), declare("signal", "alarm"),
                declare("error", "broken"), declare("escalation", "late")]


def on_it(trigger: str, *, interrupting: bool) -> str:
    return subprocess(
        "on_it", start("it_start", trigger, isInterrupting=None if interrupting else "false"),
        user("handle"), end("handled"), flows("it_start>handle>handled"), event_triggered=True)


def nested(trigger: str, *, interrupting: bool, body: str = "",
           body_flows: str = "b_start>work>b_end", outside: str = "") -> dict[str, str]:
    """`block` (its body: `work` by default) holding `on_it`, started by `trigger`."""
    return model(process(
        start(), user("after"), end(), flows("start>block>after>end"), outside,
        subprocess("block", start("b_start"), body or user("work") + end("b_end"),
                   flows(body_flows), on_it(trigger, interrupting=interrupting))),
        declarations=DECLARATIONS)


# -- message and signal starts ------------------------------------------------------------

@pytest.mark.parametrize(("trigger", "send"), [
    (message("news"), Send("news")), (signal("alarm"), Send("alarm", signal=True))])
def test_interrupting_start_cancels_the_subprocess_work(
        bpmn: Conformance, trigger: str, send: Send) -> None:
    """BPMN 2.0.2 §10.3.5: an interrupting Event Sub-Process "interrupts" its parent: `work`
    is cancelled when `on_it` starts; `block` completes when `on_it` has, and the process goes
    on after `block`."""
    outcome = bpmn.run(nested(trigger, interrupting=True),
                       [send, Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "handle", "handled", "on_it",
                             "block", "after", "end"]
    assert (outcome.status, outcome.open_tasks, outcome.waiting_for) == ("completed", [], [])


@pytest.mark.parametrize(("trigger", "send"), [
    (message("news"), Send("news")), (signal("alarm"), Send("alarm", signal=True))])
def test_non_interrupting_start_runs_beside_and_fires_again(
        bpmn: Conformance, trigger: str, send: Send) -> None:
    """BPMN 2.0.2 §10.3.5: a non-interrupting Event Sub-Process runs in parallel with its
    parent's work, once per trigger ("can be triggered multiple times"); the parent completes
    when its work and every running event subprocess have."""
    outcome = bpmn.run(nested(trigger, interrupting=False),
                       [send, send, Complete("handle"), Complete("work"), Complete("handle"),
                        Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "it_start", "handle", "handled",
                             "on_it", "work", "b_end", "handle", "handled", "on_it", "block",
                             "after", "end"]
    assert (outcome.status, outcome.open_tasks, outcome.waiting_for) == ("completed", [], [])


def test_armed_while_the_subprocess_runs(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: the event subprocess waits for its trigger while `block` runs
    (the case waits for `news`); it has not started (nothing of it ran)."""
    outcome = bpmn.run(nested(message("news"), interrupting=True))
    assert outcome.trace == ["start", "b_start"]
    assert (outcome.open_tasks, outcome.waiting_for) == (["work"], ["news"])


def test_not_armed_after_the_subprocess_ended(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: an event subprocess belongs to its parent's instance: once `block`
    completed, `news` starts nothing (the case no longer waits for it)."""
    outcome = bpmn.run(nested(message("news"), interrupting=False),
                       [Complete("work"), Send("news"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "b_end", "block", "after", "end"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


def test_after_the_subprocess_ended_the_case_no_longer_waits(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: with `block` done (the case at `after`), its event subprocess's
    signal is no longer awaited."""
    outcome = bpmn.run(nested(signal("alarm"), interrupting=True), [Complete("work")])
    assert (outcome.open_tasks, outcome.waiting_for) == (["after"], [])


# -- error and escalation starts ----------------------------------------------------------

ERROR_BODY = user("work") + end("fail", error("broken"))


def test_error_thrown_inside_is_caught_by_the_event_subprocess(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 / §10.5.2: an error start is always interrupting; the error end
    event `fail` inside `block` starts `on_it`, and `block` then completes normally."""
    outcome = bpmn.run(nested(error("broken"), interrupting=True, body=ERROR_BODY,
                              body_flows="b_start>work>fail"),
                       [Complete("work"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "fail", "it_start", "handle",
                             "handled", "on_it", "block", "after", "end"]
    assert (outcome.status, outcome.error) == ("completed", None)


@pytest.mark.parametrize("trigger", [error("broken"), escalation("late")])
def test_the_event_subprocess_catches_before_a_boundary_event(
        bpmn: Conformance, trigger: str) -> None:
    """BPMN 2.0.2 §10.5.6 (handling of errors and escalations: the innermost handler takes
    the throw): the event subprocess inside `block` catches before the boundary event
    `outside` on `block`, which never fires."""
    kind = error("broken") if "error" in trigger else escalation("late")
    outcome = bpmn.run(nested(
        trigger, interrupting=True, body=user("work") + end("fail", kind),
        body_flows="b_start>work>fail",
        outside=boundary("outside", "block", kind) + user("recover")
        + end("recovered") + flows("outside>recover>recovered")),
        [Complete("work"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "fail", "it_start", "handle",
                             "handled", "on_it", "block", "after", "end"]
    assert outcome.status == "completed"


def test_a_boundary_event_nearer_the_throw_catches_first(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6: the innermost handler catches: the error thrown inside `step`
    (a subprocess within `block`) is caught by the boundary event `on_step` on `step`, not by
    `block`'s error event subprocess, which never starts."""
    files = model(process(
        start(), user("after"), end(), flows("start>block>after>end"),
        subprocess("block", start("b_start"), end("b_end"), user("recover"),
                   flows("b_start>step>b_end", "on_step>recover>b_end"),
                   subprocess("step", start("s_start"), user("work"), end("fail", error("broken")),
                              flows("s_start>work>fail")),
                   boundary("on_step", "step", error("broken")),
                   on_it(error("broken"), interrupting=True))),
        declarations=DECLARATIONS)
    outcome = bpmn.run(files, [Complete("work"), Complete("recover"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "s_start", "work", "fail", "on_step",
                             "recover", "b_end", "block", "after", "end"]
    assert outcome.status == "completed"


def test_a_throw_no_event_subprocess_takes_goes_to_the_boundary_event(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6: `block`'s event subprocess starts on a message only, so the
    error thrown inside `block` goes out to the boundary event `outside` on `block`."""
    outcome = bpmn.run(nested(
        message("news"), interrupting=True, body=ERROR_BODY, body_flows="b_start>work>fail",
        outside=boundary("outside", "block", error("broken")) + user("recover")
        + end("recovered") + flows("outside>recover>recovered")),
        [Complete("work"), Complete("recover")])
    assert outcome.trace == ["start", "b_start", "work", "fail", "outside", "recover",
                             "recovered"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


def test_interrupting_escalation(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: an escalation thrown inside `block` starts the (interrupting)
    escalation event subprocess: the rest of `block` (`more`) is cancelled."""
    outcome = bpmn.run(nested(
        escalation("late"), interrupting=True,
        body=user("work") + throw("raise", escalation("late")) + user("more") + end("b_end"),
        body_flows="b_start>work>raise>more>b_end"),
        [Complete("work"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "raise", "it_start", "handle",
                             "handled", "on_it", "block", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_non_interrupting_escalation(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: a non-interrupting escalation start: `block` goes on (`more`)
    beside `on_it`, and completes when both have."""
    outcome = bpmn.run(nested(
        escalation("late"), interrupting=False,
        body=user("work") + throw("raise", escalation("late")) + user("more") + end("b_end"),
        body_flows="b_start>work>raise>more>b_end"),
        [Complete("work"), Complete("more"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "raise", "it_start", "more",
                             "b_end", "handle", "handled", "on_it", "block", "after", "end"]
    assert outcome.status == "completed"


def test_a_throw_inside_the_event_subprocess_goes_to_the_scope_around(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 / §10.5.6: an escalation thrown inside the (non-interrupting)
    escalation event subprocess does not start it again (it would for ever); it goes out of
    `block`, to the non-interrupting boundary event `noted` on `block`."""
    files = model(process(
        start(), user("after"), end(), flows("start>block>after>end"),
        boundary("noted", "block", escalation("late"), interrupting=False), user("note"),
        end("note_end"), flows("noted>note>note_end"),
        subprocess("block", start("b_start"), user("work"), throw("raise", escalation("late")),
                   end("b_end"), flows("b_start>work>raise>b_end"),
                   subprocess("on_it", start("it_start", escalation("late"),
                                             isInterrupting="false"),
                              throw("again", escalation("late")), end("handled"),
                              flows("it_start>again>handled"), event_triggered=True))),
        declarations=DECLARATIONS)
    outcome = bpmn.run(files, [Complete("work"), Complete("note"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "work", "raise", "b_end", "it_start", "again",
                             "handled", "on_it", "block", "noted", "note", "note_end", "after",
                             "end"]
    assert (outcome.status, outcome.error) == ("completed", None)


def test_the_event_subprocess_shares_the_subprocess_data(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: an event subprocess works on its parent's data: what `work` gave
    is there when `handle` runs, and what `handle` gives is the case's after `block`."""
    outcome = bpmn.run(nested(escalation("late"), interrupting=True,
                              body=user("work") + end("fail", escalation("late")),
                              body_flows="b_start>work>fail"),
                       [Complete("work", {"seen": 1}), Complete("handle", {"handled": True}),
                        Complete("after")])
    assert (outcome.data["seen"], outcome.data["handled"]) == (1, True)


# -- timer starts -------------------------------------------------------------------------

def test_interrupting_timer(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: a timer start of an event subprocess counts from when its parent
    starts; when it goes off, the interrupting `on_it` cancels `work`."""
    outcome = bpmn.run(nested(timer('"PT1H"'), interrupting=True),
                       [Wait(hours=2), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "handle", "handled", "on_it",
                             "block", "after", "end"]
    assert (outcome.status, outcome.timers) == ("completed", [])


def test_non_interrupting_timer(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: a non-interrupting timer start: `work` stays open beside
    `handle`; the timer does not go off again."""
    outcome = bpmn.run(nested(timer('"PT1H"'), interrupting=False),
                       [Wait(hours=2), Wait(hours=2), Complete("work"), Complete("handle"),
                        Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "work", "b_end", "handle",
                             "handled", "on_it", "block", "after", "end"]
    assert (outcome.status, outcome.timers) == ("completed", [])


def test_timer_not_armed_after_the_subprocess_ended(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: `block` completed before the hour: the timer is gone, and its
    time passing starts nothing."""
    outcome = bpmn.run(nested(timer('"PT1H"'), interrupting=True),
                       [Complete("work"), Wait(hours=2)])
    assert outcome.trace == ["start", "b_start", "work", "b_end", "block"]
    assert (outcome.open_tasks, outcome.timers) == (["after"], [])

def test_non_interrupting_cycle_timer_fires_at_each_repetition(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: a non-interrupting timer start with a cycle ("R2/PT1H") starts the
    event subprocess at each repetition while `block` runs, and no more once spent."""
    cycle = ('<bpmn:timerEventDefinition><bpmn:timeCycle>"R2/PT1H"</bpmn:timeCycle>'
             "</bpmn:timerEventDefinition>")
    outcome = bpmn.run(nested(cycle, interrupting=False),
                       [Wait(hours=1.5), Wait(hours=1), Wait(hours=1), Complete("handle"),
                        Complete("handle"), Complete("work"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "it_start", "handle", "handled",
                             "on_it", "handle", "handled", "on_it", "work", "b_end", "block",
                             "after", "end"]
    assert (outcome.status, outcome.timers) == ("completed", [])


# -- depth ----------------------------------------------------------------------------------

def test_two_levels_deep(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: an event subprocess of `inner`, itself inside `block`, is armed
    while `inner` runs; interrupting, it cancels `inner`'s work only, and `block` goes on
    after `inner`."""
    files = model(process(
        start(), user("after"), end(), flows("start>block>after>end"),
        subprocess("block", start("b_start"), end("b_end"), user("tail"),
                   flows("b_start>inner>tail>b_end"),
                   subprocess("inner", start("i_start"), user("work"), end("i_end"),
                              flows("i_start>work>i_end"),
                              on_it(message("news"), interrupting=True)))),
        declarations=DECLARATIONS)
    outcome = bpmn.run(files, [Send("news"), Complete("handle"), Complete("tail"),
                               Complete("after")])
    assert outcome.trace == ["start", "b_start", "i_start", "it_start", "handle", "handled",
                             "on_it", "inner", "tail", "b_end", "block", "after", "end"]
    assert outcome.status == "completed"


def test_inside_a_transaction(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: a transaction is a subprocess: its event subprocess is armed while
    it runs, the same way."""
    files = nested(message("news"), interrupting=True)
    text = files["conformance.bpmn"].replace('<bpmn:subProcess id="block">',
                                             '<bpmn:transaction id="block">')
    head, _, tail = text.rpartition("</bpmn:subProcess>")
    files["conformance.bpmn"] = head + "</bpmn:transaction>" + tail
    outcome = bpmn.run(files, [Send("news"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "it_start", "handle", "handled", "on_it",
                             "block", "after", "end"]
    assert outcome.status == "completed"


def test_inside_each_instance_of_a_multi_instance_subprocess(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 with §10.3.7: each instance of a multi-instance subprocess is a
    parent of its own: a signal (a broadcast) starts the event subprocess in both, each
    cancelling its own instance's `work` only; each instance completes after its own
    `on_it`, and the activity after both."""
    files = model(process(
        start(), user("after"), end(), flows("start>block>after>end"),
        subprocess("block", multi_instance(sequential=False, cardinality="2"),
                   start("b_start"), user("work"), end("b_end"), flows("b_start>work>b_end"),
                   on_it(signal("alarm"), interrupting=True))),
        declarations=DECLARATIONS)
    outcome = bpmn.run(files, [Send("alarm", signal=True), Complete("handle"),
                               Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "b_start", "b_start", "it_start", "it_start",
                             "handle", "handled", "on_it", "block[i]",
                             "handle", "handled", "on_it", "block[i]", "block", "after", "end"]
    assert (outcome.status, outcome.open_tasks, outcome.waiting_for) == ("completed", [], [])


# -- a called process -------------------------------------------------------------------------

def called(trigger: str, *, interrupting: bool, body: str = "", body_flows: str = "",
           outside: str = "") -> dict[str, str]:
    """The call activity `block` calls the process `callee` (`c_start > work > c_end`, or
    `body`), which holds `on_it`, started by `trigger`."""
    return model(
        process(start(), call("block", "callee"), user("after"), end(),
                flows("start>block>after>end"), outside),
        process(start("c_start"), body or user("work") + end("c_end"),
                flows(body_flows or "c_start>work>c_end"),
                on_it(trigger, interrupting=interrupting), process_id="callee"),
        declarations=DECLARATIONS)


@pytest.mark.parametrize(("trigger", "commands"), [
    (message("news"), [Send("news")]), (timer('"PT1H"'), [Wait(hours=2)])])
def test_in_a_called_process(bpmn: Conformance, trigger: str, commands: list[Any]) -> None:
    """BPMN 2.0.2 §10.3.5 with §10.2.5 (Call Activity): the called process runs inside the
    case as a subprocess; its event subprocess is armed while it runs and, interrupting,
    cancels its `work`; the call activity completes after it."""
    outcome = bpmn.run(called(trigger, interrupting=True),
                       [*commands, Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "c_start", "it_start", "handle", "handled", "on_it",
                             "block", "after", "end"]
    assert (outcome.status, outcome.open_tasks, outcome.waiting_for, outcome.timers) == (
        "completed", [], [], [])


def test_in_a_called_process_an_error_is_caught_before_the_boundary_event(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6: the error thrown in the called process is caught by its own error
    event subprocess, not by the boundary event `outside` on the call activity."""
    outcome = bpmn.run(called(
        error("broken"), interrupting=True, body=ERROR_BODY, body_flows="c_start>work>fail",
        outside=boundary("outside", "block", error("broken")) + user("recover")
        + end("recovered") + flows("outside>recover>recovered")),
        [Complete("work"), Complete("handle"), Complete("after")])
    assert outcome.trace == ["start", "c_start", "work", "fail", "it_start", "handle",
                             "handled", "on_it", "block", "after", "end"]
    assert outcome.status == "completed"


def test_a_called_process_ended_arms_nothing(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: once the called process completed, its event subprocess's
    message is no longer awaited."""
    outcome = bpmn.run(called(message("news"), interrupting=False), [Complete("work")])
    assert outcome.trace == ["start", "c_start", "work", "c_end", "block"]
    assert (outcome.open_tasks, outcome.waiting_for) == (["after"], [])


# -- still refused ------------------------------------------------------------------------

def test_a_conditional_start_of_a_nested_event_subprocess_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: a conditional start fires when its condition becomes true; Pathways
    does not run conditional events (SpiffWorkflow checks them only on the data their scope
    started with), nested or not: publish refuses it, naming the start event."""
    refused = bpmn.refusal(nested(
        "<bpmn:conditionalEventDefinition><bpmn:condition>x &gt; 1</bpmn:condition>"
        "</bpmn:conditionalEventDefinition>", interrupting=True))
    assert (refused.element, refused.details["rule"]) == ("it_start", "conditional_event")



# -- a new version ----------------------------------------------------------------------------

def test_a_case_with_an_armed_event_subprocess_moves_to_a_new_version(
        bpmn: Conformance) -> None:
    """A case waiting in `block` (its event subprocess armed) moves to a version that adds a
    step after `after`; the event subprocess is still armed there and runs."""
    v1 = nested(message("news"), interrupting=True)
    v2 = nested(message("news"), interrupting=True)
    v2["conformance.bpmn"] = v2["conformance.bpmn"].replace(
        flow("after", "end"), flows("after>later>end") + script("later"))
    assert v2 != v1
    bpmn.publish(v1)
    client = bpmn.engine().add_client("Conformance client").id or 0
    case_id = bpmn.engine().start_case("conformance", client).case.id or 0
    bpmn.publish(v2)
    report = bpmn.engine().migrate("conformance", 1, 2)
    assert [result.ok for result in report.cases] == [True], report
    with traced() as trace:
        for command in [Send("news"), Complete("handle"), Complete("after")]:
            bpmn.apply(case_id, client, command)
    outcome = bpmn.outcome(case_id, trace.completed)
    assert outcome.trace == ["it_start", "handle", "handled", "on_it", "block", "after",
                             "later", "end"]
    assert (outcome.status, outcome.open_tasks, outcome.waiting_for) == ("completed", [], [])
