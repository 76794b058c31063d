"""The workflow control-flow patterns (van der Aalst, ter Hofstede, Kiepuszewski, Barros;
revised by Russell, ter Hofstede, van der Aalst, Mulyar 2006), as BPMN models Pathways runs.

Each test is one pattern: its definition from workflowpatterns.com (https://www.
workflowpatterns.com/patterns/control/, WCPn), the BPMN 2.0.2 construct that expresses it
(after Wohed et al., "On the Suitability of BPMN for Business Process Modelling", and the
BPMN 2.0.2 section named), and the exact trace Pathways must produce: which tasks ran, how
many times, and the state the case is left in.

Patterns BPMN 2.0.2 has no construct for, left out here: WCP15 (multiple instances without a
priori runtime knowledge: a BPMN multi-instance activity fixes its number of instances when
it starts, §13.3.7, and no instance can be added while it runs), WCP36 (dynamic partial join
for multiple instances, the same reason) and WCP39 (critical section: BPMN has no shared lock
between branches or cases).
"""

from __future__ import annotations

from tests.conformance.bpmn import (
    boundary,
    call,
    catch,
    declare,
    end,
    escalation,
    flow,
    flows,
    gateway,
    message,
    model,
    multi_instance,
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
from tests.conformance.harness import (
    Complete,
    Conformance,
    Send,
    Wait,
    in_any_order,
    matches,
)


def complex_gateway(node: str, activation: str | None = None) -> str:
    condition = ("" if activation is None else
                 f"<bpmn:activationCondition>{activation}</bpmn:activationCondition>")
    return f'<bpmn:complexGateway id="{node}">{condition}</bpmn:complexGateway>'


def with_loop(element: str, characteristics: str) -> str:
    """The element (a task written by bpmn.user or bpmn.script) with loop characteristics."""
    closing = element.rindex("</bpmn:")
    return element[:closing] + characteristics + element[closing:]


# -- basic control flow (WCP1-5) -----------------------------------------------------------

def test_wcp1_sequence(bpmn: Conformance) -> None:
    """WCP1 Sequence: "A task in a process is enabled after the completion of a preceding
    task in the same process." BPMN: a sequence flow between two activities (§10.2.1,
    §13.2.1: the token moves on when the activity completes)."""
    files = model(process(start(), user("a"), user("b"), user("c"), end(),
                          flows("start>a>b>c>end")))
    outcome = bpmn.run(files, [Complete("a")])
    assert (outcome.trace, outcome.open_tasks) == (["start", "a"], ["b"])
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("c")])
    assert outcome.trace == ["start", "a", "b", "c", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def split_and_join(join: str) -> dict[str, str]:
    """A parallel gateway `fork` to user tasks `a` and `b`, joined by `join` (a gateway of
    the given kind), then `after`."""
    return model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), gateway(join, "join"),
        user("after"), end(), flows("start>fork", "fork>a>join", "fork>b>join",
                                    "join>after>end")))


def test_wcp2_parallel_split(bpmn: Conformance) -> None:
    """WCP2 Parallel Split: "The divergence of a branch into two or more parallel branches
    each of which execute concurrently." BPMN: a diverging parallel gateway (§13.4.1: a token
    on every outgoing flow): both tasks are open at once."""
    outcome = bpmn.run(split_and_join("parallel"))
    assert outcome.trace == ["start"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["a", "b"])


