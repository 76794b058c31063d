"""Run one BPMN model through Pathways as a user would, and observe what ran.

`Conformance.run(files, commands)` publishes the model through the real publish path (the
same checks and dry run as `pathways publish`), starts a case for a new client, then applies
the commands one by one: complete a task with data, send a message or a signal from
outside, move the clock and fire the timers then due, finish an ad-hoc subprocess. With
`reload` every command (and the final reading) is done by a fresh Engine, which holds
nothing in memory and loads the case from the database, as another process would.

What ran is read from SpiffWorkflow's own feed of task state changes (the `spiff.task`
logger): every BPMN activity and event that reached COMPLETED, in order, however it was
reached (gateways, and SpiffWorkflow's own bookkeeping tasks, are left out). An instance of
a multi-instance or loop activity `x` is `x[i]`; the activity itself, `x`, completes after
its instances. Cancelled work
never completes, so an activity stopped by an interrupting event is not in the trace.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine import DefinitionError, Engine
from engine.model import Message
from engine.ports import UnitOfWorkFactory
from tests.conformance.bpmn import MAIN_FILE, PROCESS
from tests.unit.engine.fakes import FakeClock

_INTERNAL = {"Start", "End", "Root"}


@dataclass(frozen=True)
class Complete:
    """Complete the case's open task at `step` (the only one there, or the `nth`, in the
    order the inbox lists them) with `data`."""

    step: str
    data: Mapping[str, Any] = field(default_factory=dict)
    nth: int = 0


@dataclass(frozen=True)
class Send:
    """A message (or, with signal=True, a signal) arrives from outside for the case's client,
    and the kept messages are delivered."""

    name: str
    payload: Any = None
    signal: bool = False


@dataclass(frozen=True)
class Wait:
    """Time passes (timedelta keywords: hours=2), then the timers due are fired: every
    case's, as the worker does, so a test that waits runs one model only."""

    hours: float = 0
    days: float = 0
    minutes: float = 0


@dataclass(frozen=True)
class Finish:
    """The caseworker finishes the case's open ad-hoc subprocess at `step`."""

    step: str


Command = Complete | Send | Wait | Finish


@dataclass(frozen=True)
class Outcome:
    """What a run did and where it left the case."""

    trace: list[str]  # BPMN activities and events completed, in order
    status: str
    open_tasks: list[str]  # steps of the open inbox tasks, sorted (one per task)
    waiting_for: list[str]  # messages and signals the case waits for, sorted
    timers: list[str]  # steps of the case's pending timers, sorted
    data: dict[str, Any]
    error: dict[str, Any] | None

    def counts(self) -> Counter[str]:
        return Counter(self.trace)


class _Trace(logging.Handler):
    """Keeps the spec name of every task that enters COMPLETED (SpiffWorkflow logs each state
    change on `spiff.task` at INFO, with the task's spec and class)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.completed: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "state", None) != "COMPLETED":
            return
        name = str(getattr(record, "task_spec", ""))
        kind = str(getattr(record, "task_type", ""))
        if name in _INTERNAL or "." in name or kind.endswith("Gateway"):
            return
        self.completed.append(name.replace(" [child]", "[i]"))


@contextmanager
def traced() -> Iterator[_Trace]:
    logger = logging.getLogger("spiff.task")
    handler, level = _Trace(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # INFO exactly: lower makes SpiffWorkflow log task data
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass
class Conformance:
    """Runs models on one database (SQLite or PostgreSQL), reloading between commands or
    not."""

    uow_factory: UnitOfWorkFactory
    reload: bool
    clock: FakeClock = field(default_factory=FakeClock)
    _engine: Engine | None = None

    def engine(self) -> Engine:
        """The engine for the next command: a fresh one each time when reloading."""
        if self.reload or self._engine is None:
            self._engine = Engine(uow=self.uow_factory, clock=self.clock)
        return self._engine

    def publish(self, files: Mapping[str, str]) -> None:
        self.engine().publish(files, MAIN_FILE)

    def refusal(self, files: Mapping[str, str]) -> DefinitionError:
        """The publish refusal of a model Pathways does not run (and nothing published)."""
        try:
            self.publish(files)
        except DefinitionError as refused:
            assert self.engine().versions() == []
            return refused
        raise AssertionError("the model was published; a refusal was expected")

    def run(self, files: Mapping[str, str], commands: Sequence[Command] = (),
            *, pathway: str = PROCESS) -> Outcome:
        self.publish(files)
        client = self.engine().add_client("Conformance client")
        with traced() as trace:
            case_id = self.engine().start_case(pathway, client.id or 0).case.id or 0
            for command in commands:
                self.apply(case_id, client.id or 0, command)
        return self.outcome(case_id, trace.completed)

    def apply(self, case_id: int, client_id: int, command: Command) -> None:
        engine = self.engine()
        if isinstance(command, Complete):
            views = [view for view in engine.get_case(case_id).tasks
                     if view.task.step == command.step]
            assert len(views) > command.nth, (
                f"no open task {command.step!r} (#{command.nth}) to complete; open: "
                f"{sorted(view.task.step for view in engine.get_case(case_id).tasks)}")
            engine.complete_task(views[command.nth].task.id, dict(command.data))
        elif isinstance(command, Finish):
            engine.finish_adhoc(case_id, command.step)
        elif isinstance(command, Send):
            with self.uow_factory() as uow:
                uow.messages.add(Message(
                    id=None, name=command.name, client_id=client_id, payload=command.payload,
                    sender_case_id=None, created_at=self.clock.now(),
                    kind="signal" if command.signal else "message"))
                uow.commit()
            engine.deliver_messages()
        else:
            now = self.clock.advance(hours=command.hours, days=command.days,
                                     minutes=command.minutes)
            engine.fire_due_timers(now)

    def outcome(self, case_id: int, trace: list[str]) -> Outcome:
        view = self.engine().get_case(case_id)
        with self.uow_factory() as uow:
            timers = sorted(timer.step for timer in uow.timers.for_case(case_id))
        return Outcome(trace=list(trace), status=view.case.status,
                       open_tasks=sorted(task.task.step for task in view.tasks),
                       waiting_for=sorted(view.case.waiting_for), timers=timers,
                       data=dict(view.case.data), error=view.case.error)


class AnyOrder(tuple[str, ...]):
    """In an expected trace: these steps next, in whichever order."""


def in_any_order(*steps: str) -> AnyOrder:
    """In an expected trace: these steps next, in whichever order (concurrent work whose
    order BPMN leaves open)."""
    return AnyOrder(steps)


def matches(trace: Sequence[str], expected: Sequence[str | AnyOrder]) -> bool:
    """Whether the trace is exactly the expected one: each plain step in its place, each
    `in_any_order` group as that many steps in any order."""
    position = 0
    for item in expected:
        if isinstance(item, AnyOrder):
            group = trace[position:position + len(item)]
            if sorted(group) != sorted(item):
                return False
            position += len(item)
        else:
            if position >= len(trace) or trace[position] != item:
                return False
            position += 1
    return position == len(trace)
