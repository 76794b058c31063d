"""The complex gateway (BPMN 2.0.2 §10.6.5, §13.3.5), run as BPMN says.

§10.6.5: as a join, "the activationCondition ... refers to the number of tokens on the
incoming Sequence Flows" (here `_activationCount`, the tokens waiting): the gateway fires when
it holds, "then waits for the remaining tokens" and, when they arrive, consumes them without
producing any and resets, so it can fire again (a loop). Without an activationCondition it
waits for every token that can still reach it, as an inclusive join. As a split it takes
every outgoing flow whose condition holds, else its default; none is a runtime exception
(an incident: the case stops in error at the gateway, named). A malformed activationCondition
is refused at publish, located. SpiffWorkflow 3.2 has no complex gateway: Pathways builds it
(engine.workflow.complex_gateway).
"""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from engine.workflow.validation import check_offline
from tests.conformance.bpmn import (
    MAIN_FILE,
    end,
    flow,
    flows,
    gateway,
    model,
    process,
    script,
    start,
    user,
)
from tests.conformance.bpmn import subprocess as sub
from tests.conformance.harness import Complete, Conformance, in_any_order, matches

TWO = "_activationCount &gt;= 2"


def complex_gateway(node: str, activation: str | None, default: str | None = None) -> str:
    condition = ("" if activation is None else
                 f"<bpmn:activationCondition>{activation}</bpmn:activationCondition>")
    attribute = "" if default is None else f' default="{default}"'
    return f'<bpmn:complexGateway id="{node}"{attribute}>{condition}</bpmn:complexGateway>'


def two_of_three(activation: str | None, first: str = "start", last: str = "end",
                 task: str = "script") -> str:
    """A parallel split to three tasks `a`, `b`, `c` (scripts, or user tasks) joined by
    complex gateway `join` (with the given activationCondition), then script `after`."""
    make = script if task == "script" else user
    return "".join([
        start(first), gateway("parallel", "fork"), make("a"), make("b"), make("c"),
        complex_gateway("join", activation), script("after"), end(last),
        flows(f"{first}>fork", "fork>a>join", "fork>b>join", "fork>c>join",
              f"join>after>{last}")])


def split(*, default: bool = True) -> str:
    """Complex gateway `choose` as a split on `x` (set by user task `decide`): `low` when
    0 < x < 3, `high` when x > 1, else `other` (the default flow, when there is one)."""
    return "".join([
        start(), user("decide"), complex_gateway("choose", None,
                                                 "choose-other" if default else None),
        script("low"), script("high"), end("e1"), end("e2"),
        *([script("other"), end("e3")] if default else []),
        flows("start>decide>choose", "low>e1", "high>e2", *(["other>e3"] if default else [])),
        flow("choose", "low", cond="0 < x < 3"), flow("choose", "high", cond="x > 1"),
        *([flow("choose", "other")] if default else [])])


def test_a_two_of_three_join_fires_once_and_absorbs_the_third_token(bpmn: Conformance) -> None:
    """§13.3.5: with `_activationCount >= 2` the gateway fires on the second token; the third
    is consumed when it arrives, and `after` runs once."""
    outcome = bpmn.run(model(process(two_of_three(TWO))))
    assert outcome.counts()["after"] == 1 and outcome.counts()["end"] == 1
    assert sorted(outcome.trace) == ["a", "after", "b", "c", "end", "start"]
    assert outcome.status == "completed"


def test_the_gate_fires_while_the_third_branch_is_still_open(bpmn: Conformance) -> None:
    """§13.3.5: the gateway does not wait for the third token to fire: `after` and `end` run
    while user task `c` is open; the case waits for `c`, whose token is then absorbed (no
    second `after`), and ends once."""
    files = model(process(two_of_three(TWO, task="user")))
    halfway = bpmn.run(files, [Complete("a"), Complete("b")])
    assert halfway.trace == ["start", "a", "b", "after", "end"]
    assert (halfway.status, halfway.open_tasks) == ("active", ["c"])
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("c")])
    assert outcome.trace == ["start", "a", "b", "after", "end", "c"]
    assert outcome.status == "completed" and outcome.open_tasks == []