def test_wcp3_synchronization(bpmn: Conformance) -> None:
    """WCP3 Synchronization: "The convergence of two or more branches into a single
    subsequent branch such that the thread of control is passed to the subsequent branch when
    all input branches have been enabled." BPMN: a converging parallel gateway (§13.4.1):
    `after` waits for both, then runs once."""
    files = split_and_join("parallel")
    waiting = bpmn.run(files, [Complete("b")])
    assert (waiting.trace, waiting.open_tasks) == (["start", "b"], ["a"])
    outcome = bpmn.run(files, [Complete("b"), Complete("a"), Complete("after")])
    assert outcome.trace == ["start", "b", "a", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def choice(kind: str, merge: str) -> dict[str, str]:
    """`decide` sets x; gateway `choose` (kind) takes `low` (x < 5), `high` (x > 3) or its
    default `other`; the branches meet at `merge` (a gateway of that kind), then `after`."""
    return model(process(
        start(), user("decide"), gateway(kind, "choose", default="choose-other"),
        script("low"), script("high"), script("other"), gateway(merge, "merge"),
        script("after"), end(),
        flows("start>decide>choose", "low>merge", "high>merge", "other>merge",
              "merge>after>end"),
        flow("choose", "low", cond="x < 5"), flow("choose", "high", cond="x > 3"),
        flow("choose", "other")))


def test_wcp4_exclusive_choice(bpmn: Conformance) -> None:
    """WCP4 Exclusive Choice: "The divergence of a branch into two or more branches such that
    when the incoming branch is enabled, the thread of control is immediately passed to
    precisely one of the outgoing branches based on a mechanism that can select one of the
    outgoing branches." BPMN: a diverging exclusive gateway (§13.4.2: the first true
    condition in order, else the default)."""
    files = choice("exclusive", "exclusive")
    assert bpmn.run(files, [Complete("decide", {"x": 4})]).trace == [
        "start", "decide", "low", "after", "end"]
    assert bpmn.run(files, [Complete("decide", {"x": 9})]).trace == [
        "start", "decide", "high", "after", "end"]


def test_wcp4_exclusive_choice_default(bpmn: Conformance) -> None:
    """WCP4 with no condition true: the exclusive gateway's default flow (§10.6.2)."""
    files = model(process(
        start(), user("decide"), gateway("exclusive", "choose", default="choose-other"),
        script("low"), script("other"), end("e1"), end("e2"),
        flows("start>decide>choose", "low>e1", "other>e2"),
        flow("choose", "low", cond="x < 5"), flow("choose", "other")))
    outcome = bpmn.run(files, [Complete("decide", {"x": 7})])
    assert outcome.trace == ["start", "decide", "other", "e2"]
    assert outcome.status == "completed"


def test_wcp5_simple_merge(bpmn: Conformance) -> None:
    """WCP5 Simple Merge: "The convergence of two or more branches into a single subsequent
    branch such that each enablement of an incoming branch results in the thread of control
    being passed to the subsequent branch" (the branches being exclusive). BPMN: a converging
    exclusive gateway (§13.4.2, exclusive merge): `after` runs once, for the one branch."""
    outcome = bpmn.run(choice("exclusive", "exclusive"), [Complete("decide", {"x": 1})])
    assert outcome.trace == ["start", "decide", "low", "after", "end"]
    assert outcome.counts()["after"] == 1
    assert outcome.status == "completed"


# -- advanced branching and synchronization (WCP6-9, WCP28-33, WCP37-38, WCP41-42) ----------

def test_wcp6_multi_choice(bpmn: Conformance) -> None:
    """WCP6 Multi-Choice: "The divergence of a branch into two or more branches such that
    when the incoming branch is enabled, the thread of control is immediately passed to one
    or more of the outgoing branches based on a mechanism that selects one or more outgoing
    branches." BPMN: a diverging inclusive gateway (§10.6.3: every flow whose condition is
    true); x = 4 makes both conditions true."""
    outcome = bpmn.run(choice("inclusive", "inclusive"), [Complete("decide", {"x": 4})])
    assert matches(outcome.trace, ["start", "decide", in_any_order("low", "high"), "after",
                                   "end"])
    assert outcome.status == "completed"


def test_wcp7_structured_synchronizing_merge(bpmn: Conformance) -> None:
    """WCP7 Structured Synchronizing Merge: "The convergence of two or more branches (which
    diverged earlier in the process at a uniquely identifiable point) into a single
    subsequent branch such that the thread of control is passed to the subsequent branch when
    each active incoming branch has been enabled." BPMN: an inclusive join after an
    inclusive split (§13.4.3): it waits for the two branches taken, not the third."""
    files = model(process(
        start(), user("decide"), gateway("inclusive", "choose"), user("a"), user("b"),
        user("c"), gateway("inclusive", "merge"), script("after"), end(),
        flows("start>decide>choose", "a>merge", "b>merge", "c>merge", "merge>after>end"),
        flow("choose", "a", cond="x > 1"), flow("choose", "b", cond="x > 2"),
        flow("choose", "c", cond="x > 3")))
    waiting = bpmn.run(files, [Complete("decide", {"x": 3}), Complete("b")])
    assert (waiting.trace, waiting.open_tasks) == (["start", "decide", "b"], ["a"])
    outcome = bpmn.run(files, [Complete("decide", {"x": 3}), Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "decide", "b", "a", "after", "end"]
    assert outcome.status == "completed"


def test_wcp8_multi_merge(bpmn: Conformance) -> None:
    """WCP8 Multi-Merge: "The convergence of two or more branches into a single subsequent
    branch such that each enablement of an incoming branch results in the thread of control
    being passed to the subsequent branch." BPMN: two flows into one activity, no gateway
    (§13.3.1, uncontrolled flow): `after` runs once per branch, twice."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), user("after"), end(),
        flows("start>fork", "fork>a>after", "fork>b>after", "after>end")))
    outcome = bpmn.run(files, [Complete("a"), Complete("after"), Complete("b"),
                               Complete("after")])
    assert outcome.trace == ["start", "a", "after", "end", "b", "after", "end"]
    assert outcome.status == "completed"


def three_branches(join: str, *, first: str = "start", last: str = "end") -> list[str]:
    """A parallel split to user tasks `a`, `b`, `c`, joined by `join` (an element), then the
    script `after`."""
    return [start(first), gateway("parallel", "fork"), user("a"), user("b"), user("c"),
            join, script("after"), end(last),
            flows(f"{first}>fork", "fork>a>join", "fork>b>join", "fork>c>join",
                  f"join>after>{last}")]


def test_wcp9_structured_discriminator(bpmn: Conformance) -> None:
    """WCP9 Structured Discriminator: "The convergence of two or more branches into a single
    subsequent branch following a corresponding divergence earlier in the process model,
    such that the thread of control is passed to the subsequent branch when the first
    incoming branch has been enabled. Subsequent enablements of incoming branches do not
    result in the thread of control being passed on." BPMN: a complex gateway whose
    activationCondition holds at the first token (§13.3.5): `after` runs once, after `b`."""
    files = model(process(*three_branches(complex_gateway("join", "_activationCount &gt;= 1"))))
    outcome = bpmn.run(files, [Complete("b"), Complete("a"), Complete("c")])
    assert outcome.trace == ["start", "b", "after", "end", "a", "c"]
    assert outcome.status == "completed"


def test_wcp28_blocking_discriminator(bpmn: Conformance) -> None:
    """WCP28 Blocking Discriminator: as WCP9, and "the discriminator is blocked until all
    active incoming branches have been enabled", then resets. BPMN: the complex gateway
    (§13.3.5) waits for the remaining tokens after it fired and only then resets: a second
    round through it (a loop) fires it once more. Two `b` tasks are open in the second
    round; whichever is completed first, the trace is the same: round 1's is absorbed (the
    reset), or round 2's is held until round 1's comes (§13.3.5). Which one the inbox lists
    first differs between a live engine and a reloaded one, so the variants cover both."""
    files = model(process(
        start(), script("init", "n = 0"), gateway("exclusive", "again_in"),
        gateway("parallel", "fork"), user("a"), user("b"),
        complex_gateway("join", "_activationCount &gt;= 1"), script("after", "n = n + 1"),
        gateway("exclusive", "again", default="again-end"), end(),
        flows("start>init>again_in>fork", "fork>a>join", "fork>b>join", "join>after>again"),
        flow("again", "again_in", cond="n < 2"), flow("again", "end")))
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("b"), Complete("a")])
    assert outcome.trace == ["start", "init", "a", "after", "b", "b", "after", "end", "a"]
    assert (outcome.status, outcome.data["n"]) == ("completed", 2)


def test_wcp29_cancelling_discriminator(bpmn: Conformance) -> None:
    """WCP29 Cancelling Discriminator: the thread of control is passed on when the first
    incoming branch has been enabled, and "triggering the discriminator also cancels the
    execution of all of the other incoming branches". BPMN: the branches in a subprocess,
    each ending in a terminate end event (§13.5.6: a terminate end event in a subprocess ends
    that subprocess, all its activities stopped, and its process goes on): the first branch
    done ends the region, `after` runs once, the others never complete."""
    files = model(process(
        start(), subprocess("region", start("region_start"), gateway("parallel", "fork"),
                            user("a"), user("b"), user("c"), end("a_done", terminate()),
                            end("b_done", terminate()), end("c_done", terminate()),
                            flows("region_start>fork", "fork>a>a_done", "fork>b>b_done",
                                  "fork>c>c_done")),
        script("after"), end(), flows("start>region>after>end")))
    outcome = bpmn.run(files, [Complete("b")])
    assert outcome.trace == ["start", "region_start", "b", "b_done", "region", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp30_structured_partial_join(bpmn: Conformance) -> None:
    """WCP30 Structured Partial Join: "The convergence of two or more branches (say m) into
    a single subsequent branch following a corresponding divergence earlier in the process
    model, such that the thread of control is passed to the subsequent branch when n of the
    incoming branches have been enabled where n is less than m. Subsequent enablements of
    incoming branches do not result in the thread of control being passed on." BPMN: a
    complex gateway with activationCondition _activationCount >= 2 (§13.3.5)."""
    files = model(process(*three_branches(complex_gateway("join", "_activationCount &gt;= 2"))))
    after_one = bpmn.run(files, [Complete("c")])
    assert after_one.trace == ["start", "c"]
    outcome = bpmn.run(files, [Complete("c"), Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "c", "a", "after", "end", "b"]
    assert outcome.status == "completed"


def test_wcp31_blocking_partial_join(bpmn: Conformance) -> None:
    """WCP31 Blocking Partial Join: as WCP30, and the join "is blocked until all active
    incoming branches have been enabled", then resets. BPMN: the complex gateway (§13.3.5)
    absorbs the third token before it can fire again: with the third branch still open, the
    case cannot complete."""
    files = model(process(*three_branches(complex_gateway("join", "_activationCount &gt;= 2"))))
    outcome = bpmn.run(files, [Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "a", "b", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["c"])


def test_wcp32_cancelling_partial_join(bpmn: Conformance) -> None:
    """WCP32 Cancelling Partial Join: as WCP30, and "triggering the join also cancels the
    execution of all of the other incoming branches". BPMN: the complex join (2 of 3) inside
    a subprocess ending in a terminate end event (§13.3.5, §13.5.6): the third branch is
    cancelled when the join fires."""
    region = subprocess("region", *three_branches(
        complex_gateway("join", "_activationCount &gt;= 2"), first="region_start",
        last="region_end"))
    files = model(process(start(), region.replace(
        '<bpmn:endEvent id="region_end"></bpmn:endEvent>',
        end("region_end", terminate())), script("next"), end(), flows("start>region>next>end")))
    outcome = bpmn.run(files, [Complete("a"), Complete("c")])
    assert outcome.trace == ["start", "region_start", "a", "c", "after", "region_end",
                             "region", "next", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp33_generalized_and_join(bpmn: Conformance) -> None:
    """WCP33 Generalized AND-Join: "The convergence of two or more branches into a single
    subsequent branch such that the thread of control is passed to the subsequent branch when
    all input branches have been enabled. Additional triggers received on one or more
    branches between firings of the join persist and are retained for future firings." BPMN:
    the parallel join consumes one token per incoming flow each time it fires (§13.4.1):
    with two tokens on each of its flows (each left by a multi-merge) it fires twice."""
    files = model(process(
        start(), gateway("parallel", "fork"), script("a1"), script("a2"), script("b1"),
        user("b2"), user("x"), user("y"), gateway("parallel", "join"), script("after"),
        end(), flows("start>fork", "fork>a1>x", "fork>a2>x", "fork>b1>y", "fork>b2>y",
                     "x>join", "y>join", "join>after>end")))
    outcome = bpmn.run(files, [Complete("x"), Complete("x"), Complete("y"), Complete("b2"),
                               Complete("y")])
    assert outcome.counts() == {"start": 1, "a1": 1, "a2": 1, "b1": 1, "b2": 1, "x": 2,
                                "y": 2, "after": 2, "end": 2}
    assert outcome.trace[-2:] == ["after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp37_local_synchronizing_merge(bpmn: Conformance) -> None:
    """WCP37 Local Synchronizing Merge: "The convergence of two or more branches which
    diverged earlier in the process into a single subsequent branch such that the thread of
    control is passed to the subsequent branch when each active incoming branch has been
    enabled. Determination of how many branches require synchronization is made on the basis
    of information locally available to the merge construct." BPMN: the inclusive join
    (§13.4.3) waits for the tokens that can still reach it: here one branch skips to the
    join through an exclusive choice, the other is still running."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), user("decide"),
        gateway("exclusive", "skip", default="skip-b"), user("b"),
        gateway("inclusive", "merge"), script("after"), end(),
        flows("start>fork", "fork>a>merge", "fork>decide>skip", "b>merge", "merge>after>end"),
        flow("skip", "merge", cond="quick"), flow("skip", "b")))
    waiting = bpmn.run(files, [Complete("decide", {"quick": False}), Complete("a")])
    assert (waiting.trace, waiting.open_tasks) == (["start", "decide", "a"], ["b"])
    quick = bpmn.run(files, [Complete("decide", {"quick": True}), Complete("a")])
    assert quick.trace == ["start", "decide", "a", "after", "end"]
    assert quick.status == "completed"


