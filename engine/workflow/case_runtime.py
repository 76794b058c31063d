"""The one transaction template every case command runs in: load, act, persist, commit.

A command finds its case, loads the live workflow (from memory if still current, else from
storage), lets an action move it, and writes the new state, its events, inbox rows, timers
and outgoing messages together, or nothing. Cases are protected by a revision number: a
command that loaded revision N can only save N + 1, so two racing commands never lose an
update; the loser gets a ConflictError and may retry. What must wait for the commit
(notifications, the live cache, routing the messages it sent) runs after it.

The command handlers (engine.cases.case_commands, engine.cases.message_commands,
engine.versions.version_commands, engine.versions.migration_commands, ...) are functions of a
`CaseRuntime`; `Engine` is the facade.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.errors import CaseStateError, ConflictError, DefinitionError, EngineError, NotFoundError
from engine.lazy import LazyModule
from engine.limits import DEFAULT_TIME_LIMIT_SECONDS
from engine.model import (
    CaseRecord,
    Client,
    InboxTask,
    Message,
    NewEvent,
    PathwayVersion,
    Timer,
)
from engine.ports import (
    Clock,
    Notification,
    Notifier,
    Observer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from engine.workflow.clock import running_at
from engine.workflow.definition_model import PROGRAMME_SCOPE
from engine.workflow.failures import (
    failure_message,
    failure_reason,
    log_failure,
    log_unrecorded,
    put_in_error,
)
from engine.workflow.live_cases import LiveWorkflowCache
from engine.workflow.notifying import build_notification, failure_event, record_failure

# SpiffWorkflow and the definition parser load with the first case or definition a command
# loads (engine.lazy), not with the Engine: a command that only reads storage goes without.
if TYPE_CHECKING:
    from engine.workflow import runner, state
    from engine.workflow.definitions import ParsedDefinition
    from engine.workflow.sandbox import SandboxScriptEngine
    from engine.workflow.spec_cache import SpecCache
else:
    runner = LazyModule(lambda: importlib.import_module("engine.workflow.runner"))
    state = LazyModule(lambda: importlib.import_module("engine.workflow.state"))

log = logging.getLogger("engine.services")  # the worker's log lines keep their logger's name

# What a command does to the loaded case: its events, and the error the run stopped with.
Action = Callable[[UnitOfWork, CaseRecord, Any, "ParsedDefinition"],
                  tuple[list[NewEvent], Any]]
# Where a command's case is: its id, or its record as just read (without its state) in the
# command's transaction by a caller's check, so it is not read twice.
Locate = Callable[[UnitOfWork], int | CaseRecord]


@dataclass(frozen=True)
class TaskView:
    task: InboxTask
    schema: dict[str, Any] | None
    # list_tasks only: why the task's version cannot be loaded (schema is then None and the
    # task cannot be completed until the version is repaired)
    problem: str | None = None


@dataclass(frozen=True)
class CaseView:
    case: CaseRecord
    tasks: list[TaskView] = field(default_factory=list)


@dataclass(frozen=True)
class CompletionResult:
    case_id: int
    status: str
    tasks: list[TaskView]
    error: dict[str, Any] | None = None  # why the case stopped, when status is "error"


@dataclass(frozen=True)
class CommandOutcome:
    """What a command wrote, handed to the steps that follow its commit."""

    record: CaseRecord
    events: list[NewEvent]
    inbox: list[InboxTask]
    workflow: Any
    parsed: ParsedDefinition
    may_deliver: bool  # it sent messages, or now waits for some: kept ones may be deliverable
    # a migration left the case waiting for its loop's next round: try the move after commit
    waits_to_move: bool = False

    def task_views(self) -> list[TaskView]:
        """The case's open tasks after the command, with their forms."""
        return [TaskView(row, self.parsed.form_schema(row.form)) for row in self.inbox]


