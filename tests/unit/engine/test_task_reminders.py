"""A task's `remind` and `escalate` (issue 15, item 4), compiled from the DSL and run through
the real engine on a fixed clock: non-interrupting boundary timers that reach the notifier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dsl import compile_pathway, load_pathway
from engine import Engine
from engine.model import Organisation, User
from engine.ports import Notification
from tests.case_steps import open_steps
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory

VISITS = """\
pathway: visits
title: Home visits
organisation: hope
roles:
  keyworker: {title: Keyworker, organisations: [hope]}
  team_leader: {title: Team leader, organisations: [hope]}
client_fields:
  release_date: date
steps:
  - task: visit
    role: keyworker
    title: Home visit
    due: P7D
    remind: P2D before due
    escalate:
      after: P3D overdue
      to: team_leader
      message: "{task} for {client.name} was due {due}; case {case}"
    form:
      seen: {type: boolean}
  - notify: tell_lead
    to: team_lead
    message: "Visit done for {client.name}: seen {seen}"
"""


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def notify(self, notification: Notification) -> None:
        self.sent.append(notification)


@pytest.fixture
def setup(clock: FakeClock) -> tuple[Engine, RecordingNotifier, FakeUnitOfWorkFactory]:
    notifier = RecordingNotifier()
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        uow.organisations.put(Organisation("hope", "Hope"))
        uow.organisations.put(Organisation("else", "Elsewhere"))
        for name, org, role, lanes in (("kim", "hope", "caseworker", ("keyworker",)),
                                       ("lee", "hope", "team_lead", ()),
                                       ("max", "else", "team_lead", ()),
                                       ("tia", "hope", "caseworker", ("team_leader",))):
            uow.users.add(User(id=None, username=name, name=name.title(), organisation=org,
                               role=role, pathway_roles=lanes))
        uow.commit()
    engine = Engine(uow=factory, clock=clock, notifier=notifier)
    compiled = compile_pathway(load_pathway(VISITS, "visits.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)
    return engine, notifier, factory


def start(engine: Engine) -> int:
    client = engine.add_client("Ada Lovelace")
    return engine.start_case("visits", client.id or 0).case.id or 0


def test_the_reminder_fires_before_due_and_the_task_stays_open(
        setup: tuple[Engine, RecordingNotifier, FakeUnitOfWorkFactory],
        clock: FakeClock) -> None:
    engine, notifier, _ = setup
    case_id = start(engine)
    due = clock.now() + timedelta(days=7)
    assert engine.fire_due_timers(due - timedelta(days=2, minutes=1)) == 0
    assert notifier.sent == []
    assert engine.fire_due_timers(due - timedelta(days=2)) == 1
    [reminder] = notifier.sent
    assert reminder.kind == "reminder" and reminder.to_role == "assignee"
    # nobody has claimed the task: whoever may do keyworkers' tasks is reminded (lee leads
    # at hope, with no pathway roles: any role open to hope)
    assert reminder.recipients == ("kim", "lee") and reminder.role == "keyworker"
    assert reminder.message == f"Reminder: Home visit (case {case_id}) is due on " \
                               f"{due.date().isoformat()}."
    assert reminder.subject == "Reminder: Home visit"
    assert open_steps(engine, case_id) == ["visit"]  # non-interrupting
    events = [e for e in engine.events(case_id) if e.type == "notification_requested"]
    # the log keeps the message as written, never the client's details
    assert events[0].data["message"].startswith("Reminder: {task}")


def test_the_reminder_goes_to_whoever_holds_the_task(
        setup: tuple[Engine, RecordingNotifier, FakeUnitOfWorkFactory],
        clock: FakeClock) -> None:
    engine, notifier, factory = setup
    case_id = start(engine)
    [view] = engine.get_case(case_id).tasks
    with factory() as uow:
        uow.inbox.assign(view.task.id, "tia")
        uow.commit()
    engine.fire_due_timers(clock.now() + timedelta(days=5))
    assert notifier.sent[0].recipients == ("tia",)


def test_escalation_fires_after_overdue_into_the_team_leaders_inbox(
        setup: tuple[Engine, RecordingNotifier, FakeUnitOfWorkFactory],
        clock: FakeClock) -> None:
    engine, notifier, _ = setup
    case_id = start(engine)
    due = clock.now() + timedelta(days=7)
    engine.fire_due_timers(due - timedelta(days=2))
    assert engine.fire_due_timers(due + timedelta(days=3) - timedelta(minutes=1)) == 0
    assert engine.fire_due_timers(due + timedelta(days=3)) == 1
    escalation = notifier.sent[-1]
    assert escalation.kind == "escalation" and escalation.to_role == "team_leader"
    assert escalation.recipients == ("lee", "tia")
    assert escalation.message == (f"Home visit for Ada Lovelace was due "
                                  f"{due.date().isoformat()}; case {case_id}")
    tasks = {v.task.step: v.task for v in engine.get_case(case_id).tasks}
    assert set(tasks) == {"visit", "visit_overdue"}
    assert tasks["visit_overdue"].role == "team_leader"
    assert tasks["visit_overdue"].title == "Overdue: Home visit"
    # the work goes on: the visit is done, the lead marks the escalation followed up
    engine.complete_task(tasks["visit"].id, {"seen": True})
    engine.complete_task(tasks["visit_overdue"].id, {})
    assert engine.get_case(case_id).case.status == "completed"


def test_a_task_done_in_time_sends_no_reminder_and_team_leads_are_told(
        setup: tuple[Engine, RecordingNotifier, FakeUnitOfWorkFactory],
        clock: FakeClock) -> None:
    engine, notifier, _ = setup
    case_id = start(engine)
    [view] = engine.get_case(case_id).tasks
    engine.complete_task(view.task.id, {"seen": True}, actor="kim")
    assert engine.fire_due_timers(clock.now() + timedelta(days=30)) == 0
    [told] = notifier.sent
    assert told.kind == "notify" and told.to_role == "team_lead"
    assert told.recipients == ("lee",)  # the team leads of the keyworkers' organisation
    assert told.message == "Visit done for Ada Lovelace: seen yes"
    assert engine.get_case(case_id).case.status == "completed"


LOOPED = """\
pathway: looped
title: Weekly sessions
roles:
  worker: {title: Worker}
  lead: {title: Lead}