def test_the_join_merges_the_data_of_the_tokens_it_fired_on(bpmn: Conformance) -> None:
    """The data after the gateway is that of the branches it fired on (merged as at any
    Pathways join); the absorbed token adds nothing downstream."""
    files = model(process(two_of_three(TWO, task="user")))
    outcome = bpmn.run(files, [Complete("a", {"from_a": 1}), Complete("b", {"from_b": 2}),
                               Complete("c", {"from_c": 3})])
    assert outcome.data["from_a"] == 1 and outcome.data["from_b"] == 2
    assert outcome.status == "completed"


def test_without_an_activation_condition_it_waits_for_every_token(bpmn: Conformance) -> None:
    """§13.3.5 (no activationCondition): like an inclusive join, it waits for every token
    that can still arrive."""
    files = model(process(two_of_three(None, task="user")))
    halfway = bpmn.run(files, [Complete("a"), Complete("b")])
    assert halfway.trace == ["start", "a", "b"]
    assert halfway.open_tasks == ["c"]
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("c")])
    assert outcome.trace == ["start", "a", "b", "c", "after", "end"]
    assert outcome.status == "completed"


def test_in_a_loop_it_resets_and_fires_once_per_round(bpmn: Conformance) -> None:
    """§13.3.5: after absorbing the remaining token the gateway resets: round a loop it fires
    again, once per round (two rounds, `after` twice, the case ends once)."""
    body = "".join([
        start(), script("init", "rounds = 0"), gateway("exclusive", "merge"),
        gateway("parallel", "fork"), script("a"),
        script("b"), script("c"), complex_gateway("join", TWO),
        script("after", "rounds = rounds + 1"), gateway("exclusive", "again", "again-end"),
        end(), flows("start>init>merge>fork", "fork>a>join", "fork>b>join", "fork>c>join",
                     "join>after>again", "again>end"),
        flow("again", "merge", cond="rounds < 2")])
    outcome = bpmn.run(model(process(body)))
    assert outcome.counts() == {"start": 1, "init": 1, "a": 2, "b": 2, "c": 2, "after": 2,
                                "end": 1}
    assert outcome.data["rounds"] == 2
    assert outcome.status == "completed"


def test_in_a_loop_a_late_token_of_the_round_before_is_absorbed(bpmn: Conformance) -> None:
    """§13.3.5: round 1 fires on `b` and `a` while its `c` (a user task) is open; round 2's
    tokens (`b`, and the quick script `c2` standing for `c`) reach the gateway before round
    1 has reset, so they wait there until it does. Round 1's `c`, coming last, is absorbed:
    the reset; round 2 then fires on its two waiting tokens, and its own late `a` is absorbed
    by its reset. `after` runs once per round, the case ends once."""
    body = "".join([
        start(), script("init", "rounds = 0"), gateway("exclusive", "merge"),
        gateway("parallel", "fork"), user("a"), script("b"),
        gateway("exclusive", "which", "which-c2"), user("c"), script("c2"),
        complex_gateway("join", TWO), script("after", "rounds = rounds + 1"),
        gateway("exclusive", "again", "again-end"), end(),
        flows("start>init>merge>fork", "fork>a>join", "fork>b>join", "fork>which",
              "c>join", "which>c2>join", "join>after>again", "again>end"),
        flow("which", "c", cond="rounds == 0"), flow("again", "merge", cond="rounds < 2")])
    files = model(process(body))
    halfway = bpmn.run(files, [Complete("a")])
    assert matches(halfway.trace, ["start", "init", in_any_order("b", "a"), "after",
                                   in_any_order("b", "c2")])
    assert (halfway.status, halfway.open_tasks) == ("active", ["a", "c"])
    assert halfway.data["rounds"] == 1  # round 2 waits for round 1's reset
    outcome = bpmn.run(files, [Complete("a"), Complete("c"), Complete("a")])
    assert outcome.trace == [*halfway.trace, "c", "after", "end", "a"]
    assert outcome.counts()["after"] == 2 and outcome.data["rounds"] == 2
    assert outcome.status == "completed" and outcome.open_tasks == []


