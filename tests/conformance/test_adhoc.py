"""Ad-hoc subprocesses, as BPMN 2.0.2 §10.3.5 (Ad-Hoc Sub-Process) says (issue 16 item 11).

§10.3.5: the activities of an ad-hoc subprocess are not ordered by the model: those without
an incoming sequence flow are enabled when it starts, and its performers decide which to do
and in which order; sequence flows between inner activities are followed as usual. Its
`completionCondition` is evaluated after each inner activity completes; when it holds the
subprocess ends: `cancelRemainingInstances` (true by default) cancels the activities still
running, false lets them finish first. `ordering` Sequential lets one activity run at a time.
An ad-hoc subprocess holds no start or end event.

In Pathways the enabled activities are offered together, in the caseworker's inbox; without
a completionCondition the subprocess ends when all its activities are done or when the
caseworker finishes it (Engine.finish_adhoc, the `Finish` command here). Sequential ordering
offers them one at a time, in the model's order.
"""

from __future__ import annotations

import pytest

from engine.errors import CaseStateError, NotFoundError
from tests.conformance.bpmn import (
    boundary,
    catch,
    end,
    flows,
    link,
    message,
    model,
    multi_instance,
    process,
    script,
    start,
    throw,
    timer,
    user,
)
from tests.conformance.bpmn import subprocess as sub
from tests.conformance.harness import (
    Complete,
    Conformance,
    Finish,
    Wait,
    in_any_order,
    matches,
)


def adhoc(*body: str, completion: str | None = None, node: str = "pick",
          **attributes: str) -> str:
    condition = ("" if completion is None else
                 f"<bpmn:completionCondition>{completion}</bpmn:completionCondition>")
    attrs = "".join(f' {key}="{value}"' for key, value in attributes.items())
    return (f'<bpmn:adHocSubProcess id="{node}"{attrs}>{"".join(body)}{condition}'
            "</bpmn:adHocSubProcess>")


def around(inner: str, init: str = "pass") -> dict[str, str]:
    """start > init > the ad-hoc subprocess `pick` > user task `after` > end."""
    return model(process(start(), script("init", init), inner, user("after"), end(),
                         flows("start>init>pick>after>end")))


ABC = around(adhoc(user("a"), user("b"), user("c")))


def test_its_activities_are_offered_together(bpmn: Conformance) -> None:
    """The three activities without incoming flows are all enabled when it starts."""
    outcome = bpmn.run(ABC)
    assert outcome.open_tasks == ["a", "b", "c"], outcome
    assert outcome.trace == ["start", "init"]
    assert outcome.status == "active"


@pytest.mark.parametrize("order", [("c", "a", "b"), ("b", "c", "a")])
def test_they_are_done_in_any_order_then_it_completes(bpmn: Conformance,
                                                      order: tuple[str, ...]) -> None:
    """Without a completionCondition it completes once all its activities are done, each
    done once, in the order the caseworker chose; what each recorded is kept."""
    outcome = bpmn.run(ABC, [Complete(step, {f"{step}_done": True}) for step in order])
    assert outcome.trace == ["start", "init", *order, "pick"], outcome
    assert outcome.open_tasks == ["after"]
    assert {k: outcome.data[k] for k in ("a_done", "b_done", "c_done")} == {
        "a_done": True, "b_done": True, "c_done": True}


def test_the_condition_ends_it_and_cancels_the_rest(bpmn: Conformance) -> None:
    """The completionCondition is evaluated after each inner activity: false after `a`, true
    after `b`; then `c`, never done, is cancelled (cancelRemainingInstances defaults to
    true) and the process goes on."""
    files = around(adhoc(user("a"), user("b"), user("c"), completion="enough == True"),
                   init="enough = False")
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.open_tasks == ["b", "c"], outcome
    outcome = bpmn.run(files, [Complete("a"), Complete("b", {"enough": True})])
    assert outcome.trace == ["start", "init", "a", "b", "pick"], outcome
    assert outcome.open_tasks == ["after"]
    assert outcome.data["enough"] is True


