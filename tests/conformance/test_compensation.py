"""BPMN compensation (BPMN 2.0.2 §10.7 Compensation, §10.5.6 / §13.5.5 compensation events,
Table 10.93 compensateEventDefinition `activityRef` and `waitForCompletion`): a compensation
boundary event associates an activity with its compensation handler (`isForCompensation`);
a compensation throw (intermediate or end event) runs the handlers of the completed
activities of its scope, the most recently completed first, and waits for them (or not).
Also: loops and multi-instances (per completed instance), compensation event subprocesses,
the default compensation of subprocesses and call activities, throws in event subprocesses,
migrated cases; then the malformed uses and the forms Pathways refuses at publish."""

from __future__ import annotations

import pytest

from engine.errors import DefinitionError
from tests.conformance.bpmn import (
    PROCESS,
    boundary,
    call,
    catch,
    declare,
    end,
    error,
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
    throw,
    timer,
    user,
)
from tests.conformance.harness import Complete, Conformance, Send, Wait


def compensate(activity: str | None = None, *, wait: str | None = None) -> str:
    ref = f' activityRef="{activity}"' if activity else ""
    waiting = f' waitForCompletion="{wait}"' if wait else ""
    return f"<bpmn:compensateEventDefinition{ref}{waiting}/>"


def handler(node: str, *, kind: str = "script", code: str = "pass") -> str:
    """A compensation handler: an activity with isForCompensation and no flows."""
    if kind == "user":
        return user(node).replace(f'id="{node}"', f'id="{node}" isForCompensation="true"', 1)
    return script(node, code).replace(f'id="{node}"', f'id="{node}" isForCompensation="true"',
                                      1)


def undone_by(activity: str, undo: str, *, kind: str = "script", code: str = "pass") -> str:
    """`activity`'s compensation boundary event `<activity>_comp` and the handler `undo`
    (their association: `associated`, after the flow elements, as the XSD wants)."""
    return boundary(f"{activity}_comp", activity, compensate()) + handler(undo, kind=kind,
                                                                         code=code)


def associated(activity: str, undo: str) -> str:
    return (f'<bpmn:association id="{activity}_assoc" associationDirection="One" '
            f'sourceRef="{activity}_comp" targetRef="{undo}"/>')


def booking(*body: str) -> dict[str, str]:
    """`book` then `pay` (user tasks), each with its undo (`unbook`, `refund`)."""
    return model(process(start(), user("book"), user("pay"), undone_by("book", "unbook"),
                         undone_by("pay", "refund"), *body, associated("book", "unbook"),
                         associated("pay", "refund")))


def located(refused: DefinitionError, element: str, rule: str) -> None:
    assert (refused.element, refused.details["rule"]) == (element, rule), refused.details
    assert refused.file == "conformance.bpmn"
    assert isinstance(refused.line, int) and isinstance(refused.column, int)