def test_wcp38_general_synchronizing_merge(bpmn: Conformance) -> None:
    """WCP38 General Synchronizing Merge: as WCP37, in a model that need not be structured
    (here a loop before one incoming branch): "the thread of control is passed to the
    subsequent branch when ... it is not possible that any branch that has not yet been
    enabled will be enabled at any future time." BPMN: the inclusive join's rule (§13.4.3)
    is the same in any graph: it waits while a token upstream can still reach it (`b`
    looping twice), then fires once."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), script("init", "n = 0"),
        gateway("exclusive", "loop_in"), user("b"), script("count", "n = n + 1"),
        gateway("exclusive", "again", default="again-merge"), gateway("inclusive", "merge"),
        script("after"), end(),
        flows("start>fork", "fork>a>merge", "fork>init>loop_in>b>count>again",
              "merge>after>end"),
        flow("again", "loop_in", cond="n < 2"), flow("again", "merge")))
    waiting = bpmn.run(files, [Complete("a"), Complete("b")])
    assert (waiting.trace, waiting.open_tasks) == (["start", "init", "a", "b", "count"],
                                                   ["b"])
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("b")])
    assert outcome.trace == ["start", "init", "a", "b", "count", "b", "count", "after",
                             "end"]
    assert outcome.status == "completed"


def test_wcp41_thread_merge(bpmn: Conformance) -> None:
    """WCP41 Thread Merge: "At a given point in a process, a nominated number of execution
    threads in a single branch of the same process instance should be merged together into a
    single thread of execution." BPMN: the threads as the instances of a parallel
    multi-instance activity (§13.3.7): the activity completes once its three instances have,
    and one token goes on (`after` once)."""
    files = model(process(
        start(), user("work", multi_instance(sequential=False, cardinality="3")),
        script("after"), end(), flows("start>work>after>end")))
    outcome = bpmn.run(files, [Complete("work"), Complete("work"), Complete("work")])
    assert outcome.trace == ["start", "work[i]", "work[i]", "work[i]", "work", "after", "end"]
    assert outcome.status == "completed"


def test_wcp42_thread_split(bpmn: Conformance) -> None:
    """WCP42 Thread Split: "At a given point in a process, a nominated number of execution
    threads can be initiated in a single branch of the same process instance." BPMN: a
    parallel multi-instance activity whose number of instances (the nominated number) comes
    from the case's data (loopCardinality, §10.3.7): three threads open at once."""
    files = model(process(
        start(), user("decide"), user("work", multi_instance(sequential=False,
                                                             cardinality="threads")),
        script("after"), end(), flows("start>decide>work>after>end")))
    outcome = bpmn.run(files, [Complete("decide", {"threads": 3})])
    assert outcome.trace == ["start", "decide"]
    assert outcome.open_tasks == ["work", "work", "work"]


