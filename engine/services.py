"""The engine's commands and queries: publish, start, complete, fire timers, route messages.

Every command is one unit of work: it loads the case, runs SpiffWorkflow, and writes the new
state, its events, inbox rows, timers and outgoing messages together, or nothing. Cases are
protected by a revision number: a command that loaded revision N can only save N + 1, so two
racing commands never lose an update; the loser gets a ConflictError and may retry.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine import runner
from engine.allocation import allocate, check_policy, new_seed
from engine.client_fields import client_field_problems
from engine.clock import running_at
from engine.data_names import reserved_data_name
from engine.definitions import (
    PROGRAMME_SCOPE,
    ParsedDefinition,
    SpecCache,
    bundle_hash,
    called_elements,
)
from engine.errors import (
    CaseStateError,
    ConflictError,
    DefinitionError,
    EngineError,
    FormValidationError,
    InvalidArgumentError,
    NotFoundError,
)
from engine.forms import saved_to_client, validate_submission
from engine.migration import VersionDiff, check_move, current_steps, diff_versions, move
from engine.model import (
    AllocationPolicy,
    Bundle,
    CaseRecord,
    Client,
    Event,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    NewEvent,
    PathwayVersion,
    Timer,
)
from engine.ports import (
    Clock,
    DashboardSummaries,
    Notification,
    Notifier,
    UnitOfWork,
    UnitOfWorkFactory,
)
from engine.sandbox import DEFAULT_TIME_LIMIT_SECONDS, SandboxScriptEngine
from engine.state import (
    DONE_KEY,
    StateFormatError,
    compact,
    done_steps,
    dump_state,
    load_state,
)
from engine.text import check_json, check_text
from engine.validation import publishable

log = logging.getLogger(__name__)
T = TypeVar("T")
# A case busy with another command when a signal reaches it is tried this many times.
_SIGNAL_ATTEMPTS = 3


@dataclass(frozen=True)
class PublishResult:
    pathway: str
    version: int
    hash: str
    changed: bool


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
class VersionSummary:
    version: PathwayVersion
    cases: int  # cases (of any status) that run on this version


@dataclass(frozen=True)
class MigrationResult:
    """What a migration did (or, in a dry run, would do) with one case."""

    case: int
    ok: bool
    reason: str | None
    from_step: str | None
    to_step: str | None


@dataclass(frozen=True)
class MigrationReport:
    migration: int | None  # None for a dry run: nothing was recorded
    pathway: str
    from_version: int
    to_version: int
    dry_run: bool
    cases: list[MigrationResult]
    reverts: int | None = None


Progress = Callable[[int, int], None]  # (cases done, cases in all)


@dataclass(frozen=True)
class _Outcome:
    """What a command wrote, handed to the steps that follow its commit."""

    record: CaseRecord
    events: list[NewEvent]
    inbox: list[InboxTask]
    workflow: Any
    parsed: ParsedDefinition
    may_deliver: bool  # it sent messages, or now waits for some: kept ones may be deliverable

    def task_views(self) -> list[TaskView]:
        """The case's open tasks after the command, with their forms."""
        return [TaskView(row, self.parsed.form_schema(row.form)) for row in self.inbox]


def _case_id(case_id: int) -> Callable[[UnitOfWork], int]:
    return lambda _uow: case_id


@dataclass
class _Live:
    revision: int
    bundle_hash: str
    workflow: Any
    open_tasks: tuple[str, ...] = ()


class LiveWorkflowCache:
    """Live workflows by case, each valid only for the case revision it was saved as.

    A command takes the workflow out (so no two commands share one object) and puts it back
    only after its transaction committed; anything that fails simply leaves it out, and the
    next command loads the stored state instead.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, _Live] = OrderedDict()
        self._task_cases: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, case_id: int, revision: int, bundle_hash: str) -> Any | None:
        with self._lock:
            live = self._items.pop(case_id, None)
            if live is not None:
                self._forget_tasks(live)
        if live is None or live.revision != revision or live.bundle_hash != bundle_hash:
            return None
        return live.workflow

    def put(self, case_id: int, revision: int, bundle_hash: str, workflow: Any,
            open_tasks: Sequence[str] = ()) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            old = self._items.pop(case_id, None)
            if old is not None:
                self._forget_tasks(old)
            self._items[case_id] = _Live(revision, bundle_hash, workflow, tuple(open_tasks))
            self._task_cases.update(dict.fromkeys(open_tasks, case_id))
            while len(self._items) > self.capacity:
                _, evicted = self._items.popitem(last=False)
                self._forget_tasks(evicted)

    def case_of(self, task_id: str) -> int | None:
        """The case of an open task of a cached workflow (saves a lookup per completion)."""
        with self._lock:
            return self._task_cases.get(task_id)

    def _forget_tasks(self, live: _Live) -> None:
        for task_id in live.open_tasks:
            self._task_cases.pop(task_id, None)


def _reason(err: BaseException, limit: int = 300) -> str:
    """One short line saying why something failed, for a case's error and the worker's log.

    A database driver's error wraps the real one (`orig`) and appends the statement and its
    parameters, case data included: only the first line of the underlying error is kept.
    """
    cause = getattr(err, "orig", None) or err
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _unparsable_version(pathway: str, number: int, files: Mapping[str, str],
                        expected_hash: str, err: Exception) -> DefinitionError:
    """A published version whose stored files no longer parse (changed in the database
    after publishing, or refused by a newer engine): an invalid_definition naming the
    version, never the parser's raw exception."""
    changed = bundle_hash(files) != expected_hash
    reason = err.message if isinstance(err, EngineError) else f"{type(err).__name__}: {err}"
    why = ("its stored files were changed after publishing" if changed
           else "this engine no longer accepts it")
    return DefinitionError(
        f"{pathway} v{number} cannot be loaded ({why}): {reason[:300]}",
        details={"pathway": pathway, "version": number, "files_changed": changed,
                 **(err.details if isinstance(err, EngineError) else {})})


