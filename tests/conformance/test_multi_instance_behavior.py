"""Multi-instance behaviour (BPMN 2.0.2 §10.3.7, Tables 10.27 and 10.28; §13.3.7): the
events a multi-instance activity throws as its instances complete, and the instance
attributes (Table 10.30: loopCounter; numberOfInstances, numberOfActiveInstances,
numberOfCompletedInstances).

Each case runs a multi-instance user task `review` of three instances, completed one by one,
so the trace shows after which completion the event was thrown: the event's catcher runs
`heard` right after it."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import (
    boundary,
    catch,
    declare,
    end,
    escalation,
    flows,
    gateway,
    model,
    process,
    script,
    signal,
    start,
    subprocess,
    user,
)
from tests.conformance.harness import Complete, Conformance, in_any_order, matches

THREE = [Complete("review", {"answer": n}) for n in (1, 2, 3)]
DONE_SIGNAL = '<bpmn:signalEventDefinition id="throw_done" signalRef="signal_done"/>'
DONE_ESCALATION = ('<bpmn:escalationEventDefinition id="throw_done"'
                   ' escalationRef="escalation_done"/>')


def characteristics(sequential: bool, behavior: str, extra: str = "", inside: str = "",
                    cardinality: str = "3") -> str:
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}"'
            f' behavior="{behavior}"{extra}>'
            f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>{inside}"
            "</bpmn:multiInstanceLoopCharacteristics>")


def with_boundary(sequential: bool, behavior: str, extra: str = "",
                  inside: str = "") -> dict[str, str]:
    """`review` (three instances) with a non-interrupting escalation boundary event `told`:
    each escalation the activity throws runs `heard` once."""
    return model(process(
        start(), user("review", characteristics(sequential, behavior, extra, inside)), end(),
        boundary("told", "review", escalation("done"), interrupting=False),
        script("heard"), end("heard_end"),
        flows("start>review>end", "told>heard>heard_end")),
        declarations=[declare("escalation", "done"), DONE_ESCALATION])


def with_signal_catch(sequential: bool, behavior: str, extra: str = "",
                      inside: str = "") -> dict[str, str]:
    """`review` (three instances) beside an intermediate catch of the signal `done`: the
    first signal the activity throws lets `heard` run (a catch event catches once)."""
    return model(process(
        start(), gateway("parallel", "split"), gateway("parallel", "join"),
        user("review", characteristics(sequential, behavior, extra, inside)),
        catch("wait_done", signal("done")), script("heard"), end(),
        flows("start>split>review>join>end", "split>wait_done>heard>join")),
        declarations=[declare("signal", "done"), DONE_SIGNAL])


BOTH = pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])


def with_event_subprocess(sequential: bool, behavior: str, extra: str = "",
                          inside: str = "") -> dict[str, str]:
    """`review` (three instances) in a process with a non-interrupting event subprocess
    started by the signal `done`: each signal the activity throws runs `heard` once."""
    return model(process(
        start(), user("review", characteristics(sequential, behavior, extra, inside)), end(),
        flows("start>review>end"),
        subprocess("on_done", start("done_start", signal("done"), isInterrupting="false"),
                   script("heard"), end("heard_end"), flows("done_start>heard>heard_end"),
                   event_triggered=True)),
        declarations=[declare("signal", "done"), DONE_SIGNAL])


@BOTH
def test_behavior_none_throws_as_each_instance_completes(bpmn: Conformance,
                                                         sequential: bool) -> None:
    """§10.3.7: None: "the EventDefinition which is associated through the
    noneBehaviorEventRef will be thrown for each instance completing": three signals, each
    starting the non-interrupting event subprocess as its instance completes."""
    heard = ["done_start", "heard", "heard_end", "on_done"]
    outcome = bpmn.run(with_event_subprocess(sequential, "None",
                                             ' noneBehaviorEventRef="throw_done"'), THREE)
    assert matches(outcome.trace, [
        "start", "review[i]", *heard, "review[i]", *heard, "review[i]", *heard[:3],
        in_any_order("on_done", "review"), "end"])  # the last two complete together
    assert outcome.status == "completed"


@BOTH
def test_behavior_one_throws_when_the_first_instance_completes(bpmn: Conformance,
                                                               sequential: bool) -> None:
    """§10.3.7: One: "the EventDefinition referenced through the oneBehaviorEventRef will be
    thrown upon the first instance completing", and only then."""
    outcome = bpmn.run(with_boundary(sequential, "One", ' oneBehaviorEventRef="throw_done"'),
                       THREE)
    assert outcome.trace == ["start", "review[i]", "told", "heard", "heard_end",
                             "review[i]", "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_behavior_all_throws_nothing(bpmn: Conformance, sequential: bool) -> None:
    """§10.3.7: All: "no Event is ever thrown; a token is produced after completion of all
    instances"."""
    outcome = bpmn.run(with_boundary(sequential, "All"), THREE)
    assert outcome.trace == ["start", "review[i]", "review[i]", "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_behavior_complex_throws_when_its_condition_holds(bpmn: Conformance,
                                                          sequential: bool) -> None:
    """§10.3.7: Complex: "the complexBehaviorDefinitions are consulted to determine if and
    which Events to throw"; Table 10.28: the event "will be thrown when the condition is
    true". The condition reads the activity's numberOfCompletedInstances: the signal is
    thrown as the second instance completes, and only then (the event subprocess it starts
    runs once)."""
    complex_definition = (
        '<bpmn:complexBehaviorDefinition id="second_done">'
        "<bpmn:condition>numberOfCompletedInstances == 2</bpmn:condition>"
        '<bpmn:event id="second_done_event"><bpmn:signalEventDefinition'
        ' signalRef="signal_done"/></bpmn:event></bpmn:complexBehaviorDefinition>')
    outcome = bpmn.run(with_event_subprocess(sequential, "Complex", inside=complex_definition),
                       THREE)
    assert outcome.trace == ["start", "review[i]", "review[i]", "done_start", "heard",
                             "heard_end", "on_done", "review[i]", "review", "end"]
    assert outcome.status == "completed"


def test_a_complex_event_may_name_a_shared_definition(bpmn: Conformance) -> None:
    """§10.5.1: the implicit throw event's trigger may be an eventDefinitionRef to a
    definition declared at the top: thrown as if written inside it."""
    complex_definition = (
        '<bpmn:complexBehaviorDefinition id="first_done">'
        "<bpmn:condition>loopCounter == 1</bpmn:condition>"
        '<bpmn:event id="first_done_event"><bpmn:eventDefinitionRef>throw_done'
        "</bpmn:eventDefinitionRef></bpmn:event></bpmn:complexBehaviorDefinition>")
    outcome = bpmn.run(with_event_subprocess(True, "Complex", inside=complex_definition),
                       THREE)
    assert outcome.trace == ["start", "review[i]", "done_start", "heard", "heard_end",
                             "on_done", "review[i]", "review[i]", "review", "end"]


def test_a_complex_escalation_is_caught_by_an_interrupting_boundary_event(
        bpmn: Conformance) -> None:
    """Complex with an escalation caught by an interrupting boundary event on the activity
    (§13.5.3, cancelActivity true): thrown as the first instance whose answer is "stop"
    completes, it ends the activity there (the other instances are cancelled) and the
    boundary's path runs."""
    complex_definition = (
        '<bpmn:complexBehaviorDefinition id="stopped">'
        "<bpmn:condition>answer == 'stop'</bpmn:condition>"
        '<bpmn:event id="stopped_event"><bpmn:escalationEventDefinition'
        ' escalationRef="escalation_done"/></bpmn:event></bpmn:complexBehaviorDefinition>')
    files = with_boundary(True, "Complex", inside=complex_definition)
    files = {name: text.replace('cancelActivity="false"', 'cancelActivity="true"')
             for name, text in files.items()}
    outcome = bpmn.run(files, [Complete("review", {"answer": "go"}),
                               Complete("review", {"answer": "stop"})])
    assert outcome.trace == ["start", "review[i]", "review[i]", "told", "heard", "heard_end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


@BOTH
def test_a_thrown_signal_is_caught_elsewhere_in_the_process(bpmn: Conformance,
                                                            sequential: bool) -> None:
    """§10.3.7 with a signal: the signal thrown as the first instance completes reaches the
    intermediate catch event waiting beside the activity, which lets `heard` run."""
    outcome = bpmn.run(with_signal_catch(sequential, "One",
                                         ' oneBehaviorEventRef="throw_done"'), THREE[:1])
    assert outcome.trace == ["start", "review[i]", "wait_done", "heard"]
    assert outcome.open_tasks == ["review", "review"] if not sequential else ["review"]
    outcome = bpmn.run(with_signal_catch(sequential, "One",
                                         ' oneBehaviorEventRef="throw_done"'), THREE)
    assert outcome.trace == ["start", "review[i]", "wait_done", "heard", "review[i]",
                             "review[i]", "review", "end"]
    assert outcome.status == "completed"


# -- loopCounter and the activity's instance attributes (Table 10.30) ----------------------

def counting(sequential: bool, *, cardinality: str = "3", completion: str | None = None,
             output: bool = True) -> str:
    """Loop characteristics of `cardinality` instances; each instance's `mine` collected
    into `results`."""
    inner = f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>"
    if output:
        inner += ("<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>"
                  '<bpmn:outputDataItem id="mine" name="mine"/>')
    if completion is not None:
        inner += f"<bpmn:completionCondition>{completion}</bpmn:completionCondition>"
    return (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
            f"{inner}</bpmn:multiInstanceLoopCharacteristics>")


@BOTH
def test_a_script_instance_reads_its_loop_counter(bpmn: Conformance, sequential: bool) -> None:
    """Table 10.30: loopCounter "contains the sequence number of the generated instance,
    i.e., if this attribute of some instance has value i, the instance is the i-th instance
    that was generated": 1, 2, 3. It is the instance's, not the case's: the case data after
    the activity holds no loopCounter."""
    outcome = bpmn.run(model(process(
        start(), script("each", "mine = loopCounter * 10", inside=counting(sequential)),
        end(), flows("start>each>end"))))
    assert outcome.trace == ["start", "each[i]", "each[i]", "each[i]", "each", "end"]
    assert (outcome.status, outcome.data["results"]) == ("completed", [10, 20, 30])
    assert "loopCounter" not in outcome.data


@BOTH
def test_a_subprocess_instance_decides_on_its_loop_counter_across_reloads(
        bpmn: Conformance, sequential: bool) -> None:
    """Table 10.30 loopCounter, read by a gateway's condition inside each instance of a
    multi-instance subprocess, after the instance's user task was completed (with a reload
    before each command in the reload variant): the first instance takes `first`, the
    others `other`, and each instance's script records its number."""
    body = subprocess(
        "each", counting(sequential), start("each_start"), user("ask"),
        gateway("exclusive", "which", default="which-other"),
        script("first", "mine = loopCounter"), script("other", "mine = loopCounter + 100"),
        gateway("exclusive", "merge"), end("each_end"),
        flows("each_start>ask>which", "first>merge", "other>merge>each_end"),
        '<bpmn:sequenceFlow id="which-first" sourceRef="which" targetRef="first">'
        "<bpmn:conditionExpression>loopCounter == 1</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>",
        '<bpmn:sequenceFlow id="which-other" sourceRef="which" targetRef="other"/>')
    outcome = bpmn.run(model(process(start(), body, end(), flows("start>each>end"))),
                       [Complete("ask", {"n": n}) for n in (1, 2, 3)])
    assert outcome.counts()["first"] == 1 and outcome.counts()["other"] == 2
    assert outcome.counts()["each[i]"] == 3 and outcome.trace[-2:] == ["each", "end"]
    assert (outcome.status, outcome.data["results"]) == ("completed", [1, 102, 103])


def completing_on_the_second(sequential: bool) -> dict[str, str]:
    """Script instances of `each` (three), recording their loopCounter in `results`; the
    completionCondition holds once the second has completed."""
    return model(process(
        start(), script("each", "mine = loopCounter",
                        inside=counting(sequential, completion="loopCounter == 2")),
        end(), flows("start>each>end")))


def test_the_completion_condition_reads_the_loop_counter(bpmn: Conformance) -> None:
    """§13.3.7: the completionCondition is evaluated as each instance completes; here it
    reads that instance's loopCounter: once the second instance completes the activity
    completes (a sequential one never creates the third)."""
    outcome = bpmn.run(completing_on_the_second(True))
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "end"]
    assert (outcome.status, outcome.data["results"]) == ("completed", [1, 2])


def test_a_parallel_completion_condition_drops_the_cancelled_instances(
        bpmn: Conformance) -> None:
    """The same in parallel: the third instance is cancelled as the second completes
    (§13.3.7), and its output is not collected."""
    outcome = bpmn.run(completing_on_the_second(False))
    assert (outcome.status, outcome.data["results"]) == ("completed", [1, 2])


def test_a_cancelled_parallel_script_instance_does_not_run(bpmn: Conformance) -> None:
    """§13.3.7: the instances still running when the completionCondition holds are
    cancelled: the third never runs (SpiffWorkflow 3.2's do_engine_steps ran every task
    that was READY when its round began, so it ran once, its result dropped)."""
    outcome = bpmn.run(completing_on_the_second(False))
    assert outcome.trace == ["start", "each[i]", "each[i]", "each", "end"]


def test_a_user_task_instance_completes_a_sequential_activity_on_its_loop_counter(
        bpmn: Conformance) -> None:
    """The same with user task instances completed one by one (a reload before each
    command in the reload variant): the second completion ends the activity."""
    outcome = bpmn.run(model(process(
        start(), user("review", counting(True, completion="loopCounter == 2", output=False)),
        end(), flows("start>review>end"))), [Complete("review"), Complete("review")])
    assert outcome.trace == ["start", "review[i]", "review[i]", "review", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_the_completion_condition_reads_the_activity_counts(bpmn: Conformance) -> None:
    """Table 10.30: numberOfCompletedInstances and numberOfActiveInstances, read by the
    completionCondition of a parallel activity of four instances: it completes once two
    have completed while two are still active (those are cancelled)."""
    outcome = bpmn.run(model(process(
        start(), user("review", counting(
            False, cardinality="4", output=False,
            completion="numberOfCompletedInstances == 2 and numberOfActiveInstances == 2"
                       " and numberOfInstances == 4")),
        end(), flows("start>review>end"))),
        [Complete("review", nth=2), Complete("review", nth=0)])
    assert outcome.trace == ["start", "review[i]", "review[i]", "review", "end"]
    assert (outcome.status, outcome.open_tasks) == ("completed", [])


def test_output_items_are_collected_in_instance_order_whatever_the_completion_order(
        bpmn: Conformance) -> None:
    """§10.3.7: outputDataItem "represents for every Activity instance the single item of
    the collection stored in the loopDataOutputRef": the i-th item of `results` is the
    i-th instance's, even when the instances (a subprocess over `letters`, each waiting for
    a user task) complete last first. SpiffWorkflow appended them in completion order."""
    inside = ('<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
              "<bpmn:loopDataInputRef>letters</bpmn:loopDataInputRef>"
              "<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>"
              '<bpmn:inputDataItem id="letter" name="letter"/>'
              '<bpmn:outputDataItem id="upper" name="upper"/>'
              "</bpmn:multiInstanceLoopCharacteristics>")
    body = subprocess("each", inside, start("each_start"), user("ask"),
                      script("shout", "upper = letter.upper() + str(loopCounter)"),
                      end("each_end"), flows("each_start>ask>shout>each_end"))
    outcome = bpmn.run(model(process(
        start(), script("setup", "letters = ['a', 'b', 'c']"), body, end(),
        flows("start>setup>each>end"))),
        [Complete("ask", nth=2), Complete("ask", nth=1), Complete("ask", nth=0)])
    assert outcome.counts()["each[i]"] == 3 and outcome.trace[-2:] == ["each", "end"]
    assert (outcome.status, outcome.data["results"]) == ("completed", ["A1", "B2", "C3"])
    assert "loopCounter" not in outcome.data


# -- malformed behaviours, refused at publish ----------------------------------------------

def test_a_behavior_event_ref_naming_no_event_definition_is_refused(bpmn: Conformance) -> None:
    """§10.3.7: noneBehaviorEventRef names "the EventDefinition" to throw; one naming
    nothing (or a signal, not its definition) would throw nothing."""
    for ref in ("nowhere", "signal_done"):
        refused = bpmn.refusal(with_signal_catch(
            False, "None", f' noneBehaviorEventRef="{ref}"'))
        assert (refused.element, refused.details["rule"]) == ("review",
                                                              "multi_instance_behavior")
        assert "'review'" in refused.reason and "names no event definition" in refused.reason


def test_a_behavior_event_an_activity_cannot_throw_is_refused(bpmn: Conformance) -> None:
    """An activity instance completing throws no timer (nor error, link, terminate...):
    a oneBehaviorEventRef naming a timer definition is refused, naming the activity."""
    files = with_signal_catch(False, "One", ' oneBehaviorEventRef="a_timer"')
    files = {name: text.replace(DONE_SIGNAL, DONE_SIGNAL + '<bpmn:timerEventDefinition'
                                ' id="a_timer"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'
                                "</bpmn:timerEventDefinition>")
             for name, text in files.items()}
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("review", "multi_instance_behavior")
    assert "timerEventDefinition" in refused.reason


def test_a_complex_behavior_definition_without_condition_is_refused(bpmn: Conformance) -> None:
    """Table 10.28: a complexBehaviorDefinition's condition is required (the BPMN schema
    says so too): without it, publish refuses the model naming the activity's definition."""
    refused = bpmn.refusal(with_boundary(
        False, "Complex", inside='<bpmn:complexBehaviorDefinition id="when">'
        '<bpmn:event id="when_event"><bpmn:escalationEventDefinition'
        ' escalationRef="escalation_done"/></bpmn:event></bpmn:complexBehaviorDefinition>'))
    assert refused.element == "when_event"  # the schema expects the condition there
    assert "bpmn:condition" in refused.reason and refused.line is not None


def test_a_behavior_event_its_behavior_ignores_is_refused(bpmn: Conformance) -> None:
    """§10.3.7: noneBehaviorEventRef counts only with behavior None, a
    complexBehaviorDefinition only with Complex: with another behaviour BPMN throws
    nothing, which cannot be what the modeller meant."""
    refused = bpmn.refusal(with_boundary(False, "One", ' noneBehaviorEventRef="throw_done"'))
    assert (refused.element, refused.details["rule"]) == ("review", "multi_instance_behavior")
    refused = bpmn.refusal(with_boundary(
        False, "All", inside='<bpmn:complexBehaviorDefinition id="when">'
        "<bpmn:condition>True</bpmn:condition></bpmn:complexBehaviorDefinition>"))
    assert refused.details["rule"] == "multi_instance_behavior"
    assert "behavior='All'" in refused.reason


@BOTH
def test_a_non_interrupting_boundary_event_catches_each_escalation(
        bpmn: Conformance, sequential: bool) -> None:
    """§10.3.7 (None: thrown for each instance completing) with an escalation caught by a
    non-interrupting boundary event on the activity, which stays armed while the activity
    runs (§13.5.3): `heard` runs once per instance, and the activity goes on to its end."""
    outcome = bpmn.run(with_boundary(sequential, "None", ' noneBehaviorEventRef="throw_done"'),
                       THREE)
    assert outcome.counts()["heard"] == 3
    assert outcome.counts()["review"] == 1
    assert outcome.status == "completed"


def test_an_escalation_no_boundary_event_catches_is_refused(bpmn: Conformance) -> None:
    """An escalation thrown as instances complete with no boundary event on the activity to
    catch it would go uncaught, silently; refused, naming the activity."""
    files = model(process(
        start(), user("review", characteristics(False, "One",
                                                ' oneBehaviorEventRef="throw_done"')),
        end(), flows("start>review>end")),
        declarations=[declare("escalation", "done"), DONE_ESCALATION])
    refused = bpmn.refusal(files)
    assert (refused.element, refused.details["rule"]) == ("review", "multi_instance_behavior")
    assert "boundary event" in refused.reason


def test_a_thrown_message_is_caught_elsewhere_in_the_process(bpmn: Conformance) -> None:
    """§10.3.7 with a message definition: the message thrown as the first instance
    completes reaches the intermediate message catch event waiting beside the activity."""
    files = with_signal_catch(False, "One", ' oneBehaviorEventRef="throw_news"')
    files = {name: text.replace(DONE_SIGNAL, DONE_SIGNAL + '<bpmn:messageEventDefinition'
                                ' id="throw_news" messageRef="message_news"/>'
                                + declare("message", "news"))
             .replace('<bpmn:signalEventDefinition signalRef="signal_done"/>',
                      '<bpmn:messageEventDefinition messageRef="message_news"/>')
             for name, text in files.items()}
    outcome = bpmn.run(files, THREE)
    assert outcome.trace == ["start", "review[i]", "wait_done", "heard", "review[i]",
                             "review[i]", "review", "end"]
    assert (outcome.status, outcome.waiting_for) == ("completed", [])


def test_the_boundary_event_catches_the_escalation_not_an_event_subprocess(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.6 (escalation): the innermost handler catches: the boundary event
    on the activity, not also the process's event subprocess for the same escalation."""
    files = with_boundary(False, "One", ' oneBehaviorEventRef="throw_done"')
    handler = subprocess("on_escalation", start("esc_start", escalation("done"),
                                                isInterrupting="false"),
                         script("handled"), end("handled_end"),
                         flows("esc_start>handled>handled_end"), event_triggered=True)
    files = {name: text.replace("</bpmn:process>", handler + "</bpmn:process>")
             for name, text in files.items()}
    outcome = bpmn.run(files, THREE)
    assert outcome.trace == ["start", "review[i]", "told", "heard", "heard_end",
                             "review[i]", "review[i]", "review", "end"]
    assert outcome.status == "completed"


@BOTH
def test_nested_activities_each_give_their_own_loop_counter(bpmn: Conformance,
                                                            sequential: bool) -> None:
    """Table 10.30: loopCounter is each instance's own: inside an instance of the outer
    subprocess, an inner multi-instance script's instances count 1, 2 again, and once the
    inner activity completes the outer instance reads its own number again."""
    inner = ('<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
             "<bpmn:loopCardinality>2</bpmn:loopCardinality>"
             "<bpmn:loopDataOutputRef>pairs</bpmn:loopDataOutputRef>"
             '<bpmn:outputDataItem id="pair" name="pair"/>'
             "</bpmn:multiInstanceLoopCharacteristics>")
    body = subprocess(
        "outer", counting(sequential, cardinality="2"), start("outer_start"),
        script("keep", "outer_number = loopCounter"),
        script("inner", "pair = outer_number * 10 + loopCounter", inside=inner),
        script("after", "mine = [loopCounter, pairs]"), end("outer_end"),
        flows("outer_start>keep>inner>after>outer_end"))
    outcome = bpmn.run(model(process(start(), body, end(), flows("start>outer>end"))))
    assert outcome.counts()["inner[i]"] == 4 and outcome.counts()["outer[i]"] == 2
    assert (outcome.status, outcome.data["results"]) == (
        "completed", [[1, [11, 12]], [2, [21, 22]]])
