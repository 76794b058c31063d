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
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine import runner
from engine.allocation import allocate, check_policy, new_seed
from engine.client_fields import client_field_problems
from engine.clock import running_at
from engine.definitions import ParsedDefinition, SpecCache, called_elements
from engine.errors import (
    CaseStateError,
    ConflictError,
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
from engine.ports import Clock, Notification, Notifier, UnitOfWork, UnitOfWorkFactory
from engine.sandbox import DEFAULT_TIME_LIMIT_SECONDS, SandboxScriptEngine
from engine.state import DONE_KEY, compact, done_steps, dump_state, load_state
from engine.text import check_json, check_text
from engine.validation import publishable

log = logging.getLogger(__name__)
T = TypeVar("T")


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


@dataclass(frozen=True)
class CaseView:
    case: CaseRecord
    tasks: list[TaskView] = field(default_factory=list)


@dataclass(frozen=True)
class CompletionResult:
    case_id: int
    status: str
    tasks: list[TaskView]


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


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


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
        with self._uow() as uow:
            return uow.versions.list(pathway)

    def definitions(self) -> list[PathwayVersion]:
        with self._uow() as uow:
            return uow.versions.latest_all()

    def version_summaries(self, pathway: str) -> list[VersionSummary]:
        """Every version of a pathway with how many cases run on it, oldest first."""
        with self._uow() as uow:
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
        with self._uow() as own:
            return self._parsed(own, pathway, number)

    def diff(self, pathway: str, old: int, new: int) -> VersionDiff:
        """The steps added, removed and changed from version old to version new."""
        with self._uow() as uow:
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
        with self._uow() as uow:
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
            raise NotFoundError(f"files of {pathway} v{number} are missing")
        return self._specs.get(bundle.files, version.main_file, version.bundle_hash)

    # -- clients -------------------------------------------------------------------------

    def add_client(self, name: str, fields: Mapping[str, Any] | None = None) -> Client:
        """Register a client. The name and fields must be storable text (engine.text), and
        each field a pathway declares must fit its declared type (FormValidationError)."""
        check_text(name, "name")
        check_json(dict(fields or {}), "fields")
        with self._uow() as uow:
            problems = client_field_problems(fields or {}, self._declared_client_fields(uow))
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
        with self._uow() as uow:
            return self._client(uow, client_id)

    def clients(self) -> list[Client]:
        with self._uow() as uow:
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
        referral = message is not None and message.name.startswith(runner.START_PREFIX)
        if referral and message is not None:
            initial["referral"] = {"from_case": message.sender_case_id,
                                   **(message.payload if isinstance(message.payload, dict)
                                      else {})}
        workflow.task_tree.data = dict(initial)
        for child in workflow.task_tree.children:
            child.data = dict(initial)
        events = [NewEvent(type="case_started", at=now, actor=actor, data={
            "pathway": pathway, "version": version.number, "client": client.id,
            **({"message": message.name, "from_case": message.sender_case_id}
               if message else {})}),
            NewEvent(type="version_allocated", at=now, actor=actor, data=chosen)]
        with running_at(now):
            before = runner.snapshot(workflow)
            error = runner.run_engine(workflow)
            if message is not None and not referral and error is None:
                workflow.send_event(BpmnEvent(MessageEventDefinition(message.name),
                                              payload=message.payload))
                events.append(NewEvent(type="message_received", at=now, data={
                    "name": message.name, "message": message.id,
                    "from_case": message.sender_case_id}))
                error = runner.run_engine(workflow)
            events += runner.describe_changes(workflow, parsed, before, now)
            record = CaseRecord(id=None, pathway=pathway, version=version.number,
                                client_id=client_id, status="active", state={}, created_at=now,
                                updated_at=now)
            outcome = self._persist(uow, record, workflow, parsed, events, error, now, new=True)
            if message is not None and message.id is not None and record.id is not None:
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
            task.run()
            return done, runner.run_engine(workflow)

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
                                outcome.task_views())

    def fire_due_timers(self, now: datetime | None = None, *, batch: int = 200) -> int:
        """Fire every timer due at `now` (default: the clock). Returns how many fired.

        Cases are taken in batches, each case in its own transaction; a case another
        process holds (conflict) is left for the next round rather than retried here.
        """
        when = now or self._clock.now()
        fired = 0
        tried: set[int] = set()

        def refresh(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                    parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
            workflow.refresh_timers()
            return [], runner.run_engine(workflow)

        while True:
            with self._uow() as uow:
                due = uow.timers.due_cases(when, batch + len(tried))
            fresh = [case_id for case_id in due if case_id not in tried]
            if not fresh:
                return fired
            for case_id in fresh[:batch]:
                tried.add(case_id)
                try:
                    events = self._command(_case_id(case_id), when, refresh).events
                except (ConflictError, CaseStateError) as err:
                    log.info("timer of case %s left for the next round: %s", case_id, err)
                    continue
                fired += sum(event.type == "timer_fired" for event in events)

    def retry_case(self, case_id: int, *, version: int | None = None,
                   actor: str | None = None) -> CaseView:
        """Run a case's failed step again, on a fixed version of its pathway if given."""
        now = self._clock.now()
        with self._uow() as uow:
            record = self._case(uow, case_id)
            if record.status != "error":
                raise CaseStateError(f"case {case_id} is {record.status}, not in error",
                                     details={"case": case_id, "status": record.status})
            target = version or record.version
            parsed = self._parsed(uow, record.pathway, target)
            self._check_steps_exist(record, parsed)
            workflow = load_state(record.state, parsed, self.script_engine)
            expected = record.revision
            events = [NewEvent(type="case_retried", at=now, actor=actor, data={
                "from_version": record.version, "to_version": target})]
            with running_at(now):
                before = runner.snapshot(workflow)
                for task in runner.error_tasks(workflow):
                    task._set_state(TaskState.READY)
                error = runner.run_engine(workflow)
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
            workflow = load_state(record.state, old, self.script_engine)
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
                    return self._record_refusal(uow, migration_id, MigrationResult(
                        case_id, False, f"the case would not survive saving and loading on "
                        f"version {to_version}: {err}", from_step, None))
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
        with self._uow() as uow:
            return uow.migrations.list(pathway)

    def migration(self, migration_id: int) -> tuple[Migration, list[MigrationCase]]:
        with self._uow() as uow:
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
            workflow = load_state(record.state, parsed, self.script_engine)
        return workflow

    def _persist(self, uow: UnitOfWork, record: CaseRecord, workflow: Any,
                 parsed: ParsedDefinition, events: list[NewEvent], error: Any,
                 now: datetime, *, new: bool = False, expected_revision: int = 0,
                 previous: tuple[list[InboxTask], list[Timer]] | None = None) -> _Outcome:
        outgoing = runner.outgoing_messages(workflow)
        outgoing += [(runner.START_PREFIX + e.data["pathway"],
                      {"from_pathway": record.pathway, "step": e.step})
                     for e in events if e.type == "referral_made"]
        closing: list[NewEvent] = []
        exit_reason = None
        if error is not None:
            record.status = "error"
            record.error = error
            closing.append(NewEvent(type="error", at=now, step=error.get("step"), data=error))
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
        if exit_reason is not None:
            record.data["exit_reason"] = exit_reason
        record.waiting_for = sorted(runner.waiting_message_names(workflow)) \
            if record.status == "active" else []
        record.updated_at = now
        first_seq = record.event_seq + 1
        record.event_seq += len(events) + len(outgoing) + len(closing)
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
        may_deliver = bool(outgoing) or bool(record.waiting_for)
        return _Outcome(record, events, inbox, workflow, parsed, may_deliver)

    # -- messages ------------------------------------------------------------------------

    def _route_messages(self, client_id: int | None) -> int:
        delivered = 0
        with self._uow() as uow:
            pending = uow.messages.pending(client_id)
        for message in pending:
            try:
                if self._deliver(message):
                    delivered += 1
            except ConflictError:
                log.info("message %s stays pending: its case is busy", message.id)
        return delivered

    def _deliver(self, message: Message) -> bool:
        now = self._clock.now()
        with self._uow() as uow:
            candidates = [c for c in uow.cases.list(client_id=message.client_id, status="active")
                          if c.id != message.sender_case_id and message.name in c.waiting_for]
        for candidate in candidates:
            try:
                self._command(_case_id(candidate.id or 0), now, self._receive(message, now))
            except CaseStateError:
                continue  # it stopped waiting since the list was read
            return True
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
        with self._uow() as uow:
            record = self._case(uow, case_id)
            return CaseView(record, self._views(uow, uow.inbox.list(case_id=case_id)))

    def list_cases(self, *, pathway: str | None = None, status: str | None = None,
                   client_id: int | None = None) -> list[CaseRecord]:
        with self._uow() as uow:
            return uow.cases.list(pathway=pathway, status=status, client_id=client_id)

    def list_tasks(self, *, case_id: int | None = None, role: str | None = None,
                   pathway: str | None = None) -> list[TaskView]:
        with self._uow() as uow:
            return self._views(uow, uow.inbox.list(case_id=case_id, role=role, pathway=pathway))

    def _views(self, uow: UnitOfWork, rows: list[InboxTask]) -> list[TaskView]:
        views = []
        for row in rows:
            parsed = self._parsed(uow, row.pathway, row.version)
            views.append(TaskView(row, parsed.form_schema(row.form)))
        return views

    def events(self, case_id: int) -> list[Event]:
        with self._uow() as uow:
            self._case(uow, case_id)
            return uow.events.list(case_id)