def test_the_condition_reads_what_every_activity_recorded(bpmn: Conformance) -> None:
    """The condition sees the subprocess's data: what each completed activity recorded,
    whichever order they ran in (here `a`'s score, then `b`'s)."""
    files = around(adhoc(user("a"), user("b"), user("c"), completion="x + y &gt;= 3"),
                   init="x = 0\ny = 0")
    outcome = bpmn.run(files, [Complete("b", {"y": 2}), Complete("c", {"z": 5}),
                               Complete("a", {"x": 1})])
    assert outcome.trace == ["start", "init", "b", "c", "a", "pick"], outcome
    assert outcome.open_tasks == ["after"]
    assert (outcome.data["x"], outcome.data["y"], outcome.data["z"]) == (1, 2, 5)


def test_a_condition_true_at_the_start_is_not_checked_before_an_activity(
        bpmn: Conformance) -> None:
    """The condition is evaluated after an activity completes, not as it starts: here it
    holds already, yet the activities are offered; the first done ends it."""
    files = around(adhoc(user("a"), user("b"), completion="enough"), init="enough = True")
    assert bpmn.run(files).open_tasks == ["a", "b"]
    outcome = bpmn.run(files, [Complete("b")])
    assert outcome.trace == ["start", "init", "b", "pick"], outcome
    assert outcome.open_tasks == ["after"]


def inner_subprocess() -> str:
    return sub("s", start("s_start"), user("s1"), end("s_end"), flows("s_start>s1>s_end"))


@pytest.mark.parametrize("cancel_remaining", [True, False], ids=["cancel", "wait"])
def test_cancel_remaining_instances(bpmn: Conformance, cancel_remaining: bool) -> None:
    """When the condition holds while inner subprocess `s` runs: cancelRemainingInstances
    true cancels it at once; false waits for it to finish (its task stays in the inbox)
    and only then completes. Either way `b`, offered but not started, is withdrawn."""
    files = around(adhoc(user("a"), user("b"), inner_subprocess(), completion="enough",
                         cancelRemainingInstances=str(cancel_remaining).lower()),
                   init="enough = False")
    outcome = bpmn.run(files)
    assert outcome.open_tasks == ["a", "b", "s1"], outcome
    outcome = bpmn.run(files, [Complete("a", {"enough": True})])
    if cancel_remaining:
        assert outcome.trace == ["start", "init", "s_start", "a", "pick"], outcome
        assert outcome.open_tasks == ["after"]
        return
    assert outcome.trace == ["start", "init", "s_start", "a"], outcome
    assert outcome.open_tasks == ["s1"], outcome
    outcome = bpmn.run(files, [Complete("a", {"enough": True}), Complete("s1", {"s": 1})])
    assert outcome.trace == ["start", "init", "s_start", "a", "s1", "s_end", "s", "pick"]
    assert outcome.open_tasks == ["after"]
    assert outcome.data["s"] == 1


def test_inner_flows_are_followed(bpmn: Conformance) -> None:
    """A sequence flow inside it leads from `a` to `a2` as anywhere: `a2` is offered once
    `a` is done (not when it starts), and the subprocess waits for it."""
    files = around(adhoc(user("a"), user("a2"), user("b"), flows("a>a2")))
    assert bpmn.run(files).open_tasks == ["a", "b"]
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.open_tasks == ["a2", "b"], outcome
    outcome = bpmn.run(files, [Complete("a"), Complete("b"), Complete("a2")])
    assert outcome.trace == ["start", "init", "a", "b", "a2", "pick"], outcome
    assert outcome.open_tasks == ["after"]


def test_sequential_ordering_offers_one_at_a_time(bpmn: Conformance) -> None:
    """ordering="Sequential" (BPMN 2.0.2 §10.3.5): one activity at a time, the performer
    choosing which. Tasks for a person are done in one go, so those the flows allow are
    offered together: `a`, `b` and `c` at once (not `a2`, which follows `a`), and the
    caseworker's order is the order they run in."""
    files = around(adhoc(user("a"), user("a2"), user("b"), user("c"), flows("a>a2"),
                         ordering="Sequential"))
    steps = [Complete("c"), Complete("a"), Complete("b"), Complete("a2")]
    offered = [bpmn.run(files, steps[:done]).open_tasks for done in range(5)]
    assert offered == [["a", "b", "c"], ["a", "b"], ["a2", "b"], ["a2"], ["after"]], offered
    outcome = bpmn.run(files, steps)
    assert outcome.trace == ["start", "init", "c", "a", "b", "a2", "pick"], outcome


