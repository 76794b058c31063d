"""betsy's BPMN conformance suite (Geiger et al., University of Bamberg: github.com/uniba-dsg/betsy),
run on Pathways.

betsy tests an engine with small models whose script tasks log `task1`, `task2`, ... and
asserts the log. Each test here has betsy's test name (`test_<group>_<name>`), a model of
our own written from betsy's description of the test (none of betsy's files or text is
copied), with script tasks named task1, task2, ... whose run is read from the trace instead
of a log file; betsy's input variable `test` ("a", "b", "ab", "c") is set by a first script
task `input` (betsy sets it when the case starts), a timer is a Wait, and each test asserts
the log betsy expects and the case's final state. Every test runs live and with a reload
from the database before every command (the `bpmn` fixture).

The tests are those of betsy's test configuration of its first BPMN study (the Groovy
`configuration/bpmn/*Processes.groovy`: 6 basics, 12 activities, 13 gateways, 36 events,
67 tests; the published results of Camunda 7.1, jBPM 6.0.1 and Activiti 5.16 count 70 of
that generation's tests).

RESULTS: see the summary at the end of this docstring (kept up to date with the tests).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence

import pytest

from tests.conformance.bpmn import (
    boundary,
    call,
    catch,
    declare,
    end,
    error,
    escalation,
    flow,
    flows,
    gateway,
    link,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    terminate,
    throw,
    timer,
)
from tests.conformance.harness import AnyOrder, Conformance, Outcome, Wait, in_any_order, matches

_LOGGED = re.compile(r"^(task\d|increment)(\[i\])?$")


def log(outcome: Outcome, looped: Collection[str] = ()) -> list[str]:
    """What betsy's log would hold: the runs of the tasks named task1, task2, ... (an
    instance `task1[i]` of a multi-instance or loop activity in `looped` is one run of
    task1; the activity's own completion after its instances is not a run)."""
    return [name.removesuffix("[i]") for name in outcome.trace
            if _LOGGED.match(name) and name not in looped]


def check(outcome: Outcome, expected: Sequence[str | AnyOrder], status: str = "completed",
          looped: Collection[str] = ()) -> None:
    assert matches(log(outcome, looped), expected), (log(outcome, looped), outcome.trace)
    assert outcome.status == status, (outcome.status, outcome.error)


def refused(bpmn: Conformance, files: dict[str, str], rule: str, element: str) -> None:
    """Publish refuses the model with `rule`, naming `element` (nothing is published)."""
    error = bpmn.refusal(files)
    assert (error.details.get("rule"), error.element) == (rule, element), str(error)


def tasks(*names: str) -> str:
    return "".join(script(name) for name in names)


def has(letter: str) -> str:
    """betsy's condition "the input contains <letter>"."""
    return f"'{letter}' in test"


def given(value: str) -> str:
    """The first script task: betsy's input variable."""
    return script("input", f"test = '{value}'")


INPUTS = pytest.mark.parametrize("value", ["a", "b", "ab", "c"])


def with_default(files_text: str, node: str, default: str) -> str:
    """Marks `default` as the default flow of the activity or gateway `node`."""
    return files_text.replace(f'id="{node}"', f'id="{node}" default="{default}"', 1)


def defaulted(files: dict[str, str], node: str, default: str) -> dict[str, str]:
    return {name: with_default(text, node, default) if name.endswith(".bpmn") else text
            for name, text in files.items()}


# -- basics (BPMN 2.0.2 §10.2 sequence flows, §9 collaborations, §10.8 lanes) ---------------

def test_basics_lanes(bpmn: Conformance) -> None:
    """Lanes: two lanes of one participant have no effect on the run (§10.8)."""
    lanes = ('<bpmn:laneSet id="lanes"><bpmn:lane id="first"><bpmn:flowNodeRef>task1'
             '</bpmn:flowNodeRef></bpmn:lane><bpmn:lane id="second"><bpmn:flowNodeRef>task2'
             "</bpmn:flowNodeRef><bpmn:flowNodeRef>task3</bpmn:flowNodeRef></bpmn:lane>"
             "</bpmn:laneSet>")
    files = model(process(lanes, start(), tasks("task1", "task2", "task3"), end(),
                          flows("start>task1>task2>task3>end")))
    check(bpmn.run(files), ["task1", "task2", "task3"])