# -- multiple instances (WCP12-14, WCP26-27, WCP34-35) ---------------------------------------

def test_wcp12_multiple_instances_without_synchronization(bpmn: Conformance) -> None:
    """WCP12 Multiple Instances without Synchronization: "Within a given process instance,
    multiple instances of a task can be created. These instances are independent of each
    other and run concurrently. There is no requirement to synchronize them upon completion."
    BPMN: the multi-instance activity on a branch of its own (a parallel split, §13.4.1) that
    nothing joins: the main thread goes on (`next`) while the instances are open."""
    files = model(process(
        start(), gateway("parallel", "fork"),
        user("each", multi_instance(sequential=False, cardinality="3")), end("each_end"),
        user("next"), end(), flows("start>fork", "fork>each>each_end", "fork>next>end")))
    outcome = bpmn.run(files, [Complete("next")])
    assert outcome.trace == ["start", "next", "end"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["each", "each", "each"])
    done = bpmn.run(files, [Complete("next"), Complete("each"), Complete("each"),
                            Complete("each")])
    assert done.trace == ["start", "next", "end", "each[i]", "each[i]", "each[i]", "each",
                          "each_end"]
    assert done.status == "completed"


def test_wcp13_multiple_instances_with_design_time_knowledge(bpmn: Conformance) -> None:
    """WCP13 Multiple Instances with a priori Design-Time Knowledge: "Within a given process
    instance, multiple instances of a task can be created. The required number of instances
    is known at design time. These instances are independent of each other and run
    concurrently. It is necessary to synchronize the task instances at completion before any
    subsequent tasks can be triggered." BPMN: a parallel multi-instance activity with a fixed
    loopCardinality (§10.3.7, §13.3.7): `after` waits for all three."""
    files = model(process(
        start(), user("each", multi_instance(sequential=False, cardinality="3")),
        script("after"), end(), flows("start>each>after>end")))
    two = bpmn.run(files, [Complete("each"), Complete("each")])
    assert two.trace == ["start", "each[i]", "each[i]"]
    assert two.open_tasks == ["each"]
    outcome = bpmn.run(files, [Complete("each"), Complete("each"), Complete("each")])
    assert outcome.trace == ["start", "each[i]", "each[i]", "each[i]", "each", "after", "end"]
    assert outcome.status == "completed"


def test_wcp14_multiple_instances_with_runtime_knowledge(bpmn: Conformance) -> None:
    """WCP14 Multiple Instances with a priori Run-Time Knowledge: as WCP13, but "the required
    number of instances may depend on a number of runtime factors ... but is known before
    the task instances must be created". BPMN: the instances from a collection in the case's
    data (loopDataInputRef, §10.3.7), one per item."""
    files = model(process(
        start(), user("decide"),
        user("each", multi_instance(sequential=False, collection="items", element="item")),
        script("after"), end(), flows("start>decide>each>after>end")))
    outcome = bpmn.run(files, [Complete("decide", {"items": ["x", "y"]}), Complete("each"),
                               Complete("each")])
    assert outcome.trace == ["start", "decide", "each[i]", "each[i]", "each", "after", "end"]
    assert outcome.status == "completed"


