"""Conditional events (BPMN 2.0.2 §10.5.1 conditionalEventDefinition; the Conditional rows of
the start, intermediate and boundary event tables, §10.5.2 and §10.5.4; §13.5): "triggered
when a condition becomes true", on the process's data as it changes, whichever command
changed it; "the Condition Expression for the Event MUST become false and then true before
the Event can be triggered again". Every run also runs with the case reloaded from the
database before each command (the `bpmn` fixture)."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    call,
    catch,
    declare,
    end,
    flow,
    flows,
    gateway,
    message,
    model,
    process,
    script,
    start,
    subprocess,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait, in_any_order, matches


def conditional(condition: str = "ready == True") -> str:
    return ("<bpmn:conditionalEventDefinition><bpmn:condition>"
            f"{condition.replace('<', '&lt;')}</bpmn:condition>"
            "</bpmn:conditionalEventDefinition>")


# -- intermediate catch (§10.5.4) ---------------------------------------------------------

def waiting_for_ready() -> dict[str, str]:
    """One branch asks `first`, then `second`; the other waits at the conditional catch
    `until_ready` for `ready == True`, then runs `go`; both meet at `join`."""
    return model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"),
        user("first"), user("second"), catch("until_ready", conditional()),
        script("go", "went = ready"), end(),
        flows("start>split>first>second>join>end", "split>until_ready>go>join")))


def test_catch_waits_until_an_answer_makes_the_condition_true(bpmn: Conformance) -> None:
    """§10.5.4: the catch event waits at its place in the flow until its condition becomes
    true. `ready` is not yet given when the branch reaches it (no answer: the condition does
    not hold), `first` answers ready=False (still false: nothing moves), `second` answers
    ready=True on the other branch: the event occurs at once, `go` runs on the data that set
    it off, and the case completes."""
    outcome = bpmn.run(waiting_for_ready(), [Complete("first", {"ready": False}),
                                             Complete("second", {"ready": True})])
    assert outcome.trace == ["start", "first", "second", "until_ready", "go", "end"]
    assert outcome.status == "completed"
    assert outcome.data["went"] is True


def test_catch_does_not_occur_while_the_condition_is_false(bpmn: Conformance) -> None:
    """§10.5.4: while the condition is false the event does not occur: the case waits at
    it (active, nothing open but the branch's next question)."""
    outcome = bpmn.run(waiting_for_ready(), [Complete("first", {"ready": False})])
    assert outcome.trace == ["start", "first"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["second"])


def test_catch_occurs_on_the_data_a_message_brings(bpmn: Conformance) -> None:
    """§10.5.4: any change of the data counts, here the payload of a message caught on the
    other branch (kept in `news` by its messageVariable): the catch occurs as the message is
    caught, before the timer behind it."""
    files = model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"),
        catch("news", '<bpmn:messageEventDefinition messageRef="message_news">'
              "<bpmn:extensionElements><spiffworkflow:messageVariable>news"
              "</spiffworkflow:messageVariable></bpmn:extensionElements>"
              "</bpmn:messageEventDefinition>"), catch("pause", timer('"PT1H"')),
        catch("until_ready", conditional('news["ready"] == True')), script("go"), end(),
        flows("start>split>news>pause>join>end", "split>until_ready>go>join")),
        declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Send("news", {"ready": True}), Wait(hours=1)])
    assert outcome.trace == ["start", "news", "until_ready", "go", "pause", "end"]
    assert outcome.status == "completed"