@pytest.mark.parametrize("first", ["task", "subprocess"])
def test_sequential_ordering_runs_an_activity_that_takes_time_alone(
        bpmn: Conformance, first: str) -> None:
    """An inner subprocess takes time: while it runs nothing else is offered, and it starts
    only when nothing else is open; the one first in the model goes first."""
    inner = sub("s", start("s_start"), user("s1"), end("s_end"), flows("s_start>s1>s_end"))
    body = (user("a"), inner) if first == "task" else (inner, user("a"))
    files = around(adhoc(*body, ordering="Sequential"))
    order = ["a", "s1"] if first == "task" else ["s1", "a"]
    offered = [bpmn.run(files, [Complete(step) for step in order[:done]]).open_tasks
               for done in range(3)]
    assert offered == [[order[0]], [order[1]], ["after"]], offered


def test_sequential_ordering_with_a_condition(bpmn: Conformance) -> None:
    files = around(adhoc(user("a"), user("b"), user("c"), completion="enough",
                         ordering="Sequential"), init="enough = False")
    outcome = bpmn.run(files, [Complete("a"), Complete("b", {"enough": True})])
    assert outcome.trace == ["start", "init", "a", "b", "pick"], outcome
    assert outcome.open_tasks == ["after"]


def test_without_a_condition_the_caseworker_finishes_it(bpmn: Conformance) -> None:
    """No completionCondition: after `a`, the caseworker says the work is enough; `b` and
    `c` are withdrawn and the process goes on, with what `a` recorded."""
    outcome = bpmn.run(ABC, [Complete("a", {"note": "seen"}), Finish("pick")])
    assert outcome.trace == ["start", "init", "a", "pick"], outcome
    assert outcome.open_tasks == ["after"]
    assert outcome.data["note"] == "seen"
    outcome = bpmn.run(ABC, [Finish("pick")])  # even before any activity
    assert outcome.trace == ["start", "init", "pick"]
    assert outcome.open_tasks == ["after"]


def test_finishing_is_refused_while_an_inner_activity_runs(bpmn: Conformance) -> None:
    files = around(adhoc(user("a"), inner_subprocess()))
    with pytest.raises(CaseStateError) as refused:
        bpmn.run(files, [Finish("pick")])
    assert "s" in refused.value.details["running"]


def test_finishing_what_is_not_an_open_adhoc_subprocess_is_refused(bpmn: Conformance) -> None:
    with pytest.raises(NotFoundError):
        bpmn.run(ABC, [Finish("after")])
    with pytest.raises(NotFoundError):
        bpmn.run(ABC, [Complete("a"), Complete("b"), Complete("c"), Finish("pick")])


def test_in_any_order_with_a_parallel_path_outside(bpmn: Conformance) -> None:
    """The trace helper accepts the subprocess's activities in the order chosen."""
    outcome = bpmn.run(ABC, [Complete("b"), Complete("a"), Complete("c")])
    assert matches(outcome.trace, ["start", "init", in_any_order("a", "b", "c"), "pick"])


# -- refused at publish -------------------------------------------------------------------


@pytest.mark.parametrize("event", ["start", "end"])
def test_a_start_or_end_event_inside_is_refused(bpmn: Conformance, event: str) -> None:
    """§10.3.5: an ad-hoc subprocess has no start or end events; the event is named."""
    inner = start("inner_start") if event == "start" else end("inner_end")
    refused = bpmn.refusal(around(adhoc(user("a"), inner)))
    assert refused.element == f"inner_{event}"
    assert refused.details["rule"] == "adhoc_start_or_end_event"
    assert "ad-hoc" in refused.reason and isinstance(refused.line, int)


def test_a_completion_condition_that_does_not_compile_is_refused(bpmn: Conformance) -> None:
    refused = bpmn.refusal(around(adhoc(user("a"), completion="enough ==")))
    assert refused.details["rule"] == "expression"
    assert isinstance(refused.line, int)


