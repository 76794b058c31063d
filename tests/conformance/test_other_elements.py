"""The rest of BPMN's elements, one test each, so the README's table of BPMN support says
nothing the tests do not show: what runs as BPMN 2.0.2 says, and what publish refuses with a
rule of its own (never SpiffWorkflow's bare parser message)."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    catch,
    declare,
    end,
    flows,
    gateway,
    message,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    terminate,
    throw,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait


def test_a_receive_task_waits_for_its_message(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.3 (Receive Task): "designed to wait for a Message to arrive"; once
    it has, the Task is completed."""
    files = model(process(start(), '<bpmn:receiveTask id="wait" messageRef="message_go"/>',
                          end(), flows("start>wait>end")),
                  declarations=[declare("message", "go")])
    waiting = bpmn.run(files)
    assert (waiting.status, waiting.waiting_for) == ("active", ["go"])
    outcome = bpmn.run(files, [Send("go", {"a": 1})])
    assert outcome.trace == ["start", "wait", "end"]
    assert outcome.status == "completed"


def _loop(test_before: str, condition: str, maximum: str | None = None,
          first: int = 0) -> dict[str, str]:
    attributes = f' testBefore="{test_before}"' + (
        f' loopMaximum="{maximum}"' if maximum else "")
    return model(process(
        start(), script("init", f"n = {first}"),
        f'<bpmn:scriptTask id="again"><bpmn:standardLoopCharacteristics{attributes}>'
        f"<bpmn:loopCondition>{condition}</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1</bpmn:script>"
        "</bpmn:scriptTask>", end(), flows("start>init>again>end")))


@pytest.mark.parametrize(("test_before", "condition", "maximum", "first", "runs"), [
    ("false", "n &lt; 3", None, 0, 3),    # do-while: while the condition holds
    ("false", "n &lt; 3", None, 5, 1),    # do-while runs once even when false at once
    ("true", "n &lt; 3", None, 5, 0),     # while: never, when false at once
    ("true", "n &lt; 3", None, 0, 3),
    ("false", "True", "2", 0, 2),         # loopMaximum caps the iterations
], ids=["after-3", "after-once", "before-none", "before-3", "maximum"])
def test_a_standard_loop_runs_while_its_condition_holds(
        bpmn: Conformance, test_before: str, condition: str, maximum: str | None,
        first: int, runs: int) -> None:
    """BPMN 2.0.2 §10.3.8 (Loop Characteristics) / §13.3.6: "The Activity will only loop as
    long as this condition is true"; with testBefore the condition is checked before the
    first iteration (a while loop), else after each (do-while); loopMaximum caps the
    number of iterations."""
    outcome = bpmn.run(_loop(test_before, condition, maximum, first))
    assert outcome.trace == ["start", "init", *["again[i]"] * runs, "again", "end"]
    assert outcome.data["n"] == first + runs
    assert outcome.status == "completed"