def test_wcp26_cancel_multiple_instance_activity(bpmn: Conformance) -> None:
    """WCP26 Cancel Multiple Instance Activity: "Within a given process instance, multiple
    instances of a task can be created ... At any time, the multiple instance task can be
    cancelled and any instances which have not completed are withdrawn." BPMN: an interrupting
    boundary event on the multi-instance activity (§13.5.3): the message withdraws the two
    open instances; the one done stays done."""
    files = model(process(
        start(), user("each", multi_instance(sequential=False, cardinality="3")),
        boundary("stop", "each", message("stop")), script("after"), script("stopped"),
        end(), end("stopped_end"), flows("start>each>after>end", "stop>stopped>stopped_end")),
        declarations=[declare("message", "stop")])
    outcome = bpmn.run(files, [Complete("each"), Send("stop")])
    assert outcome.trace == ["start", "each[i]", "stop", "stopped", "stopped_end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp27_complete_multiple_instance_activity(bpmn: Conformance) -> None:
    """WCP27 Complete Multiple Instance Activity: "... It is necessary to synchronize the
    instances at completion before any subsequent tasks can be triggered. During the course
    of execution, it is possible that the task needs to be forcibly completed such that any
    remaining instances are withdrawn and the thread of control is passed to subsequent
    tasks." BPMN: the activity's completionCondition (§10.3.7: "the remaining instances are
    cancelled" when it holds after an instance completes): the second answer says enough."""
    files = model(process(
        start(), user("each", multi_instance(sequential=False, cardinality="3",
                                             completion="enough")),
        script("after"), end(), flows("start>each>after>end")))
    outcome = bpmn.run(files, [Complete("each", {"enough": False}),
                               Complete("each", {"enough": True})])
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp34_static_partial_join_for_multiple_instances(bpmn: Conformance) -> None:
    """WCP34 Static Partial Join for Multiple Instances: "... Once n of the task instances
    have completed (where n is less than the total number of instances), the next task in the
    process is triggered. Subsequent completions of the remaining task instances are
    inconsequential" (the remaining instances still run). BPMN: behavior="Complex" with a
    complexBehaviorDefinition throwing an event once two instances are done (§10.3.7),
    caught by a non-interrupting boundary event on the activity, whose path is the next task."""
    characteristics = (
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false" behavior="Complex">'
        "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
        '<bpmn:complexBehaviorDefinition id="two_done"><bpmn:condition>'
        "numberOfCompletedInstances == 2</bpmn:condition>"
        '<bpmn:event id="two_done_event"><bpmn:signalEventDefinition signalRef="signal_two"/>'
        "</bpmn:event></bpmn:complexBehaviorDefinition>"
        "</bpmn:multiInstanceLoopCharacteristics>")
    files = model(process(
        start(), with_loop(user("each"), characteristics),
        boundary("two", "each", signal("two"), interrupting=False), script("next"),
        end("next_end"), end(), flows("start>each>end", "two>next>next_end")),
        declarations=[declare("signal", "two")])
    outcome = bpmn.run(files, [Complete("each"), Complete("each")])
    assert outcome.trace == ["start", "each[i]", "each[i]", "two", "next", "next_end"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["each"])


def test_wcp35_cancelling_partial_join_for_multiple_instances(bpmn: Conformance) -> None:
    """WCP35 Cancelling Partial Join for Multiple Instances: "... Once n of the task
    instances have completed, the next task in the process is triggered and the remaining
    instances are cancelled." BPMN: completionCondition over the instance attribute
    numberOfCompletedInstances (§10.3.7): two of three, then the third is withdrawn."""
    files = model(process(
        start(), user("each", multi_instance(
            sequential=False, cardinality="3", completion="numberOfCompletedInstances >= 2")),
        script("after"), end(), flows("start>each>after>end")))
    outcome = bpmn.run(files, [Complete("each"), Complete("each")])
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


# -- state-based patterns (WCP16-18, WCP40) ----------------------------------------------

def race() -> dict[str, str]:
    """An event-based gateway `race`: the message `reply` (then `read`) or, after two days,
    the timer `deadline` (then `chase`)."""
    return model(process(
        start(), gateway("eventBased", "race"), catch("reply", message("reply")),
        catch("deadline", timer('"P2D"')), script("read"), script("chase"), end(),
        end("chased"), flows("start>race", "race>reply>read>end",
                             "race>deadline>chase>chased")),
        declarations=[declare("message", "reply")])


def test_wcp16_deferred_choice(bpmn: Conformance) -> None:
    """WCP16 Deferred Choice: "A point in a process where one of several branches is chosen
    based on interaction with the operating environment. Prior to the decision, all branches
    represent possible future courses of execution. The decision is made by initiating the
    first task in one of the branches i.e. there is no explicit choice but rather a race
    between different branches." BPMN: the event-based gateway (§13.4.4): the message that
    came first is taken, the timer is withdrawn."""
    files = race()
    by_message = bpmn.run(files, [Send("reply")])
    assert by_message.trace == ["start", "reply", "read", "end"]
    assert (by_message.status, by_message.timers, by_message.waiting_for) == (
        "completed", [], [])


def test_wcp16_deferred_choice_by_time(bpmn: Conformance) -> None:
    """WCP16 (the other branch wins the race): the timer went off first (§13.4.4)."""
    files = race()
    by_time = bpmn.run(files, [Wait(days=2)])
    assert by_time.trace == ["start", "deadline", "chase", "chased"]
    assert (by_time.status, by_time.waiting_for) == ("completed", [])


def adhoc(node: str, *tasks: str, inside: str = "") -> str:
    """An ad-hoc subprocess of these user tasks, one at a time (ordering="Sequential"),
    complete once each has been done (each form answers `<task>_done: true`; `init` sets
    them false)."""
    done = " and ".join(f"{task}_done" for task in tasks)
    return (f'<bpmn:adHocSubProcess id="{node}" ordering="Sequential">'
            f'{"".join(user(task) for task in tasks)}{inside}'
            f"<bpmn:completionCondition>{done}</bpmn:completionCondition>"
            "</bpmn:adHocSubProcess>")


def interleaved(*, inside: str = "") -> dict[str, str]:
    return model(process(
        start(), script("init", "a_done = False\nb_done = False\nc_done = False"),
        adhoc("region", "a", "b", "c", inside=inside), script("after"), end(),
        flows("start>init>region>after>end")))


def test_wcp17_interleaved_parallel_routing(bpmn: Conformance) -> None:
    """WCP17 Interleaved Parallel Routing: "A set of tasks has a partial ordering defining
    the requirements with respect to the order in which they must be executed. Each task in
    the set must be executed once and they can be completed in any order that accords with
    the partial order. However, as an additional requirement, no two tasks can be executed at
    the same time." BPMN: an ad-hoc subprocess with ordering="Sequential" (§10.3.5; the
    partial order as sequence flows inside it, here `a` before `c`): each task once, any
    allowed order, one at a time."""
    files = interleaved(inside=flow("a", "c"))
    first = bpmn.run(files)
    assert (first.trace, first.open_tasks) == (["start", "init"], ["a", "b"])
    outcome = bpmn.run(files, [Complete("b", {"b_done": True}), Complete("a", {"a_done": True}),
                               Complete("c", {"c_done": True})])
    assert outcome.trace == ["start", "init", "b", "a", "c", "region", "after", "end"]
    assert outcome.status == "completed"


def test_wcp40_interleaved_routing(bpmn: Conformance) -> None:
    """WCP40 Interleaved Routing: "Each member of a set of tasks must be executed once. They
    can be executed in any order but no two tasks can be executed at the same time." BPMN:
    an ad-hoc subprocess with ordering="Sequential" and no flows inside (§10.3.5)."""
    outcome = bpmn.run(interleaved(), [Complete("c", {"c_done": True}),
                                       Complete("a", {"a_done": True}),
                                       Complete("b", {"b_done": True})])
    assert outcome.trace == ["start", "init", "c", "a", "b", "region", "after", "end"]
    assert outcome.status == "completed"


def milestone() -> dict[str, str]:
    """`prepare`, then the milestone: an event-based gateway where the signal `request`
    enables `serve`, until the milestone lapses after a day (`lapse`)."""
    return model(process(
        start(), user("prepare"), gateway("eventBased", "milestone"),
        catch("request", signal("request")), catch("lapse", timer('"P1D"')), user("serve"),
        end(), end("lapsed"),
        flows("start>prepare>milestone", "milestone>request>serve>end",
              "milestone>lapse>lapsed")),
        declarations=[declare("signal", "request")])


def test_wcp18_milestone(bpmn: Conformance) -> None:
    """WCP18 Milestone: "A task is only enabled when the process instance (of which it is
    part) is in a specific state (typically a parallel branch). The state is assumed to be a
    specific execution point (also known as a milestone) in the process model. When this
    execution point is reached the nominated task can be enabled. If the process instance has
    progressed beyond this state, then the task cannot be enabled now or at any future time."
    BPMN (no direct construct): the milestone as an event-based gateway (§13.4.4) between
    reaching the state and leaving it (here by a timer): a request during it enables `serve`."""
    outcome = bpmn.run(milestone(), [Complete("prepare"), Send("request", signal=True),
                                     Complete("serve")])
    assert outcome.trace == ["start", "prepare", "request", "serve", "end"]
    assert outcome.status == "completed"


def test_wcp18_milestone_passed(bpmn: Conformance) -> None:
    """WCP18: once the process has moved past the milestone, the task cannot be enabled: a
    request after the lapse finds nothing waiting and `serve` never runs."""
    outcome = bpmn.run(milestone(), [Complete("prepare"), Wait(days=1),
                                     Send("request", signal=True)])
    assert outcome.trace == ["start", "prepare", "lapse", "lapsed"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


# -- cancellation and force completion (WCP19-20, WCP25, WCP43) ------------------------------

def test_wcp19_cancel_task(bpmn: Conformance) -> None:
    """WCP19 Cancel Task: "An enabled task is withdrawn prior to it commencing execution. If
    the task has started, it is disabled and, where possible, the currently running instance
    is halted and removed." BPMN: an interrupting boundary event on the task (§13.5.3: the
    activity "is then cancelled")."""
    files = model(process(
        start(), user("work"), boundary("withdraw", "work", message("withdraw")),
        script("after"), end(), flows("start>work>after", "withdraw>after", "after>end")),
        declarations=[declare("message", "withdraw")])
    outcome = bpmn.run(files, [Send("withdraw")])
    assert outcome.trace == ["start", "withdraw", "after", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_wcp20_cancel_case(bpmn: Conformance) -> None:
    """WCP20 Cancel Case: "A complete process instance is removed. This includes currently
    executing tasks, those which may execute at some future time and all sub-processes. The
    process instance is recorded as having completed unsuccessfully." BPMN: a terminate end
    event (§13.5.6: "all activities in the Process are immediately ended") reached on a
    branch waiting for the cancellation: the work in progress never completes. BPMN has no
    "completed unsuccessfully": the terminated case reads completed."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("work"), user("more"),
        catch("cancel", message("cancel")), end(), end("cancelled", terminate()),
        flows("start>fork", "fork>work>more>end", "fork>cancel>cancelled")),
        declarations=[declare("message", "cancel")])
    outcome = bpmn.run(files, [Complete("work"), Send("cancel")])
    assert outcome.trace == ["start", "work", "cancel", "cancelled"]
    assert outcome.status == "completed"
    assert (outcome.open_tasks, outcome.waiting_for) == ([], [])


def test_wcp25_cancel_region(bpmn: Conformance) -> None:
    """WCP25 Cancel Region: "The ability to disable a set of tasks in a process instance. If
    any of the tasks are already executing (or are currently enabled), then they are
    withdrawn." BPMN: the region as a subprocess with an interrupting boundary event
    (§13.5.3): both tasks inside are withdrawn, the work outside goes on."""
    files = model(process(
        start(), gateway("parallel", "fork"),
        subprocess("region", start("region_start"), gateway("parallel", "inner_fork"),
                   user("a"), user("b"), gateway("parallel", "inner_join"), end("region_end"),
                   flows("region_start>inner_fork", "inner_fork>a>inner_join",
                         "inner_fork>b>inner_join", "inner_join>region_end")),
        boundary("stop", "region", message("stop")), user("outside"),
        gateway("parallel", "join"), end(), end("stopped"),
        flows("start>fork", "fork>region>join", "fork>outside>join", "join>end",
              "stop>stopped")),
        declarations=[declare("message", "stop")])
    outcome = bpmn.run(files, [Complete("a"), Send("stop")])
    assert outcome.trace == ["start", "region_start", "a", "stop", "stopped"]
    assert (outcome.status, outcome.open_tasks) == ("active", ["outside"])


def test_wcp43_explicit_termination(bpmn: Conformance) -> None:
    """WCP43 Explicit Termination: "A given process (or sub-process) instance should
    terminate when it reaches a nominated state. Typically this is denoted by a specific end
    node. When this end node is reached, any remaining work in the process instance is
    cancelled and the overall process instance is recorded as having completed
    successfully." BPMN: the terminate end event (§13.5.6)."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), end("done", terminate()),
        end(), flows("start>fork", "fork>a>done", "fork>b>end")))
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.trace == ["start", "a", "done"]
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_wcp11_implicit_termination(bpmn: Conformance) -> None:
    """WCP11 Implicit Termination: "A given process (or sub-process) instance should
    terminate when there are no remaining work items that are able to be done either now or
    at any time in the future." BPMN: several end events (§13.5.6: the process completes when
    every token has reached an end): one branch ending does not end the case."""
    files = model(process(
        start(), gateway("parallel", "fork"), user("a"), user("b"), end("a_end"),
        end("b_end"), flows("start>fork", "fork>a>a_end", "fork>b>b_end")))
    one = bpmn.run(files, [Complete("a")])
    assert (one.trace, one.status, one.open_tasks) == (["start", "a", "a_end"], "active",
                                                       ["b"])
    both = bpmn.run(files, [Complete("a"), Complete("b")])
    assert both.trace == ["start", "a", "a_end", "b", "b_end"]
    assert both.status == "completed"