def test_an_empty_completion_condition_is_refused(bpmn: Conformance) -> None:
    refused = bpmn.refusal(around(adhoc(user("a"), completion=" ")))
    assert (refused.element, refused.details["rule"]) == ("pick", "adhoc_empty_completion")


@pytest.mark.parametrize("inside", ["event_subprocess", "link"])
def test_what_pathways_does_not_wire_inside_is_refused(bpmn: Conformance, inside: str) -> None:
    """An event subprocess or a link event inside an ad-hoc subprocess is refused, named."""
    if inside == "link":
        content = (throw("go", link("x")) + catch("land", link("x")) + user("b")
                   + flows("land>b"))
        element = "go"
    else:
        content = sub("handler", start("h_start", message("ping")), user("h"), end("h_end"),
                      flows("h_start>h>h_end"), event_triggered=True)
        element = "handler"
    refused = bpmn.refusal(around(adhoc(user("a"), content)))
    assert (refused.element, refused.details["rule"]) == (element,
                                                          "adhoc_content_not_supported")


# -- with the events around it ------------------------------------------------------------


def test_a_timer_on_an_inner_task(bpmn: Conformance) -> None:
    """An interrupting timer on inner task `a` takes it off the inbox after a day and goes
    on to `late`, inside the subprocess; `b` is untouched."""
    files = around(adhoc(user("a"), boundary("slow", "a", timer("'P1D'")), user("late"),
                         user("b"), flows("slow>late")))
    outcome = bpmn.run(files, [Wait(days=2)])
    assert outcome.open_tasks == ["b", "late"], outcome
    outcome = bpmn.run(files, [Wait(days=2), Complete("late"), Complete("b")])
    assert outcome.trace == ["start", "init", "slow", "late", "b", "pick"], outcome
    assert outcome.open_tasks == ["after"]


def test_an_interrupting_timer_on_the_subprocess_stops_it(bpmn: Conformance) -> None:
    files = model(process(start(), script("init"), adhoc(user("a"), user("b")),
                          boundary("deadline", "pick", timer("'P7D'")), user("after"),
                          user("escalate"), end(), end("end2"),
                          flows("start>init>pick>after>end", "deadline>escalate>end2")))
    outcome = bpmn.run(files, [Complete("a"), Wait(days=8)])
    assert outcome.trace == ["start", "init", "a", "deadline"], outcome
    assert outcome.open_tasks == ["escalate"]


def test_a_failing_condition_puts_the_case_in_error(bpmn: Conformance) -> None:
    """A condition that cannot be evaluated (a name no step set) is a recorded error at the
    activity just completed, never a silent end."""
    files = around(adhoc(user("a"), user("b"), completion="missing_name == 1"))
    outcome = bpmn.run(files, [Complete("a")])
    assert outcome.status == "error", outcome
    assert outcome.error is not None and "completionCondition" in outcome.error["message"]


def test_a_case_in_error_on_its_condition_is_retried(bpmn: Conformance) -> None:
    """Retried (here on a version whose condition is fixed), the case goes on: the open
    activities are still offered, and the next one done ends the subprocess."""
    files = around(adhoc(user("a"), user("b"), completion="missing_name == 1"))
    assert bpmn.run(files, [Complete("a")]).status == "error"
    engine = bpmn.engine()
    case = engine.list_cases()[0]
    fixed = around(adhoc(user("a"), user("b"), completion="True"))
    bpmn.publish(fixed)
    view = engine.retry_case(case.id or 0, version=2)
    assert view.case.status == "active", view.case.error
    assert sorted(task.task.step for task in view.tasks) == ["b"]
    task = view.tasks[0].task
    engine.complete_task(task.id, {})
    assert [t.task.step for t in engine.get_case(case.id or 0).tasks] == ["after"]


@pytest.mark.parametrize("body", ["", "cycle"], ids=["empty", "every_activity_has_a_flow_in"])
def test_an_adhoc_subprocess_with_nothing_to_offer_is_refused(bpmn: Conformance,
                                                              body: str) -> None:
    """§10.3.5: it holds at least one activity; one that no flow leads to is what it offers
    when it starts: without one it could never do anything."""
    inner = user("a") + user("b") + flows("a>b>a") if body else ""
    refused = bpmn.refusal(around(adhoc(inner)))
    assert (refused.element, refused.details["rule"]) == ("pick", "adhoc_without_activity")


