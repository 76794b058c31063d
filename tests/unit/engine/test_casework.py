"""Casework on the in-memory fakes: two organisations, every role against every operation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.access import HIDDEN
from engine.casework import Casework
from engine.errors import (
    EngineError,
    ForbiddenError,
    FormValidationError,
    InvalidArgumentError,
    NotFoundError,
)
from engine.model import Client, InboxTask, Message, Organisation, User
from tests.pathway_texts import pathway_head
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

WELLBEING = pathway_head("wellbeing", "Wellbeing", "mind") + """\
  therapist: {title: Therapist, organisations: [mind]}
client_fields:
  diagnosis: {type: text, sensitive: health}
steps:
  - task: screen
    role: therapist
    title: Screen
    form:
      mood: {type: integer, sensitive: health}
"""

RESETTLE = pathway_head("resettle", "Resettlement", "st_giles") + """\
  caseworker: {title: Caseworker, organisations: [st_giles]}
client_fields:
  phone: text
  conviction: {type: text, sensitive: offence}
  diagnosis: {type: text, sensitive: health}
steps:
  - task: assess
    role: caseworker
    title: Assess
    due: P2D
    form:
      phone: {type: text, prefill: client.phone, save_to: client.phone}
      offences: {type: long_text, sensitive: offence, save_to: client.conviction}
      diagnosis: {type: text, sensitive: health, save_to: client.diagnosis}
      housed: {type: boolean}
      refer_to_mind: {type: boolean, required: true}
  - record: assessed
    outcome: assessed
  - decide: referral
    branches:
      - when: refer_to_mind
        steps:
          - refer: to_wellbeing
            pathway: wellbeing
    otherwise: []
  - task: plan
    role: caseworker
    title: Plan
    form:
      goal: {type: text, required: true}
