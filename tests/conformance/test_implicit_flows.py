"""Sequence flows that split and merge at an activity, without a gateway, as BPMN 2.0.2 says.

Leaving an activity (§10.3.1 Activity `default`, §10.2.1 Sequence Flow `conditionExpression`,
§13.2.1): every unconditioned outgoing flow gets a token (an implicit parallel split); a
conditional flow (drawn with a mini-diamond) gets one only if its condition is true (an
implicit inclusive split); the activity's default flow "will receive a token when none of the
conditionExpressions on other outgoing Sequence Flows evaluate to true".

Entering an activity (§13.3.1 / §7.5.1 "uncontrolled flow"): several incoming flows into an
activity are an implied exclusive merge, not a join: each token that arrives starts the
activity again, and nothing waits for the others.
"""

from __future__ import annotations

from tests.conformance.bpmn import (
    boundary,
    end,
    flow,
    flows,
    gateway,
    model,
    multi_instance,
    process,
    script,
    start,
    subprocess,
    timer,
    user,
)
from tests.conformance.harness import (
    Complete,
    Conformance,
    Wait,
    in_any_order,
    matches,
    traced,
)


def with_default(node: str, default: str) -> str:
    """An activity's element with its `default` attribute (the flow taken when no condition
    on its other outgoing flows holds)."""
    return node.replace('">', f'" default="{default}">', 1)


def conditional(*, default: bool) -> dict[str, str]:
    """`decide` (a user task) sets x; its conditional flows lead to `a` (x > 1) and `b`
    (x > 2), each to its own end; with `default`, its default flow leads to `other`."""
    decide = user("decide")
    return model(process(
        start(), with_default(decide, "decide-other") if default else decide,
        script("a"), script("b"), end("a_end"), end("b_end"),
        flows("start>decide", "a>a_end", "b>b_end"),
        flow("decide", "a", cond="x > 1"), flow("decide", "b", cond="x > 2"),
        *([script("other"), end("other_end"), flows("decide>other>other_end")]
          if default else [])))