def test_a_multi_instance_activity_inside(bpmn: Conformance) -> None:
    """A multi-instance user task among its activities runs its instances as anywhere; it
    counts as one activity, done when its instances are."""
    files = around(adhoc(user("m", multi_instance(sequential=False, cardinality="2")),
                         user("b")))
    outcome = bpmn.run(files)
    assert outcome.open_tasks == ["b", "m", "m"], outcome
    outcome = bpmn.run(files, [Complete("m"), Complete("b"), Complete("m")])
    assert outcome.trace == ["start", "init", "m[i]", "b", "m[i]", "m", "pick"], outcome
    assert outcome.open_tasks == ["after"]


def test_a_pre_script_on_it_is_refused(bpmn: Conformance) -> None:
    """SpiffWorkflow's ad-hoc subprocess runs no preScript or postScript: refused, named."""
    files = around(adhoc(user("a")).replace(
        '<bpmn:adHocSubProcess id="pick">',
        '<bpmn:adHocSubProcess id="pick"><bpmn:extensionElements>'
        "<spiffworkflow:preScript>x = 1</spiffworkflow:preScript></bpmn:extensionElements>"))
    refused = bpmn.refusal(files)
    assert refused.details["rule"] == "adhoc_content_not_supported"
    assert "preScript" in refused.reason and isinstance(refused.line, int)


def test_versions_diff_sees_an_added_activity(bpmn: Conformance) -> None:
    """`versions diff` describes the ad-hoc subprocess like any subprocess."""
    bpmn.publish(around(adhoc(user("a"), user("b"), completion="x", ordering="Sequential"),
                        init="x = False"))
    bpmn.publish(around(adhoc(user("a"), user("b"), user("c"), completion="x",
                              ordering="Sequential"), init="x = False"))
    diff = bpmn.engine().diff("conformance", 1, 2)
    assert [step.step for step in diff.added] == ["c"]


def test_finishing_one_inside_a_subprocess(bpmn: Conformance) -> None:
    """An ad-hoc subprocess inside an embedded subprocess is found by its step and finished
    there; the embedded subprocess goes on after it."""
    files = model(process(start(), sub("outer", start("o_start"), adhoc(user("a"), user("b")),
                                       user("o_after"), end("o_end"),
                                       flows("o_start>pick>o_after>o_end")),
                          end(), flows("start>outer>end")))
    outcome = bpmn.run(files, [Complete("b"), Finish("pick")])
    assert outcome.open_tasks == ["o_after"], outcome
    assert outcome.trace == ["start", "o_start", "b", "pick"]


def test_a_case_inside_it_migrates_to_a_version_that_adds_an_activity(
        bpmn: Conformance) -> None:
    """Migration treats the running ad-hoc subprocess as any running subprocess: a case with
    `a` done moves, keeps `b` and `c` offered, and runs on. The activity the new version adds
    (`d`) is not offered to a subprocess that started before it existed (as a step added
    before a running subprocess's current step is not run)."""
    bpmn.publish(ABC)
    engine = bpmn.engine()
    client = engine.add_client("Migrating client")
    case_id = engine.start_case("conformance", client.id or 0).case.id or 0
    first = next(t for t in engine.get_case(case_id).tasks if t.task.step == "a")
    engine.complete_task(first.task.id, {})
    bpmn.publish(around(adhoc(user("a"), user("b"), user("c"), user("d"))))
    report = engine.migrate("conformance", 1, 2)
    (result,) = report.cases
    assert result.ok, result
    view = bpmn.engine().get_case(case_id)
    steps = sorted(task.task.step for task in view.tasks)
    assert steps == ["b", "c"], (result, steps)
    for step in steps:
        task = next(t for t in bpmn.engine().get_case(case_id).tasks if t.task.step == step)
        bpmn.engine().complete_task(task.task.id, {})
    assert [t.task.step for t in bpmn.engine().get_case(case_id).tasks] == ["after"]
