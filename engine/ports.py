"""The interfaces the engine is given: storage (a unit of work with repositories) and a clock.

Adapters implement them (`adapters.sql` for SQLAlchemy); unit tests use hand-written fakes.
Every method that writes is called inside one unit of work, which commits or rolls back as
a whole: a command's case state, events, inbox rows, timers and messages land together.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol

from engine.account_ports import OrganisationRepository as OrganisationRepository
from engine.account_ports import PasswordHasher as PasswordHasher
from engine.account_ports import SessionRepository as SessionRepository
from engine.account_ports import TokenRepository as TokenRepository
from engine.account_ports import UserRepository as UserRepository
from engine.attachment_ports import AttachmentRepository as AttachmentRepository
from engine.model import (
    AccessEntry,
    AllocationPolicy,
    Bundle,
    CaseRecord,
    Client,
    ClientScope,
    ComparisonRate,
    ComparisonSubject,
    Consent,
    DefinitionDraft,
    Draft,
    Event,
    InboxHit,
    InboxQuery,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    MigrationTally,
    NewEvent,
    OutcomeEvent,
    OutcomeImport,
    PathwayVersion,
    SavedFilter,
    SignalDelivery,
    Timer,
)
from engine.note_ports import CaseNoteRepository as CaseNoteRepository
from engine.notice_ports import NoticeRepository as NoticeRepository
from engine.summary_ports import DashboardSummaries


@dataclass(frozen=True)
class Notification:
    case_id: int
    client_id: int
    to_role: str
    message: str  # rendered: the placeholders filled in
    step: str | None
    subject: str = ""
    # the usernames it is for (engine.workflow.notifying says who); empty: nobody found
    recipients: tuple[str, ...] = ()
    role: str | None = None  # the lane role it is about, where there is one
    kind: str = "notify"  # "notify", a task's "reminder" or "escalation", or "digest"


class Notifier(Protocol):
    """Sends a notification to the people in a role (email, SMS, a chat channel, ...)."""

    def notify(self, notification: Notification) -> None: ...


class Observer(Protocol):
    """Told what the engine did and how long it took (adapters.metrics); nothing it does
    changes a command. `kind` is the facade method's name and `outcome` "ok", an
    EngineError's code or "error": bounded sets, fit for metric labels. The case id is for
    logs only. A step is one transaction of CaseRuntime.command on the case it found."""

    def command_done(self, kind: str, outcome: str, seconds: float) -> None: ...

    def step_done(self, case_id: int | None, outcome: str, seconds: float) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class VersionRepository(Protocol):
    def add_bundle(self, bundle: Bundle) -> None:
        """Store a bundle's files once; adding a hash that exists already does nothing."""
        ...

    def bundle(self, bundle_hash: str) -> Bundle | None: ...

    def add(self, version: PathwayVersion) -> PathwayVersion:
        """Store a new version; returns it with its id set."""
        ...

    def get(self, pathway: str, number: int) -> PathwayVersion | None: ...

    def latest(self, pathway: str) -> PathwayVersion | None: ...

    def list(self, pathway: str | None = None) -> builtins.list[PathwayVersion]: ...

    def latest_all(self) -> builtins.list[PathwayVersion]:
        """The latest version of every pathway."""
        ...


class ClientRepository(Protocol):
    def add(self, client: Client) -> Client: ...

    def get(self, client_id: int) -> Client | None: ...

    def list(self) -> builtins.list[Client]: ...

    def find(self, scope: ClientScope, text: str, *, limit: int, offset: int = 0
             ) -> builtins.list[Client]:
        """The clients the scope admits whose lowered name (engine.model.name_key) contains
        text (already lowered; "" for all) or whose number text is, by lowered name then
        number: a page of them (offset, limit), found, checked and sorted by the database.
        Names only: fields are left empty."""
        ...

    def field_values(self, field: str) -> dict[int, Any]:
        """client id -> the value at the dotted `field` in the client's fields, where set
        (what cohorts read of every client, not whole records)."""
        ...

    def clients_by_text(self, field: str) -> dict[str, builtins.list[int]]:
        """Each text held at the dotted `field` (where it is text), with the ids of the
        clients holding it: a cohort's dates, read as text, not as JSON documents each
        parsed, and each distinct date parsed once (100,000 clients, a few thousand
        dates)."""
        ...

    def update_fields(self, client_id: int, fields: Mapping[str, Any]) -> None:
        """Merge fields into the client's profile (the story told once, kept current)."""
        ...