def test_a_throw_compensates_the_completed_activities_in_reverse_order(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.7 / §13.5.5: a compensation throw without activityRef compensates
    every completed activity of its scope that has a handler, "in reverse order" of their
    completion; waitForCompletion (default true): the throw completes after them."""
    files = booking(throw("undo", compensate()), end(), flows("start>book>pay>undo>end"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "refund", "unbook", "undo", "end"]
    assert outcome.status == "completed"
    assert outcome.open_tasks == []


def test_the_order_is_the_order_of_completion_not_of_the_model(bpmn: Conformance) -> None:
    """Reverse order of *completion*: on parallel branches `pay` completed before `book`, so
    `unbook` runs first."""
    files = model(process(start(), gateway("parallel", "fork"), user("book"), user("pay"),
                          gateway("parallel", "join"), undone_by("book", "unbook"),
                          undone_by("pay", "refund"), throw("undo", compensate()), end(),
                          flows("start>fork>book>join>undo>end", "fork>pay>join"),
                          associated("book", "unbook"), associated("pay", "refund")))
    outcome = bpmn.run(files, [Complete("pay"), Complete("book")])
    assert outcome.trace == ["start", "pay", "book", "unbook", "refund", "undo", "end"]


def test_activity_ref_compensates_that_activity_only(bpmn: Conformance) -> None:
    """Table 10.93: activityRef names the activity to compensate: only its handler runs."""
    files = booking(throw("undo", compensate("book")), end(), flows("start>book>pay>undo>end"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "unbook", "undo", "end"]
    assert outcome.status == "completed"


def test_an_activity_not_completed_is_not_compensated(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.7: "Compensation ... can only be applied to completed activities":
    `pay` comes after the throw, so only `unbook` runs; `pay` then runs as usual."""
    files = booking(throw("undo", compensate()), end(), flows("start>book>undo>pay>end"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "unbook", "undo", "pay", "end"]
    assert outcome.status == "completed"


def test_an_activity_ref_not_completed_compensates_nothing(bpmn: Conformance) -> None:
    files = booking(throw("undo", compensate("pay")), end(), flows("start>book>undo>pay>end"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "undo", "pay", "end"]


def test_a_user_task_handler_waits_for_the_caseworker(bpmn: Conformance) -> None:
    """A handler is an activity like any other: a user task handler is offered in the inbox,
    and (waitForCompletion) the throw and what follows it wait until it is done."""
    files = model(process(start(), user("book"), undone_by("book", "unbook", kind="user"),
                          throw("undo", compensate()), user("after"), end(),
                          flows("start>book>undo>after>end"), associated("book", "unbook")))
    waiting = bpmn.run(files, [Complete("book")])
    assert waiting.trace == ["start", "book"]
    assert (waiting.status, waiting.open_tasks) == ("active", ["unbook"])
    outcome = bpmn.run(files, [Complete("book"), Complete("unbook", {"refunded": True}),
                               Complete("after")])
    assert outcome.trace == ["start", "book", "unbook", "undo", "after", "end"]
    assert outcome.status == "completed"
    assert outcome.data["refunded"] is True


def test_handlers_run_once(bpmn: Conformance) -> None:
    """A compensated activity is not compensated again by a second throw."""
    files = booking(throw("undo", compensate()), throw("again", compensate()), end(),
                    flows("start>book>pay>undo>again>end"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "refund", "unbook", "undo", "again",
                             "end"]


def test_a_compensation_end_event(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.5.3 (End Event, compensation): the end event compensates the scope,
    then ends its path."""
    files = booking(end("undo", compensate()), flows("start>book>pay>undo"))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "refund", "unbook", "undo"]
    assert outcome.status == "completed"


def test_handler_data_reaches_the_path(bpmn: Conformance) -> None:
    """The handler works on the process's data; what it sets is there after the throw."""
    files = model(process(start(), script("book", "booked = 1"),
                          undone_by("book", "unbook", code="booked = booked - 1"),
                          throw("undo", compensate()), end(),
                          flows("start>book>undo>end"), associated("book", "unbook")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "book", "unbook", "undo", "end"]
    assert outcome.data["booked"] == 0


def test_a_multi_instance_activity_is_compensated_per_instance(bpmn: Conformance) -> None:
    """An activity that completed several times (here a multi-instance of three) is
    compensated once per completed instance, the last completed first."""
    files = model(process(
        start(), script("book", "pass", inside=multi_instance(sequential=True,
                                                                cardinality="3")),
        undone_by("book", "unbook"), throw("undo", compensate()), end(),
        flows("start>book>undo>end"), associated("book", "unbook")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "book[i]", "book[i]", "book[i]", "book",
                             "unbook", "unbook", "unbook", "undo", "end"]
    assert outcome.status == "completed"


def test_a_throw_inside_a_subprocess_compensates_its_own_scope(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.7: a throw compensates the activities of its own scope (here the
    subprocess), not those outside it."""
    files = model(process(
        start(), user("book"), undone_by("book", "unbook"),
        subprocess("trip", start("trip_start"), user("fly"), undone_by("fly", "unfly"),
                   throw("trip_undo", compensate()), end("trip_end"),
                   flows("trip_start>fly>trip_undo>trip_end"), associated("fly", "unfly")),
        end(), flows("start>book>trip>end"), associated("book", "unbook")))
    outcome = bpmn.run(files, [Complete("book"), Complete("fly")])
    assert outcome.trace == ["start", "book", "trip_start", "fly", "unfly", "trip_undo",
                             "trip_end", "trip", "end"]
    assert outcome.status == "completed"


def test_each_item_of_a_multi_instance_is_compensated_with_its_item(
        bpmn: Conformance) -> None:
    """A multi-instance over a collection: each completed instance's handler sees that
    instance's input item (here the hotel to cancel), the last booked first."""
    files = model(process(
        start(), script("plan", "hotels = ['a', 'b', 'c']\ncancelled = []"),
        script("book", "pass", inside=multi_instance(sequential=True, collection="hotels",
                                                      element="hotel")),
        undone_by("book", "unbook", code="cancelled = cancelled + [hotel]"),
        throw("undo", compensate()), end(), flows("start>plan>book>undo>end"),
        associated("book", "unbook")))
    outcome = bpmn.run(files)
    assert outcome.counts()["unbook"] == 3
    assert outcome.data["cancelled"] == ["c", "b", "a"]
    assert "hotel" not in outcome.data


def test_a_parallel_multi_instance_is_compensated_per_instance(bpmn: Conformance) -> None:
    files = model(process(
        start(), user("book", inside=multi_instance(sequential=False, cardinality="2")),
        undone_by("book", "unbook"), throw("undo", compensate()), end(),
        flows("start>book>undo>end"), associated("book", "unbook")))
    outcome = bpmn.run(files, [Complete("book", nth=1), Complete("book")])
    assert outcome.trace == ["start", "book[i]", "book[i]", "book", "unbook", "unbook",
                             "undo", "end"]


def test_a_standard_loop_is_compensated_per_iteration(bpmn: Conformance) -> None:
    loop = '<bpmn:standardLoopCharacteristics loopMaximum="2"/>'
    files = model(process(
        start(), script("book", "pass", inside=loop), undone_by("book", "unbook"),
        throw("undo", compensate()), end(), flows("start>book>undo>end"),
        associated("book", "unbook")))
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "book[i]", "book[i]", "book", "unbook", "unbook",
                             "undo", "end"]


def test_an_activity_run_twice_by_a_loop_is_compensated_twice(bpmn: Conformance) -> None:
    """An activity a back-edge ran twice completed twice: compensated twice."""
    files = model(process(
        start(), script("count", "n = 0"), user("book"), undone_by("book", "unbook"),
        script("next", "n = n + 1"), gateway("exclusive", "again", default="again-undo"),
        throw("undo", compensate()), end(),
        flows("start>count>book>next>again", "undo>end"), flow("again", "undo"),
        flow("again", "book", cond="n < 2"), associated("book", "unbook")))
    outcome = bpmn.run(files, [Complete("book"), Complete("book")])
    assert outcome.trace == ["start", "count", "book", "next", "book", "next", "unbook",
                             "unbook", "undo", "end"]
    assert outcome.status == "completed"


def test_a_subprocess_with_its_own_handler_is_compensated_by_it(bpmn: Conformance) -> None:
    """A completed subprocess with a compensation boundary event: its handler runs."""
    files = model(process(
        start(), subprocess("trip", start("trip_start"), user("fly"), end("trip_end"),
                            flows("trip_start>fly>trip_end")),
        undone_by("trip", "cancel_trip"), throw("undo", compensate()), end(),
        flows("start>trip>undo>end"), associated("trip", "cancel_trip")))
    outcome = bpmn.run(files, [Complete("fly")])
    assert outcome.trace == ["start", "trip_start", "fly", "trip_end", "trip",
                             "cancel_trip", "undo", "end"]


def test_an_interrupted_activity_is_not_compensated(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.7: only a completed activity is compensated: `book`, cut short by a
    message, never completed."""
    files = model(process(
        start(), user("book"), undone_by("book", "unbook"),
        boundary("stop", "book", message("stop")), throw("undo", compensate()), end(),
        end("stopped"), script("after_stop"),
        flows("start>book>undo>end", "stop>after_stop>stopped"),
        associated("book", "unbook")), declarations=[declare("message", "stop")])
    outcome = bpmn.run(files, [Send("stop")])
    assert outcome.trace == ["start", "stop", "after_stop", "stopped"]
    assert outcome.status == "completed"


def trip_with_event_subprocess(*body: str) -> dict[str, str]:
    """A subprocess `trip` (user task `fly`) whose compensation event subprocess `on_undo`
    has the caseworker `cancel_trip`."""
    return model(process(
        start(), subprocess(
            "trip", start("trip_start"), user("fly"), end("trip_end"),
            flows("trip_start>fly>trip_end"),
            subprocess("on_undo", start("undo_start", compensate()), user("cancel_trip"),
                       end("undo_end"), flows("undo_start>cancel_trip>undo_end"),
                       event_triggered=True)),
        *body))


@pytest.mark.parametrize("ref", [None, "trip"])
def test_a_compensation_event_subprocess_compensates_its_subprocess(
        bpmn: Conformance, ref: str | None) -> None:
    """BPMN 2.0.2 §10.3.5 / §10.7: a compensation event subprocess inside a subprocess does
    not start with it; it runs when the completed subprocess is compensated, and the throw
    waits for it."""
    files = trip_with_event_subprocess(throw("undo", compensate(ref)), user("after"), end(),
                                       flows("start>trip>undo>after>end"))
    waiting = bpmn.run(files, [Complete("fly")])
    assert waiting.trace == ["start", "trip_start", "fly", "trip_end", "trip",
                             "undo_start"]
    assert waiting.open_tasks == ["cancel_trip"]
    outcome = bpmn.run(files, [Complete("fly"), Complete("cancel_trip", {"cancelled": 1}),
                               Complete("after")])
    assert outcome.trace == ["start", "trip_start", "fly", "trip_end", "trip",
                             "undo_start", "cancel_trip", "undo_end", "on_undo", "undo",
                             "after", "end"]
    assert outcome.status == "completed"
    assert outcome.data["cancelled"] == 1


def test_a_subprocess_not_compensated_does_not_run_its_event_subprocess(
        bpmn: Conformance) -> None:
    files = trip_with_event_subprocess(end(), flows("start>trip>end"))
    outcome = bpmn.run(files, [Complete("fly")])
    assert outcome.trace == ["start", "trip_start", "fly", "trip_end", "trip", "end"]
    assert outcome.status == "completed"


def test_not_waiting_for_completion_goes_on_beside_the_handlers(bpmn: Conformance) -> None:
    """Table 10.93: waitForCompletion="false": the throw "just triggers the compensation and
    immediately continues"; the process ends only when its handlers are done too."""
    files = model(process(start(), user("book"), undone_by("book", "unbook", kind="user"),
                          throw("undo", compensate(wait="false")), user("after"), end(),
                          flows("start>book>undo>after>end"), associated("book", "unbook")))
    waiting = bpmn.run(files, [Complete("book")])
    assert waiting.trace == ["start", "book", "undo"]
    assert waiting.open_tasks == ["after", "unbook"]
    ended = bpmn.run(files, [Complete("book"), Complete("after")])
    assert ended.trace == ["start", "book", "undo", "after", "end"]
    assert (ended.status, ended.open_tasks) == ("active", ["unbook"])
    outcome = bpmn.run(files, [Complete("book"), Complete("after"), Complete("unbook")])
    assert outcome.trace == ["start", "book", "undo", "after", "end", "unbook"]
    assert outcome.status == "completed"


def test_not_waiting_runs_the_handlers_one_after_another(bpmn: Conformance) -> None:
    files = model(process(start(), user("book"), user("pay"),
                          undone_by("book", "unbook", kind="user"),
                          undone_by("pay", "refund", kind="user"),
                          end("undo", compensate(wait="false")), flows("start>book>pay>undo"),
                          associated("book", "unbook"), associated("pay", "refund")))
    waiting = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert waiting.trace == ["start", "book", "pay", "undo"]
    assert (waiting.status, waiting.open_tasks) == ("active", ["refund"])
    outcome = bpmn.run(files, [Complete("book"), Complete("pay"), Complete("refund"),
                               Complete("unbook")])
    assert outcome.trace == ["start", "book", "pay", "undo", "refund", "unbook"]
    assert outcome.status == "completed"


def on_error_compensate(*inside: str, ref: str | None = None, kind: str = "script"
                        ) -> dict[str, str]:
    """`book` then `pay`, then an error `failed`; the process's error event subprocess
    `on_error` compensates (its throw `undo`)."""
    return model(process(
        start(), user("book"), user("pay"), undone_by("book", "unbook", kind=kind),
        undone_by("pay", "refund", kind=kind), end("fail", error("failed")),
        flows("start>book>pay>fail"),
        subprocess("on_error", start("error_start", error("failed")),
                   throw("undo", compensate(ref)), *inside, end("error_end"),
                   flows("error_start>undo>error_end"), event_triggered=True),
        associated("book", "unbook"), associated("pay", "refund")),
        declarations=[declare("error", "failed")])


@pytest.mark.parametrize(("ref", "handlers"), [(None, ["refund", "unbook"]),
                                               ("book", ["unbook"])])
def test_a_throw_in_an_event_subprocess_compensates_the_process(
        bpmn: Conformance, ref: str | None, handlers: list[str]) -> None:
    """BPMN 2.0.2 §10.7: a compensation throw inside an event subprocess (here started by
    an error) compensates the activities of the process around it."""
    outcome = bpmn.run(on_error_compensate(ref=ref), [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "fail", "error_start", *handlers,
                             "undo", "error_end", "on_error"]
    assert outcome.status == "completed"


def test_user_task_handlers_of_an_event_subprocess_throw_wait_for_the_caseworker(
        bpmn: Conformance) -> None:
    files = on_error_compensate(kind="user")
    waiting = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert (waiting.status, waiting.open_tasks) == ("active", ["refund"])
    outcome = bpmn.run(files, [Complete("book"), Complete("pay"), Complete("refund"),
                               Complete("unbook", {"unbooked": True})])
    assert outcome.trace == ["start", "book", "pay", "fail", "error_start", "refund",
                             "unbook", "undo", "error_end", "on_error"]
    assert outcome.status == "completed"
    assert outcome.data["unbooked"] is True


def test_an_activity_with_a_timer_boundary_too(bpmn: Conformance) -> None:
    """A compensation boundary event beside a timer boundary event on the same task: the
    timer still goes off while the task runs; once it completed, the task is compensable."""
    files = model(process(
        start(), user("book"), undone_by("book", "unbook"),
        boundary("late", "book", timer('"PT1H"'), interrupting=False), script("remind"),
        end("reminded"), throw("undo", compensate()), end(),
        flows("start>book>undo>end", "late>remind>reminded"), associated("book", "unbook")))
    outcome = bpmn.run(files, [Wait(hours=1), Complete("book")])
    assert outcome.trace == ["start", "late", "remind", "reminded", "book", "unbook", "undo",
                             "end"]
    assert outcome.status == "completed"


def test_a_multi_instance_handler(bpmn: Conformance) -> None:
    """A handler may itself be a multi-instance activity (here: two letters to send)."""
    mi = multi_instance(sequential=True, cardinality="2")
    files = model(process(
        start(), user("book"), boundary("book_comp", "book", compensate()),
        script("unbook", "pass", inside=mi).replace(
            'id="unbook"', 'id="unbook" isForCompensation="true"', 1),
        throw("undo", compensate()), end(), flows("start>book>undo>end"),
        associated("book", "unbook")))
    outcome = bpmn.run(files, [Complete("book")])
    assert outcome.trace == ["start", "book", "unbook[i]", "unbook[i]", "unbook", "undo",
                             "end"]
    assert outcome.status == "completed"


def test_a_handler_of_an_event_subprocess_throw_works_on_the_throws_data(
        bpmn: Conformance) -> None:
    """The handlers see what the event subprocess did before its throw, and what they set is
    the case's data after it."""
    files = model(process(
        start(), script("book", "booked = True"), undone_by(
            "book", "unbook", code="booked = False\nseen = reason"),
        end("fail", error("failed")), flows("start>book>fail"),
        subprocess("on_error", start("error_start", error("failed")),
                   script("note", "reason = 'failed'"), throw("undo", compensate()),
                   end("error_end"), flows("error_start>note>undo>error_end"),
                   event_triggered=True),
        associated("book", "unbook")), declarations=[declare("error", "failed")])
    outcome = bpmn.run(files)
    assert outcome.trace == ["start", "book", "fail", "error_start", "note", "unbook",
                             "undo", "error_end", "on_error"]
    assert (outcome.data["booked"], outcome.data["seen"]) == (False, "failed")


def test_a_handler_shared_by_two_activities_runs_for_each(bpmn: Conformance) -> None:
    files = model(process(
        start(), user("book"), user("pay"), boundary("book_comp", "book", compensate()),
        boundary("pay_comp", "pay", compensate()), handler("undo_all"),
        throw("undo", compensate()), end(), flows("start>book>pay>undo>end"),
        associated("book", "undo_all"), associated("pay", "undo_all")))
    outcome = bpmn.run(files, [Complete("book"), Complete("pay")])
    assert outcome.trace == ["start", "book", "pay", "undo_all", "undo_all", "undo", "end"]


def trip(*, kind: str = "script") -> str:
    """A subprocess `trip` without a handler of its own: `fly` then `hotel`, each with its
    undo (`unfly`, `unhotel`)."""
    return subprocess("trip", start("trip_start"), user("fly"), user("hotel"),
                      undone_by("fly", "unfly", kind=kind),
                      undone_by("hotel", "unhotel", kind=kind), end("trip_end"),
                      flows("trip_start>fly>hotel>trip_end"), associated("fly", "unfly"),
                      associated("hotel", "unhotel"))


@pytest.mark.parametrize("ref", [None, "trip"])
def test_a_subprocess_without_handler_is_compensated_inside(bpmn: Conformance,
                                                            ref: str | None) -> None:
    """BPMN 2.0.2 §10.7: compensating a completed subprocess without a compensation handler
    of its own compensates what completed inside it (its default compensation), the last
    completed first."""
    files = model(process(start(), trip(), throw("undo", compensate(ref)), end(),
                          flows("start>trip>undo>end")))
    outcome = bpmn.run(files, [Complete("fly"), Complete("hotel")])
    assert outcome.trace == ["start", "trip_start", "fly", "hotel", "trip_end", "trip",
                             "unhotel", "unfly", "undo", "end"]
    assert outcome.status == "completed"


def test_a_subprocess_compensated_inside_with_user_task_handlers(bpmn: Conformance) -> None:
    files = model(process(start(), user("book"), undone_by("book", "unbook"), trip(kind="user"),
                          throw("undo", compensate()), user("after"), end(),
                          flows("start>book>trip>undo>after>end"),
                          associated("book", "unbook")))
    steps = [Complete("book"), Complete("fly"), Complete("hotel")]
    waiting = bpmn.run(files, steps)
    assert (waiting.status, waiting.open_tasks) == ("active", ["unhotel"])
    outcome = bpmn.run(files, [*steps, Complete("unhotel", {"hotel_cancelled": True}),
                               Complete("unfly"), Complete("after")])
    assert outcome.trace == ["start", "book", "trip_start", "fly", "hotel", "trip_end", "trip",
                             "unhotel", "unfly", "unbook", "undo", "after", "end"]
    assert outcome.status == "completed"
    assert outcome.data["hotel_cancelled"] is True


def test_nested_subprocesses_are_compensated_inside(bpmn: Conformance) -> None:
    files = model(process(
        start(), subprocess("holiday", start("h_start"), trip(), end("h_end"),
                            flows("h_start>trip>h_end")),
        throw("undo", compensate()), end(), flows("start>holiday>undo>end")))
    outcome = bpmn.run(files, [Complete("fly"), Complete("hotel")])
    assert outcome.trace == ["start", "h_start", "trip_start", "fly", "hotel", "trip_end",
                             "trip", "h_end", "holiday", "unhotel", "unfly", "undo", "end"]
    assert outcome.status == "completed"


def test_a_subprocess_with_nothing_completed_inside_compensates_nothing(
        bpmn: Conformance) -> None:
    """Inside `trip` only `hotel` has a handler, and the path skipped it: compensating
    `trip` compensates nothing."""
    inner = subprocess("trip", start("trip_start"), user("fly"), user("hotel"),
                       gateway("exclusive", "stay", default="stay-trip_end"),
                       undone_by("hotel", "unhotel"), end("trip_end"),
                       flows("trip_start>fly>stay", "hotel>trip_end"),
                       flow("stay", "trip_end"), flow("stay", "hotel", cond="False"),
                       associated("hotel", "unhotel"))
    files = model(process(start(), inner, throw("undo", compensate()), end(),
                          flows("start>trip>undo>end")))
    outcome = bpmn.run(files, [Complete("fly")])
    assert outcome.trace == ["start", "trip_start", "fly", "trip_end", "trip", "undo", "end"]


@pytest.mark.parametrize(("ref", "undone"), [(None, ["unhotel", "unfly"]),
                                             ("fly", ["unfly"])])
def test_a_throw_inside_a_compensation_event_subprocess_compensates_its_subprocess(
        bpmn: Conformance, ref: str | None, undone: list[str]) -> None:
    """BPMN 2.0.2 §10.7: a compensation event subprocess may itself throw compensation,
    compensating what completed inside the subprocess it belongs to (here after a step of
    its own)."""
    files = model(process(
        start(), subprocess(
            "trip", start("trip_start"), user("fly"), user("hotel"),
            undone_by("fly", "unfly"), undone_by("hotel", "unhotel"), end("trip_end"),
            flows("trip_start>fly>hotel>trip_end"),
            subprocess("on_undo", start("undo_start", compensate()), script("cancel_trip"),
                       throw("undo_inside", compensate(ref)), end("undo_end"),
                       flows("undo_start>cancel_trip>undo_inside>undo_end"),
                       event_triggered=True),
            associated("fly", "unfly"), associated("hotel", "unhotel")),
        throw("undo", compensate()), end(), flows("start>trip>undo>end")))
    outcome = bpmn.run(files, [Complete("fly"), Complete("hotel")])
    assert outcome.trace == ["start", "trip_start", "fly", "hotel", "trip_end", "trip",
                             "undo_start", "cancel_trip", *undone, "undo_inside", "undo_end",
                             "on_undo", "undo", "end"]
    assert outcome.status == "completed"


def called_booking() -> str:
    """A called process `booking` whose `book` has a compensation handler."""
    return process(start("b_start"), user("book"), undone_by("book", "unbook"), end("b_end"),
                   flows("b_start>book>b_end"), associated("book", "unbook"),
                   process_id="booking")


def test_a_call_activity_without_handler_is_compensated_inside(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.7: compensating a completed call activity without a handler of its own
    compensates what completed in the process it called."""
    files = model(process(start(), call("go", "booking"), throw("undo", compensate()), end(),
                          flows("start>go>undo>end")), called_booking())
    outcome = bpmn.run(files, [Complete("book")])
    assert outcome.trace == ["start", "b_start", "book", "b_end", "go", "unbook", "undo",
                             "end"]
    assert outcome.status == "completed"


def test_a_call_activity_with_its_own_handler_is_compensated_by_it(
        bpmn: Conformance) -> None:
    files = model(process(start(), call("go", "booking"), undone_by("go", "cancel_booking"),
                          throw("undo", compensate()), end(), flows("start>go>undo>end"),
                          associated("go", "cancel_booking")), called_booking())
    outcome = bpmn.run(files, [Complete("book")])
    assert outcome.trace == ["start", "b_start", "book", "b_end", "go", "cancel_booking",
                             "undo", "end"]
    assert outcome.status == "completed"


@pytest.mark.parametrize("handler_v2", ["unbook", "cancel_booking"])
def test_a_migrated_case_runs_the_handler_of_its_new_version(bpmn: Conformance,
                                                             handler_v2: str) -> None:
    """`book` completed on version 1; the case moves to version 2, whose handler differs
    (its code, or the handler itself): the throw runs version 2's handler."""
    def version(handler_id: str, code: str) -> dict[str, str]:
        return model(process(start(), user("book"), undone_by("book", handler_id, code=code),
                             user("pay"), throw("undo", compensate()), end(),
                             flows("start>book>pay>undo>end"), associated("book", handler_id)))

    bpmn.publish(version("unbook", "undone = 1"))
    client = bpmn.engine().add_client("Conformance client").id or 0
    case_id = bpmn.engine().start_case(PROCESS, client).case.id or 0
    bpmn.apply(case_id, client, Complete("book"))
    bpmn.publish(version(handler_v2, "undone = 2"))
    report = bpmn.engine().migrate(PROCESS, 1, 2)
    assert [result.ok for result in report.cases] == [True], report.cases
    bpmn.apply(case_id, client, Complete("pay"))
    view = bpmn.engine().get_case(case_id)
    assert (view.case.status, view.case.version, view.case.data["undone"]) == (
        "completed", 2, 2)


def test_a_throw_inside_a_called_process_compensates_there(bpmn: Conformance) -> None:
    """A called process is its own scope: its throw compensates its own activities."""
    booking_process = process(
        start("b_start"), user("book"), undone_by("book", "unbook"),
        throw("b_undo", compensate()), end("b_end"), flows("b_start>book>b_undo>b_end"),
        associated("book", "unbook"), process_id="booking")
    files = model(process(start(), call("go", "booking"), end(), flows("start>go>end")),
                  booking_process)
    outcome = bpmn.run(files, [Complete("book")])
    assert outcome.trace == ["start", "b_start", "book", "unbook", "b_undo", "b_end", "go",
                             "end"]
    assert outcome.status == "completed"


# -- malformed uses, refused at publish --------------------------------------------------

def test_a_handler_with_a_sequence_flow_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.1: a compensation activity "MUST NOT have any incoming or outgoing
    Sequence Flows"."""
    files = booking(throw("undo", compensate()), end(), flows("start>book>pay>undo>end"),
                    flow("unbook", "end"))
    located(bpmn.refusal(files), "unbook", "compensation_handler_flow")


def test_a_compensation_boundary_event_with_a_flow_is_refused(bpmn: Conformance) -> None:
    """A compensation boundary event leads to its handler by an association only."""
    files = booking(script("extra"), throw("undo", compensate()), end(),
                    flows("start>book>pay>undo>end"), flow("book_comp", "extra"),
                    flow("extra", "end"))
    located(bpmn.refusal(files), "book_comp", "compensation_boundary_flow")


def test_a_compensation_boundary_event_without_handler_is_refused(bpmn: Conformance) -> None:
    files = model(process(start(), user("book"), boundary("book_comp", "book", compensate()),
                          throw("undo", compensate()), end(), flows("start>book>undo>end")))
    located(bpmn.refusal(files), "book_comp", "compensation_without_handler")


def test_a_handler_no_boundary_event_names_is_refused(bpmn: Conformance) -> None:
    files = model(process(start(), user("book"), handler("unbook"), end(),
                          flows("start>book>end")))
    located(bpmn.refusal(files), "unbook", "compensation_handler_unused")


@pytest.mark.parametrize("ref", ["nowhere", "start", "book_inside"])
def test_an_activity_ref_outside_the_scope_is_refused(bpmn: Conformance, ref: str) -> None:
    """Table 10.93: activityRef names an activity of the throw's own scope (here: one that
    does not exist, an event, an activity inside a subprocess), with a compensation
    boundary event."""
    files = model(process(
        start(), user("pay"), undone_by("pay", "refund"),
        subprocess("trip", start("trip_start"), user("book_inside"),
                   undone_by("book_inside", "unbook"), end("trip_end"),
                   flows("trip_start>book_inside>trip_end"),
                   associated("book_inside", "unbook")),
        throw("undo", compensate(ref)), end(), flows("start>pay>trip>undo>end"),
        associated("pay", "refund")))
    refused = bpmn.refusal(files)
    located(refused, "undo", "compensation_activity_ref")
    assert ref in refused.reason


def test_an_activity_ref_without_handler_is_refused(bpmn: Conformance) -> None:
    files = booking(script("other"), throw("undo", compensate("other")), end(),
                    flows("start>book>pay>other>undo>end"))
    located(bpmn.refusal(files), "undo", "compensation_activity_ref")


def test_a_compensation_event_subprocess_at_process_level_is_refused(
        bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.5: a compensation event subprocess compensates the subprocess it is
    in; at process level (the process compensated from a caller) Pathways does not run it."""
    files = model(process(
        start(), user("book"), end(), flows("start>book>end"),
        subprocess("on_undo", start("undo_start", compensate()), user("undo_it"),
                   end("undo_end"), flows("undo_start>undo_it>undo_end"),
                   event_triggered=True)))
    located(bpmn.refusal(files), "undo_start", "compensation_not_supported")


def test_a_subprocess_handler_is_refused(bpmn: Conformance) -> None:
    files = model(process(
        start(), user("book"), boundary("book_comp", "book", compensate()), end(),
        flows("start>book>end"),
        subprocess("unbook", start("u_start"), end("u_end"), flows("u_start>u_end"))
        .replace('id="unbook"', 'id="unbook" isForCompensation="true"', 1),
        associated("book", "unbook")))
    located(bpmn.refusal(files), "unbook", "compensation_not_supported")


def test_a_handler_with_a_boundary_event_is_refused(bpmn: Conformance) -> None:
    files = booking(throw("undo", compensate()), end(),
                    boundary("late", "unbook", timer('"PT1H"')), end("late_end"),
                    flows("start>book>pay>undo>end", "late>late_end"))
    located(bpmn.refusal(files), "unbook", "compensation_not_supported")


def test_a_compensation_catch_event_is_refused(bpmn: Conformance) -> None:
    files = booking(catch("wait_undo", compensate()), end(),
                    flows("start>book>pay>wait_undo>end"))
    located(bpmn.refusal(files), "wait_undo", "compensation_not_supported")


def test_compensation_among_other_event_definitions_is_refused(bpmn: Conformance) -> None:
    """A multiple event with a compensation definition: the other trigger would be lost."""
    files = booking(throw("undo", compensate() + signal("done")), end(),
                    flows("start>book>pay>undo>end"))
    files["conformance.bpmn"] = files["conformance.bpmn"].replace(
        "<bpmn:process ", f"{declare('signal', 'done')}<bpmn:process ", 1)
    located(bpmn.refusal(files), "undo", "compensation_not_supported")


def test_compensation_inside_a_transaction_is_refused(bpmn: Conformance) -> None:
    """BPMN 2.0.2 §10.3.2: a cancelled transaction is undone by compensating its completed
    activities, which Pathways does not run: compensation inside a transaction is refused."""
    files = model(process(
        start(), subprocess("deal", start("deal_start"), user("book"),
                            undone_by("book", "unbook"), end("deal_end"),
                            flows("deal_start>book>deal_end"), associated("book", "unbook"))
        .replace("<bpmn:subProcess ", "<bpmn:transaction ", 1)
        .replace("</bpmn:subProcess>", "</bpmn:transaction>"),
        end(), flows("start>deal>end")))
    located(bpmn.refusal(files), "book_comp", "compensation_not_supported")


def test_two_compensation_boundary_events_on_one_activity_are_refused(
        bpmn: Conformance) -> None:
    files = booking(boundary("book_comp2", "book", compensate()), handler("unbook2"),
                    throw("undo", compensate()), end(), flows("start>book>pay>undo>end"))
    located(bpmn.refusal(files), "book_comp", "compensation_handler_twice")
