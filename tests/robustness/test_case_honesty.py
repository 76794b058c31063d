"""A case is always honest: a state machine drives the real Engine over random pathways.

Issue 11's promise: every case is in one of four honest states (active and waiting on
something someone can see, completed, error with the reason, cancelled), and the stored case
reloads. Hypothesis interleaves what people and the worker do: publish a random DSL pathway
(tests/unit/dsl/test_compile_properties.py's `documents`) and random edits of it as next
versions (tests/unit/engine/test_migration_properties.py's editors), BPMN fixtures for what
the DSL cannot say (messages between cases, boundary and cycle timers, a failing script fixed
in a later version), start cases for random clients, complete random open tasks with random
valid data (and sometimes invalid data, which must be refused and change nothing), let time
pass and fire due timers (or not yet: the worker lags), deliver messages, retry cases in
error (on the same or the newest version), cancel, migrate (dry run and real). After every
step, for every case:

* its status is active, completed, error or cancelled; `error` carries a non-empty reason; a
  completed case did not finish at an error or escalation end event nothing caught;
* an active case has an open inbox task, a timer row, or a message or signal it waits for;
* no step only the engine runs is left ready in its stored state (nothing would run it: a
  wait that came due before the timer round goes off in whatever command finds it due);
* its stored state reloads with the stored bundle of its version, and the inbox rows, timer
  rows and awaited names stored beside it are exactly what the reloaded workflow shows (a
  case that is not active has none of them);
* its event log is numbered 1..n without a gap.

It runs on the in-memory fakes for breadth, and on real SQLite and PostgreSQL with fewer
examples.

Its fixtures include each construct issue 11 found dishonest: signals between cases, an
event-based gateway, an uncaught error end event and a `wait until:` a date left empty.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Engine as SqlEngine

from adapters.sql import SqlAlchemyUnitOfWorkFactory
from adapters.sql.tables import metadata
from dsl import compile_pathway, validate
from engine import Engine
from engine.errors import CaseStateError, FormValidationError
from engine.ports import UnitOfWorkFactory
from engine.workflow import runner
from engine.workflow.definitions import ParsedDefinition, parse_bundle
from engine.workflow.state import load_state
from tests.bundles import bundle
from tests.unit.dsl.test_compile_properties import (
    HELPER,
    HELPER_ID,
    client_values,
    documents,
    form_data,
)
from tests.unit.engine.fakes import FakeClock, FakeUnitOfWorkFactory
from tests.unit.engine.test_migration_properties import EDITORS, tasks

STATUSES = ("active", "completed", "error", "cancelled")
GENERATED = "generated"

FAKE_SETTINGS = settings(max_examples=50, stateful_step_count=30, deadline=None,
                         derandomize=True, database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.data_too_large,
                                                HealthCheck.filter_too_much])
DATABASE_SETTINGS = settings(FAKE_SETTINGS, max_examples=15)


# -- BPMN fixtures for what the DSL cannot express ---------------------------------------------

# tests/data/honesty_*.bpmn:
# - escalate: a visit with an interrupting boundary timer (not done in 36 hours: chased);
# - signal_sender throws the signal household_moved, which signal_waiter waits for (on a
#   boundary of its first task, then at an intermediate catch event);
# - gateway_wait: an event-based gateway, a reply (thrown by a `replier` case) or after two
#   days a chase;
# - error_end: an error end event nothing catches: the case failed, it did not complete.


# `wait until:` an optional date a caseworker may leave empty.
WAIT_UNTIL_A_FORM_DATE: dict[str, Any] = {
    "pathway": "wait_until_form_date", "title": "Wait until the date given",
    "roles": {"worker": {"title": "Worker"}},
    "steps": [{"task": "plan", "role": "worker", "title": "Plan the visit",
               "form": {"visit_on": {"type": "date"}}},
              {"wait": "until_the_visit", "until": "visit_on"},
              {"task": "visit", "role": "worker", "title": "Visit"}]}


def fixtures() -> dict[str, tuple[dict[str, str], str]]:
    """Pathway id -> bundle of every BPMN fixture the machine may start (or that a message
    starts)."""
    found = {
        "wake": bundle("wake"),  # waits for appointment_booked ...
        "booker": bundle("booker"),  # ... which a booker case throws
        "dated": bundle("dated"),  # a date timer, then a non-interrupting cycle boundary
        "scripted": bundle("scripted", "x = 1 / 0"),  # fails; version 2 is fixed
        "intake": bundle("intake"),  # gateway, timer, parallel, throws family_referral ...
        "family_intake": bundle("family_intake"),  # ... which starts this pathway
        "escalate": bundle("honesty_escalate"),
        "signal_sender": bundle("honesty_signal_sender"),  # item 2: signals between cases
        "signal_waiter": bundle("honesty_signal_waiter"),
        "gateway_wait": bundle("honesty_gateway_wait"),  # item 1: event-based gateway
        "replier": bundle("honesty_replier"),
        "error_end": bundle("honesty_error_end"),  # item 3: an error end nothing catches
    }
    compiled = compile_pathway(WAIT_UNTIL_A_FORM_DATE)  # item 4: wait until an empty date
    found |= {"wait_until_form_date": (compiled.files(), compiled.bpmn_file)}
    return found


STARTED_BY_MESSAGE_ONLY = {"family_intake"}


# -- reading what is stored ----------------------------------------------------------------

_PARSED: dict[str, ParsedDefinition] = {}  # by bundle hash: published bundles never change


@dataclass(frozen=True)
class Stored:
    """Everything stored about a case, to tell whether a refused command changed it."""

    status: str
    version: int
    revision: int
    error: Any
    state: Any
    data: Any
    waiting_for: list[str]
    inbox: list[tuple[str, str]]
    timers: list[tuple[str, str, Any]]
    events: int


def stored(uow_factory: UnitOfWorkFactory, case_id: int) -> Stored:
    with uow_factory() as uow:
        record = uow.cases.get(case_id)
        assert record is not None
        inbox = sorted((row.id, row.step) for row in uow.inbox.list(case_id=case_id))
        timers = sorted((t.task_id, t.step, t.due_at) for t in uow.timers.for_case(case_id))
        events = len(uow.events.list(case_id))
    return Stored(record.status, record.version, record.revision, copy.deepcopy(record.error),
                  copy.deepcopy(record.state), copy.deepcopy(record.data),
                  list(record.waiting_for), inbox, timers, events)


def awaited_names(workflow: Any) -> set[str]:
    """The messages and signals the workflow waits for. Since signals are routed as signals
    (issue 11 item 2) the runner names them apart; before, waiting_message_names had both."""
    names = set(runner.waiting_message_names(workflow))
    signal_names = getattr(runner, "waiting_signal_names", None)
    if signal_names is not None:
        names |= signal_names(workflow)
    return names


def _uncaught_failure_end(workflow: Any) -> str | None:
    """The error or escalation end event a completed workflow finished at, if any."""
    for task in runner.all_tasks(workflow):
        spec = task.task_spec
        definition = getattr(spec, "event_definition", None)
        if task.state == TaskState.COMPLETED and isinstance(spec, EndEvent) and isinstance(
                definition, (ErrorEventDefinition, EscalationEventDefinition)):
            return runner.step_name(task)
    return None


# -- the machine ---------------------------------------------------------------------------


class CaseHonesty(RuleBasedStateMachine):
    """Random commands on one programme; the invariants are issue 11's promise."""

    def __init__(self, make_uow: Callable[[], UnitOfWorkFactory]) -> None:
        super().__init__()
        self.uow = make_uow()
        self.clock = FakeClock()
        self.engine = Engine(uow=self.uow, clock=self.clock)
        self.documents: list[dict[str, Any]] = []  # the generated pathway's versions
        self.client_fields: dict[str, str] = {}
        self.clients: list[int] = []
        self.script_fixed = False

    # -- setting up --

    # without block and for_each steps: the migration helpers used here walk the older kinds
    @initialize(document=documents(block_depth=0, for_each=False), data=st.data())
    def publish_the_programme(self, document: dict[str, Any], data: st.DataObject) -> None:
        """Every pathway published, and a first client with a case of the generated one."""
        helper = compile_pathway(HELPER)
        self.engine.publish(helper.files(), helper.bpmn_file)
        for files, main in fixtures().values():
            self.engine.publish(files, main)
        self._publish_generated(document)
        self.client_fields = dict(document.get("client_fields") or {})
        self.add_a_client(data)
        self.engine.start_case(GENERATED, self.clients[0])

    def _publish_generated(self, document: dict[str, Any]) -> None:
        compiled = compile_pathway(document)
        published = self.engine.publish(compiled.files(), compiled.bpmn_file)
        assert published.pathway == GENERATED
        if published.changed:
            self.documents.append(document)
            assert published.version == len(self.documents)
            note(f"published {GENERATED} v{published.version}:\n"
                 + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    @rule(data=st.data())
    def publish_an_edited_version(self, data: st.DataObject) -> None:
        edited = copy.deepcopy(self.documents[-1])
        if not tasks(edited):
            return  # an edit removed the last task: the editors all pick one
        editor = data.draw(st.sampled_from(sorted(EDITORS)), label="edit")
        try:
            EDITORS[editor](data.draw, edited)
        except UnsatisfiedAssumption:
            return  # this edit cannot apply to this document
        text = yaml.safe_dump(edited, sort_keys=False, allow_unicode=True)
        _, problems = validate(text, "edited.yaml", known_pathways={HELPER_ID})
        if not problems:
            self._publish_generated(edited)

    @precondition(lambda self: not self.script_fixed)
    @rule()
    def publish_the_fixed_script(self) -> None:
        files, main = bundle("scripted", "x = 1")
        assert self.engine.publish(files, main).version == 2
        self.script_fixed = True

    # -- people's commands --

    @rule(data=st.data())
    def add_a_client(self, data: st.DataObject) -> None:
        fields = client_values(self.client_fields, data)
        if "release_date" not in fields:  # the dated fixture waits until that day
            fields["release_date"] = data.draw(st.sampled_from(
                ["2026-01-06", "2026-01-20", "2025-12-24"]), label="release_date")
        if data.draw(
                st.integers(0, 3), label="no release date") == 0:
            del fields["release_date"]  # an optional date left empty
        self.clients.append(self.engine.add_client("Client", fields).id or 0)

    @precondition(lambda self: self.clients)
    @rule(data=st.data())
    def start_a_case(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(self.clients), label="client")
        startable = [GENERATED] * 4 + [HELPER_ID, *sorted(set(fixtures())
                                                         - STARTED_BY_MESSAGE_ONLY)]
        pathway = data.draw(st.sampled_from(startable), label="pathway")
        version = None
        if pathway == GENERATED:
            version = data.draw(st.one_of(st.none(), st.integers(1, len(self.documents))),
                                label="version")
        view = self.engine.start_case(pathway, client, version=version)
        note(f"started case {view.case.id} of {pathway} v{view.case.version}: "
             f"{view.case.status}")

    @rule(data=st.data(), count=st.integers(1, 6))
    def complete_tasks(self, data: st.DataObject, count: int) -> None:
        for _ in range(count):
            self._complete_a_task(data)

    def _complete_a_task(self, data: st.DataObject) -> None:
        # not by id: task ids are random UUIDs, and a replayed example must draw the same task
        tasks = sorted(self.engine.list_tasks(), key=lambda v: (v.task.case_id, v.task.step))
        if not tasks:
            return
        view = data.draw(st.sampled_from(tasks), label="task")
        task = view.task
        invalid = invalid_submission(view.schema)
        if invalid is not None and data.draw(st.integers(0, 5), label="invalid") == 5:
            before = stored(self.uow, task.case_id)
            note(f"complete {task.pathway}.{task.step} with invalid {invalid!r}")
            with pytest.raises(FormValidationError):
                self.engine.complete_task(task.id, invalid)
            assert stored(self.uow, task.case_id) == before, "a refused form changed the case"
            return
        answer = form_data(data, view.schema)
        note(f"complete {task.pathway}.{task.step} of case {task.case_id} with {answer!r}")
        self.engine.complete_task(task.id, answer)

    @rule(hours=st.sampled_from([1, 12, 30, 24 * 3, 24 * 8]))
    def let_time_pass(self, hours: int) -> None:
        self.clock.advance(hours=hours)
        fired = self.engine.fire_due_timers(self.clock.now())
        note(f"{hours} hours later, {fired} timers fired")

    @rule(hours=st.sampled_from([30, 24 * 3]))
    def let_time_pass_before_the_worker(self, hours: int) -> None:
        """The worker lags: waits come due, and the next command (a migration, a retry, a
        completed task) finds them due before any timer round has run."""
        self.clock.advance(hours=hours)
        note(f"{hours} hours later, no timer round yet")

    @rule()
    def deliver_messages(self) -> None:
        note(f"{self.engine.deliver_messages()} messages delivered")

    @rule(data=st.data())
    def retry_a_case_in_error(self, data: st.DataObject) -> None:
        failed = [c.id or 0 for c in self.engine.list_cases(status="error")]
        if not failed:
            return
        case_id = data.draw(st.sampled_from(sorted(failed)), label="retry")
        pathway = self.engine.get_case(case_id).case.pathway
        newest = max(v.number for v in self.engine.versions(pathway))
        version = data.draw(st.sampled_from([newest, None]), label="retry on")
        # what a fix may supply: the date a wait lacked, on the step or the client's record
        fix = data.draw(st.sampled_from([None, {"visit_on": "2026-02-01"},
                                         {"client": {"release_date": "2026-02-01"}}]),
                        label="retry data")
        before = stored(self.uow, case_id)
        try:
            view = self.engine.retry_case(case_id, version=version, data=fix)
        except (CaseStateError, FormValidationError) as refused:  # e.g. the version lacks a
            # step the case reached, or the client field is not declared with that type
            note(f"retry of case {case_id} refused: {refused}")
            assert stored(self.uow, case_id) == before, "a refused retry changed the case"
            return
        note(f"retried case {case_id} on v{view.case.version}: {view.case.status}")

    @rule(data=st.data())
    def cancel_a_case(self, data: st.DataObject) -> None:
        open_cases = [c.id or 0 for c in self.engine.list_cases()
                      if c.status in ("active", "error")]
        if not open_cases:
            return
        case_id = data.draw(st.sampled_from(sorted(open_cases)), label="cancel")
        if not data.draw(st.booleans(), label="really cancel"):
            return  # cancelling is rarer than working a case on
        assert self.engine.cancel_case(case_id, reason="moved away").case.status == "cancelled"

    @precondition(lambda self: len(self.documents) > 1)
    @rule(data=st.data())
    def migrate(self, data: st.DataObject) -> None:
        numbers = list(range(1, len(self.documents) + 1))
        # mostly from a version some active case is on, so that cases move or are refused
        on = sorted({c.version for c in self.engine.list_cases(pathway=GENERATED,
                                                               status="active")})
        old = data.draw(st.sampled_from(on or numbers), label="from")
        new = data.draw(st.sampled_from([n for n in numbers if n != old]), label="to")
        dry_run = data.draw(st.booleans(), label="dry run")
        cases = [c.id or 0 for c in self.engine.list_cases(pathway=GENERATED)]
        before = {case_id: stored(self.uow, case_id) for case_id in cases}
        migrations = len(self.engine.migrations())
        report = self.engine.migrate(GENERATED, old, new, dry_run=dry_run)
        note(f"migrate {old} -> {new} (dry run: {dry_run}): "
             f"{[(r.case, r.ok, r.reason) for r in report.cases]}")
        for result in report.cases:
            if not result.ok:
                assert isinstance(result.reason, str) and result.reason.strip()
        unchanged = cases if dry_run else [r.case for r in report.cases if not r.ok]
        for case_id in unchanged:
            why = "it was a dry run" if dry_run else "the migration refused it"
            assert stored(self.uow, case_id) == before[case_id], \
                f"case {case_id} changed though {why}"
        assert len(self.engine.migrations()) == migrations + (0 if dry_run else 1)

    @rule(data=st.data())
    def revert_a_migration(self, data: st.DataObject) -> None:
        """Put a migration's cases back: each is moved back, or refused and left as it is."""
        done = [m for m in self.engine.migrations() if m.reverts is None]
        if not done:
            return
        chosen = data.draw(st.sampled_from(sorted(m.id or 0 for m in done)), label="revert")
        cases = [c.id or 0 for c in self.engine.list_cases(pathway=GENERATED)]
        before = {case_id: stored(self.uow, case_id) for case_id in cases}
        try:
            report = self.engine.revert_migration(chosen)
        except CaseStateError as refused:  # nothing left to put back
            note(f"revert of migration {chosen} refused: {refused}")
            for case_id in cases:
                assert stored(self.uow, case_id) == before[case_id]
            return
        note(f"revert migration {chosen}: {[(r.case, r.ok, r.reason) for r in report.cases]}")
        for result in report.cases:
            if not result.ok:
                assert isinstance(result.reason, str) and result.reason.strip()
                assert stored(self.uow, result.case) == before[result.case], \
                    f"case {result.case} changed though the revert refused it"

    # -- the promise --

    @invariant()
    def every_case_is_honest(self) -> None:
        for case in self.engine.list_cases():
            self._check(case.id or 0)

    def _check(self, case_id: int) -> None:
        with self.uow() as uow:
            record = uow.cases.get(case_id)
            assert record is not None
            inbox = uow.inbox.list(case_id=case_id)
            timers = uow.timers.for_case(case_id)
            events = uow.events.list(case_id)
            version = uow.versions.get(record.pathway, record.version)
            assert version is not None
            parsed = _PARSED.get(version.bundle_hash)
            if parsed is None:
                files = uow.versions.bundle(version.bundle_hash)
                assert files is not None
                parsed = _PARSED[version.bundle_hash] = parse_bundle(files.files,
                                                                     version.main_file)
        where = f"case {case_id} ({record.pathway} v{record.version}, {record.status})"
        assert record.status in STATUSES, where
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), \
            f"{where}: gaps in its event log"
        if record.status == "error":
            assert record.error and str(record.error.get("message") or "").strip(), \
                f"{where}: in error without a reason: {record.error!r}"

        workflow = load_state(record.state, parsed, self.engine.script_engine)
        left_ready = [runner.step_name(task) for task in runner.all_tasks(workflow)
                      if task.state == TaskState.READY and not task.task_spec.manual]
        assert not left_ready, f"{where}: steps left ready that nothing will run: {left_ready}"
        shown_inbox = sorted((row.id, row.step) for row in runner.inbox_rows(
            workflow, parsed, case_id, record.pathway, record.version))
        shown_timers = sorted((t.task_id, t.step, t.due_at)
                              for t in runner.timers(workflow, case_id))
        shown_waiting = sorted(awaited_names(workflow))
        stored_inbox = sorted((row.id, row.step) for row in inbox)
        stored_timers = sorted((t.task_id, t.step, t.due_at) for t in timers)
        if record.status == "active":
            assert stored_inbox or stored_timers or record.waiting_for, \
                f"{where}: active, but no open task, timer or awaited message or signal"
            assert stored_inbox == shown_inbox, f"{where}: inbox rows disagree with its state"
            assert stored_timers == shown_timers, f"{where}: timer rows disagree with its state"
            assert sorted(record.waiting_for) == shown_waiting, \
                f"{where}: waiting_for disagrees with its state"
        else:
            assert (stored_inbox, stored_timers, record.waiting_for) == ([], [], []), \
                f"{where}: still shows open tasks, timers or awaited messages"
        if record.status == "completed":
            assert workflow.is_completed(), f"{where}: completed, but its state is not"
            failed_at = _uncaught_failure_end(workflow)
            assert failed_at is None, \
                f"{where}: completed at {failed_at}, an error nothing caught"