"""

ASSESS = {"phone": "07700 900123", "offences": "burglary", "diagnosis": "depression",
          "housed": False, "refer_to_mind": True}

USERS = {
    "amy": ("caseworker", "st_giles", ()),
    "bob": ("caseworker", "st_giles", ()),
    "pat": ("caseworker", "st_giles", ("volunteer",)),
    "lee": ("team_lead", "st_giles", ()),
    "mo": ("caseworker", "mind", ()),
    "tess": ("team_lead", "mind", ()),
    "ada": ("admin", "programme", ()),
    "dee": ("designer", "st_giles", ()),
    "cam": ("commissioner", "programme", ()),
}


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.uow = FakeUnitOfWorkFactory()
        self.engine = Engine(uow=self.uow, clock=self.clock)
        self.work = Casework(self.engine, self.uow, self.clock)
        for text in (WELLBEING, RESETTLE):
            compiled = compile_pathway(load_pathway(text, "p.yaml"))
            self.engine.publish(compiled.files(), compiled.bpmn_file)
        self.users: dict[str, User] = {}
        with self.uow() as uow:
            for org in ("st_giles", "mind", "programme"):
                uow.organisations.put(Organisation(org, org.title()))
            for name, (role, org, lanes) in USERS.items():
                self.users[name] = uow.users.add(User(
                    id=None, username=name, name=name.title(), organisation=org, role=role,
                    pathway_roles=lanes))
            uow.commit()

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["users"][name]
        except KeyError:
            raise AttributeError(name) from None

    def client(self, name: str = "Sam", **fields: Any) -> int:
        client = self.work.add_client(self.amy, name, fields)
        assert client.id is not None
        return client.id

    def resettle(self, client_id: int) -> InboxTask:
        """Start resettle for the client; its assess task."""
        started = self.work.start_case(self.amy, "resettle", client_id)
        assert started.next_task is not None
        return started.next_task

    def wellbeing_task(self, client_id: int) -> InboxTask:
        rows = self.work.inbox(self.mo, client_id=client_id).rows
        assert [r.task.step for r in rows] == ["screen"]
        return rows[0].task

    def log(self, action: str | None = None) -> list[Any]:
        with self.uow() as uow:
            return [e for e in uow.access_log.list() if action is None or e.action == action]


@pytest.fixture
def w() -> World:
    return World()


# -- tasks ----------------------------------------------------------------------------------


def test_inbox_shows_only_what_the_users_organisation_and_role_may_do(w: World) -> None:
    sam = w.client("Sam")
    assess = w.resettle(sam)
    w.work.complete(w.amy, assess.id, ASSESS)  # refers Sam to wellbeing (Mind)
    steps = {name: sorted(r.task.step for r in w.work.inbox(user).rows)
             for name, user in w.users.items()}
    assert steps == {"amy": ["plan"], "bob": ["plan"], "pat": [], "lee": ["plan"],
                     "mo": ["screen"], "tess": ["screen"], "ada": ["plan", "screen"],
                     "dee": [], "cam": []}
    row = w.work.inbox(w.amy).rows[0]
    assert (row.client_id, row.client_name, row.assignee, row.overdue) == (sam, "Sam", None,
                                                                          False)


def test_a_task_of_another_organisation_is_not_found_by_its_id(w: World) -> None:
    assess = w.resettle(w.client())
    operations: list[Callable[[User], object]] = [
        lambda u: w.work.task(u, assess.id),
        lambda u: w.work.claim(u, assess.id),
        lambda u: w.work.unclaim(u, assess.id),
        lambda u: w.work.save_draft(u, assess.id, {"phone": "1"}),
        lambda u: w.work.complete(u, assess.id, ASSESS),
    ]
    for name in ("mo", "tess", "pat", "dee", "cam"):
        for operation in operations:
            with pytest.raises(NotFoundError) as err:
                operation(w.users[name])
            assert err.value.message == f"no open task {assess.id}"
    with pytest.raises(NotFoundError):
        w.work.task(w.amy, "no-such-task")
    with pytest.raises(NotFoundError):  # the lead of the other organisation cannot either
        w.work.reassign(w.tess, [assess.id], "mo")


@pytest.mark.parametrize("name", list(USERS))
def test_every_role_against_every_task_operation(w: World, name: str) -> None:
    user = w.users[name]
    assess = w.resettle(w.client())
    allowed = name in ("amy", "bob", "lee", "ada")
    outcomes: dict[str, str] = {}
    operations: dict[str, Callable[[], object]] = {
        "task": lambda: w.work.task(user, assess.id),
        "claim": lambda: w.work.claim(user, assess.id),
        "draft": lambda: w.work.save_draft(user, assess.id, {"housed": True}),
        "unclaim": lambda: w.work.unclaim(user, assess.id),
        "reassign": lambda: w.work.reassign(user, [assess.id], "bob"),
        "complete": lambda: w.work.complete(user, assess.id, ASSESS),
    }
    for operation, call in operations.items():
        try:
            call()
            outcomes[operation] = "ok"
        except EngineError as err:
            outcomes[operation] = err.code
    expected = "ok" if allowed else "not_found"
    lead = name in ("lee", "ada", "tess")
    assert outcomes == {
        "task": expected, "claim": expected, "draft": expected, "unclaim": expected,
        # reassigning takes a lead (of an organisation that may see the task); the task
        # then is bob's, which a lead may still complete
        "reassign": ("ok" if allowed else "not_found") if lead else "forbidden",
        "complete": expected,
    }


def test_claim_unclaim_and_reassign(w: World) -> None:
    first = w.resettle(w.client("Sam"))
    second = w.resettle(w.client("Kim"))
    assert w.work.claim(w.amy, first.id).assignee == "amy"
    assert w.work.inbox(w.amy).counts == {"mine": 1, "role": 2, "unassigned": 1, "overdue": 0}
    assert [r.task.id for r in w.work.inbox(w.amy, scope="mine").rows] == [first.id]
    assert [r.task.id for r in w.work.inbox(w.bob, scope="unassigned").rows] == [second.id]
    # bob sees amy's task (role scope) but may not take it, draft it or complete it
    assert {r.assignee for r in w.work.inbox(w.bob).rows} == {"amy", None}
    page = w.work.task(w.bob, first.id)
    assert page.may_act is False
    for call in (lambda: w.work.claim(w.bob, first.id),
                 lambda: w.work.unclaim(w.bob, first.id),
                 lambda: w.work.save_draft(w.bob, first.id, {}),
                 lambda: w.work.complete(w.bob, first.id, ASSESS)):
        with pytest.raises(ForbiddenError) as err:
            call()
        assert err.value.details["assignee"] == "amy"
    with pytest.raises(ForbiddenError):  # caseworkers do not reassign
        w.work.reassign(w.amy, [first.id], "bob")
    # the team lead reassigns both, in bulk, to bob
    moved = w.work.reassign(w.lee, [first.id, second.id], "bob")
    assert [t.assignee for t in moved] == ["bob", "bob"]
    assert w.work.inbox(w.bob).counts["mine"] == 2
    # not to someone of another organisation, nor to someone who may not do the task
    with pytest.raises(NotFoundError):
        w.work.reassign(w.lee, [first.id], "mo")
    with pytest.raises(NotFoundError):
        w.work.reassign(w.lee, [first.id], "nobody")
    with pytest.raises(InvalidArgumentError) as bad:
        w.work.reassign(w.lee, [first.id, second.id], "pat")
    assert bad.value.details["tasks"] == [first.id, second.id]
    assert {r.assignee for r in w.work.inbox(w.bob).rows} == {"bob"}  # all or nothing
    # a lead takes over by claiming; anyone unclaims their own; None unassigns in bulk
    assert w.work.claim(w.lee, first.id).assignee == "lee"
    assert w.work.unclaim(w.bob, second.id).assignee is None
    w.work.reassign(w.ada, [first.id], None)
    assert w.work.inbox(w.amy).counts["unassigned"] == 2
    assert [e.action for e in w.log() if e.action != "create_client"
            and e.action != "start_case"] == [
        "claim", "view_task", "reassign", "reassign", "claim", "unclaim", "reassign"]


def test_inbox_filters_sorting_and_overdue(w: World) -> None:
    sam = w.client("Sam", phone="0123")
    kim = w.client("kim", phone="0456")
    sam_task = w.resettle(sam)
    w.clock.advance(days=1)
    kim_task = w.resettle(kim)
    ids = lambda inbox: [r.task.id for r in inbox.rows]  # noqa: E731
    assert ids(w.work.inbox(w.amy)) == [sam_task.id, kim_task.id]  # soonest due first
    assert ids(w.work.inbox(w.amy, sort="-due")) == [kim_task.id, sam_task.id]
    assert ids(w.work.inbox(w.amy, sort="client")) == [kim_task.id, sam_task.id]
    assert ids(w.work.inbox(w.amy, sort="-created")) == [kim_task.id, sam_task.id]
    assert ids(w.work.inbox(w.amy, client_id=kim)) == [kim_task.id]
    assert ids(w.work.inbox(w.amy, data={"client.phone": "0123"})) == [sam_task.id]
    assert ids(w.work.inbox(w.amy, data={"client.missing": "x"})) == []
    assert ids(w.work.inbox(w.amy, pathway="wellbeing")) == []
    assert ids(w.work.inbox(w.amy, pathway="resettle", version=1, step="assess")) == [
        sam_task.id, kim_task.id]
    # a filter naming nothing is refused at its field, not an empty inbox (issue 18)
    with pytest.raises(InvalidArgumentError) as refused:
        w.work.inbox(w.amy, version=2)
    assert refused.value.details["fields"] == {"version": ["no pathway has a version 2"]}
    with pytest.raises(InvalidArgumentError) as refused:
        w.work.inbox(w.amy, pathway="nonesuch")
    assert set(refused.value.details["fields"]) == {"pathway"}
    w.clock.advance(days=1, hours=12)  # Sam's task was due after two days
    inbox = w.work.inbox(w.amy)
    assert [r.overdue for r in inbox.rows] == [True, False]
    assert inbox.counts["overdue"] == 1
    assert ids(w.work.inbox(w.amy, overdue=True)) == [sam_task.id]
    assert ids(w.work.inbox(w.amy, overdue=False)) == [kim_task.id]
    assert w.work.task(w.amy, sam_task.id).overdue is True
    with pytest.raises(InvalidArgumentError):
        w.work.inbox(w.amy, sort="priority")
    with pytest.raises(InvalidArgumentError):
        w.work.inbox(w.amy, scope="everyone")


def test_task_page_prefill_drafts_and_next_task(w: World) -> None:
    sam = w.client("Sam", phone="0123")
    assess = w.resettle(sam)
    page = w.work.task(w.amy, assess.id)
    assert page.prefill == {"phone": "0123"}
    assert page.values == {"phone": "0123"} and page.draft is None
    assert page.schema is not None and page.schema["properties"]["diagnosis"][
        "x-pathways-sensitive"] == "health"
    assert page.client.name == "Sam" and page.case.client_id == sam
    # drafts are not validated, replace the user's earlier draft, and are per user
    w.work.save_draft(w.amy, assess.id, {"housed": "not sure"})
    w.work.save_draft(w.amy, assess.id, {"phone": "0999", "housed": "maybe"})
    w.work.save_draft(w.bob, assess.id, {"housed": True})
    page = w.work.task(w.amy, assess.id)
    assert page.draft is not None and page.draft.data == {"phone": "0999", "housed": "maybe"}
    assert page.values == {"phone": "0999", "housed": "maybe"}
    assert w.work.task(w.bob, assess.id).values == {"phone": "0123", "housed": True}
    # completing validates; a bad submission keeps the drafts
    with pytest.raises(FormValidationError):
        w.work.complete(w.amy, assess.id, {"housed": "maybe"})
    done = w.work.complete(w.amy, assess.id, ASSESS)
    assert done.status == "active"
    assert done.next_task is not None and done.next_task.step == "plan"
    with w.uow() as uow:
        assert uow.drafts.for_case(assess.case_id) == []
    # mind's caseworker is offered the referred case's task, not st_giles' plan
    screen = w.wellbeing_task(sam)
    assert w.work.complete(w.mo, screen.id, {"mood": 2}).next_task is None
    last = w.work.complete(w.amy, done.next_task.id, {"goal": "housing"})
    assert (last.status, last.next_task) == ("completed", None)
    assert len(w.log("view_task")) == 3


# -- client records -------------------------------------------------------------------------


def test_client_record_of_own_organisation(w: World) -> None:
    sam = w.client("Sam", phone="0123")
    assess = w.resettle(sam)
    w.clock.advance(hours=1)
    w.work.complete(w.amy, assess.id, ASSESS)
    record = w.work.client_record(w.amy, sam)
    assert record.basis == "organisation"
    assert record.visible_categories == ("health", "offence")
    assert record.hidden_fields == []
    assert record.client.fields["diagnosis"] == "depression"
    assert sorted(c.case.pathway for c in record.cases) == ["resettle", "wellbeing"]
    assert {c.owner for c in record.cases} == {"st_giles", "mind"}
    types = [(e.pathway, e.type) for e in record.timeline]
    assert ("resettle", "task_completed") in types and ("wellbeing", "task_ready") in types
    done = next(e for e in record.timeline if e.type == "task_completed")
    assert (done.actor, done.step, done.data["data"]["offences"]) == ("amy", "assess",
                                                                      "burglary")
    assert [e.data["pathway"] for e in record.referrals] == ["wellbeing"]
    assert [e.data["outcome"] for e in record.outcomes] == ["assessed"]
    assert record.startable == ["resettle"]
    assert [t.step for c in record.cases for t in c.open_tasks] in (["plan", "screen"],
                                                                     ["screen", "plan"])
    # mind works the referred case: its organisation takes part, so it sees it all too
    theirs = w.work.client_record(w.mo, sam)
    assert theirs.basis == "organisation" and theirs.hidden_fields == []
    assert theirs.startable == ["wellbeing"]
    views = w.log("view_client")
    assert [(e.username, e.client_id, e.reason, e.detail["basis"]) for e in views] == [
        ("amy", sam, None, "organisation"), ("mo", sam, None, "organisation")]


def test_another_organisations_client_needs_consent_or_a_reason(w: World) -> None:
    sam = w.client("Sam", phone="0123")
    w.work.complete(w.amy, w.resettle(sam).id, {**ASSESS})
    kim = w.client("Kim")  # not referred to Mind: only st_giles takes part
    assess = w.resettle(kim)
    w.work.complete(w.amy, assess.id, {**ASSESS, "refer_to_mind": False})
    with pytest.raises(ForbiddenError) as refused:
        w.work.client_record(w.mo, kim)
    assert refused.value.details == {"client": kim, "reason_required": True}
    assert [e.action for e in w.log() if e.username == "mo"] == ["view_client_refused"]
    # programme consent opens it, with health and offence details hidden
    w.work.record_consent(w.amy, kim, True, "programme", "shared support plan",
                          date(2026, 1, 5))
    record = w.work.client_record(w.mo, kim)
    assert record.basis == "consent" and record.visible_categories == ()
    assert record.client.fields == {"phone": ASSESS["phone"], "conviction": HIDDEN,
                                    "diagnosis": HIDDEN}
    resettle = next(c.case for c in record.cases if c.case.pathway == "resettle")
    assert resettle.data["offences"] == HIDDEN and resettle.data["diagnosis"] == HIDDEN
    assert resettle.data["housed"] is False
    assert resettle.data["client"]["diagnosis"] == HIDDEN
    completed = next(e for e in record.timeline if e.type == "task_completed")
    assert completed.data["data"] == {**ASSESS, "offences": HIDDEN, "diagnosis": HIDDEN,
                                      "refer_to_mind": False}
    updated = next(e for e in record.timeline if e.type == "client_updated")
    assert updated.data["fields"]["conviction"] == HIDDEN
    assert "burglary" not in json.dumps([e.data for e in record.timeline])
    assert record.hidden_fields == ["conviction", "diagnosis", "offences"]
    # a health consent shows health details, not offence ones
    w.work.record_consent(w.amy, kim, True, "health", "mental health support")
    record = w.work.client_record(w.mo, kim)
    assert record.visible_categories == ("health",)
    assert (record.client.fields["diagnosis"], record.client.fields["conviction"]) == (
        "depression", HIDDEN)
    # withdrawn: refused again; a reason opens it as a logged break-glass access
    w.clock.advance(days=1)
    w.work.record_consent(w.amy, kim, False, "programme", "client withdrew")
    with pytest.raises(ForbiddenError):
        w.work.client_record(w.mo, kim)
    with pytest.raises(InvalidArgumentError):  # a reason must say something
        w.work.client_record(w.mo, kim, reason="  ")
    glass = w.work.client_record(w.mo, kim, reason="safeguarding: risk to life")
    assert glass.basis == "break_glass" and glass.visible_categories == ("health",)
    last = w.log("view_client")[-1]
    assert (last.username, last.reason, last.detail["break_glass"]) == (
        "mo", "safeguarding: risk to life", True)
    assert last.detail["hidden_categories"] == ["offence"]
    assert [c.given for c in glass.consents] == [True, True, False]
    # st_giles itself is unaffected by consent
    assert w.work.client_record(w.bob, kim).basis == "organisation"


@pytest.mark.parametrize("name", ["dee", "cam"])
def test_designers_and_commissioners_never_open_client_records(w: World, name: str) -> None:
    sam = w.client()
    w.work.record_consent(w.amy, sam, True, "programme", "sharing")
    user = w.users[name]
    for call in (lambda: w.work.client_record(user, sam),
                 lambda: w.work.client_record(user, sam, reason="need to"),
                 lambda: w.work.record_consent(user, sam, True, "health", "x"),
                 lambda: w.work.start_case(user, "resettle", sam),
                 lambda: w.work.add_client(user, "New"),
                 lambda: w.work.export_client(user, sam)):
        with pytest.raises(ForbiddenError):
            call()
    assert w.work.inbox(user).rows == []


def test_admin_sees_every_record_and_unknown_clients_are_not_found(w: World) -> None:
    sam = w.client()
    w.work.complete(w.amy, w.resettle(sam).id, ASSESS)
    record = w.work.client_record(w.ada, sam)
    assert record.basis == "admin" and record.hidden_fields == []
    assert record.startable == ["resettle", "wellbeing"]
    with pytest.raises(NotFoundError):
        w.work.client_record(w.ada, 999)
    with pytest.raises(NotFoundError):
        w.work.client_record(w.amy, 999)


def test_record_consent_checks_its_arguments_and_access(w: World) -> None:
    sam = w.client()
    with pytest.raises(InvalidArgumentError):
        w.work.record_consent(w.amy, sam, True, "everything", "x")
    with pytest.raises(InvalidArgumentError):
        w.work.record_consent(w.amy, sam, True, "programme", " ")
    with pytest.raises(ForbiddenError):
        w.work.record_consent(w.mo, sam, True, "programme", "met at Mind")
    # not under break-glass either: it only reads (this was allowed, and made Sam's record
    # open to Mind, and through the programme consent to everyone)
    w.work.client_record(w.mo, sam, reason="client asked in person")
    with pytest.raises(ForbiddenError) as refused:
        w.work.record_consent(w.mo, sam, True, "programme", "met at Mind")
    assert refused.value.details["reason_required"] is False
    assert w.log("record_consent") == []
    consent = w.work.record_consent(w.amy, sam, True, "programme", "met at Mind")
    assert (consent.recorded_by, consent.effective_on, consent.scope) == (
        "amy", date(2026, 1, 5), "programme")
    w.clock.advance(minutes=31)  # past the break-glass time box
    assert w.work.client_record(w.mo, sam).basis == "consent"
    entry = w.log("record_consent")[-1]
    assert entry.reason is None and entry.detail["break_glass"] is False


def test_start_case(w: World) -> None:
    sam = w.client()
    started = w.work.start_case(w.bob, "resettle", sam)
    assert started.case.pathway == "resettle" and started.case.state == {}
    assert started.next_task is not None and started.next_task.step == "assess"
    assert [t.task.step for t in started.tasks] == ["assess"]
    with pytest.raises(ForbiddenError) as err:  # mind: no access to Sam's record
        w.work.start_case(w.mo, "wellbeing", sam)
    assert err.value.details["reason_required"] is False  # a reason would not help
    w.work.record_consent(w.amy, sam, True, "programme", "referral to Mind")
    with pytest.raises(ForbiddenError):  # only st_giles works resettle
        w.work.start_case(w.mo, "resettle", sam)
    assert w.work.start_case(w.mo, "wellbeing", sam).next_task is not None
    with pytest.raises(NotFoundError):
        w.work.start_case(w.amy, "nothing", sam)
    with pytest.raises(NotFoundError):
        w.work.start_case(w.amy, "resettle", 999)
    assert [e.username for e in w.log("start_case")] == ["bob", "mo"]


# -- subject access -------------------------------------------------------------------------


def test_export_everything_held_on_a_client(w: World) -> None:
    sam = w.client("Sam", phone="0123")
    other = w.client("Kim")
    w.resettle(other)
    assess = w.resettle(sam)
    w.work.save_draft(w.amy, assess.id, {"housed": True})
    w.work.record_consent(w.amy, sam, True, "programme", "sharing")
    w.work.client_record(w.amy, sam)
    with pytest.raises(ForbiddenError):
        w.work.export_client(w.lee, sam)
    with pytest.raises(NotFoundError):
        w.work.export_client(w.ada, 999)
    document = w.work.export_client(w.ada, sam)
    assert json.loads(json.dumps(document)) == document  # JSON-ready as it is
    assert document["client"] == {"id": sam, "name": "Sam", "fields": {"phone": "0123"},
                                  "created_at": "2026-01-05T09:00:00+00:00"}
    assert document["exported_by"] == "ada"
    [case] = document["cases"]
    assert case["pathway"] == "resettle" and "state" not in case
    assert [t["step"] for t in case["tasks"]] == ["assess"]
    assert case["events"][0]["type"] == "case_started"
    assert [d["data"] for d in document["drafts"]] == [{"housed": True}]
    assert [c["purpose"] for c in document["consents"]] == ["sharing"]
    assert [e["action"] for e in document["access_log"]] == [
        "create_client", "start_case", "record_consent", "view_client", "export"]
    assert all(e["client_id"] == sam for e in document["access_log"])
    assert document["messages"] == []


def test_export_holds_the_clients_own_messages_not_programme_wide_signals(w: World) -> None:
    """A programme-wide signal not routed yet has no client: it is not anyone's record."""
    sam, kim = w.client("Sam"), w.client("Kim")
    with w.uow() as uow:
        for name, client, kind in (("for_sam", sam, "message"), ("for_kim", kim, "message"),
                                   ("for_everyone", None, "signal")):
            uow.messages.add(Message(id=None, name=name, client_id=client, payload={},
                                     sender_case_id=None, created_at=w.clock.now(),
                                     kind=kind))
        uow.commit()
    document = w.work.export_client(w.ada, sam)
    assert [m["name"] for m in document["messages"]] == ["for_sam"]
    assert document["messages"][0]["kind"] == "message"