# What a caller adds to a command's transaction once the case is written, before the commit
# (e.g. what the user may do next, read in the same transaction rather than one more).
Finish = Callable[[UnitOfWork, CommandOutcome], None]


def case_id_of(case_id: int) -> Locate:
    """A command's locate step for a case known by id."""
    return lambda _uow: case_id


class NullObserver:
    """The observer when none is wired: tells nobody."""

    def command_done(self, kind: str, outcome: str, seconds: float) -> None:
        return None

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None:
        return None


def outcome_of(err: BaseException) -> str:
    """How a command or step ended, as a word from a bounded set (a metric label)."""
    return err.code if isinstance(err, EngineError) else "error"


def tell(report: Callable[..., None], *args: Any) -> None:
    """Tell the observer something; a failing observer (metrics that cannot be written) is
    logged and never changes the command it reports on."""
    try:
        report(*args)
    except Exception:
        log.warning("the observer failed; the command is unaffected", exc_info=True)


def json_safe(value: Any) -> Any:
    """The value as it reads back from storage (JSON; what JSON lacks, as text)."""
    return json.loads(json.dumps(value, default=str))


def _unparsable_version(pathway: str, number: int, files: Mapping[str, str],
                        expected_hash: str, err: Exception) -> DefinitionError:
    """A published version whose stored files no longer parse (changed in the database
    after publishing, or refused by a newer engine): an invalid_definition naming the
    version, never the parser's raw exception."""
    from engine.workflow.definitions import bundle_hash

    changed = bundle_hash(files) != expected_hash
    reason = err.message if isinstance(err, EngineError) else f"{type(err).__name__}: {err}"
    why = ("its stored files were changed after publishing" if changed
           else "this engine no longer accepts it")
    return DefinitionError(
        f"{pathway} v{number} cannot be loaded ({why}): {reason[:300]}",
        details={"pathway": pathway, "version": number, "files_changed": changed,
                 **(err.details if isinstance(err, EngineError) else {})})


# attempts at recording a failed notification on a case other commands keep changing
NOTIFICATION_FAILURE_ATTEMPTS = 5