def test_basics_participant(bpmn: Conformance) -> None:
    """Participant: a collaboration with one participant (§9.2) runs its process."""
    files = model('<bpmn:collaboration id="pools"><bpmn:participant id="us" '
                  'processRef="conformance"/></bpmn:collaboration>',
                  process(start(), tasks("task1"), end(), flows("start>task1>end")))
    check(bpmn.run(files), ["task1"])


def test_basics_sequence_flow(bpmn: Conformance) -> None:
    """SequenceFlow: a sequence flow leads from one activity to the next (§10.2)."""
    files = model(process(start(), tasks("task1"), end(), flows("start>task1>end")))
    check(bpmn.run(files), ["task1"])


def _fanning(value: str, *, default: bool, normal: bool) -> dict[str, str]:
    """`first` leads to task1 under a condition, to task2 (unconditional, or the default) and,
    with `normal`, to task3 unconditionally."""
    files = model(process(
        start(), given(value), script("first"), tasks("task1", "task2"), end("end1"),
        end("end2"), flows("start>input>first", "task1>end1", "task2>end2"),
        flow("first", "task1", cond=has("a")), flow("first", "task2"),
        *([tasks("task3"), end("end3"), flows("first>task3>end3")] if normal else [])))
    return defaulted(files, "first", "first-task2") if default else files


@pytest.mark.parametrize(("value", "expected"), [("a", ["task1", "task2"]), ("b", ["task2"])])
def test_basics_sequence_flow_conditional(bpmn: Conformance, value: str,
                                          expected: list[str]) -> None:
    """SequenceFlow_Conditional: a conditional flow leaving an activity is taken when its
    condition holds, an unconditional one always (§13.2.1)."""
    check(bpmn.run(_fanning(value, default=False, normal=False)), [in_any_order(*expected)])


@pytest.mark.parametrize(("value", "expected"), [("a", ["task1"]), ("b", ["task2"])])
def test_basics_sequence_flow_conditional_default(bpmn: Conformance, value: str,
                                                  expected: list[str]) -> None:
    """SequenceFlow_ConditionalDefault: the default flow of an activity is taken only when
    no condition holds (§10.2.1, default)."""
    check(bpmn.run(_fanning(value, default=True, normal=False)), expected)


def test_basics_sequence_flow_conditional_default_normal(bpmn: Conformance) -> None:
    """SequenceFlow_ConditionalDefault_Normal (betsy's one case, input b): a conditional, a
    default and an unconditional flow leave an activity; no condition holds, so the default
    and the unconditional flow are taken (§13.2.1)."""
    check(bpmn.run(_fanning("b", default=True, normal=True)),
          [in_any_order("task2", "task3")])


# -- gateways (§13.4) --------------------------------------------------------------------

def _gateways(value: str, split: str, merge: str, *, branches: int = 2, default: bool = False
              ) -> dict[str, str]:
    """A `split` gateway leads to task1 (input has a), task2 (has b), with `branches` 3 to
    task3 (has c), with `default` to the next task; a `merge` gateway then to the last."""
    conditional = [f"task{n}" for n in range(1, branches + 1)]
    last = f"task{branches + 1 + default}"
    nodes = [*conditional, *([f"task{branches + 1}"] if default else [])]
    files = model(process(
        start(), given(value), gateway(split, "split"), gateway(merge, "merge"),
        tasks(*nodes, last), end(),
        flows("start>input>split", f"merge>{last}>end", *(f"{node}>merge" for node in nodes)),
        *(flow("split", node, cond=None if split == "parallel" else has("abc"[index]))
          for index, node in enumerate(conditional)),
        *([flow("split", nodes[-1])] if default else [])))
    return defaulted(files, "split", f"split-{nodes[-1]}") if default else files


@INPUTS
def test_gateways_exclusive_gateway(bpmn: Conformance, value: str) -> None:
    """ExclusiveGateway: the first true condition is taken (ab: task1); none true and no
    default is an exception (§13.4.2): the case stops in error."""
    outcome = bpmn.run(_gateways(value, "exclusive", "exclusive"))
    expected = {"a": ["task1", "task3"], "b": ["task2", "task3"], "ab": ["task1", "task3"]}
    if value == "c":
        check(outcome, [], status="error")
    else:
        check(outcome, expected[value])


@INPUTS
def test_gateways_exclusive_gateway_default(bpmn: Conformance, value: str) -> None:
    """ExclusiveGateway_Default: with no true condition the default flow is taken."""
    outcome = bpmn.run(_gateways(value, "exclusive", "exclusive", default=True))
    first = {"a": "task1", "b": "task2", "ab": "task1", "c": "task3"}[value]
    check(outcome, [first, "task4"])


