"""The engine tells its Observer (engine.ports) each facade command's kind, outcome and
duration, and each case step's case, outcome and duration: what adapters.metrics counts.
On the in-memory fakes: the engine alone, no metrics library."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine, NotFoundError
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

REFERRAL = """pathway: referral
title: Referral
roles:
  worker: {title: Worker}
steps:
  - task: intake
    role: worker
    title: Intake
  - task: assess
    role: worker
    title: Assess
"""


@dataclass
class Told:
    commands: list[tuple[str, str]] = field(default_factory=list)
    steps: list[tuple[int | None, str]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def command_done(self, kind: str, outcome: str, seconds: float) -> None:
        self.commands.append((kind, outcome))
        self.seconds.append(seconds)

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None:
        self.steps.append((case_id, outcome))
        self.seconds.append(seconds)


def test_commands_and_steps_are_told() -> None:
    told = Told()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock(), observer=told)
    compiled = compile_pathway(load_pathway(REFERRAL, "referral.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Ann Example")
    assert client.id is not None
    view = engine.start_case("referral", client.id)
    case_id = view.case.id
    told.commands.clear()
    told.steps.clear()

    engine.complete_task(view.tasks[0].task.id, {})
    assert told.commands == [("complete_task", "ok")]
    assert told.steps == [(case_id, "ok")]

    with pytest.raises(NotFoundError):
        engine.complete_task("no-such-task", {})
    assert told.commands[-1] == ("complete_task", "not_found")
    assert told.steps == [(case_id, "ok")]  # refused before any case was found: no step

    assert engine.fire_due_timers() == 0  # its last claim finds nothing due: no step either
    assert told.commands[-1] == ("fire_due_timers", "ok")
    assert told.steps == [(case_id, "ok")]

    engine.cancel_case(case_id or 0, reason="moved away")
    with pytest.raises(Exception, match="cancelled"):
        engine.cancel_case(case_id or 0, reason="again")
    assert told.commands[-2:] == [("cancel_case", "ok"), ("cancel_case", "invalid_state")]
    assert told.steps[-1] == (case_id, "invalid_state")
    assert all(seconds >= 0 for seconds in told.seconds)


def test_queries_are_not_commands() -> None:
    told = Told()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock(), observer=told)
    engine.list_cases()
    engine.definitions()
    assert told.commands == [] and told.steps == []


def test_without_an_observer_nothing_is_told() -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock())
    with pytest.raises(NotFoundError):
        engine.cancel_case(1, reason="none")


class Broken:
    def command_done(self, kind: str, outcome: str, seconds: float) -> None:
        raise OSError("metrics cannot be written")

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None:
        raise OSError("metrics cannot be written")


def test_a_failing_observer_changes_no_command(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=FakeClock(), observer=Broken())
    compiled = compile_pathway(load_pathway(REFERRAL, "referral.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)
    client = engine.add_client("Ann Example")
    view = engine.start_case("referral", client.id or 0)
    done = engine.complete_task(view.tasks[0].task.id, {})
    assert done.status == "active" and [t.task.step for t in done.tasks] == ["assess"]
    with pytest.raises(NotFoundError):  # the command's own error, not the observer's
        engine.complete_task("no-such-task", {})
    assert "the observer failed" in caplog.text