# -- iteration (WCP10, WCP21-22) --------------------------------------------------------

def test_wcp10_arbitrary_cycles(bpmn: Conformance) -> None:
    """WCP10 Arbitrary Cycles: "The ability to represent cycles in a process model that have
    more than one entry or exit point." BPMN: sequence flows back to exclusive merges
    anywhere in the graph (§13.4.2, exclusive merge): here the inner cycle b->c re-enters at
    `m2` and the outer cycle a->b->c at `m1`, with two exits."""
    files = model(process(
        start(), script("init", "i = 0\nj = 0"), gateway("exclusive", "m1"),
        script("a", "i = i + 1"), gateway("exclusive", "m2"), script("b", "j = j + 1"),
        script("c"), gateway("exclusive", "x1", default="x1-x2"),
        gateway("exclusive", "x2", default="x2-done"), script("done"), end(),
        flows("start>init>m1>a>m2>b>c>x1", "done>end"),
        flow("x1", "m2", cond="j < 2"), flow("x1", "x2"),
        flow("x2", "m1", cond="i < 2"), flow("x2", "done")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "init", "a", "b", "c", "b", "c", "a", "b", "c", "done",
                             "end"]
    assert outcome.status == "completed"
    assert (outcome.data["i"], outcome.data["j"]) == (2, 3)


def test_wcp21_structured_loop_while(bpmn: Conformance) -> None:
    """WCP21 Structured Loop: "The ability to execute a task or sub-process repeatedly. The
    loop has a single entry and exit point." Pre-test (while) form. BPMN: an exclusive merge
    then a decision before the body (§13.4.2); with n = 0 the body runs twice, with the
    condition false at the start never."""
    files = model(process(
        start(), user("set"), gateway("exclusive", "test", default="test-out"),
        script("body", "n = n + 1"), script("out"), end(),
        flows("start>set>test", "body>test", "out>end"),
        flow("test", "body", cond="n < 2"), flow("test", "out")))
    twice = bpmn.run(files, [Complete("set", {"n": 0})])
    assert twice.trace == ["start", "set", "body", "body", "out", "end"]
    never = bpmn.run(files, [Complete("set", {"n": 5})])
    assert never.trace == ["start", "set", "out", "end"]


def test_wcp21_structured_loop_repeat(bpmn: Conformance) -> None:
    """WCP21 Structured Loop, post-test (repeat ... until) form. BPMN: a standard loop
    activity (§10.3.6, §13.3.6: testBefore false, the loopCondition checked after each
    iteration): the body runs until the answer says done."""
    looped = with_loop(user("body"), "<bpmn:standardLoopCharacteristics testBefore=\"false\">"
                       "<bpmn:loopCondition>not done</bpmn:loopCondition>"
                       "</bpmn:standardLoopCharacteristics>")
    files = model(process(start(), looped, script("after"), end(),
                          flows("start>body>after>end")))
    outcome = bpmn.run(files, [Complete("body", {"done": False}),
                               Complete("body", {"done": False}),
                               Complete("body", {"done": True})])
    assert outcome.trace == ["start", "body[i]", "body[i]", "body[i]", "body", "after", "end"]
    assert outcome.status == "completed"


def recursive(limit: str, *, decide: bool = True) -> dict[str, str]:
    """The pathway calls `recursive`, which counts its depth and calls itself while
    `depth < limit` (with decide=False: always)."""
    choose = [gateway("exclusive", "deeper", default="deeper-r_end"), end("r_end"),
              flow("deeper", "recurse", cond=f"depth < {limit}"), flow("deeper", "r_end"),
              flows("r_start>count>deeper")] if decide else [flows("r_start>count>recurse")]
    called = process(
        start("r_start"), script("count", "depth = depth + 1"), call("recurse", "recursive"),
        end("r_back"), flows("recurse>r_back"), *choose,
        process_id="recursive")
    return model(process(start(), script("init", "depth = 0"), call("top", "recursive"),
                         script("after"), end(), flows("start>init>top>after>end")), called)


def test_wcp22_recursion(bpmn: Conformance) -> None:
    """WCP22 Recursion: "The ability of a task to invoke itself during its execution or an
    ancestor in terms of the overall decomposition structure with which it is associated."
    BPMN: a call activity whose calledElement is a process that calls itself (§10.3.5,
    §13.3.4): `count` runs at depths 0, 1 and 2, then each level returns."""
    files = recursive("3")
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "init", "r_start", "count", "r_start", "count",
                             "r_start", "count", "r_end", "recurse", "r_back", "recurse",
                             "r_back", "top", "after", "end"]
    assert (outcome.status, outcome.data["depth"]) == ("completed", 3)