@pytest.mark.parametrize(("value", "expected"), [
    ("a", ["task2", "task4", "task5"]), ("b", ["task1", "task3", "task5"]),
    ("ab", ["task1", "task3", "task5"])])
def test_gateways_exclusive_gateway_mixed(bpmn: Conformance, value: str,
                                          expected: list[str]) -> None:
    """ExclusiveGatewayMixed: a gateway that merges two flows and splits in two (mixed,
    §10.6) routes each token by its conditions."""
    files = model(process(
        start(), given(value), gateway("exclusive", "split"), gateway("exclusive", "mixed"),
        gateway("exclusive", "merge"), tasks("task1", "task2", "task3", "task4", "task5"), end(),
        flows("start>input>split", "task1>mixed", "task2>mixed", "task3>merge",
              "task4>merge", "merge>task5>end"),
        flow("split", "task1", cond=has("b")), flow("split", "task2", cond=has("a")),
        flow("mixed", "task3", cond=has("b")), flow("mixed", "task4", cond=has("a"))))
    check(bpmn.run(files), expected)


@pytest.mark.parametrize("value", ["a", "b", "ab"])
def test_gateways_exclusive_diverging_inclusive_converging(bpmn: Conformance,
                                                           value: str) -> None:
    """ExclusiveDiverging_InclusiveConverging: an inclusive join after an exclusive split
    waits only for the one token that can come (§13.4.3)."""
    outcome = bpmn.run(_gateways(value, "exclusive", "inclusive"))
    check(outcome, ["task2" if value == "b" else "task1", "task3"])


@INPUTS
def test_gateways_inclusive_gateway(bpmn: Conformance, value: str) -> None:
    """InclusiveGateway: every flow whose condition holds is taken and joined (§13.4.3);
    none true and no default is an exception: the case stops in error."""
    outcome = bpmn.run(_gateways(value, "inclusive", "inclusive"))
    expected = {"a": ["task1"], "b": ["task2"], "ab": ["task1", "task2"]}
    if value == "c":
        check(outcome, [], status="error")
    else:
        check(outcome, [in_any_order(*expected[value]), "task3"])


@INPUTS
def test_gateways_inclusive_gateway_default(bpmn: Conformance, value: str) -> None:
    """InclusiveGateway_Default: the default flow is taken only when no condition holds."""
    outcome = bpmn.run(_gateways(value, "inclusive", "inclusive", default=True))
    expected = {"a": ["task1"], "b": ["task2"], "ab": ["task1", "task2"], "c": ["task3"]}
    check(outcome, [in_any_order(*expected[value]), "task4"])


@pytest.mark.parametrize("value", ["a", "b", "ab"])
def test_gateways_inclusive_diverging_exclusive_converging(bpmn: Conformance,
                                                           value: str) -> None:
    """InclusiveDiverging_ExclusiveConverging: an exclusive merge passes each token on, so
    the task after it runs once per branch taken (§13.4.2)."""
    outcome = bpmn.run(_gateways(value, "inclusive", "exclusive"))
    if value == "ab":
        assert sorted(log(outcome)) == ["task1", "task2", "task3", "task3"], outcome.trace
        assert outcome.status == "completed"
    else:
        check(outcome, ["task2" if value == "b" else "task1", "task3"])


def test_gateways_parallel_gateway(bpmn: Conformance) -> None:
    """ParallelGateway: a parallel split runs both tasks, its join waits for both."""
    check(bpmn.run(_gateways("", "parallel", "parallel")),
          [in_any_order("task1", "task2"), "task3"])


def test_gateways_parallel_diverging_exclusive_converging(bpmn: Conformance) -> None:
    """ParallelDiverging_ExclusiveConverging: after an exclusive merge of two parallel
    branches, the next task runs twice (§13.4.2)."""
    outcome = bpmn.run(_gateways("", "parallel", "exclusive"))
    assert sorted(log(outcome)) == ["task1", "task2", "task3", "task3"], outcome.trace
    assert outcome.status == "completed"


def test_gateways_parallel_diverging_inclusive_converging(bpmn: Conformance) -> None:
    """ParallelDiverging_InclusiveConverging: an inclusive join waits for both parallel
    branches, then the next task runs once."""
    check(bpmn.run(_gateways("", "parallel", "inclusive")),
          [in_any_order("task1", "task2"), "task3"])


@pytest.mark.parametrize(("value", "expected"), [
    ("a", ["task1"]), ("b", ["task2"]), ("c", ["task3"]), ("ab", ["task1", "task2"])])