class CaseRuntime:
    """What every command handler runs on: storage, the clock, published definitions, the
    live workflows, and the transaction template (`command`, `persist`, `after_commit`)."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock,
                 specs: SpecCache | None = None, live_cases: int = 1024,
                 script_time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
                 notifier: Notifier | None = None, observer: Observer | None = None) -> None:
        self.uow = uow
        self.observer: Observer = observer or NullObserver()
        self.clock = clock
        self._notifier = notifier
        self._given_specs = specs
        self._live = LiveWorkflowCache(live_cases)
        self._published: dict[tuple[str, int], PathwayVersion] = {}
        self._script_time_limit = script_time_limit

    @functools.cached_property
    def _specs(self) -> SpecCache:
        """Parsed definitions by content (made when first needed: it loads the parser)."""
        from engine.workflow.spec_cache import SpecCache

        return self._given_specs or SpecCache()

    @functools.cached_property
    def script_engine(self) -> SandboxScriptEngine:
        """Runs the definitions' scripts and expressions (made when a case first runs)."""
        from engine.workflow.sandbox import SandboxScriptEngine

        return SandboxScriptEngine(time_limit=self._script_time_limit)

    @property
    def notifier(self) -> Notifier | None:
        """Where notifications go (the daily digest goes the same way)."""
        return self._notifier

    @property
    def _uow(self) -> UnitOfWorkFactory:
        """The unit-of-work factory under its earlier name (tests reach in by it)."""
        return self.uow

    # -- published definitions -----------------------------------------------------------

    def version(self, uow: UnitOfWork, pathway: str, number: int) -> PathwayVersion:
        """A published version; cached, since published versions never change."""
        key = (pathway, number)
        version = self._published.get(key)
        if version is None:
            version = uow.versions.get(pathway, number)
            if version is None:
                raise NotFoundError(f"pathway {pathway!r} has no version {number}",
                                    details={"pathway": pathway, "version": number})
            self._published[key] = version
        return version

    def cached_title(self, pathway: str, number: int | None = None) -> str:
        """The version's title (ParsedDefinition.title; number None: the newest cached
        version's) if it is cached, else the pathway id in words: no statement, so any page
        may name the pathways it shows (the versions a page shows were loaded to check
        access)."""
        if number is None:
            number = max((n for p, n in list(self._published) if p == pathway), default=0)
        version = self._published.get((pathway, number))
        parsed = None if version is None else self._specs.peek(version.bundle_hash)
        return parsed.title if parsed is not None else pathway.replace("_", " ")

    @property
    def definition_capacity(self) -> int:
        """How many parsed definitions a warm-up should load: what this runtime keeps and
        what the process keeps for runtimes made later (a server's forked workers)."""
        from engine.workflow.spec_cache import PROCESS_CAPACITY

        return min(self._specs.capacity, PROCESS_CAPACITY)

    def parsed(self, uow: UnitOfWork, pathway: str, number: int) -> ParsedDefinition:
        """The parsed definition of a published version (cached by content)."""
        return self.parsed_version(uow, self.version(uow, pathway, number))

    def parsed_version(self, uow: UnitOfWork, version: PathwayVersion) -> ParsedDefinition:
        """parsed() of a version already read (kept, as version() keeps what it reads)."""
        self._published.setdefault((version.pathway, version.number), version)
        cached = self._specs.peek(version.bundle_hash)
        if cached is not None:
            return cached
        bundle = uow.versions.bundle(version.bundle_hash)
        if bundle is None:
            raise NotFoundError(f"files of {version.pathway} v{version.number} are missing",
                                details={"pathway": version.pathway, "version": version.number})
        try:
            return self._specs.get(bundle.files, version.main_file, version.bundle_hash)
        except Exception as err:  # whatever fails, the stored version is unusable
            raise _unparsable_version(version.pathway, version.number, bundle.files,
                                      version.bundle_hash, err) from err

    _parsed = parsed  # its earlier name (tests reach in by it)

    # -- loading -------------------------------------------------------------------------

    @staticmethod
    def case(uow: UnitOfWork, case_id: int, *, with_state: bool = True) -> CaseRecord:
        record = uow.cases.get(case_id, with_state=with_state)
        if record is None:
            raise NotFoundError(f"no case {case_id}", details={"case": case_id})
        return record

    @staticmethod
    def client(uow: UnitOfWork, client_id: int) -> Client:
        client = uow.clients.get(client_id)
        if client is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        return client

    @property
    def live_cases(self) -> LiveWorkflowCache:
        """The live workflows kept between commands (its hits and misses, for benchmarks)."""
        return self._live

    def case_of_task(self, task_id: str) -> int | None:
        """The case of an open task of a live workflow, if memory knows it."""
        return self._live.case_of(task_id)

    def _load(self, uow: UnitOfWork, record: CaseRecord, parsed: ParsedDefinition) -> Any:
        """The case's live workflow: from memory if it is still current, else from storage."""
        assert record.id is not None
        workflow = self._live.take(record.id, record.revision, parsed.hash)
        if workflow is None:
            if not record.state:
                record.state = self.case(uow, record.id).state
            workflow = state.load_state(record.state, parsed, self.script_engine,
                                  case_id=record.id)
        return workflow

    # -- the template --------------------------------------------------------------------

    def command(self, locate: Locate, now: datetime, action: Action,
                *, allow: tuple[str, ...] = ("active",), finish: Finish | None = None
                ) -> CommandOutcome:
        """Load a case, run action on its workflow, persist everything, commit: one transaction.

        `locate` finds the case inside the same transaction (and may refuse the command
        before anything changes, e.g. invalid form data); `finish` runs after everything is
        written, before the commit (what it reads sees the command's writes; what it raises
        undoes them). Once a case is found, the
        observer is told how long the transaction took and how it ended (not what follows
        its commit).
        """
        started = time.perf_counter()
        located: list[int] = []
        try:
            outcome = self._transaction(locate, now, action, allow, located, finish)
        except Exception as err:
            if located:  # a step on a case; not a command refused before finding one
                tell(self.observer.step_done, located[0], outcome_of(err),
                     time.perf_counter() - started)
            raise
        tell(self.observer.step_done, located[0], "ok", time.perf_counter() - started)
        self.after_commit(outcome)
        return outcome

    def _transaction(self, locate: Locate, now: datetime, action: Action,
                     allow: tuple[str, ...], located: list[int],
                     finish: Finish | None = None) -> CommandOutcome:
        """CaseRuntime.command's one transaction; the case it found goes into `located`."""
        with self.uow() as uow:
            found = locate(uow)
            located.append(found if isinstance(found, int) else found.id or 0)
            outcome = self.run_on(uow, found, now, action, allow)
            if finish is not None:
                finish(uow, outcome)
            uow.commit()
        return outcome

    def run_on(self, uow: UnitOfWork, found: int | CaseRecord, now: datetime, action: Action,
               allow: tuple[str, ...]) -> CommandOutcome:
        """A command's work on the case found, inside uow's transaction, uncommitted: load
        it, run action, persist (engine.workflow.group_commit runs several in one commit)."""
        case_id = found if isinstance(found, int) else found.id or 0
        record = found if isinstance(found, CaseRecord) else self.case(
            uow, case_id, with_state=not self._live.holds(case_id))
        if record.status not in allow:
            raise CaseStateError(f"case {case_id} is {record.status}",
                                 details={"case": case_id, "status": record.status})
        parsed = self.parsed(uow, record.pathway, record.version)
        workflow = self._load(uow, record, parsed)
        expected = record.revision
        with running_at(now):
            previous = self._visible(workflow, parsed, record)
            before = runner.snapshot(workflow)
            events, error = action(uow, record, workflow, parsed)
            events += runner.describe_changes(workflow, parsed, before, now)
            return self.persist(uow, record, workflow, parsed, events, error, now,
                                expected_revision=expected, previous=previous)

    def after_commit(self, outcome: CommandOutcome) -> None:
        """What must wait until the command's transaction is safely committed."""
        record = outcome.record
        requested = [e for e in outcome.events if e.type == "notification_requested"]
        if requested and self._notifier is not None:
            self.send_notifications(outcome, requested)
        self._live.put(record.id or 0, record.revision, outcome.parsed.hash, outcome.workflow,
                       [row.id for row in outcome.inbox])
        if outcome.may_deliver:
            self.route_messages(record.client_id)
        if outcome.waits_to_move:
            self.move_waiting(record.id)

    def move_waiting(self, case_id: int | None) -> int:
        """Move the cases (this one, or all) that wait for their loop's next round to move
        to a migration's version, where they now can; returns how many moved. The Engine
        moves them (engine.versions.round_moves); a bare runtime leaves them waiting."""
        return 0

    def send_notifications(self, outcome: CommandOutcome, requested: list[NewEvent]) -> None:
        """Send each notification the command asked for, its message rendered now; one the
        notifier fails (smtp fails one with no address to go to, too) is logged and recorded
        on the case as notification_failed, never undoing the step
        (engine.workflow.notifying)."""
        record, notifier = outcome.record, self._notifier
        assert notifier is not None and record.id is not None
        data = runner.case_data(outcome.workflow)
        for event in requested:
            try:
                with self.uow(read_only=True) as uow:
                    notification = build_notification(uow, record.id, record.client_id,
                                                      event, outcome.parsed, data)
            except Exception:  # the case moved on; a failed notice must not undo it
                log.exception("notification from case %s step %s could not be prepared",
                              record.id, event.step)
                continue
            try:
                notifier.notify(notification)
            except Exception as err:
                log.warning("notification from case %s step %s failed: %s", record.id,
                            event.step, failure_reason(err))
                self._record_notification_failure(record.id, notification, err)

    def _record_notification_failure(self, case_id: int, notification: Notification,
                                     err: Exception) -> None:
        event = failure_event(notification, failure_reason(err), self.clock.now())

        def attempt() -> None:
            with self.uow() as uow:
                if record_failure(uow, case_id, event):
                    uow.commit()
        try:
            for _ in range(NOTIFICATION_FAILURE_ATTEMPTS - 1):
                try:
                    return attempt()
                except ConflictError:  # a command changed the case meanwhile: again
                    continue
            attempt()
        except Exception as second:  # e.g. the database is down too: the log has it
            log.warning("case %s: recording the failed notification failed too: %s",
                        case_id, failure_reason(second))

    def route_messages(self, client_id: int | None) -> int:
        """Offer pending messages to the cases waiting for them; returns how many went.
        The Engine routes them (engine.cases.message_commands); a bare runtime keeps them."""
        return 0

    @staticmethod
    def _visible(workflow: Any, parsed: ParsedDefinition, record: CaseRecord
                 ) -> tuple[list[InboxTask], list[Timer]]:
        """The inbox rows and timers the case shows now, to skip rewriting them unchanged."""
        assert record.id is not None
        return (runner.inbox_rows(workflow, parsed, record.id, record.pathway, record.version),
                runner.timers(workflow, record.id))

    # -- persisting ----------------------------------------------------------------------

    def persist(self, uow: UnitOfWork, record: CaseRecord, workflow: Any,
                parsed: ParsedDefinition, events: list[NewEvent], error: Any,
                now: datetime, *, new: bool = False, expected_revision: int = 0,
                previous: tuple[list[InboxTask], list[Timer]] | None = None,
                state: dict[str, Any] | None = None) -> CommandOutcome:
        """Write what the command did: the case, its events, the messages and signals it
        threw, its open tasks and timers (all in uow, uncommitted). `state`: the workflow's
        state as stored earlier, to write back as it was (a revert that restored it)."""
        thrown = runner.thrown_events(workflow)
        outgoing, signals = thrown.messages, thrown.signals
        outgoing += [(runner.START_PREFIX + e.data["pathway"],
                      {"from_pathway": record.pathway, "step": e.step})
                     for e in events if e.type == "referral_made"]
        closing = _closing_events(record, workflow, error, now, outgoing)
        _store_state(record, workflow, now, state)
        first_seq = record.event_seq + 1
        record.event_seq += len(events) + len(outgoing) + len(signals) + len(closing)
        if new:
            uow.cases.add(record)
        else:
            uow.cases.save(record, expected_revision)
        events += _send(uow, record, parsed, outgoing, signals, now)
        events += closing
        assert record.id is not None
        uow.events.append(record.id, events, first_seq=first_seq)
        inbox = _show(uow, record, workflow, parsed, previous)
        may_deliver = bool(outgoing) or bool(signals) or bool(record.waiting_for)
        # asked here, in the command's own transaction: a separate one after the commit
        # cost every step a transaction of its own (a new case waits in no migration)
        waits = not new and bool(uow.migrations.waiting(record.id))
        return CommandOutcome(record, events, inbox, workflow, parsed, may_deliver, waits)

    def record_failure(self, case_id: int, err: Exception, now: datetime, *, during: str,
                       due_by: datetime | None = None,
                       details: dict[str, Any] | None = None) -> None:
        """Put a case the worker could not move in `error` with the reason
        (engine.workflow.failures): its own transaction, after the failed command's was
        rolled back. Logs one line."""
        try:
            with self.uow() as uow:
                message, put = put_in_error(uow, case_id, err, now, during=during,
                                            due_by=due_by, details=details)
                uow.commit()
        except Exception as second:  # e.g. the database itself is down: the next round retries
            log_unrecorded(case_id, failure_message(during, err), second)
            return
        log_failure(case_id, message, put)