class CaseRepository(Protocol):
    def add(self, case: CaseRecord) -> CaseRecord:
        """Insert a new case; returns it with its id set."""
        ...

    def get(self, case_id: int, *, with_state: bool = True) -> CaseRecord | None:
        """The case; without with_state its `state` is left empty (cheaper to read)."""
        ...

    def save(self, case: CaseRecord, expected_revision: int) -> None:
        """Write the case back as revision expected_revision + 1.

        Raises engine.errors.ConflictError when the stored revision is not expected_revision:
        someone else changed the case since it was loaded.
        """
        ...

    def list(self, *, pathway: str | None = None, status: str | None = None,
             client_id: int | None = None, version: int | None = None
             ) -> builtins.list[CaseRecord]:
        """Matching cases, oldest first, without their state."""
        ...

    def of_same_client(self, case_id: int) -> builtins.list[CaseRecord]:
        """The cases of the client whose case this is (it among them), oldest first, without
        their state: one query where get and list(client_id=...) are two. Empty when there
        is no such case."""
        ...

    def stream(self, *, pathway: str | None = None) -> Iterator[CaseRecord]:
        """The cases (of `pathway`), oldest first, without their state, read from the
        database in batches as they are consumed: memory does not grow with their number
        (exports of every case)."""
        ...

    def count_by_version(self, pathway: str) -> dict[int, int]: ...


class InboxRepository(Protocol):
    def replace_open(self, case_id: int, tasks: Sequence[InboxTask], *,
                     previous: Sequence[InboxTask] | None = None) -> None:
        """Make tasks the case's open inbox rows; rows no longer listed are closed.

        A row that stays open keeps its assignee (the engine's rows never carry one).
        With previous (the open rows as the caller knows them, under the case's revision)
        the rows need not be read first.
        """
        ...

    def close(self, task_id: str, *, completed_by: str | None, at: datetime) -> None: ...

    def get(self, task_id: str) -> InboxTask | None:
        """An open task, or None when there is no such open task."""
        ...

    def list(self, *, case_id: int | None = None, role: str | None = None,
             pathway: str | None = None, version: int | None = None,
             step: str | None = None) -> builtins.list[InboxTask]:
        """Open tasks, soonest due first (undated last), then oldest first."""
        ...

    def of_client(self, client_id: int) -> builtins.list[InboxTask]:
        """The open tasks of the client's active cases, in list()'s order (one query)."""
        ...

    def open_versions(self, *, pathway: str | None = None, version: int | None = None,
                      step: str | None = None) -> dict[tuple[str, int], int]:
        """(pathway, version) -> its open tasks (of any case) under the filters."""
        ...

    def search(self, query: InboxQuery, *, limit: int | None = None, offset: int = 0
               ) -> builtins.list[InboxHit]:
        """The query's tasks in its sort order, from offset (limit None: all the rest)."""
        ...

    def count(self, query: InboxQuery, *, cap: int | None = None) -> dict[str, int]:
        """mine, role, unassigned: the query's tasks in each scope (its scope and overdue
        aside); overdue: those of its scope due before its now (overdue aside). cap: each
        count stops at cap + 1 (more than cap)."""
        ...

    def open_by_step(self, pathway: str, version: int, now: datetime
                     ) -> dict[str, tuple[int, int]]:
        """step -> (open tasks there, how many of them were due before now), for one
        version: counted by the storage, not listed (a diagram's counts per step)."""
        ...

    def assign(self, task_id: str, assignee: str | None) -> None:
        """Set (or with None clear) who an open task is assigned to. NotFoundError when there
        is no such open task."""
        ...


