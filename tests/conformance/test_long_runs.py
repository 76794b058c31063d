"""No task-tree growth in long runs (issue 16): a construct that repeats — a cycle drawn
with a gateway, a standard loop, a sequential multi-instance, a non-interrupting boundary
timer or event subprocess that fires again and again — keeps the stored case state about
as small after many rounds as after a few, so a case that runs for years stays cheap to load
and save. Each test counts the tasks in the state saved after round `EARLY` and after the
last round; finished rounds must be pruned, not kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tests.conformance.bpmn import (
    boundary,
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
    subprocess,
    user,
)
from tests.conformance.harness import Command, Complete, Conformance, Send, Wait

ROUNDS = 60
EARLY = 5


def stored_tasks(bpmn: Conformance, case_id: int) -> int:
    state = bpmn.engine().get_case(case_id).case.state
    subprocesses = state.get("subprocesses", {})
    return len(state.get("tasks", {})) + sum(len(sub.get("tasks", {}))
                                             for sub in subprocesses.values())


def sizes(bpmn: Conformance, files: dict[str, str], first: Sequence[Command],
          each_round: Callable[[int], Sequence[Command]]) -> tuple[int, int, str]:
    """The stored task counts after round EARLY and after the last round, and the status."""
    bpmn.publish(files)
    client = bpmn.engine().add_client("Long runner").id or 0
    case_id = bpmn.engine().start_case("conformance", client).case.id or 0
    for command in first:
        bpmn.apply(case_id, client, command)
    early = 0
    for number in range(1, ROUNDS + 1):
        for command in each_round(number):
            bpmn.apply(case_id, client, command)
        if number == EARLY:
            early = stored_tasks(bpmn, case_id)
    return early, stored_tasks(bpmn, case_id), bpmn.engine().get_case(case_id).case.status


def assert_flat(early: int, last: int) -> None:
    assert early > 0
    assert last <= early + 3, f"the state grew from {early} tasks to {last}"


def test_a_cycle_drawn_with_a_gateway(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.2 (arbitrary cycles): a back edge from an exclusive gateway."""
    files = model(process(
        start(), user("visit"), gateway("exclusive", "again", default="again-visit"), end(),
        flows("start>visit>again"), flow("again", "end", cond="done"),
        flow("again", "visit", flow_id="again-visit")))
    early, last, status = sizes(bpmn, files, [], lambda n: [
        Complete("visit", {"done": n == ROUNDS})])
    assert status == "completed"
    assert_flat(early, last)


def test_a_standard_loop_of_user_tasks(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.6 (standard loop)."""
    files = model(process(
        start(), user("visit", "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>"
                               "not done</bpmn:loopCondition></bpmn:standardLoopCharacteristics>"),
        end(), flows("start>visit>end")))
    early, last, status = sizes(bpmn, files, [], lambda n: [
        Complete("visit", {"done": n == ROUNDS})])
    assert status == "completed"
    assert_flat(early, last)


def test_a_sequential_multi_instance_over_a_long_list(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.3.7 (sequential multi-instance): one instance after another."""
    files = model(process(
        start(), script("make", f"items = list(range({ROUNDS}))"),
        user("each", '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
             "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
             '<bpmn:inputDataItem id="item" name="item"/>'
             "</bpmn:multiInstanceLoopCharacteristics>"),
        end(), flows("start>make>each>end")))
    early, last, status = sizes(bpmn, files, [], lambda n: [Complete("each")])
    assert status == "completed"
    assert_flat(early, last)


def test_a_non_interrupting_cycle_timer_on_a_long_task(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §13.5.3: a non-interrupting timer cycle on an open task fires at each
    cycle, and each firing's path runs and ends."""
    files = model(process(
        start(), user("long_task"),
        boundary("remind", "long_task", "<bpmn:timerEventDefinition><bpmn:timeCycle>"
                 f'"R{ROUNDS}/PT1H"</bpmn:timeCycle></bpmn:timerEventDefinition>',
                 interrupting=False),
        script("reminded"), end("remind_end"), end(),
        flows("start>long_task>end", "remind>reminded>remind_end")))
    early, last, status = sizes(bpmn, files, [], lambda n: [Wait(hours=1)])
    assert status == "active"
    assert_flat(early, last)


def test_a_non_interrupting_event_subprocess_started_again_and_again(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: a non-interrupting event subprocess may start each time its
    event comes, and each run ends."""
    files = model(process(
        start(), user("long_task"), end(), flows("start>long_task>end"),
        subprocess("on_note", start("note_start", message("note"), isInterrupting="false"),
                   script("noted"), end("note_end"), flows("note_start>noted>note_end"),
                   event_triggered=True)),
        declarations=[declare("message", "note")])
    early, last, status = sizes(bpmn, files, [], lambda n: [Send("note", {"n": n})])
    assert status == "active"
    assert_flat(early, last)
