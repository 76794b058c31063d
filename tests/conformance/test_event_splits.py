"""Events with several outgoing sequence flows: an implicit parallel split, as BPMN 2.0.2 says.

§10.5.2 (Start Event): "Multiple Sequence Flows MAY originate from a Start Event. For each
Sequence Flow that has the Start Event as a source, a new parallel path SHALL be generated";
§10.5.4 (Intermediate Event) and §13.5.1 / §13.5.3 likewise for an intermediate event, caught
or thrown, and a boundary event: each outgoing flow gets a token. Those flows carry no
condition (§10.5.2: "The conditionExpression attribute for all outgoing Sequence Flows MUST be
set to None"; Pathways refuses one, rule condition_on_non_decision_flow).
"""

from __future__ import annotations

from tests.conformance.bpmn import (
    boundary,
    catch,
    declare,
    end,
    flow,
    flows,
    gateway,
    link,
    message,
    model,
    process,
    script,
    start,
    throw,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait


def test_a_start_event_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: "For each Sequence Flow that has the Start Event as a source, a new
    parallel path SHALL be generated": both tasks are open at once, each path ends on its own,
    and the case completes when both did."""
    files = model(process(start(), user("a"), user("b"), end("a_end"), end("b_end"),
                          flows("start>a>a_end", "start>b>b_end")))
    outcome = bpmn.run(files, [Complete("b")])
    assert outcome.trace == ["start", "b", "b_end"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["a"])
    outcome = bpmn.run(files, [Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "b", "b_end", "a", "a_end"]
    assert outcome.status == "completed"


def test_a_caught_message_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4 / §13.5.1: an intermediate catch event with two outgoing flows
    puts a token on each when its message comes."""
    files = model(process(start(), catch("wait", message("news")), user("a"), user("b"),
                          end("a_end"), end("b_end"),
                          flows("start>wait>a>a_end", "wait>b>b_end")),
                  declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Send("news"), Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "wait", "a", "a_end", "b", "b_end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def test_a_thrown_event_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4 / §13.5.2: an intermediate throw event with two outgoing flows
    throws, then puts a token on each."""
    files = model(process(start(), throw("tell", message("news")), user("a"), user("b"),
                          end("a_end"), end("b_end"),
                          flows("start>tell>a>a_end", "tell>b>b_end")),
                  declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "tell", "b", "b_end", "a", "a_end"]
    assert outcome.status == "completed"


def test_a_boundary_event_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: "Execution then follows the Sequence Flow connected to the
    boundary Event": with two, both (an implicit parallel split); the task it interrupted does
    not run."""
    files = model(process(start(), user("work"), boundary("late", "work", timer('"PT1H"')),
                          user("a"), user("b"), end(), end("a_end"), end("b_end"),
                          flows("start>work>end", "late>a>a_end", "late>b>b_end")))
    outcome = bpmn.run(files, [Wait(hours=1), Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "late", "a", "a_end", "b", "b_end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_a_condition_on_a_flow_leaving_an_event_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.2: the flows leaving an event carry no condition; publish refuses
    one, naming the flow."""
    files = model(process(start(), user("a"), user("b"), end("a_end"), end("b_end"),
                          flows("start>a>a_end", "b>b_end"), flow("start", "b", cond="True")))
    refused = bpmn.refusal(files)
    assert refused.element == "start-b"
    assert refused.details["rule"] == "condition_on_non_decision_flow"


def test_a_gateway_event_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.4 / §10.5.4: the event behind an event-based gateway that comes first
    is taken; with two outgoing flows, both get a token."""
    files = model(process(
        start(), gateway("eventBased", "race"), catch("reply", message("news")),
        catch("deadline", timer('"P2D"')), user("a"), user("b"), end("a_end"), end("b_end"),
        end("chased"), flows("start>race", "race>reply>a>a_end", "reply>b>b_end",
                             "race>deadline>chased")),
        declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Send("news"), Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "reply", "b", "b_end", "a", "a_end"]
    assert (outcome.status, outcome.timers, outcome.waiting_for) == ("completed", [], [])


def test_a_caught_link_with_two_flows_starts_two_paths(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.4 (Link): the link's catch event goes on as a sequence flow would;
    with two outgoing flows, on both."""
    files = model(process(
        start(), throw("go", link("jump")), catch("land", link("jump")), user("a"),
        user("b"), end("a_end"), end("b_end"),
        flows("start>go", "land>a>a_end", "land>b>b_end")))
    outcome = bpmn.run(files, [Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "go", "land", "a", "a_end", "b", "b_end"]
    assert outcome.status == "completed"


def test_a_non_interrupting_event_with_two_flows_splits_each_time(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: a non-interrupting boundary message stays armed while its task
    runs; each time it comes, both its outgoing flows get a token."""
    files = model(process(
        start(), user("work"), boundary("news", "work", message("news"), interrupting=False),
        script("a"), script("b"), end(), end("a_end"), end("b_end"),
        flows("start>work>end", "news>a>a_end", "news>b>b_end")),
        declarations=[declare("message", "news")])
    outcome = bpmn.run(files, [Send("news"), Send("news"), Complete("work")])
    assert outcome.counts() == {"start": 1, "news": 2, "a": 2, "a_end": 2, "b": 2, "b_end": 2,
                                "work": 1, "end": 1}
    assert outcome.trace[-2:] == ["work", "end"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])