def test_inside_a_subprocess(bpmn: Conformance) -> None:
    """The same join inside an embedded subprocess: `after` once, the subprocess and the
    case complete."""
    files = model(process(start(), sub("inner", two_of_three(TWO, "s", "e")), end(),
                          flows("start>inner>end")))
    outcome = bpmn.run(files)
    assert outcome.counts() == {"start": 1, "s": 1, "a": 1, "b": 1, "c": 1, "after": 1,
                                "e": 1, "inner": 1, "end": 1}
    assert outcome.trace[-2:] == ["inner", "end"]
    assert outcome.status == "completed"


def test_as_a_split_it_takes_every_true_condition(bpmn: Conformance) -> None:
    """§10.6.5: as a split, a token on each outgoing flow whose condition holds (x = 2:
    `low` and `high`), not the default."""
    outcome = bpmn.run(model(process(split())), [Complete("decide", {"x": 2})])
    assert matches(outcome.trace, ["start", "decide", in_any_order("low", "high", "e1", "e2")])
    assert outcome.status == "completed"


def test_as_a_split_it_takes_the_default_when_no_condition_holds(bpmn: Conformance) -> None:
    outcome = bpmn.run(model(process(split())), [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide", "other", "e3"]
    assert outcome.status == "completed"


def test_a_split_with_no_flow_to_take_is_an_incident(bpmn: Conformance) -> None:
    """No condition holds and there is no default: a runtime exception, so the case stops in
    error at the gateway, named; never silently completed."""
    outcome = bpmn.run(model(process(split(default=False))), [Complete("decide", {"x": 0})])
    assert outcome.trace == ["start", "decide"]
    assert outcome.status == "error" and outcome.open_tasks == []
    assert outcome.error is not None and outcome.error["step"] == "choose"
    assert "no sequence flow leaving complexGateway 'choose'" in outcome.error["message"]


@pytest.mark.parametrize("condition", ["_activationCount &gt;=", "__import__('os')", " "],
                         ids=["syntax", "sandbox", "empty"])
def test_a_malformed_activation_condition_is_refused(bpmn: Conformance, condition: str) -> None:
    """The activationCondition is checked at publish as any condition is (in the sandbox),
    not when a case reaches the gateway: refused, located, naming the gateway."""
    refused = bpmn.refusal(model(process(two_of_three(condition))))
    assert refused.element == "join"
    assert refused.details["rule"] in {"expression", "empty_expression"}
    assert refused.file == "conformance.bpmn" and refused.line is not None
    assert "activation_count__pathways" not in refused.reason


def test_pathways_validate_runs_the_same_check() -> None:
    """`pathways validate` (check_offline, without a database) accepts the gateway and
    refuses a malformed activationCondition the same way."""
    check_offline(model(process(two_of_three(TWO))), MAIN_FILE)
    with pytest.raises(DefinitionError) as refused:
        check_offline(model(process(two_of_three("_activationCount &gt;="))), MAIN_FILE)
    assert (refused.value.element, refused.value.details["rule"]) == ("join", "expression")


def test_the_activation_condition_reads_the_case_data(bpmn: Conformance) -> None:
    """The activationCondition is an expression over the case data too: `urgent` cases go
    on after the first branch, the others after two."""
    condition = "_activationCount &gt;= (1 if urgent else 2)"
    files = model(process(two_of_three(condition, task="user")))
    urgent = bpmn.run(files, [Complete("a", {"urgent": True})])
    assert urgent.trace == ["start", "a", "after", "end"]
    assert urgent.open_tasks == ["b", "c"]


def test_an_activation_condition_that_fails_is_an_incident(bpmn: Conformance) -> None:
    """A condition that cannot be evaluated on the case's data (a name it lacks) stops the
    case in error at the gateway, as a failing flow condition does."""
    files = model(process(two_of_three("_activationCount &gt;= threshold", task="user")))
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.status == "error"
    assert outcome.error is not None and outcome.error["step"] == "join"
