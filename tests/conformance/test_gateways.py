"""Gateways, as BPMN 2.0.2 §13.4 (execution semantics) and §10.6 say they behave."""

from __future__ import annotations

from tests.conformance.bpmn import (
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
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait, matches


def exclusive(*, default: bool) -> dict[str, str]:
    """`decide` sets x from the form; the exclusive gateway routes to `low` (x is 1 or 2),
    `high` (x is 2 or 3, so both are true for 2) or, when given, the default `other`."""
    return model(process(
        start(), user("decide"), gateway("exclusive", "choose",
                                         default="choose-other" if default else None),
        script("low"), script("high"), script("other"), gateway("exclusive", "merge"), end(),
        flows("start>decide>choose", "low>merge", "high>merge", "other>merge", "merge>end"),
        flow("choose", "low", cond="x in (1, 2)"), flow("choose", "high", cond="x in (2, 3)"),
        *([flow("choose", "other")] if default else [])))


def test_exclusive_gateway_takes_the_first_true_condition_in_order(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.2: "the first condition that evaluates to true" is taken, the
    conditions being evaluated in order; "only one outgoing Sequence Flow is selected"."""
    outcome = bpmn.run(exclusive(default=True), [Complete("decide", {"x": 2})])
    assert outcome.trace == ["start", "decide", "low", "end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for, outcome.timers) == ([], [], [])


def test_exclusive_gateway_takes_the_one_true_condition(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.2: the gateway selects the outgoing Sequence Flow whose condition is
    true (here the second one)."""
    outcome = bpmn.run(exclusive(default=True), [Complete("decide", {"x": 3})])
    assert outcome.trace == ["start", "decide", "high", "end"]
    assert outcome.status == "completed"


def test_exclusive_gateway_takes_the_default_when_no_condition_holds(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.6.2 (ExclusiveGateway `default`): "The Sequence Flow that will receive
    a token when none of the conditionExpressions on other outgoing Sequence Flows evaluate to
    true"."""
    outcome = bpmn.run(exclusive(default=True), [Complete("decide", {"x": 9})])
    assert outcome.trace == ["start", "decide", "other", "end"]


def test_exclusive_gateway_with_nothing_to_take_is_an_incident(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.2: "If none of the conditions evaluates to true, and there is no
    default Sequence Flow, an exception is thrown" (never a silent end): the case is in error
    at the gateway, nothing after it ran."""
    outcome = bpmn.run(model(process(
        start(), user("decide"), gateway("exclusive", "choose"), script("low"), end(),
        flows("start>decide>choose", "low>end"), flow("choose", "low", cond="x < 5"))),
        [Complete("decide", {"x": 9})])
    assert outcome.trace == ["start", "decide"]
    assert outcome.status == "error"
    assert outcome.open_tasks == []


def parallel() -> dict[str, str]:
    return model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), script("c"),
        gateway("parallel", "join"), user("after"), end(),
        flows("start>fork", "fork>a>join", "fork>b>join", "fork>c>join", "join>after>end")))


def test_parallel_gateway_forks_every_flow_and_joins_them_all(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.1: a diverging Parallel Gateway puts a token on every outgoing flow;
    the converging one "is activated if there is at least one token on each incoming
    Sequence Flow" and then consumes one from each, so what follows runs once."""
    outcome = bpmn.run(parallel(), [Complete("b"), Complete("a"), Complete("after")])
    assert outcome.trace == ["start", "c", "b", "a", "after", "end"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_parallel_join_waits_for_the_last_branch(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.1: the join is not activated while a branch still has no token at it."""
    outcome = bpmn.run(parallel(), [Complete("a")])
    assert outcome.trace == ["start", "c", "a"]
    assert outcome.status == "active"
    assert outcome.open_tasks == ["b"]


def inclusive(*, default: bool) -> dict[str, str]:
    return model(process(
        start(), user("decide"), gateway("inclusive", "fork",
                                         default="fork-none" if default else None),
        user("a"), user("b"), script("c"), *([script("none")] if default else []),
        gateway("inclusive", "join"), user("after"), end(),
        flows("start>decide>fork", "a>join", "b>join", "c>join", "join>after>end",
              *(["none>join"] if default else [])),
        flow("fork", "a", cond="x > 1"), flow("fork", "b", cond="x > 2"),
        flow("fork", "c", cond="x > 3"), *([flow("fork", "none")] if default else [])))


def test_inclusive_gateway_takes_every_true_condition_and_joins_only_those(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.6.3: "All Sequence Flows with a true evaluation will be traversed by a
    token"; §13.4.3: the converging gateway waits for the tokens that can still reach it and
    no other, so it fires once both taken branches are done."""
    outcome = bpmn.run(inclusive(default=True), [Complete("decide", {"x": 3}), Complete("b"),
                                                 Complete("a"), Complete("after")])
    assert outcome.trace == ["start", "decide", "b", "a", "after", "end"]
    assert outcome.status == "completed"


def test_inclusive_join_waits_for_a_taken_branch(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.3: while a token is upstream on a path to the join, the join waits."""
    outcome = bpmn.run(inclusive(default=True), [Complete("decide", {"x": 9}), Complete("a")])
    assert matches(outcome.trace, ["start", "decide", "c", "a"])
    assert outcome.open_tasks == ["b"]
    assert outcome.status == "active"


def test_inclusive_gateway_takes_the_default_when_no_condition_holds(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.6.3: "A default path can optionally be identified, to be taken in the
    event that none of the conditional Expressions evaluate to true"."""
    outcome = bpmn.run(inclusive(default=True), [Complete("decide", {"x": 0}),
                                                 Complete("after")])
    assert outcome.trace == ["start", "decide", "none", "after", "end"]
    assert outcome.status == "completed"


def test_inclusive_gateway_with_nothing_to_take_is_an_incident(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.6.3: "If a default path is not specified and the Process is executed
    such that none of the conditional Expressions evaluates to true, a runtime exception
    occurs"."""
    outcome = bpmn.run(inclusive(default=False), [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide"]
    assert outcome.status == "error"
    assert outcome.open_tasks == []


def event_based() -> dict[str, str]:
    return model(process(
        start(), gateway("eventBased", "race"), catch("reply", message("reply")),
        catch("deadline", timer('"P2D"')), user("read_reply"), user("chase"), end(),
        end("chased"), flows("start>race", "race>reply>read_reply>end",
                             "race>deadline>chase>chased")),
        declarations=[declare("message", "reply")])


def test_event_based_gateway_takes_the_message_that_came_first(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.4: "the first Event triggers the Gateway", its flow is taken and the
    other events are no longer waited for."""
    outcome = bpmn.run(event_based(), [Send("reply"), Wait(days=3), Complete("read_reply")])
    assert outcome.trace == ["start", "reply", "read_reply", "end"]
    assert outcome.status == "completed"
    assert (outcome.waiting_for, outcome.timers) == ([], [])


def test_event_based_gateway_takes_the_timer_that_came_first(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.4: the timer fired first, so its branch is taken; a message arriving
    after that is not caught by the gateway any more."""
    outcome = bpmn.run(event_based(), [Wait(days=2), Send("reply"), Complete("chase")])
    assert outcome.trace == ["start", "deadline", "chase", "chased"]
    assert outcome.status == "completed"
    assert (outcome.waiting_for, outcome.timers) == ([], [])


def test_event_based_gateway_waits_for_both(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.4: until one of its events occurs the gateway waits for all of them."""
    outcome = bpmn.run(event_based(), [Wait(days=1)])
    assert outcome.trace == ["start"]
    assert outcome.status == "active"
    assert (outcome.waiting_for, outcome.timers) == (["reply"], ["deadline"])



def test_an_exclusive_merge_lets_each_token_through(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.4.2 (Exclusive Merge): "each token arriving at any incoming Sequence
    Flow activates the gateway and is routed to exactly one of the outgoing Sequence Flows":
    a loop drawn back through a merge runs its body once per round (three rounds here)."""
    files = model(process(
        start(), script("init", "n = 0"), gateway("exclusive", "merge"), user("body"),
        script("count", "n = n + 1"), gateway("exclusive", "again", default="again-done"),
        script("done"), end(),
        flows("start>init>merge>body>count>again", "done>end"),
        flow("again", "merge", cond="n < 3"), flow("again", "done")))
    outcome = bpmn.run(files, [Complete("body"), Complete("body"), Complete("body")])
    assert outcome.trace == ["start", "init", "body", "count", "body", "count", "body",
                             "count", "done", "end"]
    assert outcome.status == "completed"
    assert outcome.data["n"] == 3