def test_the_client_list_holds_only_records_the_user_may_open(w: World) -> None:
    sam = w.client("Sam Smith")
    w.resettle(sam)
    kim = w.client("Kim Jones")
    with w.uow() as uow:  # a client Mind never worked with and nobody from Mind created
        uow.clients.add(Client(id=None, name="Lou Brown", fields={}, created_at=None))
        uow.commit()
    names = {name: [c.name for c in w.work.clients(user)]
             for name, user in w.users.items() if name not in ("dee", "cam")}
    assert names["amy"] == ["Kim Jones", "Sam Smith"]  # St Giles created both
    assert names["mo"] == []  # Mind: not involved, no consent
    assert names["ada"] == ["Kim Jones", "Lou Brown", "Sam Smith"]
    w.work.record_consent(w.amy, kim, True, "programme", "Share within the One Service")
    assert [c.name for c in w.work.clients(w.mo)] == ["Kim Jones"]
    assert [c.id for c in w.work.clients(w.amy, "smith")] == [sam]
    assert [c.id for c in w.work.clients(w.amy, str(kim))] == [kim]
    assert all(c.fields == {} for c in w.work.clients(w.ada))  # names only
    for name in ("dee", "cam"):
        with pytest.raises(ForbiddenError):
            w.work.clients(w.users[name])