def test_gateways_complex_gateway(bpmn: Conformance, value: str, expected: list[str]) -> None:
    """ComplexGateway: a complex split takes its true conditions; a complex join with the
    activationCondition `activationCount >= 1` fires once on the first token and absorbs
    the others (§13.4.5): task4 runs once."""
    files = _gateways(value, "complex", "complex", branches=3)
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        '<bpmn:complexGateway id="merge"/>',
        '<bpmn:complexGateway id="merge"><bpmn:activationCondition>_activationCount &gt;= 1'
        "</bpmn:activationCondition></bpmn:complexGateway>")
    check(bpmn.run(files), [in_any_order(*expected), "task4"])


def test_gateways_event_based_gateway_signals(bpmn: Conformance) -> None:
    """EventBasedGateway_Signals: beside an event-based gateway waiting for two signals,
    a parallel branch throws one of them: the gateway takes that event's path (§13.4.4)."""
    files = model(process(
        start(), gateway("parallel", "fork"), gateway("eventBased", "events"),
        catch("on_go", signal("go")), catch("on_never", signal("never")),
        tasks("task1", "task2", "task3", "task4"), throw("send_go", signal("go")),
        gateway("exclusive", "either"), gateway("parallel", "join"), end(),
        flows("start>fork>events", "events>on_go>task2>either", "events>on_never>task3>either",
              "either>join", "fork>task1>send_go>join", "join>task4>end")),
        declarations=[declare("signal", "go", "never")])
    check(bpmn.run(files), ["task1", "task2", "task4"])


def test_gateways_event_based_gateway_timer(bpmn: Conformance) -> None:
    """EventBasedGateway_Timer: a signal never thrown and a timer follow an event-based
    gateway: only the timer's path runs."""
    files = model(process(
        start(), gateway("eventBased", "events"), catch("on_never", signal("never")),
        catch("later", timer('"PT1H"')), tasks("task1", "task2"), end("end1"), end(),
        flows("start>events", "events>on_never>task1>end1", "events>later>task2>end")),
        declarations=[declare("signal", "never")])
    check(bpmn.run(files, [Wait(hours=1)]), ["task2"])


# -- activities (§10.3) --------------------------------------------------------------------

def test_activities_call_activity_process(bpmn: Conformance) -> None:
    """CallActivity_Process: a call activity runs another process of the collaboration, then
    the flow after it goes on (§10.3.6)."""
    files = model(
        process(start(), call("calling", "called"), tasks("task2"), end(),
                flows("start>calling>task2>end")),
        process(start("called_start"), tasks("task1"), end("called_end"),
                flows("called_start>task1>called_end"), process_id="called"))
    check(bpmn.run(files), ["task1", "task2"])


def test_activities_call_activity_global_task(bpmn: Conformance) -> None:
    """CallActivity_GlobalTask: a call activity calling a globalScriptTask of the
    definitions (§10.3.6, §10.2.7 global tasks). REFUSED: Pathways calls processes only; a
    global task is not one, so publish refuses the call (`unknown_called_process`)."""
    files = model('<bpmn:globalScriptTask id="global_task2"><bpmn:script>pass</bpmn:script>'
                  "</bpmn:globalScriptTask>",
                  process(start(), tasks("task1"), call("task2", "global_task2"), end(),
                          flows("start>task1>task2>end")))
    refused(bpmn, files, "unknown_called_process", "task2")


def _three(sequential: bool, behavior: str = "", extra: str = "") -> str:
    kind = f' behavior="{behavior}"' if behavior else ""
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"'
            f"{kind}{extra}><bpmn:loopCardinality>3</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics>")


@pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])
def test_activities_multi_instance_task(bpmn: Conformance, sequential: bool) -> None:
    """MultiInstanceTask_Sequential and MultiInstanceTask_Parallel (one test each in betsy,
    the two parameters here): a script task with loopCardinality 3 runs three times, then
    the flow goes on (§10.3.7)."""
    files = model(process(start(), script("task1", inside=_three(sequential)), tasks("task2"),
                          end(), flows("start>task1>task2>end")))
    check(bpmn.run(files), ["task1", "task1", "task1", "task2"], looped={"task1"})


def _behaving(behavior: str, extra: str) -> dict[str, str]:
    """task1 (three sequential instances) throws the signal `done` as its behaviour says; a
    non-interrupting signal boundary event on it leads to task3."""
    return model(process(
        start(), script("task1", inside=_three(True, behavior, extra)), tasks("task2", "task3"),
        end(), end("heard_end"), boundary("heard", "task1", signal("done"), interrupting=False),
        flows("start>task1>task2>end", "heard>task3>heard_end")),
        declarations=[declare("signal", "done"),
                      '<bpmn:signalEventDefinition id="throw_done" signalRef="signal_done"/>'])