def test_wcp22_recursion_without_a_way_out_is_refused(bpmn: Conformance) -> None:
    """WCP22: a process that calls itself whatever the data never ends (each call starts
    another): publish refuses it, naming the call activity (rule recursive_call)."""
    refused = bpmn.refusal(recursive("3", decide=False))
    assert (refused.element, refused.details["rule"]) == ("recurse", "recursive_call")
    assert "recursive -> recursive" in refused.reason


def test_wcp22_recursion_inside_a_subprocess_without_a_way_out_is_refused(
        bpmn: Conformance) -> None:
    """WCP22: the call cycle reached whatever the data through an embedded subprocess (and
    a parallel split) is refused too, naming the call."""
    called = process(
        start("r_start"), subprocess("inner", start("i_start"), gateway("parallel", "fork"),
                                     call("recurse", "recursive"), script("beside"),
                                     end("i_end"), end("i_beside"),
                                     flows("i_start>fork", "fork>recurse>i_end",
                                           "fork>beside>i_beside")),
        end("r_end"), flows("r_start>inner>r_end"), process_id="recursive")
    files = model(process(start(), call("top", "recursive"), end(), flows("start>top>end")),
                  called)
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("recurse", "recursive_call")


def test_wcp22_mutual_recursion_ended_by_a_condition_runs(bpmn: Conformance) -> None:
    """WCP22 through another process (`ping` calls `pong`, which calls `ping` while
    depth < 2): one conditional call in the cycle is enough to let it end."""
    ping = process(start("p_start"), script("count", "depth = depth + 1"),
                   call("to_pong", "pong"), end("p_end"), flows("p_start>count>to_pong>p_end"),
                   process_id="ping")
    pong = process(start("q_start"), gateway("exclusive", "more", default="more-q_end"),
                   call("to_ping", "ping"), end("q_end"), end("q_back"),
                   flows("q_start>more", "to_ping>q_back"),
                   flow("more", "to_ping", cond="depth < 2"), flow("more", "q_end"),
                   process_id="pong")
    files = model(process(start(), script("init", "depth = 0"), call("top", "ping"), end(),
                          flows("start>init>top>end")), ping, pong)
    outcome = bpmn.run(files)
    assert outcome.counts()["count"] == 2
    assert (outcome.status, outcome.data["depth"]) == ("completed", 2)


