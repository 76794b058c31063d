"""`task_started` on real databases (SQLite file and PostgreSQL): recorded once per task at
its first claim or draft, numbered in the case's log so the engine goes on after it, and a
claim or draft that meets a concurrent change of the case is run again, not refused."""

from __future__ import annotations

import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime

import pytest

from adapters.sql.repositories.workflow import SqlCaseRepository
from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.casework import Casework
from engine.exports import XES_NAMESPACE, to_xes
from engine.model import CaseRecord, Event, InboxTask, Organisation, User
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock

PATHWAY = """
pathway: intake_check
title: Intake check
organisation: st_giles
roles:
  caseworker: {title: Caseworker, organisations: [st_giles]}
steps:
  - task: intake
    role: caseworker
    title: Intake interview
    form:
      housed: {type: boolean, required: true}
  - task: plan
    role: caseworker
    title: Plan
"""


class HookClock(FakeClock):
    """A clock that, the first time record_task_started asks it the time (after it read the
    case, before it saves it), lets another writer in: a deterministic interleaving."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = None

    def now(self) -> datetime:
        hook = self.hook
        if hook is not None and sys._getframe(1).f_code.co_name == "record_task_started":
            self.hook = None
            hook()
        return super().now()


class World:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.clock = HookClock()
        self.engine = Engine(uow=uow, clock=self.clock)
        compiled = compile_pathway(load_pathway(PATHWAY, "p.yaml"))
        self.engine.publish(compiled.files(), compiled.bpmn_file)
        with uow() as u:
            u.organisations.put(Organisation("st_giles", "St Giles"))
            self.amy = u.users.add(User(id=None, username="amy", name="Amy",
                                        organisation="st_giles", role="caseworker"))
            self.bob = u.users.add(User(id=None, username="bob", name="Bob",
                                        organisation="st_giles", role="caseworker"))
            u.commit()

    def casework(self) -> Casework:
        """Another process's view: its own engine and caches, the same database."""
        return Casework(Engine(uow=self.uow, clock=self.clock), self.uow, self.clock)

    def task(self) -> InboxTask:
        work = self.casework()
        client = work.add_client(self.amy, "Sam", {})
        assert client.id is not None
        started = work.start_case(self.amy, "intake_check", client.id)
        assert started.next_task is not None
        return started.next_task

    def started(self, case_id: int) -> list[Event]:
        return [e for e in self.engine.events(case_id) if e.type == "task_started"]


@pytest.fixture
def w(uow_factory: UnitOfWorkFactory) -> World:
    return World(uow_factory)


def test_first_claim_records_the_start_and_the_case_goes_on(w: World) -> None:
    task = w.task()
    work = w.casework()
    w.clock.advance(minutes=3)
    work.claim(w.amy, task.id)
    work.save_draft(w.amy, task.id, {"housed": True})
    work.claim(w.amy, task.id)
    (event,) = w.started(task.case_id)
    assert (event.step, event.actor, event.data) == ("intake", "amy",
                                                     {"task": task.id, "via": "claim"})
    done = w.casework().complete(w.amy, task.id, {"housed": True})
    assert done.status == "active" and done.next_task is not None
    log = w.engine.events(task.case_id)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    # the XES log: schedule, start and complete of one activity instance
    case = w.engine.get_case(task.case_id).case
    root = ET.fromstring(to_xes([case], {task.case_id: log}).encode("utf-8"))  # noqa: S314
    ns = {"x": XES_NAMESPACE}
    transitions = []
    for element in root.findall("x:trace/x:event", ns):
        values = {a.attrib["key"]: a.attrib["value"] for a in element}
        if values.get("concept:instance") == task.id:
            transitions.append(values["lifecycle:transition"])
    assert transitions == ["schedule", "start", "complete"]


def _skip_on_sqlite(database_url: str, so: str) -> None:
    """The races below need a second writer while the claim runs, which SQLite cannot have."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the other writer would wait "
                    f"for the claim, so {so}")


def _amy_claims_after_bobs_draft_started_it(w: World, task: InboxTask,
                                             fired: list[bool]) -> None:
    """Amy claims the task while the race staged makes bob's draft record its start first:
    the claim succeeds, the one start is bob's, and the case's log stays numbered 1, 2, ..."""
    claimed = w.casework().claim(w.amy, task.id)
    assert fired == [True] and claimed.assignee == "amy"
    (event,) = w.started(task.case_id)
    assert (event.actor, event.data["via"]) == ("bob", "draft")
    log = w.engine.events(task.case_id)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))


def test_a_claim_that_meets_a_concurrent_change_is_run_again(w: World,
                                                             database_url: str) -> None:
    """Between the claim reading the case and saving it, another process saves a draft of the
    same task (and so records its start): the claim's save conflicts, it is run again, finds
    the start recorded and succeeds. One start, the draft's."""
    _skip_on_sqlite(database_url, "there is no conflict to retry")
    task = w.task()
    other = w.casework()
    fired: list[bool] = []

    def draft_meanwhile() -> None:
        other.save_draft(w.bob, task.id, {"housed": False})
        fired.append(True)

    w.clock.hook = draft_meanwhile
    _amy_claims_after_bobs_draft_started_it(w, task, fired)


def test_a_start_recorded_between_reading_the_log_and_the_case_is_not_recorded_twice(
        w: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim looks for the task's start and reads the case; another process records the
    start in between. The case the claim then reads is already at the new revision, so its
    save would not conflict: unless the case is read before the log, the start is recorded
    twice (seen once in CI under four racing processes on PostgreSQL)."""
    _skip_on_sqlite(database_url, "nothing can come in between")
    task = w.task()
    other = w.casework()
    fired: list[bool] = []
    original_get = SqlCaseRepository.get

    def get_after_another_start(self: SqlCaseRepository, case_id: int, *,
                                with_state: bool = True) -> CaseRecord | None:
        if not fired and sys._getframe(1).f_code.co_name == "record_task_started":
            fired.append(True)
            other.save_draft(w.bob, task.id, {"housed": False})
        return original_get(self, case_id, with_state=with_state)

    monkeypatch.setattr(SqlCaseRepository, "get", get_after_another_start)
    _amy_claims_after_bobs_draft_started_it(w, task, fired)


def test_racing_claims_and_drafts_all_succeed_and_start_the_task_once(w: World) -> None:
    """Four processes claim and draft one task at once: none is refused, one start."""
    task = w.task()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def act(call: Callable[[Casework], object]) -> None:
        work = w.casework()
        barrier.wait()
        try:
            call(work)
        except BaseException as err:
            errors.append(err)

    calls: list[Callable[[Casework], object]] = [
        lambda c: c.claim(w.amy, task.id),
        lambda c: c.save_draft(w.amy, task.id, {"housed": True}),
        lambda c: c.claim(w.amy, task.id),
        lambda c: c.save_draft(w.amy, task.id, {}),
    ]
    threads = [threading.Thread(target=act, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(w.started(task.case_id)) == 1
    log = w.engine.events(task.case_id)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