def _closing_events(record: CaseRecord, workflow: Any, error: Any, now: datetime,
                    outgoing: list[tuple[str, Any]]) -> list[NewEvent]:
    """How the command leaves the case: in error (the run failed, or nothing is left to
    wait on), completed (telling a referring case), or still active (no event)."""
    if error is not None:
        record.status, record.error = "error", error
        return [NewEvent(type="error", at=now, step=error.get("step"), data=error)]
    if record.status != "active":
        return []
    if not workflow.is_completed():
        if runner.has_next_step(workflow):
            return []
        stuck = {"message": "the case has no open task, timer, message or signal left to "
                 "wait on, yet has not finished", "step": None, "task": None,
                 "line": None, "kind": "stuck"}
        record.status, record.error = "error", stuck
        return [NewEvent(type="error", at=now, data=stuck)]
    record.status = "completed"
    exit_reason = runner.exit_reason(workflow)
    if exit_reason is not None:  # the engine's place: a form's `exit_reason` stays in data
        record.exit_reason = exit_reason
    if "referral" in runner.case_data(workflow):  # tell the referring case
        outgoing.append((runner.COMPLETED_PREFIX + record.pathway,
                         {"case": record.id, "exit_reason": exit_reason}))
    return [NewEvent(type="case_completed", at=now,
                     data={"exit_reason": exit_reason} if exit_reason else {})]