def test_every_true_condition_leaving_an_activity_gets_a_token(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.2.1 (conditionExpression): "A token will only be placed on this
    Sequence Flow if this conditionExpression evaluates to true"; both are true, so both
    branches run, and not the default."""
    outcome = bpmn.run(conditional(default=True), [Complete("decide", {"x": 3})])
    assert matches(outcome.trace, ["start", "decide",
                                   in_any_order("a", "a_end", "b", "b_end")])
    assert outcome.trace.index("a") < outcome.trace.index("a_end")
    assert outcome.trace.index("b") < outcome.trace.index("b_end")
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.timers) == ([], [])


def test_a_false_condition_leaving_an_activity_gets_no_token(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.2.1: only the flow whose condition holds is taken."""
    outcome = bpmn.run(conditional(default=True), [Complete("decide", {"x": 2})])
    assert outcome.trace == ["start", "decide", "a", "a_end"]
    assert outcome.status == "completed"


def test_an_activity_takes_its_default_flow_when_no_condition_holds(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.1 (Activity `default`): "The Sequence Flow that will receive a token
    when none of the conditionExpressions on other outgoing Sequence Flows evaluate to
    true"."""
    outcome = bpmn.run(conditional(default=True), [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide", "other", "other_end"]
    assert outcome.status == "completed"


def test_an_activity_with_no_flow_to_take_is_an_incident(bpmn: Conformance) -> None:
    """No condition holds and there is no default: the token can go nowhere. BPMN 2.0.2 says
    so of the inclusive gateway an activity's conditional flows imply (§13.4.3: "If no
    condition evaluates to true and there is no default, an exception is thrown"); the case
    is in error after `decide`, never silently completed."""
    outcome = bpmn.run(conditional(default=False), [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide"]
    assert outcome.status == "error"
    assert outcome.open_tasks == []
    assert outcome.error is not None and outcome.error["step"] == "decide"
    assert "no sequence flow leaving 'decide' can be taken" in outcome.error["message"]


def test_retrying_the_incident_takes_the_flows_again(bpmn: Conformance) -> None:
    """The incident is the activity's flows: a retry with the data it lacked takes them on
    that data (the activity itself is done and does not run again)."""
    bpmn.run(conditional(default=False), [Complete("decide", {"x": 0})])
    with bpmn.uow_factory() as uow:
        [case] = uow.cases.list()
    with traced() as trace:
        view = bpmn.engine().retry_case(case.id or 0, data={"x": 2})
    assert trace.completed == ["a", "a_end"]
    assert view.case.status == "completed"


def test_the_flows_an_activity_took_are_its_decision(bpmn: Conformance) -> None:
    """Pathways records which conditional flows an activity took as a `decision` event of
    that activity, as it does for a gateway's choice."""
    bpmn.run(conditional(default=True), [Complete("decide", {"x": 3})])
    with bpmn.uow_factory() as uow:
        [case] = uow.cases.list()
        [decision] = [e for e in uow.events.list(case.id or 0) if e.type == "decision"]
    assert decision.step == "decide"
    assert (decision.data["taken"], decision.data["flows"]) == (
        ["a", "b"], ["decide-a", "decide-b"])


def test_an_unconditioned_flow_beside_conditional_ones_is_always_taken(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.2.1: a flow without a condition always gets a token, whatever the
    conditional flows beside it do; the default flow is taken because no condition holds
    (an unconditioned flow has no conditionExpression to count)."""
    files = model(process(
        start(), with_default(user("decide"), "decide-other"), script("a"), script("always"),
        script("other"), end("a_end"), end("always_end"), end("other_end"),
        flows("start>decide", "decide>always>always_end", "a>a_end", "decide>other>other_end"),
        flow("decide", "a", cond="x > 1")))
    outcome = bpmn.run(files, [Complete("decide", {"x": 5})])
    assert matches(outcome.trace, ["start", "decide",
                                   in_any_order("a", "a_end", "always", "always_end")])
    outcome = bpmn.run(files, [Complete("decide", {"x": 0})])
    assert matches(outcome.trace, ["start", "decide",
                                   in_any_order("always", "always_end", "other", "other_end")])
    assert outcome.status == "completed"


def test_unconditioned_flows_leaving_an_activity_split_in_parallel(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.2.1 / §10.3.1: several unconditioned outgoing flows from an activity
    each get a token, as after a parallel gateway; the case completes when both branches
    have ended."""
    files = model(process(
        start(), script("work"), user("a"), user("b"), end("a_end"), end("b_end"),
        flows("start>work", "work>a>a_end", "work>b>b_end")))
    outcome = bpmn.run(files, [Complete("b")])
    assert outcome.trace == ["start", "work", "b", "b_end"]
    assert outcome.open_tasks == ["a"]
    assert outcome.status == "active"
    outcome = bpmn.run(files, [Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "work", "b", "b_end", "a", "a_end"]
    assert outcome.status == "completed"


def test_two_flows_to_one_step_carry_a_token_each(bpmn: Conformance) -> None:
    """Each outgoing flow gets its own token (§13.2.1), even where two lead to the same
    step: it runs once per flow taken."""
    files = model(process(
        start(), user("decide"), script("twice"), end(),
        flows("start>decide", "twice>end"), flow("decide", "twice", cond="x > 1"),
        flow("decide", "twice", cond="x > 2", flow_id="again")))
    outcome = bpmn.run(files, [Complete("decide", {"x": 3})])
    assert outcome.trace == ["start", "decide", "twice", "twice", "end", "end"]
    assert outcome.status == "completed"
    outcome = bpmn.run(files, [Complete("decide", {"x": 2})])
    assert outcome.trace == ["start", "decide", "twice", "end"]


def test_conditional_flows_after_an_activity_with_a_boundary_event(bpmn: Conformance) -> None:
    """The flows are taken when the activity completes; an interrupting boundary event that
    cancels it takes its own flow, and none of the activity's (§13.5.3)."""
    files = model(process(
        start(), with_default(user("decide"), "decide-other"),
        boundary("late", "decide", timer('"PT1H"')), script("a"), script("other"),
        script("chase"), end("a_end"), end("other_end"), end("chased"),
        flows("start>decide", "a>a_end", "decide>other>other_end", "late>chase>chased"),
        flow("decide", "a", cond="x > 1")))
    outcome = bpmn.run(files, [Complete("decide", {"x": 2}), Wait(hours=2)])
    assert outcome.trace == ["start", "decide", "a", "a_end"]
    assert (outcome.status, outcome.timers) == ("completed", [])
    outcome = bpmn.run(files, [Wait(hours=2)])
    assert outcome.trace == ["start", "late", "chase", "chased"]
    assert outcome.status == "completed"


def test_conditional_flows_after_a_multi_instance_activity(bpmn: Conformance) -> None:
    """The flows leave the activity as a whole, once, after its last instance (§13.3.7)."""
    files = model(process(
        start(), script("each", "pass",
                        inside=multi_instance(sequential=True, cardinality="2")),
        script("a"), script("b"), end("a_end"), end("b_end"),
        flows("start>each", "a>a_end", "b>b_end"),
        flow("each", "a", cond="True"), flow("each", "b", cond="False")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "a", "a_end"]
    assert outcome.status == "completed"


def test_a_conditional_flow_back_makes_a_loop(bpmn: Conformance) -> None:
    """A conditional flow from an activity back to an earlier step, the default flow on:
    each round takes the way its condition says."""
    files = model(process(
        start(), script("setup", "rounds = 0"), user("draft"),
        with_default(script("review", "rounds = rounds + 1"), "review-done"),
        script("done"), end(),
        flows("start>setup>draft>review", "review>done>end"),
        flow("review", "draft", cond="rounds < 3")))
    outcome = bpmn.run(files, [Complete("draft"), Complete("draft"), Complete("draft")])
    assert outcome.trace == ["start", "setup", "draft", "review", "draft", "review", "draft",
                             "review", "done", "end"]
    assert outcome.status == "completed"
    assert outcome.data["rounds"] == 3


def uncontrolled_merge() -> dict[str, str]:
    """Two parallel branches `a` and `b` both flow into the user task `merged` (no gateway),
    which is followed by `after`."""
    return model(process(
        start(), gateway("parallel", "fork"), script("a", "came = 'a'"),
        script("b", "came = 'b'"), user("merged"), script("after", "seen = came"), end(),
        flows("start>fork", "fork>a>merged", "fork>b>merged", "merged>after>end")))


def test_an_uncontrolled_merge_runs_the_activity_once_per_token(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.1: each token arriving on an incoming flow starts the activity
    (an implied exclusive merge, no synchronisation): two branches arrive, so `merged` is
    open twice, and what follows it runs twice."""
    outcome = bpmn.run(uncontrolled_merge())
    assert matches(outcome.trace, ["start", in_any_order("a", "b")])
    assert outcome.open_tasks == ["merged", "merged"]
    assert outcome.status == "active"
    outcome = bpmn.run(uncontrolled_merge(), [Complete("merged")])
    assert matches(outcome.trace, ["start", in_any_order("a", "b"), "merged", "after", "end"])
    assert outcome.open_tasks == ["merged"]
    assert outcome.status == "active"
    outcome = bpmn.run(uncontrolled_merge(), [Complete("merged"), Complete("merged")])
    assert matches(outcome.trace, ["start", in_any_order("a", "b"), "merged", "after", "end",
                                   "merged", "after", "end"])
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_a_token_arriving_later_runs_the_merged_activity_again(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.1: no synchronisation: the first token runs the activity and what
    follows to the end while the other branch is still at work; the second token, later,
    runs them again."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), user("merged"),
        script("after"), end(),
        flows("start>fork", "fork>a>merged", "fork>b>merged", "merged>after>end")))
    outcome = bpmn.run(files, [Complete("a"), Complete("merged")])
    assert outcome.trace == ["start", "a", "merged", "after", "end"]
    assert outcome.open_tasks == ["b"]
    assert outcome.status == "active"
    outcome = bpmn.run(files, [Complete("a"), Complete("merged"), Complete("b"),
                               Complete("merged")])
    assert outcome.trace == ["start", "a", "merged", "after", "end", "b", "merged", "after",
                             "end"]
    assert outcome.status == "completed"


def test_an_uncontrolled_merge_into_a_subprocess_runs_it_per_token(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.1 / §13.3.4: a subprocess is an activity too: each token starts it."""
    files = model(process(
        start(), gateway("parallel", "fork"), script("a"), script("b"),
        subprocess("sub", start("sub_start"), user("inner"), end("sub_end"),
                   flows("sub_start>inner>sub_end")),
        end(), flows("start>fork", "fork>a>sub", "fork>b>sub", "sub>end")))
    outcome = bpmn.run(files)
    assert outcome.open_tasks == ["inner", "inner"]
    outcome = bpmn.run(files, [Complete("inner"), Complete("inner")])
    assert matches(outcome.trace, ["start", in_any_order("a", "b"),
                                   in_any_order("sub_start", "sub_start"),
                                   "inner", "sub_end", "sub", "end",
                                   "inner", "sub_end", "sub", "end"])
    assert outcome.status == "completed"


def test_a_merge_after_an_exclusive_choice_runs_the_activity_once(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.1: one token reaches the activity (the exclusive gateway took one
    branch), so it runs once."""
    files = model(process(
        start(), user("decide"), gateway("exclusive", "choose", default="choose-b"),
        script("a"), script("b"), script("merged"), end(),
        flows("start>decide>choose", "a>merged", "b>merged", "merged>end"),
        flow("choose", "a", cond="x > 1"), flow("choose", "b")))
    outcome = bpmn.run(files, [Complete("decide", {"x": 2})])
    assert outcome.trace == ["start", "decide", "a", "merged", "end"]
    assert outcome.status == "completed"
    outcome = bpmn.run(files, [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide", "b", "merged", "end"]
