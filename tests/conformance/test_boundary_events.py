"""Boundary events (timer, message, signal; interrupting and not) on tasks and on embedded
subprocesses, as BPMN 2.0.2 §13.5.3 and §10.5.6 (Handling Events) say."""

from __future__ import annotations

from tests.conformance.bpmn import (
    boundary,
    catch,
    declare,
    end,
    error,
    escalation,
    flow,
    flows,
    gateway,
    message,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    throw,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait


def on_task(event: str, *, interrupting: bool) -> dict[str, str]:
    """`work` (a user task) with the boundary event `caught` leading to `handle`."""
    return model(process(
        start(), user("work"), boundary("caught", "work", event, interrupting=interrupting),
        user("handle"), end(), end("handled"),
        flows("start>work>end", "caught>handle>handled")),
        declarations=[declare("message", "news"), declare("signal", "alarm")])


def test_interrupting_timer_cancels_the_task(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: "If the cancelActivity attribute is set, the Activity the Event is
    attached to is then cancelled"; "Execution then follows the Sequence Flow connected to the
    boundary Event"."""
    outcome = bpmn.run(on_task(timer('"PT1H"'), interrupting=True),
                       [Wait(minutes=30), Wait(minutes=30), Complete("handle")])
    assert outcome.trace == ["start", "caught", "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_a_task_done_before_its_timer_leaves_no_timer(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 / §10.5.6: a boundary event is only caught while the activity runs;
    once it completes, the timer is gone and never fires."""
    outcome = bpmn.run(on_task(timer('"PT1H"'), interrupting=True),
                       [Complete("work"), Wait(hours=2)])
    assert outcome.trace == ["start", "work", "end"]
    assert outcome.status == "completed"
    assert outcome.timers == []


def test_non_interrupting_timer_runs_beside_the_task(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: "if the attribute is not set, the Activity continues execution
    (only possible for Message, Signal, Timer, and Conditional Events...)"."""
    outcome = bpmn.run(on_task(timer('"PT1H"'), interrupting=False),
                       [Wait(hours=1), Complete("handle"), Complete("work")])
    assert outcome.trace == ["start", "caught", "handle", "handled", "work", "end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_interrupting_message_cancels_the_task(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (message trigger, cancelActivity true)."""
    outcome = bpmn.run(on_task(message("news"), interrupting=True),
                       [Send("news"), Complete("handle")])
    assert outcome.trace == ["start", "caught", "handle", "handled"]
    assert outcome.status == "completed"
    assert outcome.waiting_for == []


def test_non_interrupting_message_may_come_again(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (cancelActivity false): "the Activity continues execution", and
    the event stays attached to it, so a second occurrence while it runs is handled too."""
    outcome = bpmn.run(on_task(message("news"), interrupting=False),
                       [Send("news"), Send("news"), Complete("handle"), Complete("handle"),
                        Complete("work")])
    assert outcome.trace == ["start", "caught", "caught", "handle", "handled", "handle",
                             "handled", "work", "end"]
    assert outcome.status == "completed"
    assert outcome.waiting_for == []


def test_non_interrupting_signal_may_come_again(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (cancelActivity false) and §10.5.6: the event stays attached while
    the activity runs; each signal handled on its own path, the task not disturbed; once the
    task is done, a later signal is not caught."""
    outcome = bpmn.run(on_task(signal("alarm"), interrupting=False),
                       [Send("alarm", signal=True), Send("alarm", signal=True),
                        Complete("handle"), Complete("work"), Send("alarm", signal=True),
                        Complete("handle")])
    assert outcome.trace == ["start", "caught", "caught", "handle", "handled", "work", "end",
                             "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def test_non_interrupting_message_waits_no_more_once_the_task_is_done(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: a boundary event is caught only while its activity runs: the
    second message, sent after `work` completed, is not caught (the case waits for nothing)."""
    outcome = bpmn.run(on_task(message("news"), interrupting=False),
                       [Send("news"), Complete("work"), Complete("handle")])
    assert outcome.trace == ["start", "caught", "work", "end", "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def cycle(expression: str) -> str:
    """A cycle timer (`"R3/PT1H"`: the quotes are part of the expression)."""
    return ("<bpmn:timerEventDefinition><bpmn:timeCycle>"
            f"{expression}</bpmn:timeCycle></bpmn:timerEventDefinition>")


def test_non_interrupting_cycle_timer_goes_off_each_round_while_the_task_runs(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6 / §13.5.3: a non-interrupting timer cycle (R3/PT1H) on a task that
    runs 5 hours goes off three times, one handler per round; the task then still runs, and
    its completion leaves no timer."""
    outcome = bpmn.run(on_task(cycle('"R3/PT1H"'), interrupting=False),
                       [Wait(hours=1), Wait(hours=1), Wait(hours=1), Wait(hours=2),
                        Complete("handle"), Complete("handle"), Complete("handle"),
                        Complete("work")])
    assert outcome.trace == ["start", "caught", "caught", "caught", "handle", "handled",
                             "handle", "handled", "handle", "handled", "work", "end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_non_interrupting_cycle_timer_stops_when_the_task_completes(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: the timer is attached to the running task only: after one round
    the task completes, and the two rounds left never go off."""
    outcome = bpmn.run(on_task(cycle('"R3/PT1H"'), interrupting=False),
                       [Wait(hours=1), Complete("work"), Wait(hours=5), Complete("handle")])
    assert outcome.trace == ["start", "caught", "work", "end", "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_non_interrupting_escalation_caught_each_time_it_is_thrown(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6 / §13.5.3: a non-interrupting escalation boundary event on a
    subprocess catches each escalation thrown inside it (here twice, a loop in the
    subprocess), and the subprocess goes on to its end."""
    files = model(process(
        start(), subprocess(
            "sub", start("sub_start"), script("init", "n = 0"),
            gateway("exclusive", "merge"), user("inner"), script("count", "n = n + 1"),
            throw("raise", escalation("late")),
            gateway("exclusive", "again", default="again-sub_end"), end("sub_end"),
            flows("sub_start>init>merge>inner>count>raise>again"),
            flow("again", "merge", cond="n < 2"), flow("again", "sub_end")),
        boundary("caught", "sub", escalation("late"), interrupting=False), user("handle"),
        end(), end("handled"), flows("start>sub>end", "caught>handle>handled")),
        declarations=[declare("escalation", "late")])
    outcome = bpmn.run(files, [Complete("inner"), Complete("inner"), Complete("handle"),
                               Complete("handle")])
    assert outcome.counts()["caught"] == 2
    assert outcome.counts()["handle"] == 2
    assert outcome.counts()["inner"] == 2
    assert outcome.counts()["sub"] == 1
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_interrupting_signal_cancels_the_task(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (signal trigger, cancelActivity true)."""
    outcome = bpmn.run(on_task(signal("alarm"), interrupting=True),
                       [Send("alarm", signal=True), Complete("handle")])
    assert outcome.trace == ["start", "caught", "handle", "handled"]
    assert outcome.status == "completed"


def on_subprocess(event: str, *, interrupting: bool) -> dict[str, str]:
    """The subprocess `sub` (user task `inner_a`, then script `inner_b`, then user task
    `inner_c`) with the boundary event `caught` leading to `handle`."""
    return model(process(
        start(), subprocess("sub", start("sub_start"), user("inner_a"), script("inner_b"),
                            user("inner_c"), end("sub_end"),
                            flows("sub_start>inner_a>inner_b>inner_c>sub_end")),
        boundary("caught", "sub", event, interrupting=interrupting), user("handle"),
        end(), end("handled"), flows("start>sub>end", "caught>handle>handled")),
        declarations=[declare("message", "news"), declare("signal", "alarm")])


def test_interrupting_timer_on_a_subprocess_stops_it_at_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: the subprocess the interrupting event is attached to "is then
    cancelled": nothing more runs inside it, not the task it was at, nor the next one."""
    outcome = bpmn.run(on_subprocess(timer('"PT1H"'), interrupting=True),
                       [Wait(hours=1), Complete("handle")])
    assert outcome.trace == ["start", "sub_start", "caught", "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_interrupting_message_on_a_subprocess_stops_it_at_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (message on a subprocess, cancelActivity true)."""
    outcome = bpmn.run(on_subprocess(message("news"), interrupting=True),
                       [Complete("inner_a"), Send("news"), Complete("handle")])
    assert outcome.trace == ["start", "sub_start", "inner_a", "inner_b", "caught", "handle",
                             "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def test_non_interrupting_timer_on_a_subprocess_lets_it_go_on(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (cancelActivity false): the subprocess continues beside the handler."""
    outcome = bpmn.run(on_subprocess(timer('"PT1H"'), interrupting=False),
                       [Wait(hours=1), Complete("inner_a"), Complete("handle"),
                        Complete("inner_c")])
    assert outcome.trace == ["start", "sub_start", "caught", "inner_a", "inner_b", "handle",
                             "handled", "inner_c", "sub_end", "sub", "end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def around(inside: list[str], event: str) -> dict[str, str]:
    """The subprocess `sub` (from `sub_start`, holding `inside`) with the interrupting
    boundary event `caught` leading to `handle`."""
    return model(process(
        start(), subprocess("sub", start("sub_start"), *inside),
        boundary("caught", "sub", event, interrupting=True), user("handle"),
        end(), end("handled"), flows("start>sub>end", "caught>handle>handled")),
        declarations=[declare("escalation", "late"), declare("error", "failed")])


def test_an_escalation_thrown_inside_stops_the_subprocess_at_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: the interrupting boundary event catches the escalation thrown
    inside and the subprocess "is then cancelled": the step after the throw never runs
    (SpiffWorkflow 3.2 ran the subprocess on until it waited, here `inner_b`)."""
    outcome = bpmn.run(around([throw("raise", escalation("late")), script("inner_b"),
                               user("inner_c"), end("sub_end"),
                               flows("sub_start>raise>inner_b>inner_c>sub_end")],
                              escalation("late")), [Complete("handle")])
    assert outcome.trace == ["start", "sub_start", "raise", "caught", "handle", "handled"]
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_an_error_ending_one_branch_stops_the_other_branch_at_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3 (an Error Event always interrupts): the error end event of one
    branch cancels the subprocess, so the other branch's waiting step never runs."""
    outcome = bpmn.run(around([gateway("parallel", "fork"), end("fail", error("failed")),
                               script("inner_b"), user("inner_c"), end("sub_end"),
                               flows("sub_start>fork>fail", "fork>inner_b>inner_c>sub_end")],
                              error("failed")), [Complete("handle")])
    assert outcome.trace == ["start", "sub_start", "fail", "caught", "handle", "handled"]
    assert outcome.status == "completed"


def timed(inner: str, outer: str) -> dict[str, str]:
    """Inside `sub` a timer `inner_wait` (`inner`) leads to the script `inner_b`, then the
    user task `inner_c`; the interrupting boundary timer `caught` (`outer`) is on `sub`."""
    return around([catch("inner_wait", timer(inner)), script("inner_b"), user("inner_c"),
                   end("sub_end"), flows("sub_start>inner_wait>inner_b>inner_c>sub_end")],
                  timer(outer))


def test_a_boundary_timer_due_first_goes_off_first_even_when_fired_late(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: the boundary timer (1 hour) fell due before the timer inside (2
    hours); when the worker fires both late, at 3 hours, the subprocess was cancelled at 1 hour,
    so the timer inside never goes off and nothing after it runs."""
    outcome = bpmn.run(timed('"PT2H"', '"PT1H"'), [Wait(hours=3)])
    assert outcome.trace == ["start", "sub_start", "caught"]
    assert (outcome.open_tasks, outcome.timers) == (["handle"], [])


def test_a_timer_inside_due_first_goes_off_first_even_when_fired_late(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: the timer inside (1 hour) fell due before the boundary timer (2
    hours): its path ran (to the user task `inner_c`) before the boundary event cancelled the
    subprocess."""
    outcome = bpmn.run(timed('"PT1H"', '"PT2H"'), [Wait(hours=3)])
    assert outcome.trace == ["start", "sub_start", "inner_wait", "inner_b", "caught"]
    assert (outcome.open_tasks, outcome.timers) == (["handle"], [])


def test_interrupting_cycle_timer_interrupts_at_its_first_round(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: an interrupting timer cancels the activity when it occurs; with a
    cycle (R3/PT1H) that is its first round, and no other round follows (SpiffWorkflow 3.2
    started the handler and left the task and the timer running)."""
    outcome = bpmn.run(on_task(cycle('"R3/PT1H"'), interrupting=True),
                       [Wait(hours=1), Wait(hours=3), Complete("handle")])
    assert outcome.trace == ["start", "caught", "handle", "handled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])