client_fields:
  release_date: date
steps:
  - parallel: both
    branches:
      - steps:
          - repeat: weekly
            max: 2
            steps:
              - task: session
                role: worker
                title: Session
                due: P3D
                remind: P1D before due
                escalate: {after: P1D, to: lead}
      - steps:
          - task: dated
            role: worker
            title: Before release
            due: release_date - P7D
            sensitive: health
            remind: P2D before due
"""


def publish_text(engine: Engine, text: str, name: str) -> None:
    compiled = compile_pathway(load_pathway(text, f"{name}.yaml"))
    engine.publish(compiled.files(), compiled.bpmn_file)


def test_reminders_in_a_repeat_and_a_parallel_branch_each_round(clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    publish_text(engine, LOOPED, "looped")
    release = clock.now() + timedelta(days=20)
    client = engine.add_client("Bo", {"release_date": release.isoformat()})
    case_id = engine.start_case("looped", client.id or 0).case.id or 0
    assert sorted(open_steps(engine, case_id)) == ["dated", "session"]
    # round 1: reminded after 2 days, escalated after 4, then done
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 1
    assert engine.fire_due_timers(clock.now() + timedelta(days=4)) == 1
    assert [n.kind for n in notifier.sent] == ["reminder", "escalation"]
    tasks = {v.task.step: v.task for v in engine.get_case(case_id).tasks}
    assert tasks["session_overdue"].role == "lead"
    engine.complete_task(tasks["session"].id, {})
    # the escalation belongs to the round: the next starts once the lead has followed it up
    assert sorted(open_steps(engine, case_id)) == ["dated", "session_overdue"]
    clock.advance(days=5)
    engine.complete_task(tasks["session_overdue"].id, {})
    assert sorted(open_steps(engine, case_id)) == ["dated", "session"]
    # round 2 starts its own timers, at that round's start
    assert engine.fire_due_timers(clock.now() + timedelta(days=2)) == 1
    assert [n.kind for n in notifier.sent] == ["reminder", "escalation", "reminder"]
    # the sensitive task's reminder never names it
    engine.fire_due_timers(release - timedelta(days=9))
    [dated] = [n for n in notifier.sent if n.step == "dated_reminder"]
    assert dated.subject == "Reminder: a task"
    assert dated.message.startswith("Reminder: a task (case")


def test_a_task_without_a_due_date_is_never_reminded_and_the_case_goes_on(
        clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    publish_text(engine, LOOPED, "looped")
    client = engine.add_client("Cy")  # no release date: "dated" has no due time
    case_id = engine.start_case("looped", client.id or 0).case.id or 0
    engine.fire_due_timers(clock.now() + timedelta(days=3650))
    assert all(n.step != "dated_reminder" for n in notifier.sent)
    assert engine.get_case(case_id).case.status == "active"
    assert "dated" in open_steps(engine, case_id)


PLAIN = """\
pathway: later
title: Later visits
roles:
  keyworker: {title: Keyworker}
  team_leader: {title: Team leader}