def started(w: World, case_id: int) -> list[Any]:
    return [e for e in w.engine.events(case_id) if e.type == "task_started"]


def test_a_task_is_started_once_at_its_first_claim_or_first_draft(w: World) -> None:
    """Process mining needs when work began, not only when the task became ready: the first
    claim or the first draft of a task records `task_started` (its step, the user, the task
    id and how), once per task; the case goes on as before, its log numbered without gaps."""
    sam, kim = w.client("Sam"), w.client("Kim")
    claimed, drafted = w.resettle(sam), w.resettle(kim)
    w.clock.advance(minutes=5)
    w.work.claim(w.amy, claimed.id)
    w.work.save_draft(w.amy, claimed.id, {"housed": True})
    w.work.unclaim(w.amy, claimed.id)
    w.work.claim(w.bob, claimed.id)
    (event,) = started(w, claimed.case_id)
    assert (event.step, event.actor, event.data, event.at) == (
        "assess", "amy", {"task": claimed.id, "via": "claim"}, w.clock.now())
    w.work.save_draft(w.bob, drafted.id, {"phone": "1"})
    w.work.claim(w.bob, drafted.id)
    (event,) = started(w, drafted.case_id)
    assert (event.actor, event.data["via"]) == ("bob", "draft")
    # the engine numbers the case's next events after it, and the task completes as before
    done = w.work.complete(w.bob, claimed.id, ASSESS)
    assert done.status == "active"
    log = w.engine.events(claimed.case_id)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    types = [e.type for e in log]
    assert types.index("task_ready") < types.index("task_started") < \
        types.index("task_completed")
    # a reassignment is not a start, and a claim refused starts nothing
    other = w.resettle(w.client("Lou"))
    w.work.reassign(w.lee, [other.id], "bob")
    with pytest.raises(ForbiddenError):
        w.work.claim(w.amy, other.id)
    with pytest.raises(ForbiddenError):
        w.work.save_draft(w.amy, other.id, {})
    assert started(w, other.case_id) == []