def test_wcp22_recursion_whose_condition_never_ends_stops_in_error(bpmn: Conformance) -> None:
    """WCP22: a recursion a condition could end but never does (`depth < 1000`) stops the
    case in error when a 51st process would be nested (engine.workflow.recursion), an incident to
    look at, never a worker stuck starting processes."""
    outcome = bpmn.run(recursive("1000"))
    assert outcome.status == "error"
    assert outcome.trace.count("count") == 50  # the pathway's call, then 49 from inside
    assert "nested 51 deep (at most 50)" in str(outcome.error)


# -- trigger patterns (WCP23-24) --------------------------------------------------------

def triggered(kind: str) -> dict[str, str]:
    """`a`, then a catch of the signal or message `go`, then `b`."""
    definition = signal("go") if kind == "signal" else message("go")
    return model(process(start(), user("a"), catch("wait", definition), user("b"), end(),
                         flows("start>a>wait>b>end")),
                 declarations=[declare(kind, "go")])


def test_wcp23_transient_trigger(bpmn: Conformance) -> None:
    """WCP23 Transient Trigger: "The ability for a task instance to be triggered by a signal
    from another part of the process or from the external environment. These triggers are
    transient in nature and are lost if not acted on immediately by the receiving task."
    BPMN: a signal (§10.5.5: a broadcast to whoever waits for it then; nothing keeps it): the
    signal sent before the catch was reached is lost, and the case waits for the next one."""
    outcome = bpmn.run(triggered("signal"), [Send("go", signal=True), Complete("a")])
    assert outcome.trace == ["start", "a"]
    assert (outcome.status, outcome.waiting_for, outcome.open_tasks) == ("active", ["go"], [])
    later = bpmn.run(triggered("signal"), [Send("go", signal=True), Complete("a"),
                                           Send("go", signal=True), Complete("b")])
    assert later.trace == ["start", "a", "wait", "b", "end"]


def test_wcp24_persistent_trigger(bpmn: Conformance) -> None:
    """WCP24 Persistent Trigger: "The ability for a task to be triggered by a signal from
    another part of the process or from the external environment. These triggers are
    persistent in form and are retained by the process until they can be acted on by the
    receiving task." BPMN: a message (§10.5.2, §13.5.2; Pathways keeps a message for the
    client until something waits for it): sent before the catch is reached, it is caught as
    soon as it is."""
    outcome = bpmn.run(triggered("message"), [Send("go"), Complete("a"), Complete("b")])
    assert outcome.trace == ["start", "a", "wait", "b", "end"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


# -- cancel region, triggered from inside (WCP25) ------------------------------------------

def test_wcp25_cancel_region_by_an_escalation_inside(bpmn: Conformance) -> None:
    """WCP25 Cancel Region, triggered from inside the region: an escalation thrown in one
    branch caught by an interrupting boundary event on the subprocess (§13.5.3) withdraws the
    other branch's open task."""
    files = model(process(
        start(), subprocess("region", start("region_start"), gateway("parallel", "fork"),
                            user("a"), user("b"), throw("give_up", escalation("give_up")),
                            end("a_end"), end("b_end"),
                            flows("region_start>fork", "fork>a>give_up>a_end",
                                  "fork>b>b_end")),
        boundary("stop", "region", escalation("give_up")), script("after"), end(),
        end("stopped"), flows("start>region>after>end", "stop>stopped")),
        declarations=[declare("escalation", "give_up")])
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.trace == ["start", "region_start", "a", "give_up", "stop", "stopped"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])
