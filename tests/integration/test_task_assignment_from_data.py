"""A task assigned, and opened to one organisation, from the case's own answers (DSL `assign`
and `organisation` on a task), on real databases: the tenancy-support task goes to whichever
provider accepted the referral, assigned to the keyworker named, and no other provider's staff
see or do it, though the role is open to both (issue 15, item 8)."""

from __future__ import annotations

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.casework import Casework
from engine.errors import ForbiddenError, NotFoundError
from engine.model import Event, InboxTask, Organisation, User
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock

PATHWAY = """
pathway: tenancy_referral
title: Tenancy referral
organisation: council
roles:
  coordinator: {title: Coordinator, organisations: [council]}
  support_worker: {title: Support worker, organisations: [st_mungos, shelter]}
steps:
  - task: referral
    role: coordinator
    title: Refer for tenancy support
    form:
      accepted_by: {type: choice, required: true, options: [st_mungos, shelter]}
      keyworker: {type: text, title: Keyworker's username}
  - task: support_plan
    role: support_worker
    title: Tenancy support plan
    assign: keyworker
    organisation: accepted_by
  - task: review
    role: support_worker
    title: Review
    organisation: accepted_by == 'shelter'
"""


class World:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow
        self.clock = FakeClock()
        self.engine = Engine(uow=uow, clock=self.clock)
        compiled = compile_pathway(load_pathway(PATHWAY, "p.yaml"))
        self.engine.publish(compiled.files(), compiled.bpmn_file)
        self.work = Casework(self.engine, uow, self.clock)
        people = {"cora": ("council", "caseworker"), "sam": ("st_mungos", "caseworker"),
                  "sid": ("st_mungos", "caseworker"), "hal": ("shelter", "caseworker"),
                  "lea": ("shelter", "team_lead"), "ada": ("council", "admin")}
        with uow() as u:
            for org in ("council", "st_mungos", "shelter"):
                u.organisations.put(Organisation(org, org.title()))
            self.users = {name: u.users.add(User(id=None, username=name, name=name.title(),
                                                 organisation=org, role=role))
                          for name, (org, role) in people.items()}
            u.commit()

    def referred(self, answers: dict[str, object]) -> InboxTask:
        cora = self.users["cora"]
        client = self.work.add_client(cora, "Pat", {})
        assert client.id is not None
        started = self.work.start_case(cora, "tenancy_referral", client.id)
        assert started.next_task is not None
        done = self.work.complete(cora, started.next_task.id, answers)
        (task,) = [t for t in self.engine_tasks(done.case_id) if t.step == "support_plan"]
        return task

    def engine_tasks(self, case_id: int) -> list[InboxTask]:
        with self.uow() as u:
            return u.inbox.list(case_id=case_id)

    def sees(self, name: str, task: InboxTask) -> bool:
        rows = self.work.inbox(self.users[name], scope="role").rows
        return any(row.task.id == task.id for row in rows)

    def ready_event(self, case_id: int, step: str) -> Event:
        (event,) = [e for e in self.engine.events(case_id)
                    if e.type == "task_ready" and e.step == step]
        return event


@pytest.fixture
def w(uow_factory: UnitOfWorkFactory) -> World:
    return World(uow_factory)


def test_the_task_goes_to_the_accepting_organisation_assigned_to_the_keyworker(
        w: World) -> None:
    task = w.referred({"accepted_by": "st_mungos", "keyworker": "sam"})
    assert (task.organisation, task.assignee) == ("st_mungos", "sam")
    assert w.sees("sam", task) and w.sees("sid", task) and w.sees("ada", task)
    assert not w.sees("hal", task) and not w.sees("lea", task)
    event = w.ready_event(task.case_id, "support_plan")
    assert (event.data["organisation"], event.data["assignee"]) == ("st_mungos", "sam")
    # the keyworker does it; the other provider's staff can neither open nor complete it
    for outsider in ("hal", "lea"):
        with pytest.raises((ForbiddenError, NotFoundError)):
            w.work.task(w.users[outsider], task.id)
        with pytest.raises((ForbiddenError, NotFoundError)):
            w.work.complete(w.users[outsider], task.id, {})
    # a colleague of the same provider sees it but it is the keyworker's (assigned)
    with pytest.raises(ForbiddenError):
        w.work.complete(w.users["sid"], task.id, {})
    done = w.work.complete(w.users["sam"], task.id, {})
    assert done.status == "active"


def test_another_answer_opens_it_to_the_other_organisation_only(w: World) -> None:
    task = w.referred({"accepted_by": "shelter"})
    assert (task.organisation, task.assignee) == ("shelter", None)
    assert w.sees("hal", task) and w.sees("lea", task)
    assert not w.sees("sam", task) and not w.sees("sid", task)
    w.work.claim(w.users["hal"], task.id)
    w.work.complete(w.users["hal"], task.id, {})
    # an `organisation` that gives no name (here True) cannot be used: the review stays open
    # to the role's organisations as declared (never to anyone more), and the event says why
    (review,) = [t for t in w.engine_tasks(task.case_id) if t.step == "review"]
    assert review.organisation is None
    assert w.sees("sam", review) and w.sees("hal", review) and not w.sees("cora", review)
    problem = w.ready_event(task.case_id, "review").data["organisation_problem"]
    assert "not a name" in problem