def test_a_condition_true_when_the_catch_is_reached_goes_on_at_once(bpmn: Conformance) -> None:
    """§13.5 (a conditional catch reached while its condition already holds): the condition
    is checked as the event is reached, and the flow goes on at once."""
    files = model(process(
        start(), script("set", "ready = True"), catch("until_ready", conditional()),
        script("go"), end(), flows("start>set>until_ready>go>end")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "set", "until_ready", "go", "end"]
    assert outcome.status == "completed"


# -- boundary events (§10.5.4, §13.5.3) ---------------------------------------------------

def boundary_on_work(*, interrupting: bool, loop: bool = False) -> dict[str, str]:
    """`work` (a user task) carries the conditional boundary event `when_ready` (to
    `react`); beside it the branch `answer` gives the data (with loop: asks again while
    `again` is true), then ends at `answered`."""
    after_answer = [flow("answer", "more"),
                    flow("more", "answer", cond="again == True", flow_id="again"),
                    flow("more", "answered", flow_id="done")] if loop \
        else [flow("answer", "answered")]
    return model(process(
        start(), gateway("parallel", "split"),
        gateway("exclusive", "more", default="done") if loop else "", user("work"),
        user("answer"),
        boundary("when_ready", "work", conditional(), interrupting=interrupting),
        script("react"), end(), end("reacted"), end("answered"),
        flows("start>split>work>end", "split>answer", "when_ready>react>reacted"),
        *after_answer))


def test_interrupting_boundary_occurs_when_a_parallel_answer_makes_it_true(
        bpmn: Conformance) -> None:
    """§13.5.3: an interrupting boundary event that occurs while its activity runs cancels
    the activity, and the flow leaves by the event: here the condition becomes true on an
    answer given on the parallel branch while `work` is open."""
    outcome = bpmn.run(boundary_on_work(interrupting=True),
                       [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "answer", "when_ready", "answered", "react", "reacted"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_interrupting_boundary_waits_while_false(bpmn: Conformance) -> None:
    """§13.5.3: while the condition stays false, the activity runs on and completes
    normally; the event never occurs."""
    outcome = bpmn.run(boundary_on_work(interrupting=True),
                       [Complete("answer", {"ready": False}), Complete("work")])
    assert outcome.trace == ["start", "answer", "answered", "work", "end"]
    assert outcome.status == "completed"


def test_non_interrupting_boundary_occurs_once_per_rise(bpmn: Conformance) -> None:
    """§13.5.3 (cancelActivity false: the activity continues) and §10.5.2's "MUST become
    false and then true before the Event can be triggered again": answers true, true again
    (no new occurrence), false, then true: the event occurs twice, `work` stays open
    throughout and completes normally."""
    outcome = bpmn.run(boundary_on_work(interrupting=False, loop=True), [
        Complete("answer", {"ready": True, "again": True}),
        Complete("answer", {"ready": True, "again": True}),
        Complete("answer", {"ready": False, "again": True}),
        Complete("answer", {"ready": True, "again": False}),
        Complete("work")])
    assert matches(outcome.trace, [
        "start", "answer", "when_ready", "react", "reacted", "answer", "answer", "answer",
        "when_ready", in_any_order("react", "answered"), "reacted", "work", "end"])
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_the_answer_that_completes_the_activity_does_not_set_its_boundary_off(
        bpmn: Conformance) -> None:
    """§13.5.3: a boundary event is caught only while its activity runs: the answer that
    completes `work` makes the condition true as `work` ends, and the flow goes on normally."""
    outcome = bpmn.run(boundary_on_work(interrupting=True),
                       [Complete("work", {"ready": True}), Complete("answer", {})])
    assert outcome.trace == ["start", "work", "end", "answer", "answered"]
    assert outcome.status == "completed"


def test_boundary_true_when_the_activity_starts_occurs_at_once(bpmn: Conformance) -> None:
    """§13.5.3: a boundary event listens while its activity runs; a condition already true
    as the activity starts sets it off at once (the task is never offered)."""
    files = model(process(
        start(), script("set", "ready = True"), user("work"),
        boundary("when_ready", "work", conditional()), script("react"), end(),
        end("reacted"), flows("start>set>work>end", "when_ready>react>reacted")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "set", "when_ready", "react", "reacted"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def on_block(after_inner: str) -> dict[str, str]:
    """The embedded subprocess `block` (user task `inner`, then `after_inner`, then the user
    task `last`) carries the interrupting conditional boundary event `when_ready`."""
    return model(process(
        start(), end(), flows("start>block>end"),
        subprocess("block", start("b_start"), user("inner"), after_inner, user("last"),
                   end("b_end"), flows("b_start>inner>after_inner>last>b_end")),
        boundary("when_ready", "block", conditional()), script("stop", "stopped_on = ready"),
        end("stopped"), flows("when_ready>stop>stopped")))


def test_boundary_on_a_subprocess_occurs_on_an_answer_given_inside(bpmn: Conformance) -> None:
    """§13.5.3: the subprocess is interrupted when the condition becomes true while it runs,
    here on an answer given inside it: nothing more runs inside (`last` is never offered),
    and the event's path sees the answer."""
    outcome = bpmn.run(on_block(user("after_inner")), [Complete("inner", {"ready": True})])
    assert outcome.trace == ["start", "b_start", "inner", "when_ready", "stop", "stopped"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])
    assert outcome.data["stopped_on"] is True


def test_boundary_on_a_subprocess_stops_it_before_its_next_step(bpmn: Conformance) -> None:
    """§13.5.3: the condition becomes true as `inner` completes: the activity is cancelled
    then, so the script behind `inner` does not run either."""
    outcome = bpmn.run(on_block(script("after_inner", "ran = True")),
                       [Complete("inner", {"ready": True})])
    assert outcome.trace == ["start", "b_start", "inner", "when_ready", "stop", "stopped"]
    assert "ran" not in outcome.data


def test_non_interrupting_boundary_on_a_subprocess_sees_each_answer_inside(
        bpmn: Conformance) -> None:
    """§13.5.3 (cancelActivity false) on an embedded subprocess asking `inner` again while
    `again`: true, false, true inside it set the event off twice; the subprocess runs on
    and completes normally."""
    files = model(process(
        start(), end(), flows("start>block>end"),
        subprocess("block", start("b_start"), user("inner"),
                   gateway("exclusive", "more", default="done"), end("b_end"),
                   flows("b_start>inner>more"),
                   flow("more", "inner", cond="again == True", flow_id="again"),
                   flow("more", "b_end", flow_id="done")),
        boundary("when_ready", "block", conditional(), interrupting=False), user("react"),
        end("reacted"), flows("when_ready>react>reacted")))
    outcome = bpmn.run(files, [Complete("inner", {"ready": True, "again": True}),
                               Complete("inner", {"ready": False, "again": True}),
                               Complete("inner", {"ready": True, "again": False}),
                               Complete("react"), Complete("react")])
    assert outcome.counts()["when_ready"] == 2
    assert outcome.counts()["react"] == 2
    # the second occurrence is taken while `block` runs, and its event completes once the
    # engine has run the subprocess's own steps (SpiffWorkflow runs the innermost first)
    assert outcome.trace == ["start", "b_start", "inner", "when_ready", "inner", "inner",
                             "b_end", "block", "when_ready", "end", "react", "reacted",
                             "react", "reacted"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_a_shared_conditional_definition_runs_too(bpmn: Conformance) -> None:
    """§10.5.1: an event may use a definition declared at the top of the file through
    eventDefinitionRef; the shared conditional definition waits as its own would."""
    files = waiting_for_ready()
    text = files["conformance.bpmn"].replace(
        conditional(), "<bpmn:eventDefinitionRef>when_ready</bpmn:eventDefinitionRef>")
    files["conformance.bpmn"] = text.replace("<bpmn:process ", conditional().replace(
        "<bpmn:conditionalEventDefinition>",
        '<bpmn:conditionalEventDefinition id="when_ready">') + "<bpmn:process ", 1)
    outcome = bpmn.run(files, [Complete("first", {"ready": False}),
                               Complete("second", {"ready": True})])
    assert outcome.trace == ["start", "first", "second", "until_ready", "go", "end"]
    assert outcome.status == "completed"


def test_event_based_gateway_takes_the_condition_that_becomes_true(bpmn: Conformance) -> None:
    """§10.6.6 / §13.3.6 (event-based gateway): the branch of the event that occurs first is
    taken, the others are not: here a conditional event (on an answer given beside it)
    against a message."""
    files = model(process(
        start(), gateway("parallel", "split"), gateway("eventBased", "which"),
        user("answer"), catch("became_ready", conditional()),
        catch("news", message("news")), script("on_ready", "seen = ready"), script("on_news"),
        end("ready_end"), end("news_end"), end("answered"),
        flows("start>split>which>became_ready>on_ready>ready_end", "which>news>on_news>news_end",
              "split>answer>answered")),
        declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "answer", "answered", "became_ready", "on_ready",
                             "ready_end"]
    assert outcome.data["seen"] is True
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


def test_a_condition_that_fails_stops_the_case_at_the_event(bpmn: Conformance) -> None:
    """A condition that cannot be evaluated on the data given (not a missing answer: that
    does not hold) is an incident at the event, never taken as false silently."""
    files = waiting_for_ready()
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        conditional(), conditional("ready > 3"))
    outcome = bpmn.run(files, [Complete("first", {"ready": "soon"})])
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["step"] == "until_ready"
    assert "ready > 3" in outcome.error["message"]


def calling(*main: str, callee: str = "") -> dict[str, str]:
    """The pathway calls the process `callee` (`answer`, then `review`) at `do_it`."""
    return model(
        process(start(), call("do_it", "callee"), end(), flows("start>do_it>end"), *main),
        process(start("c_start"), user("answer"), user("review"), end("c_end"),
                flows("c_start>answer>review>c_end"), callee, process_id="callee"))


def test_boundary_on_a_call_activity_does_not_read_the_called_process_data(
        bpmn: Conformance) -> None:
    """§10.3.6 (call activity): the called process has data of its own, reaching the caller
    only as the call's outputs when it completes: an answer given inside it does not set off
    a conditional boundary event on the call."""
    outcome = bpmn.run(calling(boundary("when_ready", "do_it", conditional()), script("stop"),
                               end("stopped"), flows("when_ready>stop>stopped")),
                       [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "c_start", "answer"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["review"])


def test_catch_in_a_called_process_reads_its_data(bpmn: Conformance) -> None:
    """§10.3.6: inside a called process the condition reads that process's data: its own
    answer sets its catch off, while the caller's `ready` (False) does not count."""
    files = model(
        process(start(), script("set", "ready = False"), call("do_it", "callee"), end(),
                flows("start>set>do_it>end")),
        process(start("c_start"), user("answer"), catch("until_ready", conditional()),
                end("c_end"), flows("c_start>answer>until_ready>c_end"), process_id="callee"))
    outcome = bpmn.run(files, [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "set", "c_start", "answer", "until_ready", "c_end",
                             "do_it", "end"]
    assert outcome.status == "completed"


# -- event subprocesses (§10.3.5, §13.5.4) -----------------------------------------------

def with_event_subprocess(*, interrupting: bool) -> dict[str, str]:
    """`answer`, then `review`; the process-level event subprocess `on_ready` starts at
    `ready_start` when `ready == True`, runs `react`."""
    return model(process(
        start(), user("answer"), user("review"), end(), flows("start>answer>review>end"),
        subprocess("on_ready", start("ready_start", conditional(),
                                     isInterrupting=str(interrupting).lower()),
                   script("react", "seen = ready"), end("reacted"),
                   flows("ready_start>react>reacted"), event_triggered=True)))


def test_interrupting_event_subprocess_starts_when_the_condition_becomes_true(
        bpmn: Conformance) -> None:
    """§10.3.5 / §13.5.4: an interrupting event subprocess starts when its start event's
    condition becomes true, and the rest of the process is cancelled (`review` is never
    offered); the event subprocess works on the process's data."""
    outcome = bpmn.run(with_event_subprocess(interrupting=True),
                       [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "answer", "ready_start", "react", "reacted", "on_ready"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])
    assert outcome.data["seen"] is True


def test_non_interrupting_event_subprocess_runs_beside_the_process(bpmn: Conformance) -> None:
    """§13.5.4 (non-interrupting): the event subprocess runs beside the process, which
    goes on; a false answer starts nothing."""
    outcome = bpmn.run(with_event_subprocess(interrupting=False),
                       [Complete("answer", {"ready": True}), Complete("review")])
    assert outcome.trace == ["start", "answer", "ready_start", "react", "reacted",
                             "on_ready", "review", "end"]
    assert outcome.status == "completed"
    quiet = bpmn.run(with_event_subprocess(interrupting=False),
                     [Complete("answer", {"ready": False}), Complete("review")])
    assert quiet.trace == ["start", "answer", "review", "end"]


def test_event_subprocess_starts_on_the_answer_that_ends_the_process(
        bpmn: Conformance) -> None:
    """§13.5.4: the condition becomes true on the process's last answer, while the process
    still runs: the event subprocess starts (the process then completes when it is done)."""
    files = model(process(
        start(), user("answer"), end(), flows("start>answer>end"),
        subprocess("on_ready", start("ready_start", conditional(), isInterrupting="false"),
                   user("react"), end("reacted"), flows("ready_start>react>reacted"),
                   event_triggered=True)))
    outcome = bpmn.run(files, [Complete("answer", {"ready": True})])
    assert outcome.trace == ["start", "answer", "ready_start", "end"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["react"])
    done = bpmn.run(files, [Complete("answer", {"ready": True}), Complete("react")])
    assert done.trace == ["start", "answer", "ready_start", "end", "react", "reacted",
                          "on_ready"]
    assert done.status == "completed"


def test_event_subprocess_whose_condition_holds_as_the_process_starts(
        bpmn: Conformance) -> None:
    """§13.5.4: the event subprocess listens from the start of the process: a condition
    made true by the process's first step starts it then (the edge from "not yet true")."""
    files = model(process(
        start(), script("set", "ready = True"), user("answer"), end(),
        flows("start>set>answer>end"),
        subprocess("on_ready", start("ready_start", conditional(), isInterrupting="false"),
                   script("react"), end("reacted"), flows("ready_start>react>reacted"),
                   event_triggered=True)))
    outcome = bpmn.run(files, [Complete("answer")])
    assert outcome.trace == ["start", "set", "ready_start", "react", "reacted", "on_ready",
                             "answer", "end"]
    assert outcome.status == "completed"


def test_a_script_making_the_condition_true_interrupts_before_the_next_step(
        bpmn: Conformance) -> None:
    """§13.5.4: the condition becomes true as the script `set` runs: the interrupting event
    subprocess starts then, so `next` (behind `set`) never runs and `review` is never
    offered."""
    files = model(process(
        start(), user("answer"), script("set", "ready = True"), script("next", "ran = True"),
        user("review"), end(), flows("start>answer>set>next>review>end"),
        subprocess("on_ready", start("ready_start", conditional()), user("handle"),
                   end("handled"), flows("ready_start>handle>handled"), event_triggered=True)))
    outcome = bpmn.run(files, [Complete("answer")])
    assert outcome.trace == ["start", "answer", "set", "ready_start"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["handle"])
    assert "ran" not in outcome.data
    done = bpmn.run(files, [Complete("answer"), Complete("handle")])
    assert done.trace == ["start", "answer", "set", "ready_start", "handle", "handled",
                          "on_ready"]
    assert done.status == "completed"


def test_a_script_in_the_last_steps_still_starts_the_event_subprocess(
        bpmn: Conformance) -> None:
    """§13.5.4: the script `set` makes the condition true on the way to the process's end:
    the process still runs then, so the non-interrupting event subprocess starts, and the
    case completes once it is done."""
    files = model(process(
        start(), user("answer"), script("set", "ready = True"), end(),
        flows("start>answer>set>end"),
        subprocess("on_ready", start("ready_start", conditional(), isInterrupting="false"),
                   user("handle"), end("handled"), flows("ready_start>handle>handled"),
                   event_triggered=True)))
    outcome = bpmn.run(files, [Complete("answer"), Complete("handle")])
    assert outcome.trace == ["start", "answer", "set", "ready_start", "end", "handle",
                             "handled", "on_ready"]
    assert outcome.status == "completed"


def test_non_interrupting_event_subprocess_starts_again_on_each_rise(
        bpmn: Conformance) -> None:
    """§10.5.2: "MUST become false and then true before the Event can be triggered again":
    true, true, false, true starts the event subprocess twice (the process goes on to
    `close` meanwhile)."""
    files = model(process(
        start(), user("answer"), gateway("exclusive", "more", default="done"), user("close"),
        end(), flows("start>answer>more", "close>end"),
        flow("more", "answer", cond="again == True", flow_id="again"),
        flow("more", "close", flow_id="done"),
        subprocess("on_ready", start("ready_start", conditional(), isInterrupting="false"),
                   script("react"), end("reacted"), flows("ready_start>react>reacted"),
                   event_triggered=True)))
    outcome = bpmn.run(files, [Complete("answer", {"ready": True, "again": True}),
                               Complete("answer", {"ready": True, "again": True}),
                               Complete("answer", {"ready": False, "again": True}),
                               Complete("answer", {"ready": True, "again": False}),
                               Complete("close")])
    started = ["ready_start", "react", "reacted", "on_ready"]
    assert outcome.trace == ["start", "answer", *started, "answer", "answer", "answer",
                             *started, "close", "end"]
    assert outcome.status == "completed"


def test_an_answer_on_another_branch_does_not_make_the_condition_false(
        bpmn: Conformance) -> None:
    """§10.5.1: the condition reads the process's data, one set of values: `b` on the other
    branch answers something else, and `a2` after `a` changes nothing; `ready` stays true
    throughout, so the non-interrupting event subprocess starts once, not again."""
    files = model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"), user("a"),
        user("a2"), user("b"), end(), flows("start>split>a>a2>join>end", "split>b>join"),
        subprocess("on_ready", start("ready_start", conditional(), isInterrupting="false"),
                   script("react"), end("reacted"), flows("ready_start>react>reacted"),
                   event_triggered=True)))
    outcome = bpmn.run(files, [Complete("a", {"ready": True}), Complete("b", {"note": "x"}),
                               Complete("a2", {})])
    assert outcome.counts()["react"] == 1
    assert outcome.trace == ["start", "a", "ready_start", "react", "reacted", "on_ready", "b",
                             "a2", "end"]
    assert outcome.status == "completed"


# -- refused at publish -------------------------------------------------------------------

@pytest.mark.parametrize(("definition", "rule"), [
    ("<bpmn:conditionalEventDefinition/>", "xsd"),
    (conditional("   "), "empty_expression"),
    (conditional("ready ==="), "expression")])
def test_a_missing_or_malformed_condition_is_refused(bpmn: Conformance, definition: str,
                                                     rule: str) -> None:
    """§10.5.1: a conditionalEventDefinition has exactly one `condition`, an expression (of
    the same language as gateway conditions here): one missing, empty or that does not
    parse is refused where it is written, naming the event."""
    files = waiting_for_ready()
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(conditional(), definition)
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("until_ready", rule)
    assert refused.line is not None


def test_a_conditional_start_of_the_process_is_refused(bpmn: Conformance) -> None:
    """§10.5.2 (top-level Conditional start): its condition "MUST NOT refer to the data
    context ... of the Process (as the Process instance has not yet been created)"; what it
    would watch is outside Pathways: refused, naming the event."""
    files = model(process(start("begin", conditional()), user("work"), end(),
                          flows("begin>work>end")))
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("begin", "conditional_event")


def test_a_conditional_definition_among_several_is_refused(bpmn: Conformance) -> None:
    """§10.5.1 (an event with several definitions: a multiple event, triggered by any of
    them): not run with a conditional one among them; refused naming the event."""
    files = waiting_for_ready()
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        conditional(), conditional() + message("news")).replace(
        "<bpmn:process ", declare("message", "news") + "<bpmn:process ", 1)
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("until_ready", "conditional_event")


@pytest.mark.parametrize("kind", ["intermediateThrowEvent", "endEvent"])
def test_a_thrown_conditional_event_is_refused(bpmn: Conformance, kind: str) -> None:
    """§10.5.1 (the event tables): a conditional event is only caught, never thrown (its
    condition becomes true of itself); SpiffWorkflow passed one as a none event."""
    files = model(process(
        start(), f'<bpmn:{kind} id="thrown">{conditional()}</bpmn:{kind}>',
        *([script("after"), end(), flows("start>thrown>after>end")]
          if kind == "intermediateThrowEvent" else [flows("start>thrown")])))
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("thrown", "conditional_event")


def test_a_conditional_start_in_a_called_process_is_refused(bpmn: Conformance) -> None:
    """An event subprocess of a process the pathway calls, started by a condition: not run
    (conditional starts are watched in the pathway's own process), refused naming the start
    event."""
    refused = bpmn.refusal(calling(callee=subprocess(
        "on_ready", start("ready_start", conditional()), script("react"), end("reacted"),
        flows("ready_start>react>reacted"), event_triggered=True)))
    assert (refused.element, refused.details["rule"]) == ("ready_start", "conditional_event")
    assert refused.line is not None


def test_a_conditional_start_of_a_nested_event_subprocess_is_refused(bpmn: Conformance) -> None:
    """An event subprocess inside an embedded subprocess started by a condition: not run
    (the condition is watched only at process level), refused naming the start event."""
    files = model(process(
        start(), end(), flows("start>block>end"),
        subprocess("block", start("b_start"), user("inner"), end("b_end"),
                   flows("b_start>inner>b_end"),
                   subprocess("on_ready", start("ready_start", conditional()),
                              script("react"), end("reacted"),
                              flows("ready_start>react>reacted"), event_triggered=True))))
    refused = bpmn.refusal(files)
    assert refused.details["rule"] in ("conditional_event", "nested_event_subprocess")
    assert refused.element in ("ready_start", "on_ready")