class EventLog(Protocol):
    def append(self, case_id: int, events: Sequence[NewEvent], *,
               first_seq: int | None = None) -> None:
        """Append events numbered from first_seq (default: after the case's last one)."""
        ...

    def list(self, case_id: int) -> builtins.list[Event]: ...

    def list_all(self, *, pathway: str | None = None, types: Sequence[str] | None = None
                 ) -> builtins.list[Event]:
        """The events of every case (of `pathway`; only of `types`), by case then seq: one
        read for figures over many cases, not one per case."""
        ...

    def stream_all(self, *, pathway: str | None = None) -> Iterator[Event]:
        """list_all's events (of `pathway`), by case then seq, read from the database in
        batches as they are consumed: memory does not grow with their number."""
        ...

    def recorded_outcomes(self, *, kind: str | None = None, client_id: int | None = None
                          ) -> builtins.list[tuple[Event, int]]:
        """The outcome_recorded events (of outcome `kind`; of the cases of `client_id`), each
        with its case's client, by case then seq: only those, however many events and cases
        there are."""
        ...


class TimerRepository(Protocol):
    def replace(self, case_id: int, timers: Sequence[Timer]) -> None: ...

    def claim_due(self, now: datetime, passed: Collection[int] = (), *,
                  only: int | None = None) -> int | None:
        """The active case (not in `passed`; `only` that one) whose earliest timer is the
        longest due at or before now, held by this transaction until it ends; None when
        there is none.

        On databases with row locks the case's row is locked with SKIP LOCKED: a case another
        worker holds is passed over, so concurrent workers claim disjoint cases, and a
        worker that dies releases its claim with its transaction.
        """
        ...

    def due_count(self, now: datetime) -> tuple[int, datetime | None]:
        """How many active cases have a timer due at or before now, and the earliest due
        time among them (None: none due): what a worker has yet to do."""
        ...

    def for_case(self, case_id: int) -> builtins.list[Timer]: ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> Message: ...

    def pending(self, client_id: int | None = None) -> builtins.list[Message]:
        """Messages not yet delivered and signals not yet routed, oldest first; with a
        client, that client's and the programme-wide signals."""
        ...

    def claim(self, message_id: int) -> bool:
        """Hold the undelivered message for this transaction; False if it was delivered or
        (on databases with row locks) another transaction holds it: passed over, never
        waited for, so concurrent routers deliver disjoint messages."""
        ...

    def mark_delivered(self, message_id: int, case_id: int | None, at: datetime) -> None:
        """Record that a message went to case_id, or (None) that a signal was routed;
        ConflictError if that was done already."""
        ...

    def add_deliveries(self, deliveries: Sequence[SignalDelivery]
                       ) -> builtins.list[SignalDelivery]:
        """Record what a signal is to be handed to (in the transaction that routes it);
        returns them with their ids set."""
        ...

    def deliveries(self) -> builtins.list[tuple[SignalDelivery, Message]]:
        """Signal deliveries still to make, oldest first, each with its signal."""
        ...

    def claim_delivery(self, delivery_id: int) -> bool:
        """Hold the delivery for this transaction; False if it was done or (on databases
        with row locks) another transaction holds it: passed over, never waited for."""
        ...

    def clear_delivery(self, delivery_id: int) -> None:
        """The delivery is done (or cannot be): forget it."""
        ...


class AllocationRepository(Protocol):
    def set(self, policy: AllocationPolicy) -> AllocationPolicy:
        """Record a new policy for its pathway (earlier ones stay as history); returns it
        with its id set."""
        ...

    def current(self, pathway: str) -> AllocationPolicy | None:
        """The pathway's policy in force (the last one set), or None: the latest version."""
        ...

    def history(self, pathway: str) -> builtins.list[AllocationPolicy]:
        """Every policy set for the pathway, oldest first."""
        ...


