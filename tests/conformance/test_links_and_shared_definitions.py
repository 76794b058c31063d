"""Link events and event definitions shared through eventDefinitionRef (issue 16, item 2)."""

from __future__ import annotations

from tests.conformance.bpmn import (
    catch,
    declare,
    end,
    flows,
    link,
    model,
    process,
    script,
    start,
    subprocess,
    throw,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait


def test_a_link_throw_goes_on_at_its_catch(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4 / §13.5.2: a Link throw event and the Link catch event of the same
    name in the same process are "a virtual Sequence Flow": the flow jumps from the throw to
    the catch, and goes on from there."""
    files = model(process(
        start(), script("before"), throw("jump", link("there")), catch("land", link("there")),
        user("after"), end(), flows("start>before>jump", "land>after>end")))
    outcome = bpmn.run(files, [Complete("after")])
    assert outcome.trace == ["start", "before", "jump", "land", "after", "end"]
    assert outcome.status == "completed"


def test_a_link_inside_a_subprocess_stays_inside(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4: link events connect two points of the same process level (here
    the subprocess), which then completes as usual."""
    files = model(process(
        start(), subprocess("sub", start("sub_start"), throw("jump", link("there")),
                            catch("land", link("there")), user("inner"), end("sub_end"),
                            flows("sub_start>jump", "land>inner>sub_end")),
        end(), flows("start>sub>end")))
    outcome = bpmn.run(files, [Complete("inner")])
    assert outcome.trace == ["start", "sub_start", "jump", "land", "inner", "sub_end", "sub",
                             "end"]
    assert outcome.status == "completed"


SHARED_TIMER = ('<bpmn:timerEventDefinition id="a_day"><bpmn:timeDuration>"P1D"'
                "</bpmn:timeDuration></bpmn:timerEventDefinition>")


def shared(kind: str) -> dict[str, str]:
    """A catch event `wait` whose event definition is the shared one (`a_day`, a one-day
    timer, or `news_definition`, the message news) named by eventDefinitionRef."""
    ref = "a_day" if kind == "timer" else "news_definition"
    files = model(
        process(start(), catch("wait", f"<bpmn:eventDefinitionRef>{ref}</bpmn:eventDefinitionRef>"),
                script("after"), end(), flows("start>wait>after>end")),
        declarations=[declare("message", "news"),
                      SHARED_TIMER if kind == "timer" else
                      '<bpmn:messageEventDefinition id="news_definition" '
                      'messageRef="message_news"/>'])
    return files


def test_a_shared_timer_definition_is_waited_for(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.1 (Event, eventDefinitionRefs): an event may refer to an event
    definition declared at the top level of the definitions; it is then that event's trigger,
    so the catch waits the day."""
    outcome = bpmn.run(shared("timer"), [Wait(hours=23)])
    assert outcome.trace == ["start"]
    assert (outcome.status, outcome.timers) == ("active", ["wait"])


def test_a_shared_timer_definition_goes_off_when_due(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.1 (eventDefinitionRefs): after the day the flow goes on."""
    outcome = bpmn.run(shared("timer"), [Wait(days=1)])
    assert outcome.trace == ["start", "wait", "after", "end"]
    assert (outcome.status, outcome.timers) == ("completed", [])


def test_a_shared_message_definition_is_waited_for(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.1 (eventDefinitionRefs): the catch waits for the shared message, and
    goes on when it comes."""
    waiting = bpmn.run(shared("message"))
    assert (waiting.trace, waiting.waiting_for) == (["start"], ["news"])
    outcome = bpmn.run(shared("message"), [Send("news")])
    assert outcome.trace == ["start", "wait", "after", "end"]
    assert outcome.status == "completed"


def test_a_reference_to_no_definition_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.1: eventDefinitionRefs name event definitions of the definitions; a
    reference to none is refused at publish, naming the event."""
    files = shared("timer")
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        "<bpmn:eventDefinitionRef>a_day<", "<bpmn:eventDefinitionRef>a_week<")
    refused = bpmn.refusal(files)
    assert refused.element == "wait"
    assert "a_week" in refused.reason