steps:
  - task: first
    role: keyworker
    title: First
  - task: visit
    role: keyworker
    title: Home visit
    due: P7D
"""


def test_a_case_migrated_before_it_reaches_the_task_gets_the_new_reminders(
        clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    publish_text(engine, PLAIN, "later")
    publish_text(engine, PLAIN + "    remind: P2D before due\n", "later")
    client = engine.add_client("Di")
    case_id = engine.start_case("later", client.id or 0, version=1).case.id or 0
    [result] = engine.migrate("later", 1, 2).cases
    assert result.ok
    [first] = engine.get_case(case_id).tasks
    engine.complete_task(first.task.id, {})
    assert engine.fire_due_timers(clock.now() + timedelta(days=5)) == 1
    assert [n.step for n in notifier.sent] == ["visit_reminder"]


def test_a_reminder_already_due_when_the_task_opens_goes_at_once_with_its_date(
        clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    publish_text(engine, LOOPED, "looped")
    release = clock.now() + timedelta(days=1)  # "dated" was due 6 days ago
    client = engine.add_client("Ed", {"release_date": release.isoformat()})
    case_id = engine.start_case("looped", client.id or 0).case.id or 0
    [dated] = [n for n in notifier.sent if n.step == "dated_reminder"]
    due = (release - timedelta(days=7)).date().isoformat()
    assert dated.message == f"Reminder: a task (case {case_id}) is due on {due}."
    assert "dated" in open_steps(engine, case_id)


def test_a_notify_step_of_a_sensitive_pathway_or_step_does_not_name_itself_in_the_subject(
        clock: FakeClock) -> None:
    """A notify step's e-mail subject was `Case ID: <its step id>`, and a step id can say what
    a sensitive pathway is about (`tell_court_officer`, `order_end_reached`): on a sensitive
    pathway, or for a sensitive step, it says `Case ID: notification`, like a sensitive
    task's reminder says "a task"."""
    notifier = RecordingNotifier()
    engine = Engine(uow=FakeUnitOfWorkFactory(), clock=clock, notifier=notifier)
    steps = """\
roles:
  worker: {title: Worker}
steps:
  - notify: tell_court_officer
    to: worker
    message: "Case {case}: see it in Pathways"
  - notify: refer_to_drug_service
    to: worker
    sensitive: health
    message: "Case {case}: see it in Pathways"
  - notify: tell_worker
    to: worker
    message: "Case {case}: see it in Pathways"
"""
    publish_text(engine, "pathway: order\ntitle: Order\nsensitive: offence\n" + steps, "order")
    publish_text(engine, "pathway: plain\ntitle: Plain\n" + steps, "plain")
    client = engine.add_client("Bo")
    for pathway in ("order", "plain"):
        engine.start_case(pathway, client.id or 0)
    subjects = [(n.step, n.subject.split(": ", 1)[1]) for n in notifier.sent]
    assert subjects == [("tell_court_officer", "notification"),
                        ("refer_to_drug_service", "notification"),
                        ("tell_worker", "notification"),
                        ("tell_court_officer", "tell_court_officer"),
                        ("refer_to_drug_service", "notification"),
                        ("tell_worker", "tell_worker")]