def _store_state(record: CaseRecord, workflow: Any, now: datetime,
                 saved: dict[str, Any] | None = None) -> None:
    """The workflow's state (or the equal `saved` one given), data and awaited messages onto
    the record."""
    state.compact(workflow)
    record.state = state.dump_state(workflow) if saved is None else saved
    record.data = json_safe(runner.case_data(workflow))
    record.waiting_for = sorted(runner.waiting_message_names(workflow)
                                | runner.waiting_signal_names(workflow)) \
        if record.status == "active" else []
    record.updated_at = now


def _send(uow: UnitOfWork, record: CaseRecord, parsed: ParsedDefinition,
          outgoing: list[tuple[str, Any]], signals: list[tuple[str, Any]],
          now: datetime) -> list[NewEvent]:
    """Keep the messages and signals the case threw; their events, in that order."""
    assert record.id is not None
    events = []
    for name, payload in outgoing:
        message = uow.messages.add(Message(
            id=None, name=name, client_id=record.client_id, payload=json_safe(payload),
            sender_case_id=record.id, created_at=now))
        events.append(NewEvent(type="message_sent", at=now, data={
            "name": name, "message": message.id, "payload": message.payload}))
    for name, payload in signals:
        scope = parsed.signal_scope(name)
        signal = uow.messages.add(Message(
            id=None, name=name, kind="signal", payload=json_safe(payload),
            client_id=None if scope == PROGRAMME_SCOPE else record.client_id,
            sender_case_id=record.id, created_at=now))
        events.append(NewEvent(type="signal_sent", at=now, data={
            "name": name, "signal": signal.id, "scope": scope, "payload": signal.payload}))
    return events


def _show(uow: UnitOfWork, record: CaseRecord, workflow: Any, parsed: ParsedDefinition,
          previous: tuple[list[InboxTask], list[Timer]] | None) -> list[InboxTask]:
    """Write the case's open tasks and timers (unchanged ones are left alone)."""
    assert record.id is not None
    active = record.status == "active"
    inbox = runner.inbox_rows(workflow, parsed, record.id, record.pathway,
                              record.version) if active else []
    timers = runner.timers(workflow, record.id) if active else []
    if previous is None:
        uow.inbox.replace_open(record.id, inbox)
    elif inbox != previous[0]:
        uow.inbox.replace_open(record.id, inbox, previous=previous[0])
    if previous is None or timers != previous[1]:
        uow.timers.replace(record.id, timers)
    return inbox