def test_a_terminate_end_in_a_subprocess_ends_only_the_subprocess(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.6 (Terminate): "all activities in the Process [instance] are
    immediately ended" — in a Sub-Process, that Sub-Process's instance: its open task goes
    and the parent goes on after it."""
    files = model(process(
        start(), subprocess("sub", start("sub_start"), gateway("parallel", "fork"),
                            user("open_inside"), script("quick"), end("stop", terminate()),
                            end("sub_end"), flows("sub_start>fork>open_inside>sub_end",
                                                  "fork>quick>stop")),
        script("after"), end(), flows("start>sub>after>end")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "sub_start", "quick", "stop", "sub", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_a_terminate_end_in_the_process_ends_the_case(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.6: at process level the whole case ends, its other work with it."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("open"), script("quick"),
        end("stop", terminate()), end("other_end"),
        flows("start>fork>open>other_end", "fork>quick>stop")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "quick", "stop"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def _transaction(ending: str) -> dict[str, str]:
    return model(process(
        start(), '<bpmn:transaction id="deal">', start("deal_start"), user("agree"),
        end("deal_end", ending), flows("deal_start>agree>deal_end"), "</bpmn:transaction>",
        boundary("cancelled", "deal", "<bpmn:cancelEventDefinition/>"),
        script("after_cancel"), end("cancel_end"), script("after"), end(),
        flows("start>deal>after>end", "cancelled>after_cancel>cancel_end")))


def test_a_transaction_that_ends_normally_goes_on(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5 (Transaction): a transaction that reaches a none end event
    completes successfully and the flow after it goes on."""
    outcome = bpmn.run(_transaction(""), [Complete("agree")])
    assert outcome.trace == ["start", "deal_start", "agree", "deal_end", "deal", "after", "end"]
    assert outcome.status == "completed"


def test_a_cancel_end_event_cancels_the_transaction(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.3 (Cancel End Event, used only in a Transaction): the transaction is
    cancelled and its Cancel boundary event's path is taken instead of the normal one."""
    outcome = bpmn.run(_transaction("<bpmn:cancelEventDefinition/>"), [Complete("agree")])
    assert outcome.trace == ["start", "deal_start", "agree", "deal_end", "cancelled",
                             "after_cancel", "cancel_end"]
    assert outcome.status == "completed"


@pytest.mark.parametrize(("parallel", "sent", "goes_on"), [
    (False, ["b"], True),        # Multiple: any one of the triggers
    (True, ["b"], False),        # Parallel Multiple: all of them ...
    (True, ["b", "a"], True),    # ... then it goes on
], ids=["multiple-one", "parallel-one", "parallel-all"])
def test_a_multiple_catch_event_waits_for_one_or_all_of_its_triggers(
        bpmn: Conformance, parallel: bool, sent: list[str], goes_on: bool) -> None:
    """BPMN 2.0.2 §10.5.4 (Multiple / Parallel Multiple intermediate events): with several
    event definitions "only one of the assigned EventDefinitions is required"; with
    parallelMultiple "all of the assigned EventDefinitions are required"."""
    flag = ' parallelMultiple="true"' if parallel else ""
    files = model(process(
        start(), f'<bpmn:intermediateCatchEvent id="wait"{flag}>{message("a")}{signal("b")}'
        "</bpmn:intermediateCatchEvent>", script("after"), end(),
        flows("start>wait>after>end")),
        declarations=[declare("message", "a"), declare("signal", "b")])
    outcome = bpmn.run(files, [Send(name, signal=name == "b") for name in sent])
    if goes_on:
        assert outcome.trace == ["start", "wait", "after", "end"]
        assert outcome.status == "completed"
    else:
        assert outcome.trace == ["start"]
        assert (outcome.status, outcome.waiting_for) == ("active", ["a", "b"])


def test_a_none_intermediate_throw_event_just_passes(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4: a none intermediate event indicates a state change ("milestone")
    and the flow goes straight on."""
    outcome = bpmn.run(model(process(start(), throw("milestone", ""), end(),
                                     flows("start>milestone>end"))))
    assert outcome.trace == ["start", "milestone", "end"]
    assert outcome.status == "completed"


@pytest.mark.parametrize("minutes", [30, 120], ids=["before-due", "after-due"])
def test_a_timer_start_event_starts_the_work_when_due(bpmn: Conformance, minutes: int) -> None:
    """BPMN 2.0.2 §10.5.2 (Timer start): the process starts at the time the timer says. A
    Pathways case is started by a person or a referral: with a timer start event, the work
    starts when the timer is due (an hour here), not before."""
    files = model(process(start("start", timer('"PT1H"')), script("work"), end(),
                          flows("start>work>end")))
    outcome = bpmn.run(files, [Wait(minutes=minutes)])
    if minutes < 60:
        assert (outcome.trace, outcome.status, outcome.timers) == ([], "active", ["start"])
    else:
        assert outcome.trace == ["start", "work", "end"]
        assert (outcome.status, outcome.timers) == ("completed", [])


def test_a_business_rule_task_is_refused(bpmn: Conformance) -> None:
    """A business rule task calls a DMN decision; a version holds no DMN, and SpiffWorkflow's
    refusal ("No DMN Diagram available with id None") named no rule."""
    refused = bpmn.refusal(model(process(start(), '<bpmn:businessRuleTask id="decide"/>',
                                         end(), flows("start>decide>end"))))
    assert (refused.element, refused.details["rule"]) == ("decide", "business_rule_task")
    assert "DMN" in refused.reason and "exclusive gateway" in refused.reason


def test_a_data_store_read_or_written_is_refused(bpmn: Conformance) -> None:
    """SpiffWorkflow failed with "Cannot resolve dataOutputAssociation <Element ...>"."""
    files = model(process(
        start(), '<bpmn:dataStoreReference id="store"/>',
        '<bpmn:scriptTask id="write"><bpmn:dataOutputAssociation id="to_store">'
        "<bpmn:targetRef>store</bpmn:targetRef></bpmn:dataOutputAssociation>"
        "<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>", end(), flows("start>write>end")))
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("to_store", "data_store_not_supported")
    assert "'write'" in refused.reason


def test_a_data_store_only_drawn_is_accepted(bpmn: Conformance) -> None:
    """A data store reference no task reads or writes is a drawing: it changes nothing."""
    files = model(process(start(), '<bpmn:dataStoreReference id="store"/>', script("work"),
                          end(), flows("start>work>end")))
    assert bpmn.run(files).trace == ["start", "work", "end"]


def test_an_instantiating_event_gateway_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.6.6: an event-based gateway with instantiate="true" starts the
    process; a Pathways case starts from a start event, and the refusal said only "no start
    event"."""
    files = model(process(
        '<bpmn:eventBasedGateway id="choose" instantiate="true"/>', catch("on_a", message("a")),
        catch("on_b", message("b")), end(), end("other"), flows("choose>on_a>end",
                                                                 "choose>on_b>other")),
        declarations=[declare("message", "a", "b")])
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("choose",
                                                          "instantiating_event_gateway")


def test_a_multiple_start_event_starts_on_any_of_its_triggers(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2 (Multiple start): "only one of the EventDefinitions is required
    to trigger" the start."""
    files = model(process(start("start", message("a") + message("b")), script("work"), end(),
                          flows("start>work>end")),
                  declarations=[declare("message", "a", "b")])
    outcome = bpmn.run(files, [Send("b")])
    assert outcome.trace == ["start", "work", "end"]
    assert outcome.status == "completed"


def test_pools_message_flows_and_artifacts_change_nothing(bpmn: Conformance) -> None:
    """Participants, message flows, text annotations, associations and groups are drawing
    (BPMN 2.0.2 §9, §7.2): the process runs as without them."""
    files = model(process(
        start(), script("work"), end(), flows("start>work>end"),
        '<bpmn:textAnnotation id="note"><bpmn:text>why</bpmn:text></bpmn:textAnnotation>'
        '<bpmn:association id="about" sourceRef="work" targetRef="note"/>'
        '<bpmn:group id="box"/>'))
    text = files["conformance.bpmn"].replace(
        "<bpmn:process", '<bpmn:collaboration id="pools"><bpmn:participant id="us" '
        'processRef="conformance"/><bpmn:participant id="them"/><bpmn:messageFlow id="tell" '
        'sourceRef="work" targetRef="them"/></bpmn:collaboration><bpmn:process', 1)
    outcome = bpmn.run({**files, "conformance.bpmn": text})
    assert outcome.trace == ["start", "work", "end"]
    assert outcome.status == "completed"