def each_after_its_instance(outcome: Outcome, throws: int) -> None:
    """betsy's log task1 task3 task1 task3 ... task2, less the order of concurrent paths:
    task3 (the boundary event's path) runs `throws` times, the n-th after the n-th task1;
    task2 after the third task1. (The boundary path runs beside the next instance, so BPMN
    leaves their order open: Pathways runs it once the step's instances have run.)"""
    runs = log(outcome, looped={"task1"})
    assert Counter(runs) == Counter(task1=3, task3=throws, task2=1), outcome.trace
    firsts = [index for index, name in enumerate(runs) if name == "task1"]
    thirds = [index for index, name in enumerate(runs) if name == "task3"]
    assert all(third > first for first, third in zip(firsts, thirds, strict=False)), runs
    assert runs.index("task2") > firsts[-1]
    assert outcome.status == "completed"


def test_activities_multi_instance_task_none_behavior(bpmn: Conformance) -> None:
    """MultiInstanceTask_NoneBehavior: behavior None throws the noneBehaviorEventRef's event
    as each instance completes (§10.3.7): task3 after each task1."""
    outcome = bpmn.run(_behaving("None", ' noneBehaviorEventRef="throw_done"'))
    each_after_its_instance(outcome, throws=3)


def test_activities_multi_instance_task_one_behavior(bpmn: Conformance) -> None:
    """MultiInstanceTask_OneBehavior: behavior One throws the oneBehaviorEventRef's event
    once, as the first instance completes (§10.3.7)."""
    outcome = bpmn.run(_behaving("One", ' oneBehaviorEventRef="throw_done"'))
    each_after_its_instance(outcome, throws=1)


def test_activities_multi_instance_task_all_behavior(bpmn: Conformance) -> None:
    """MultiInstanceTask_AllBehavior: behavior All throws nothing (§10.3.7)."""
    check(bpmn.run(_behaving("All", "")), ["task1", "task1", "task1", "task2"],
          looped={"task1"})


def _loop(condition: str, attributes: str) -> dict[str, str]:
    characteristics = (f"<bpmn:standardLoopCharacteristics{attributes}><bpmn:loopCondition>"
                       f"{condition}</bpmn:loopCondition></bpmn:standardLoopCharacteristics>")
    return model(process(start(), script("task1", inside=characteristics), tasks("task2"),
                         end(), flows("start>task1>task2>end")))


def test_activities_loop_task_loop_maximum(bpmn: Conformance) -> None:
    """LoopTask_LoopMaximum: a loop whose condition is always true stops at loopMaximum 3
    (§10.3.8)."""
    check(bpmn.run(_loop("True", ' loopMaximum="3"')), ["task1", "task1", "task1", "task2"],
          looped={"task1"})


def test_activities_loop_task_no_iteration_test_before_false(bpmn: Conformance) -> None:
    """LoopTask_NoIteration_TestBeforeFalse: with testBefore false the condition is checked
    after each run, so the task runs once though it is false (§10.3.8)."""
    check(bpmn.run(_loop("False", ' testBefore="false"')), ["task1", "task2"],
          looped={"task1"})


def test_activities_loop_task_no_iteration_test_before_true(bpmn: Conformance) -> None:
    """LoopTask_NoIteration_TestBeforeTrue: with testBefore true a false condition means the
    task never runs (§10.3.8)."""
    check(bpmn.run(_loop("False", ' testBefore="true"')), ["task2"], looped={"task1"})


@pytest.mark.parametrize("kind", ["subProcess", "transaction"])
def test_activities_sub_process_and_transaction(bpmn: Conformance, kind: str) -> None:
    """SubProcess and Transaction (one test each in betsy, the two parameters here): an
    embedded subprocess (§10.3.5), or a transaction, runs its inner flow, then the flow
    after it goes on."""
    text = process(start(), subprocess("block", start("inner_start"), tasks("task1"),
                                       end("inner_end"), flows("inner_start>task1>inner_end")),
                   tasks("task2"), end(), flows("start>block>task2>end"))
    text = text.replace("<bpmn:subProcess ", f"<bpmn:{kind} ").replace(
        "</bpmn:subProcess>", f"</bpmn:{kind}>")
    check(bpmn.run(model(text)), ["task1", "task2"])