def invalid_submission(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Data the task's form must refuse: a nested object where a field wants a value (no form
    field type takes one), or any field at all for a task without a form."""
    if schema is None:
        return {"not_a_field": 1}
    properties = schema.get("properties") or {}
    if not properties:
        return None
    name = sorted(properties)[0]
    return {name: {"nested": ["not", "a", "value"]}}


# -- running it ----------------------------------------------------------------------------


def test_cases_stay_honest_on_the_fakes() -> None:
    run_state_machine_as_test(lambda: CaseHonesty(FakeUnitOfWorkFactory),
                              settings=FAKE_SETTINGS)


def _emptied(db_engine: SqlEngine) -> UnitOfWorkFactory:
    """The migrated database with every row deleted: one fresh programme per example."""
    with db_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    return SqlAlchemyUnitOfWorkFactory(db_engine)


def test_cases_stay_honest_on_a_real_database(db_engine: SqlEngine) -> None:
    run_state_machine_as_test(lambda: CaseHonesty(lambda: _emptied(db_engine)),
                              settings=DATABASE_SETTINGS)


def _one_case(pathway: str) -> tuple[CaseHonesty, int]:
    """A machine on the fakes with every fixture published and one case of `pathway`."""
    machine = CaseHonesty(FakeUnitOfWorkFactory)
    for files, main in fixtures().values():
        machine.engine.publish(files, main)
    client = machine.engine.add_client("Client", {"release_date": "2026-01-20"})
    view = machine.engine.start_case(pathway, client.id or 0)
    machine._check(view.case.id or 0)
    return machine, view.case.id or 0


def test_the_invariants_catch_a_case_in_nobodys_inbox() -> None:
    """The checks can fail: an active case whose task row is lost is caught."""
    machine, case_id = _one_case("escalate")
    with machine.uow() as uow:
        uow.inbox.replace_open(case_id, [])
        uow.timers.replace(case_id, [])
        uow.commit()
    with pytest.raises(AssertionError, match="active, but no open task"):
        machine._check(case_id)


def test_the_invariants_catch_rows_the_stored_state_does_not_show() -> None:
    """The checks can fail: a timer row the reloaded workflow does not have is caught."""
    machine, case_id = _one_case("escalate")
    with machine.uow() as uow:
        real = uow.timers.for_case(case_id)
        assert len(real) == 1
        uow.timers.replace(case_id, [replace(real[0], due_at=real[0].due_at + timedelta(1))])
        uow.commit()
    with pytest.raises(AssertionError, match="timer rows disagree"):
        machine._check(case_id)


def test_the_invariants_catch_an_error_without_a_reason() -> None:
    machine, case_id = _one_case("scripted")
    with machine.uow() as uow:
        record = uow.cases.get(case_id)
        assert record is not None and record.status == "error"
        record.error = {**(record.error or {}), "message": " "}
        uow.cases.save(record, record.revision)
        uow.commit()
    with pytest.raises(AssertionError, match="in error without a reason"):
        machine._check(case_id)