class Engine:
    """The application's entry point for everything that runs or reads cases."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock,
                 specs: SpecCache | None = None, live_cases: int = 1024,
                 script_time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
                 notifier: Notifier | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier
        self._specs = specs or SpecCache()
        self._live = LiveWorkflowCache(live_cases)
        self._published: dict[tuple[str, int], PathwayVersion] = {}
        self.script_engine = SandboxScriptEngine(time_limit=script_time_limit)

    # -- definitions ---------------------------------------------------------------------

    def publish(self, files: Mapping[str, str], main_file: str, *, note: str = "",
                author: str = "", unless_published: bool = False) -> PublishResult:
        """Publish a bundle as the pathway's next version; identical content changes nothing.

        "Identical" means the same as the latest version, or with unless_published the same
        as any earlier version (so replaying a pathway's history publishes nothing twice).
        A model that could not run is refused first (engine.validation: XSD, semantic rules,
        a dry run), with a DefinitionError naming the file, line, column and element.
        """
        with self._uow() as uow:
            bundle_files = self._with_called_processes(uow, dict(files), main_file)
            parsed = publishable(bundle_files, main_file)
            latest = uow.versions.latest(parsed.pathway)
            if latest is not None and latest.bundle_hash == parsed.hash:
                return PublishResult(parsed.pathway, latest.number, parsed.hash, False)
            if unless_published:
                for earlier in uow.versions.list(parsed.pathway):
                    if earlier.bundle_hash == parsed.hash:
                        return PublishResult(parsed.pathway, earlier.number, parsed.hash,
                                             False)
            uow.versions.add_bundle(Bundle(parsed.hash, bundle_files))
            version = uow.versions.add(PathwayVersion(
                pathway=parsed.pathway, number=(latest.number + 1) if latest else 1,
                bundle_hash=parsed.hash, main_file=main_file, note=note, author=author,
                published_at=self._clock.now(), start_messages=parsed.start_messages,
                processes=parsed.processes))
            uow.commit()
        return PublishResult(parsed.pathway, version.number, parsed.hash, True)

    def _with_called_processes(self, uow: UnitOfWork, files: dict[str, str],
                               main_file: str) -> dict[str, str]:
        """Add the published BPMN of processes the bundle calls but does not contain."""
        defined: set[str] = set()
        called: set[str] = set()
        for name, text in files.items():
            if name.endswith(".bpmn"):
                has, calls = called_elements(text, name)
                defined |= has
                called |= calls
        for process in sorted(called - defined):
            version = uow.versions.latest(process)
            bundle = uow.versions.bundle(version.bundle_hash) if version else None
            if bundle is None:
                continue  # parse_bundle reports the unknown process with its location
            for name, text in bundle.files.items():
                files.setdefault(name, text)
        return files

    def versions(self, pathway: str | None = None) -> list[PathwayVersion]:
        with self._uow(read_only=True) as uow:
            return uow.versions.list(pathway)

    def definitions(self) -> list[PathwayVersion]:
        with self._uow(read_only=True) as uow:
            return uow.versions.latest_all()

    def version_summaries(self, pathway: str) -> list[VersionSummary]:
        """Every version of a pathway with how many cases run on it, oldest first."""
        with self._uow(read_only=True) as uow:
            versions = uow.versions.list(pathway)
            if not versions:
                raise NotFoundError(f"pathway {pathway!r} is not published",
                                    details={"pathway": pathway})
            counts = uow.cases.count_by_version(pathway)
        return [VersionSummary(v, counts.get(v.number, 0)) for v in versions]

    def definition(self, pathway: str, number: int, *, uow: UnitOfWork | None = None
                   ) -> ParsedDefinition:
        """The parsed definition of a published version (cached): forms, roles, steps.
        Reads through uow when given (else in a unit of work of its own)."""
        if uow is not None:
            return self._parsed(uow, pathway, number)
        with self._uow(read_only=True) as own:
            return self._parsed(own, pathway, number)

    def diff(self, pathway: str, old: int, new: int) -> VersionDiff:
        """The steps added, removed and changed from version old to version new."""
        with self._uow(read_only=True) as uow:
            return diff_versions(self._parsed(uow, pathway, old),
                                 self._parsed(uow, pathway, new))

    # -- allocation ----------------------------------------------------------------------

    def set_allocation(self, pathway: str, kind: str, *, version: int | None = None,
                       weights: Mapping[int, int] | None = None, seed: str | None = None,
                       actor: str | None = None) -> AllocationPolicy:
        """Set which version the pathway's new cases get; the policy is kept with its history.

        A split without a seed gets a random one, recorded so the split can be recomputed.
        """
        weights = dict(weights or {})
        with self._uow() as uow:
            published = [v.number for v in uow.versions.list(pathway)]
            if not published:
                raise NotFoundError(f"pathway {pathway!r} is not published",
                                    details={"pathway": pathway})
            check_policy(kind, version, weights, published)
            policy = uow.allocations.set(AllocationPolicy(
                pathway=pathway, kind=kind, version=version if kind == "fixed" else None,
                weights=weights if kind == "split" else {},
                seed=(seed or new_seed()) if kind == "split" else None,
                set_at=self._clock.now(), set_by=actor))
            uow.commit()
        return policy

    def allocation(self, pathway: str) -> AllocationPolicy:
        """The pathway's policy in force (the latest version when none was ever set)."""
        with self._uow(read_only=True) as uow:
            if uow.versions.latest(pathway) is None:
                raise NotFoundError(f"pathway {pathway!r} is not published",
                                    details={"pathway": pathway})
            return uow.allocations.current(pathway) or AllocationPolicy(pathway, "latest")

    def _version(self, uow: UnitOfWork, pathway: str, number: int) -> PathwayVersion:
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

    def _parsed(self, uow: UnitOfWork, pathway: str, number: int) -> ParsedDefinition:
        version = self._version(uow, pathway, number)
        cached = self._specs.peek(version.bundle_hash)
        if cached is not None:
            return cached
        bundle = uow.versions.bundle(version.bundle_hash)
        if bundle is None:
            raise NotFoundError(f"files of {pathway} v{number} are missing",
                                details={"pathway": pathway, "version": number})
        try:
            return self._specs.get(bundle.files, version.main_file, version.bundle_hash)
        except Exception as err:  # whatever fails, the stored version is unusable
            raise _unparsable_version(pathway, number, bundle.files, version.bundle_hash,
                                      err) from err

    # -- clients -------------------------------------------------------------------------

    def add_client(self, name: str, fields: Mapping[str, Any] | None = None) -> Client:
        """Register a client. The name and fields must be storable text (engine.text), and
        each field a pathway declares must fit its declared type (FormValidationError)."""
        check_text(name, "name")
        check_json(dict(fields or {}), "fields")
        with self._uow() as uow:
            # a client with no fields needs no definition: one unloadable version must not
            # stop intake (with fields, its refusal names the version that cannot be read)
            declared = self._declared_client_fields(uow) if fields else {}
            problems = client_field_problems(fields or {}, declared)
            if problems:
                raise FormValidationError(
                    "client fields do not fit the types the pathways declare: "
                    + ", ".join(problems), fields=problems)
            client = uow.clients.add(Client(id=None, name=name, fields=_json_safe(fields or {}),
                                            created_at=self._clock.now()))
            uow.commit()
        return client

    def _declared_client_fields(self, uow: UnitOfWork) -> dict[str, set[str]]:
        """Client field -> the types the latest version of each pathway declares for it."""
        declared: dict[str, set[str]] = {}
        for version in uow.versions.latest_all():
            parsed = self._parsed(uow, version.pathway, version.number)
            for name, kind in parsed.client_field_types.items():
                declared.setdefault(name, set()).add(kind)
        return declared

    def get_client(self, client_id: int) -> Client:
        with self._uow(read_only=True) as uow:
            return self._client(uow, client_id)

    def clients(self) -> list[Client]:
        with self._uow(read_only=True) as uow:
            return uow.clients.list()

    @staticmethod
    def _client(uow: UnitOfWork, client_id: int) -> Client:
        client = uow.clients.get(client_id)
        if client is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        return client

    # -- commands ------------------------------------------------------------------------

    def start_case(self, pathway: str, client_id: int, *, version: int | None = None,
                   actor: str | None = None) -> CaseView:
        now = self._clock.now()
        with self._uow() as uow:
            outcome = self._start(uow, pathway, client_id, version, actor, now, message=None)
        self._after_commit(outcome)
        record = outcome.record
        return CaseView(record, outcome.task_views())

    def _start(self, uow: UnitOfWork, pathway: str, client_id: int, number: int | None,
               actor: str | None, now: datetime, message: Message | None) -> _Outcome:
        client = self._client(uow, client_id)
        latest = uow.versions.latest(pathway)
        if latest is None:
            raise NotFoundError(f"no pathway {pathway!r} is published",
                                details={"pathway": pathway, "version": number})
        if number is not None:
            chosen = {"policy": "override", "version": number}
        else:
            allocation = allocate(uow.allocations.current(pathway), pathway, client_id,
                                  latest.number)
            number, chosen = allocation.version, allocation.event
        version = latest if number == latest.number else uow.versions.get(pathway, number)
        if version is None:
            raise NotFoundError(f"no version {number} of pathway {pathway!r} is published",
                                details={"pathway": pathway, "version": number})
        parsed = self._parsed(uow, pathway, version.number)
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs,
                                script_engine=self.script_engine)
        initial: dict[str, Any] = {
            "client": {"id": client.id, "name": client.name, **client.fields}}
        by_signal = message is not None and message.kind == "signal"
        referral = message is not None and not by_signal \
            and message.name.startswith(runner.START_PREFIX)
        if referral and message is not None:
            initial["referral"] = {"from_case": message.sender_case_id,
                                   **(message.payload if isinstance(message.payload, dict)
                                      else {})}
        workflow.task_tree.data = dict(initial)
        for child in workflow.task_tree.children:
            child.data = dict(initial)
        events = [NewEvent(type="case_started", at=now, actor=actor, data={
            "pathway": pathway, "version": version.number, "client": client.id,
            **({"signal" if by_signal else "message": message.name,
                "from_case": message.sender_case_id} if message else {})}),
            NewEvent(type="version_allocated", at=now, actor=actor, data=chosen)]
        with running_at(now):
            before = runner.snapshot(workflow)
            error = runner.run_engine(workflow)
            if message is not None and (by_signal or not referral) and error is None:
                kind = "signal" if by_signal else "message"
                definition = SignalEventDefinition if by_signal else MessageEventDefinition
                workflow.send_event(BpmnEvent(definition(message.name),
                                              payload=message.payload))
                events.append(NewEvent(type=f"{kind}_received", at=now, data={
                    "name": message.name, kind: message.id,
                    "from_case": message.sender_case_id}))
                error = runner.run_engine(workflow)
            events += runner.describe_changes(workflow, parsed, before, now)
            record = CaseRecord(id=None, pathway=pathway, version=version.number,
                                client_id=client_id, status="active", state={}, created_at=now,
                                updated_at=now)
            outcome = self._persist(uow, record, workflow, parsed, events, error, now, new=True)
            if message is not None and not by_signal and message.id is not None \
                    and record.id is not None:  # (a signal was marked routed before)
                uow.messages.mark_delivered(message.id, record.id, now)
        uow.commit()
        return outcome

    def complete_task(self, task_id: str, data: Mapping[str, Any], *,
                      actor: str | None = None) -> CompletionResult:
        """Complete a ready human task with form data (validated first; invalid saves nothing)."""
        submitted = dict(data)
        now = self._clock.now()

        def complete(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                     parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
            task = runner.find_task(workflow, task_id)
            if task is None or task.state != TaskState.READY or not task.task_spec.manual:
                raise NotFoundError(f"no open task {task_id}",
                                    details={"task": task_id, "case": record.id})
            info = parsed.user_tasks.get(task.task_spec.name)
            schema = parsed.form_schema(info.form if info else None)
            validate_submission(schema, submitted, context=task.data)
            clean = _json_safe(submitted)
            task.task_spec.add_data_from_form(task, clean)
            done = [NewEvent(type="task_completed", at=now, actor=actor,
                             step=runner.step_name(task),
                             data={"task": task_id, "title": info.title if info else None,
                                   "data": clean})]
            saved = saved_to_client(schema, clean)
            if saved:  # the client's story, told once: kept on their shared record
                uow.clients.update_fields(record.client_id, saved)
                task.data["client"] = {**task.data.get("client", {}), **saved}
                done.append(NewEvent(type="client_updated", at=now, actor=actor,
                                     step=runner.step_name(task), data={"fields": saved}))
            return done, runner.run_task(workflow, task)

        def locate(uow: UnitOfWork) -> int:
            case_id = self._live.case_of(task_id)
            if case_id is not None:
                return case_id
            row = uow.inbox.get(task_id)
            if row is None:
                raise NotFoundError(f"no open task {task_id}", details={"task": task_id})
            return row.case_id

        outcome = self._command(locate, now, complete)
        return CompletionResult(outcome.record.id or 0, outcome.record.status,
                                outcome.task_views(), outcome.record.error)

    def fire_due_timers(self, now: datetime | None = None, *, batch: int = 200) -> int:
        """Fire every timer due at `now` (default: the clock). Returns how many fired.

        Cases are taken in batches, each case in its own transaction; a case another
        process holds (conflict) is left for the next round rather than retried here. A case
        whose timer cannot be fired for any other reason is put in error with the reason
        (see _record_failure) and the others go on.
        """
        when = now or self._clock.now()
        fired = 0
        tried: set[int] = set()
        while True:
            with self._uow() as uow:
                due = uow.timers.due_cases(when, batch + len(tried))
            fresh = [case_id for case_id in due if case_id not in tried]
            if not fresh:
                return fired
            for case_id in fresh[:batch]:
                tried.add(case_id)
                try:
                    events = self._command(_case_id(case_id), when, self._refresh_timers).events
                except (ConflictError, CaseStateError) as err:
                    log.info("timer of case %s left for the next round: %s", case_id, err)
                    continue
                except Exception as err:  # one bad case must not stop the others' timers
                    self._record_failure(case_id, err, when, during="firing its timer",
                                         due_by=when)
                    continue
                fired += sum(event.type == "timer_fired" for event in events)

    @staticmethod
    def _refresh_timers(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                        parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        """Let every timer that is due go off (the command's time is the clock's time)."""
        workflow.refresh_timers()
        return [], runner.run_engine(workflow)

    def retry_case(self, case_id: int, *, version: int | None = None,
                   actor: str | None = None, data: Mapping[str, Any] | None = None) -> CaseView:
        """Run a case's failed step again, on a fixed version of its pathway if given.

        `data` fixes what the step lacked before it runs again: names set on the failed step's
        data, and under "client" the client's fields (checked against their declared types and
        saved on the client's record, as a form's `save_to` would). The client's current
        fields are always read again, so a date added to the record since is seen. A step
        that fails again puts the case back in error with the new reason; a timer is
        scheduled again from its re-evaluated date.
        """
        fixes = dict(data or {})
        check_json(fixes, "data")
        for name in fixes:
            why = reserved_data_name(name) if name != "client" else None
            if why is not None:  # what the engine writes is not the retry's to set
                raise InvalidArgumentError(f"retry data may not set {why}",
                                           details={"field": f"data.{name}"})
        client_fix = fixes.get("client", {})
        if not isinstance(client_fix, dict):
            raise InvalidArgumentError('"client" in the retry data must be an object of client '
                                       "fields", details={"client": client_fix})
        now = self._clock.now()
        with self._uow() as uow:
            record = self._case(uow, case_id)
            if record.status != "error":
                raise CaseStateError(f"case {case_id} is {record.status}, not in error",
                                     details={"case": case_id, "status": record.status})
            target = version or record.version
            parsed = self._parsed(uow, record.pathway, target)
            self._check_steps_exist(record, parsed)
            if client_fix:
                problems = client_field_problems(client_fix, self._declared_client_fields(uow))
                if problems:
                    raise FormValidationError(
                        "client fields do not fit the types the pathways declare: "
                        + ", ".join(problems), fields=problems)
            client = self._client(uow, record.client_id)
            workflow = load_state(record.state, parsed, self.script_engine,
                                  case_id=case_id)
            expected = record.revision
            events = [NewEvent(type="case_retried", at=now, actor=actor, data={
                "from_version": record.version, "to_version": target,
                **({"data": _json_safe(fixes)} if fixes else {})})]
            if client_fix:
                uow.clients.update_fields(record.client_id, _json_safe(client_fix))
                events.append(NewEvent(type="client_updated", at=now, actor=actor,
                                       data={"fields": _json_safe(client_fix)}))
            with running_at(now):
                before = runner.snapshot(workflow)
                error = runner.retry_failed_steps(workflow, _json_safe(fixes),
                                                  {**client.fields, **_json_safe(client_fix)})
                events += runner.describe_changes(workflow, parsed, before, now)
                record.version = target
                record.status = "active"
                record.error = None
                outcome = self._persist(uow, record, workflow, parsed, events, error, now,
                                        expected_revision=expected)
            uow.commit()
        self._after_commit(outcome)
        return self.get_case(case_id)

    @staticmethod
    def _check_steps_exist(record: CaseRecord, parsed: ParsedDefinition) -> None:
        known = set(parsed.spec.task_specs)
        for sub in parsed.subprocess_specs.values():
            known |= set(sub.task_specs)
        used = {task["task_spec"] for task in record.state.get("tasks", {}).values()}
        for sub in record.state.get("subprocesses", {}).values():
            used |= {task["task_spec"] for task in sub.get("tasks", {}).values()}
        missing = sorted(used - known)
        if missing:
            raise CaseStateError(
                f"version {parsed.pathway} does not have steps this case has reached: "
                f"{', '.join(missing)}", details={"missing_steps": missing})

    def cancel_case(self, case_id: int, *, actor: str | None = None,
                    reason: str = "") -> CaseView:
        now = self._clock.now()

        def cancel(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                   parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
            workflow.cancel()
            record.status = "cancelled"
            return [NewEvent(type="case_cancelled", at=now, actor=actor,
                             data={"reason": reason})], None

        self._command(_case_id(case_id), now, cancel, allow=("active", "error"))
        return self.get_case(case_id)

    # -- migration -----------------------------------------------------------------------

    def migrate(self, pathway: str, from_version: int, to_version: int, *,
                dry_run: bool = False, steps: Sequence[str] = (),
                case_ids: Sequence[int] = (), actor: str | None = None,
                progress: Progress | None = None) -> MigrationReport:
        """Move the pathway's active cases from one version to another, each case safely.

        Each case is checked (engine.migration), moved, saved and loaded again on the new
        version, and run until it waits, all in its own transaction: a case that cannot move
        is left untouched and reported with the reason. `steps` keeps only cases now at one
        of those steps; `case_ids` only those cases. A dry run writes nothing.
        """
        if from_version == to_version:
            raise InvalidArgumentError(f"--from and --to are both version {from_version}",
                                       details={"from": from_version, "to": to_version})
        now = self._clock.now()
        with self._uow() as uow:
            old = self._parsed(uow, pathway, from_version)
            new = self._parsed(uow, pathway, to_version)
            candidates = [c.id for c in uow.cases.list(pathway=pathway, status="active",
                                                       version=from_version)
                          if c.id is not None]
            results: list[MigrationResult] = []
            if case_ids:
                wanted = list(dict.fromkeys(case_ids))
                unmovable = self._unmovable(uow, wanted, set(candidates), pathway,
                                            from_version)
                results += [result for result, _ in unmovable]
                recordable = [result for result, exists in unmovable if exists]
                candidates = [c for c in wanted if c in set(candidates)]
            else:
                recordable = []
            migration = None
            if not dry_run:
                migration = uow.migrations.add(Migration(
                    id=None, pathway=pathway, from_version=from_version,
                    to_version=to_version, created_at=now, actor=actor,
                    filter={"steps": list(steps), "cases": list(case_ids)}))
                for refused in recordable:  # (a case id that does not exist is only reported)
                    assert migration.id is not None
                    uow.migrations.add_case(MigrationCase(
                        migration.id, refused.case, False, refused.reason))
                uow.commit()
        migration_id = migration.id if migration else None
        for done, case_id in enumerate(candidates, start=1):
            result = self._migrate_or_report(case_id, migration_id, partial(
                self._migrate_case, case_id, old, new, (from_version, to_version),
                migration_id, set(steps), now, actor, dry_run=dry_run))
            if result is not None:
                results.append(result)
            if progress is not None:
                progress(done, len(candidates))
        if migration_id is not None:
            with self._uow() as uow:
                uow.migrations.finish(migration_id, self._clock.now())
                uow.commit()
        return MigrationReport(migration_id, pathway, from_version, to_version, dry_run,
                               results)

    def _migrate_or_report(self, case_id: int, migration_id: int | None,
                           attempt: Callable[[], MigrationResult | None]
                           ) -> MigrationResult | None:
        """Run one case's migration; a case someone changed meanwhile is reported, not lost."""
        try:
            return attempt()
        except ConflictError:
            result = MigrationResult(case_id, False, f"case {case_id} changed while it was being "
                                     "migrated; run the migration again for it", None, None)
            with self._uow() as uow:
                return self._record_refusal(uow, migration_id, result)

    @staticmethod
    def _unmovable(uow: UnitOfWork, wanted: Sequence[int], movable: set[int], pathway: str,
                   version: int) -> list[tuple[MigrationResult, bool]]:
        """Results for requested cases that are not active cases of that version, each with
        whether the case exists."""
        results = []
        for case_id in wanted:
            if case_id in movable:
                continue
            record = uow.cases.get(case_id, with_state=False)
            if record is None:
                reason = f"no case {case_id}"
            elif record.pathway != pathway:
                reason = f"case {case_id} is a case of {record.pathway}, not {pathway}"
            elif record.version != version:
                reason = f"case {case_id} is on version {record.version}, not {version}"
            else:
                reason = f"case {case_id} is {record.status}; only active cases move"
            results.append((MigrationResult(case_id, False, reason, None, None),
                            record is not None))
        return results

    def _migrate_case(self, case_id: int, old: ParsedDefinition, new: ParsedDefinition,
                      versions: tuple[int, int],
                      migration_id: int | None, steps: set[str], now: datetime,
                      actor: str | None, *, dry_run: bool,
                      restore: MigrationCase | None = None,
                      reverts: int | None = None) -> MigrationResult | None:
        """Check, move and save one case in one transaction (None: filtered out by steps)."""
        from_version, to_version = versions
        with self._uow() as uow:
            record = self._case(uow, case_id)
            if record.version != from_version or record.status != "active":
                return self._record_refusal(uow, migration_id, MigrationResult(
                    case_id, False, f"case {case_id} is {record.status} on version "
                    f"{record.version} now, not active on {from_version}", None, None))
            try:
                workflow = load_state(record.state, old, self.script_engine, case_id=case_id)
            except StateFormatError as err:  # one damaged case: refused, the others go on
                return self._record_refusal(uow, migration_id, MigrationResult(
                    case_id, False, err.message, None, None))
            here = current_steps(workflow)
            if steps and not steps.intersection(here):
                return None
            from_step = ", ".join(here) or None
            untouched = restore is not None and restore.after_revision == record.revision \
                and restore.before_state is not None
            if not untouched:
                done = self._done_steps(uow, record, workflow)
                check = check_move(workflow, old, new, done, version_label=f"version {to_version}")
                if not check.ok:
                    return self._record_refusal(uow, migration_id, MigrationResult(
                        case_id, False, check.reason, from_step, None))
            before_state = json.loads(json.dumps(record.state))
            with running_at(now):
                try:
                    if untouched:
                        assert restore is not None and restore.before_state is not None
                        workflow = load_state(restore.before_state, new, self.script_engine)
                    else:
                        move(workflow, new)
                    moved = dump_state(workflow)
                    workflow = load_state(moved, new, self.script_engine)
                    if dump_state(workflow) != moved:
                        raise ValueError("the state read back differs from the state saved")
                except Exception as err:  # any failure means: do not move it
                    log.info("case %s fails the round trip to %s v%s", case_id, new.pathway,
                             to_version, exc_info=True)
                    cause = err.__cause__ if isinstance(err, StateFormatError) else None
                    return self._record_refusal(uow, migration_id, MigrationResult(
                        case_id, False, f"the case would not survive saving and loading on "
                        f"version {to_version}: {cause or err}", from_step, None))
                before = runner.snapshot(workflow)
                error = runner.run_engine(workflow)
                if error is not None:
                    return self._record_refusal(uow, migration_id, MigrationResult(
                        case_id, False, f"on version {to_version} the case fails at step "
                        f"{error.get('step')!r}: {error.get('message')}", from_step, None))
                to_step = ", ".join(current_steps(workflow)) or (
                    "(completed)" if workflow.is_completed() else None)
                result = MigrationResult(case_id, True, None, from_step, to_step)
                if dry_run:
                    return result
                assert migration_id is not None
                kind = "migration_reverted" if reverts is not None else "case_migrated"
                events = [NewEvent(type=kind, at=now, actor=actor, data={
                    "migration": migration_id, "from_version": from_version,
                    "to_version": to_version, "from_step": from_step, "to_step": to_step,
                    **({"reverts": reverts, "restored": untouched}
                       if reverts is not None else {})})]
                events += runner.describe_changes(workflow, new, before, now)
                expected = record.revision
                record.version = to_version
                outcome = self._persist(uow, record, workflow, new, events, None, now,
                                        expected_revision=expected)
            uow.migrations.add_case(MigrationCase(
                migration_id, case_id, True, None, from_step, to_step,
                before_state=before_state, before_revision=expected,
                after_revision=record.revision))
            if restore is not None and reverts is not None:
                uow.migrations.mark_reverted(reverts, case_id, migration_id)
            uow.commit()
        self._after_commit(outcome)
        return result

    @staticmethod
    def _record_refusal(uow: UnitOfWork, migration_id: int | None,
                        result: MigrationResult) -> MigrationResult:
        if migration_id is not None:
            uow.migrations.add_case(MigrationCase(
                migration_id, result.case, False, result.reason, result.from_step))
            uow.commit()
        return result

    @staticmethod
    def _done_steps(uow: UnitOfWork, record: CaseRecord, workflow: Any) -> dict[str, set[str]]:
        """Completed steps cut from the tree; for states saved before they were tracked,
        the steps the event log names stand in (they cover every step a person did)."""
        if DONE_KEY in record.state:
            return done_steps(workflow)
        assert record.id is not None
        named = {e.step for e in uow.events.list(record.id)
                 if e.step and e.type in ("task_completed", "decision", "timer_fired",
                                          "outcome_recorded", "referral_made",
                                          "notification_requested")}
        return {workflow.spec.name: named}

    def revert_migration(self, migration_id: int, *, actor: str | None = None,
                         progress: Progress | None = None) -> MigrationReport:
        """Put the cases a migration moved back on the version they came from.

        A case nobody has touched since gets its exact earlier state back. One that moved on
        is migrated back by the same rules as any migration, or refused with the reason.
        """
        now = self._clock.now()
        with self._uow() as uow:
            original = uow.migrations.get(migration_id)
            if original is None:
                raise NotFoundError(f"no migration {migration_id}",
                                    details={"migration": migration_id})
            if original.reverts is not None:
                raise InvalidArgumentError(
                    f"migration {migration_id} is itself a revert (of migration "
                    f"{original.reverts}); migrate again instead",
                    details={"migration": migration_id})
            moved = [c for c in uow.migrations.cases(migration_id)
                     if c.ok and c.reverted_by is None]
            if not moved:
                raise CaseStateError(f"migration {migration_id} has no moved case left to put "
                                     "back", details={"migration": migration_id})
            old = self._parsed(uow, original.pathway, original.to_version)
            new = self._parsed(uow, original.pathway, original.from_version)
            revert = uow.migrations.add(Migration(
                id=None, pathway=original.pathway, from_version=original.to_version,
                to_version=original.from_version, created_at=now, actor=actor,
                filter={"reverts": migration_id}, reverts=migration_id))
            uow.commit()
        assert revert.id is not None
        results: list[MigrationResult] = []
        for done, entry in enumerate(moved, start=1):
            result = self._migrate_or_report(entry.case_id, revert.id, partial(
                self._migrate_case, entry.case_id, old, new,
                (original.to_version, original.from_version), revert.id, set(), now, actor,
                dry_run=False, restore=entry, reverts=migration_id))
            if result is not None:
                results.append(result)
            if progress is not None:
                progress(done, len(moved))
        with self._uow() as uow:
            uow.migrations.finish(revert.id, self._clock.now())
            uow.commit()
        return MigrationReport(revert.id, original.pathway, original.to_version,
                               original.from_version, False, results, reverts=migration_id)

    def migrations(self, pathway: str | None = None) -> list[Migration]:
        with self._uow(read_only=True) as uow:
            return uow.migrations.list(pathway)

    def migration(self, migration_id: int) -> tuple[Migration, list[MigrationCase]]:
        with self._uow(read_only=True) as uow:
            found = uow.migrations.get(migration_id)
            if found is None:
                raise NotFoundError(f"no migration {migration_id}",
                                    details={"migration": migration_id})
            return found, uow.migrations.cases(migration_id)

    def deliver_messages(self, client_id: int | None = None) -> int:
        """Deliver waiting messages to the cases they are for. Returns how many went."""
        return self._route_messages(client_id)

    # -- the command skeleton ------------------------------------------------------------

    def _command(self, locate: Callable[[UnitOfWork], int], now: datetime,
                 action: Callable[[UnitOfWork, CaseRecord, Any, ParsedDefinition],
                                  tuple[list[NewEvent], Any]],
                 *, allow: tuple[str, ...] = ("active",)) -> _Outcome:
        """Load a case, run action on its workflow, persist everything, commit: one transaction.

        `locate` finds the case inside the same transaction (and may refuse the command
        before anything changes, e.g. invalid form data).
        """
        with self._uow() as uow:
            case_id = locate(uow)
            record = self._case(uow, case_id, with_state=False)
            if record.status not in allow:
                raise CaseStateError(f"case {case_id} is {record.status}",
                                     details={"case": case_id, "status": record.status})
            parsed = self._parsed(uow, record.pathway, record.version)
            workflow = self._load(uow, record, parsed)
            expected = record.revision
            with running_at(now):
                previous = self._visible(workflow, parsed, record)
                before = runner.snapshot(workflow)
                events, error = action(uow, record, workflow, parsed)
                events += runner.describe_changes(workflow, parsed, before, now)
                outcome = self._persist(uow, record, workflow, parsed, events, error, now,
                                        expected_revision=expected, previous=previous)
            uow.commit()
        self._after_commit(outcome)
        return outcome

    def _after_commit(self, outcome: _Outcome) -> None:
        """What must wait until the command's transaction is safely committed."""
        record = outcome.record
        for event in outcome.events:
            if event.type == "notification_requested" and self._notifier is not None:
                try:
                    self._notifier.notify(Notification(
                        case_id=record.id or 0, client_id=record.client_id,
                        to_role=event.data["to"], message=event.data["message"],
                        step=event.step))
                except Exception:  # the case moved on; a failed notice must not undo it
                    log.exception("notification from case %s step %s failed", record.id,
                                  event.step)
        self._live.put(record.id or 0, record.revision, outcome.parsed.hash, outcome.workflow,
                       [row.id for row in outcome.inbox])
        if outcome.may_deliver:
            self._route_messages(record.client_id)

    @staticmethod
    def _visible(workflow: Any, parsed: ParsedDefinition, record: CaseRecord
                 ) -> tuple[list[InboxTask], list[Timer]]:
        """The inbox rows and timers the case shows now, to skip rewriting them unchanged."""
        assert record.id is not None
        return (runner.inbox_rows(workflow, parsed, record.id, record.pathway, record.version),
                runner.timers(workflow, record.id))

    def _load(self, uow: UnitOfWork, record: CaseRecord, parsed: ParsedDefinition) -> Any:
        """The case's live workflow: from memory if it is still current, else from storage."""
        assert record.id is not None
        workflow = self._live.take(record.id, record.revision, parsed.hash)
        if workflow is None:
            if not record.state:
                record.state = self._case(uow, record.id).state
            workflow = load_state(record.state, parsed, self.script_engine,
                                  case_id=record.id)
        return workflow

    def _persist(self, uow: UnitOfWork, record: CaseRecord, workflow: Any,
                 parsed: ParsedDefinition, events: list[NewEvent], error: Any,
                 now: datetime, *, new: bool = False, expected_revision: int = 0,
                 previous: tuple[list[InboxTask], list[Timer]] | None = None) -> _Outcome:
        thrown = runner.thrown_events(workflow)
        outgoing, signals = thrown.messages, thrown.signals
        outgoing += [(runner.START_PREFIX + e.data["pathway"],
                      {"from_pathway": record.pathway, "step": e.step})
                     for e in events if e.type == "referral_made"]
        closing: list[NewEvent] = []
        exit_reason = None
        if error is not None:
            record.status = "error"
            record.error = error
            closing.append(NewEvent(type="error", at=now, step=error.get("step"), data=error))
        elif record.status == "active" and not workflow.is_completed() \
                and not runner.has_next_step(workflow):
            error = {"message": "the case has no open task, timer, message or signal left to "
                     "wait on, yet has not finished", "step": None, "task": None,
                     "line": None, "kind": "stuck"}
            record.status = "error"
            record.error = error
            closing.append(NewEvent(type="error", at=now, data=error))
        elif record.status == "active" and workflow.is_completed():
            record.status = "completed"
            exit_reason = runner.exit_reason(workflow)
            closing.append(NewEvent(type="case_completed", at=now,
                                    data={"exit_reason": exit_reason} if exit_reason else {}))
            if "referral" in runner.case_data(workflow):  # tell the referring case
                outgoing.append((runner.COMPLETED_PREFIX + record.pathway,
                                 {"case": record.id, "exit_reason": exit_reason}))
        compact(workflow)
        record.state = dump_state(workflow)
        record.data = _json_safe(runner.case_data(workflow))
        if exit_reason is not None:  # the engine's place: a form's `exit_reason` stays in data
            record.exit_reason = exit_reason
        record.waiting_for = sorted(runner.waiting_message_names(workflow)
                                    | runner.waiting_signal_names(workflow)) \
            if record.status == "active" else []
        record.updated_at = now
        first_seq = record.event_seq + 1
        record.event_seq += len(events) + len(outgoing) + len(signals) + len(closing)
        if new:
            uow.cases.add(record)
        else:
            uow.cases.save(record, expected_revision)
        assert record.id is not None
        for name, payload in outgoing:
            message = uow.messages.add(Message(
                id=None, name=name, client_id=record.client_id, payload=_json_safe(payload),
                sender_case_id=record.id, created_at=now))
            events.append(NewEvent(type="message_sent", at=now, data={
                "name": name, "message": message.id, "payload": message.payload}))
        for name, payload in signals:
            scope = parsed.signal_scope(name)
            signal = uow.messages.add(Message(
                id=None, name=name, kind="signal", payload=_json_safe(payload),
                client_id=None if scope == PROGRAMME_SCOPE else record.client_id,
                sender_case_id=record.id, created_at=now))
            events.append(NewEvent(type="signal_sent", at=now, data={
                "name": name, "signal": signal.id, "scope": scope, "payload": signal.payload}))
        events += closing
        uow.events.append(record.id, events, first_seq=first_seq)
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
        may_deliver = bool(outgoing) or bool(signals) or bool(record.waiting_for)
        return _Outcome(record, events, inbox, workflow, parsed, may_deliver)

    # -- messages ------------------------------------------------------------------------

    def _route_messages(self, client_id: int | None) -> int:
        """Offer each pending message to the cases waiting for it, once per call.

        A message whose delivery fails is not retried in a loop: the case it failed on is
        put in error (_deliver), so it is not offered to that case again until someone
        retries the case, and the message stays pending, never lost, for whichever case can
        take it. A message that fails without a case to blame (starting a case from it
        failed) also stays pending and is offered again on the next round only.
        """
        delivered = 0
        with self._uow() as uow:
            pending = uow.messages.pending(client_id)
        for message in pending:
            try:
                if message.kind == "signal":
                    delivered += self._broadcast(message)
                elif self._deliver(message):
                    delivered += 1
            except ConflictError:
                log.info("message %s stays pending: its case is busy", message.id)
            except Exception as err:  # one bad message must not stop the others
                log.warning("message %s (%s) stays pending: %s", message.id, message.name,
                            _reason(err))
        return delivered

    def _deliver(self, message: Message) -> bool:
        now = self._clock.now()
        assert message.client_id is not None  # only a programme-wide signal has no client
        with self._uow() as uow:
            candidates = [c for c in uow.cases.list(client_id=message.client_id, status="active")
                          if c.id != message.sender_case_id and message.name in c.waiting_for]
            overdue = {c.id for c in candidates
                       if any(t.due_at <= now for t in uow.timers.for_case(c.id or 0))}
        failed = False
        for candidate in candidates:
            try:
                if candidate.id in overdue:  # the worker lags: a timer due before this
                    # message came goes off first (behind an event-based gateway it wins)
                    self._command(_case_id(candidate.id or 0), now, self._refresh_timers)
                self._command(_case_id(candidate.id or 0), now, self._receive(message, now))
            except CaseStateError:
                continue  # it stopped waiting since the list was read
            except ConflictError:
                raise
            except Exception as err:  # that case cannot take it: in error, try the next one
                self._record_failure(candidate.id or 0, err, now, during="delivering message "
                                     f"{message.name!r}", details={"delivering": {
                                         "message": message.id, "name": message.name}})
                failed = True
                continue
            return True
        if failed:
            return False  # it was meant for a waiting case: kept, never starts a new one
        with self._uow() as uow:
            if message.name.startswith(runner.START_PREFIX):
                wanted = message.name.removeprefix(runner.START_PREFIX)
                starters = [v for v in uow.versions.latest_all() if v.pathway == wanted]
            else:
                starters = [v for v in uow.versions.latest_all()
                            if message.name in v.start_messages]
            if not starters:
                return False
            outcome = self._start(uow, starters[0].pathway, message.client_id, None, None, now,
                                  message=message)
        self._after_commit(outcome)
        return True

    def _broadcast(self, signal: Message) -> int:
        """Route a signal once: to every active case in its scope that waits for it now, and
        as a new case of each pathway whose start event catches it. Returns how many cases
        it reached. A signal nothing waits for is dropped, as BPMN says: it stays recorded
        (with its signal_sent event) but is never kept for cases that wait later.

        The signal is marked routed first, in a transaction of its own, so two routers (the
        worker and a web process) never broadcast it twice; each case then receives it in
        its own transaction.
        """
        assert signal.id is not None
        now = self._clock.now()
        with self._uow() as uow:
            try:
                uow.messages.mark_delivered(signal.id, None, now)
            except ConflictError:
                return 0  # another router took it
            uow.commit()
            candidates = [c.id for c in uow.cases.list(client_id=signal.client_id,
                                                       status="active")
                          if c.id is not None and c.id != signal.sender_case_id
                          and signal.name in c.waiting_for]
            overdue = {case_id for case_id in candidates
                       if any(t.due_at <= now for t in uow.timers.for_case(case_id))}
            sender = uow.cases.get(signal.sender_case_id, with_state=False) \
                if signal.sender_case_id is not None else None
            starters = [v.pathway for v in uow.versions.latest_all()
                        if (sender is None or v.pathway != sender.pathway)
                        and signal.name in self._parsed(uow, v.pathway, v.number).start_signals]
        reached = 0
        for case_id in candidates:
            for _attempt in range(_SIGNAL_ATTEMPTS):
                try:
                    if case_id in overdue:  # a timer due before the signal came goes first
                        self._command(_case_id(case_id), now, self._refresh_timers)
                    self._command(_case_id(case_id), now, self._receive_signal(signal, now))
                except CaseStateError:
                    break  # it stopped waiting (or ended) since the list was read
                except ConflictError:
                    log.info("signal %s: case %s is busy, trying again", signal.id, case_id)
                    continue
                except Exception as err:  # that case cannot take it: in error, on to the next
                    self._record_failure(case_id, err, now, during="receiving signal "
                                         f"{signal.name!r}", details={"delivering": {
                                             "signal": signal.id, "name": signal.name}})
                    break
                reached += 1
                break
            else:
                log.warning("signal %s did not reach case %s: it stayed busy", signal.id,
                            case_id)
        # a new case needs a client: a programme-wide signal starts one for the thrower's
        client_id = signal.client_id if signal.client_id is not None else (
            sender.client_id if sender is not None else None)
        for pathway in starters:
            if client_id is None:
                break
            with self._uow() as uow:
                outcome = self._start(uow, pathway, client_id, None, None, now,
                                      message=signal)
            self._after_commit(outcome)
            reached += 1
        return reached

    @staticmethod
    def _receive_signal(signal: Message, now: datetime) -> Callable[
            [UnitOfWork, CaseRecord, Any, ParsedDefinition], tuple[list[NewEvent], Any]]:
        def receive(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                    parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
            if signal.name not in runner.waiting_signal_names(workflow):
                raise CaseStateError(f"case {record.id} no longer waits for signal "
                                     f"{signal.name!r}")
            workflow.send_event(BpmnEvent(SignalEventDefinition(signal.name),
                                          payload=signal.payload))
            event = NewEvent(type="signal_received", at=now, data={
                "name": signal.name, "signal": signal.id, "from_case": signal.sender_case_id})
            return [event], runner.run_engine(workflow)
        return receive

    def _record_failure(self, case_id: int, err: Exception, now: datetime, *, during: str,
                        due_by: datetime | None = None,
                        details: dict[str, Any] | None = None) -> None:
        """Put a case the worker could not move in `error` with the reason: its own
        transaction, after the failed command's was rolled back.

        The stored state is left as it was before the failed command, so `cases retry` (on a
        fixed version if need be) runs the same step again. Open tasks and timers are
        withdrawn as for any case in error, so later rounds do not try it again. With `due_by`
        (a timer failure) the error names the earliest timer then due, step and task. Logs
        one line.
        """
        message = f"{during} failed: {_reason(err)}"
        try:
            with self._uow() as uow:
                record = uow.cases.get(case_id)
                if record is None or record.status != "active":
                    log.warning("case %s: %s; the case is no longer active: left as it is",
                                case_id, message)
                    return
                due = sorted((t.due_at, t.step, t.task_id) for t in uow.timers.for_case(case_id)
                             if due_by is not None and t.due_at <= due_by)
                _, step, task = due[0] if due else (None, None, None)
                error = {"message": message, "step": step, "task": task, "line": None,
                         "kind": type(getattr(err, "orig", None) or err).__name__,
                         **(details or {})}
                expected = record.revision
                record.status, record.error, record.waiting_for = "error", error, []
                record.updated_at = now
                first_seq = record.event_seq + 1
                record.event_seq += 1
                uow.cases.save(record, expected)
                uow.events.append(case_id, [NewEvent(type="error", at=now, step=step,
                                                     data=error)], first_seq=first_seq)
                uow.inbox.replace_open(case_id, [])
                uow.timers.replace(case_id, [])
                uow.commit()
        except Exception as second:  # e.g. the database itself is down: the next round retries
            log.warning("case %s: %s; putting it in error failed too: %s", case_id,
                        message, _reason(second))
            return
        log.warning("case %s: %s; the case is now in error", case_id, message)

    @staticmethod
    def _receive(message: Message, now: datetime) -> Callable[
            [UnitOfWork, CaseRecord, Any, ParsedDefinition], tuple[list[NewEvent], Any]]:
        def receive(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                    parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
            assert message.id is not None and record.id is not None
            if message.name not in runner.waiting_message_names(workflow):
                raise CaseStateError(f"case {record.id} no longer waits for {message.name!r}")
            uow.messages.mark_delivered(message.id, record.id, now)  # same transaction
            workflow.send_event(BpmnEvent(MessageEventDefinition(message.name),
                                          payload=message.payload))
            event = NewEvent(type="message_received", at=now, data={
                "name": message.name, "message": message.id, "from_case": message.sender_case_id})
            return [event], runner.run_engine(workflow)
        return receive

    # -- queries -------------------------------------------------------------------------

    @staticmethod
    def _case(uow: UnitOfWork, case_id: int, *, with_state: bool = True) -> CaseRecord:
        record = uow.cases.get(case_id, with_state=with_state)
        if record is None:
            raise NotFoundError(f"no case {case_id}", details={"case": case_id})
        return record

    def get_case(self, case_id: int) -> CaseView:
        with self._uow(read_only=True) as uow:
            record = self._case(uow, case_id)
            return CaseView(record, self._views(uow, uow.inbox.list(case_id=case_id)))

    def list_cases(self, *, pathway: str | None = None, status: str | None = None,
                   client_id: int | None = None) -> list[CaseRecord]:
        with self._uow(read_only=True) as uow:
            return uow.cases.list(pathway=pathway, status=status, client_id=client_id)

    def list_tasks(self, *, case_id: int | None = None, role: str | None = None,
                   pathway: str | None = None) -> list[TaskView]:
        """Open tasks with their forms. A task whose version cannot be loaded is listed with
        no form and its problem, so one broken version does not hide every other task."""
        views = []
        with self._uow(read_only=True) as uow:
            for row in uow.inbox.list(case_id=case_id, role=role, pathway=pathway):
                try:
                    views += self._views(uow, [row])
                except DefinitionError as err:
                    views.append(TaskView(row, None, problem=err.message))
        return views

    def _views(self, uow: UnitOfWork, rows: list[InboxTask]) -> list[TaskView]:
        views = []
        for row in rows:
            parsed = self._parsed(uow, row.pathway, row.version)
            views.append(TaskView(row, parsed.form_schema(row.form)))
        return views

    def events(self, case_id: int) -> list[Event]:
        with self._uow(read_only=True) as uow:
            self._case(uow, case_id)
            return uow.events.list(case_id)

    def data_revision(self) -> int:
        """Changes whenever a commit changes data: what computed figures are cached by."""
        with self._uow(read_only=True) as uow:
            return uow.data_revision()

    def summarised(self, pathway: str,
                   read: Callable[[list[CaseRecord], DashboardSummaries], T]) -> T:
        """What `read` takes from the pathway's cases and the dashboard's summaries, in one
        read-only unit of work (the figures never read every event)."""
        with self._uow(read_only=True) as uow:
            return read(uow.cases.list(pathway=pathway), uow.summaries)

    def cases_and_events(self, pathway: str) -> tuple[list[CaseRecord], list[Event]]:
        """The pathway's cases and all their events, read together in two statements
        (figures over every case; never one read per case)."""
        with self._uow(read_only=True) as uow:
            return uow.cases.list(pathway=pathway), uow.events.list_all(pathway=pathway)