class MigrationRepository(Protocol):
    def add(self, migration: Migration) -> Migration:
        """Record a migration run; returns it with its id set."""
        ...

    def get(self, migration_id: int) -> Migration | None: ...

    def list(self, pathway: str | None = None) -> builtins.list[Migration]:
        """Migrations, oldest first."""
        ...

    def finish(self, migration_id: int, at: datetime) -> None: ...

    def progress(self, migration_id: int, checked: int, at: datetime) -> None:
        """Note how many of its cases a running migration has checked, and when."""
        ...

    def add_case(self, result: MigrationCase) -> None:
        """Record what the migration did with one case (once per case and migration)."""
        ...

    def cases(self, migration_id: int) -> builtins.list[MigrationCase]:
        """The migration's case results in the order they were recorded."""
        ...

    def mark_reverted(self, migration_id: int, case_id: int, by: int) -> None:
        """Note that migration `by` put this case back."""
        ...

    def waiting(self, case_id: int | None = None) -> builtins.list[MigrationCase]:
        """The results of cases waiting for a repeat's next round to move (of one case)."""
        ...

    def settle(self, result: MigrationCase) -> None:
        """Replace a waiting case's result; ConflictError if it no longer waits."""
        ...

    def tallies(self, pathway: str) -> dict[int, MigrationTally]:
        """Per migration of the pathway that recorded a case: its moved and stayed cases,
        and whether one was put back (one read for a whole history)."""
        ...


# -- accounts: engine.account_ports --------------------------------------------------------


class ConsentRepository(Protocol):
    def add(self, consent: Consent) -> Consent:
        """Record a consent given or withdrawn; returns it with its id set."""
        ...

    def for_client(self, client_id: int) -> builtins.list[Consent]:
        """The client's consents in the order they were recorded."""
        ...


class AccessLog(Protocol):
    def add(self, entry: AccessEntry) -> AccessEntry:
        """Append an entry; returns it with its id set."""
        ...

    def list(self, *, client_id: int | None = None, username: str | None = None,
             since: datetime | None = None, break_glass: bool = False,
             actions: Sequence[str] | None = None) -> builtins.list[AccessEntry]:
        """Entries (about one client, by one user, at or after since; with break_glass only
        those with a reason: the break-glass accesses; only of `actions`), oldest first."""
        ...


class DefinitionDraftRepository(Protocol):
    def save(self, draft: DefinitionDraft) -> None:
        """Keep draft as the designer's draft of the pathway, replacing an earlier one."""
        ...

    def get(self, username: str, pathway: str) -> DefinitionDraft | None: ...

    def delete(self, username: str, pathway: str) -> None:
        """Forget the designer's draft of the pathway (it was published or discarded)."""
        ...


class DraftRepository(Protocol):
    def save(self, draft: Draft) -> None:
        """Keep draft as the user's draft of the task, replacing an earlier one."""
        ...

    def get(self, task_id: str, username: str) -> Draft | None: ...

    def for_case(self, case_id: int) -> builtins.list[Draft]:
        """Every draft of the case's tasks, by anyone."""
        ...

    def delete(self, task_id: str) -> None:
        """Forget every draft of the task (it was completed)."""
        ...


class SavedFilterRepository(Protocol):
    def save(self, saved: SavedFilter) -> SavedFilter:
        """Keep the user's filter under its name, replacing the query of one so named."""
        ...

    def list(self, username: str) -> builtins.list[SavedFilter]:
        """The user's saved filters by name."""
        ...

    def delete(self, username: str, filter_id: int) -> bool:
        """Forget the user's filter; False when the user has none with that id."""
        ...


class Repositories(Protocol):
    """Every repository a unit of work carries: the one list, kept in REPOSITORY_NAMES too."""

    versions: VersionRepository
    clients: ClientRepository
    cases: CaseRepository
    inbox: InboxRepository
    events: EventLog
    timers: TimerRepository
    messages: MessageRepository
    allocations: AllocationRepository
    migrations: MigrationRepository
    # accounts
    organisations: OrganisationRepository
    users: UserRepository
    tokens: TokenRepository
    sessions: SessionRepository
    # casework
    consents: ConsentRepository
    access_log: AccessLog
    drafts: DraftRepository
    notes: CaseNoteRepository
    # versions being written
    definition_drafts: DefinitionDraftRepository
    saved_filters: SavedFilterRepository
    notices: NoticeRepository
    # outcomes
    outcomes: OutcomeRepository
    # the dashboard's figures, kept as events are written
    summaries: DashboardSummaries
    # documents on clients' records (their bytes: engine.attachment_ports.AttachmentStore)
    attachments: AttachmentRepository


REPOSITORY_NAMES: tuple[str, ...] = tuple(Repositories.__annotations__)
"""The attribute names of Repositories, for code that builds or checks them all."""


class UnitOfWork(Repositories, Protocol):
    """One transaction. Use as a context manager; nothing is kept unless commit() is called.

    A read-only unit of work (UnitOfWorkFactory(read_only=True)) never takes the write lock
    and refuses any write loudly; queries use it so they never queue behind writers.
    """

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A part of the transaction undone alone if its block raises (the error goes on):
        what several commands sharing one commit (group commit) need, so one failing
        command does not undo the others."""
        ...

    def data_revision(self) -> int:
        """A number that changes whenever a commit changes data figures come from."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A new unit of work; read_only for queries (see UnitOfWork)."""
        ...


FileMap = Mapping[str, str]


# -- outcomes ------------------------------------------------------------------------------


class OutcomeRepository(Protocol):
    def add_import(self, record: OutcomeImport) -> OutcomeImport | None:
        """Record an imported file; returns it with its id set, or None (nothing written)
        when a file with the same sha256 was imported already."""
        ...

    def import_by_sha256(self, sha256: str) -> OutcomeImport | None: ...

    def set_import_count(self, import_id: int, imported: int) -> None:
        """Set how many events the import added (known once its rows are stored)."""
        ...

    def imports(self) -> builtins.list[OutcomeImport]:
        """Every import, oldest first."""
        ...

    def set_import_extracted_on(self, import_id: int, day: date) -> None:
        """Record when an import's data was extracted (one imported without saying)."""
        ...

    def set_group_extracted_on(self, group: str, day: date) -> None:
        """Record when a matched group's data was extracted, on each of its members."""
        ...

    def add_event(self, event: OutcomeEvent) -> OutcomeEvent | None:
        """Store an event; returns it with its id set, or None (nothing written) when the
        client has an event of that kind with the same dates already."""
        ...

    def events(self, *, client_id: int | None = None, kind: str | None = None
               ) -> builtins.list[OutcomeEvent]:
        """Stored events, by client, then occurred_on, then recorded_on."""
        ...

    def occurrences(self, kind: str) -> builtins.list[tuple[int, date, date]]:
        """Each stored event of `kind` as (client id, occurred_on, recorded_on): what a
        measure counts, without the rest of each event."""
        ...

    def kinds(self) -> builtins.set[str]:
        """The kinds of outcome the stored events are of (without reading the events)."""
        ...

    def set_rate(self, rate: ComparisonRate) -> ComparisonRate:
        """Record comparison rates (earlier ones stay as history); returns it with its id."""
        ...

    def rates(self, *, cohort: str | None = None, kind: str | None = None
              ) -> builtins.list[ComparisonRate]:
        """Every rate set, oldest first."""
        ...

    def add_subjects(self, subjects: Sequence[ComparisonSubject]) -> None:
        """Store members of matched comparison groups (group and subject unique)."""
        ...

    def subjects(self, group: str) -> builtins.list[ComparisonSubject]:
        """The group's members, by subject."""
        ...

    def groups(self) -> builtins.list[str]:
        """The names of the matched groups held, sorted."""
        ...
