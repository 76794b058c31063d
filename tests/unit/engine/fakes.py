"""In-memory fakes of the engine's ports, for unit tests of engine/ without a database.

A FakeStore is the "database"; each FakeUnitOfWork works on a deep copy and writes it back
on commit, so rollback really discards, like a transaction would.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

from engine.access import privacy
from engine.access.rules import consent_in_effect
from engine.attachment_ports import Attachment
from engine.casework.casework_access import counted, glass_cases
from engine.dotted import dig
from engine.errors import ConflictError, NotFoundError
from engine.model import (
    AccessEntry,
    AllocationPolicy,
    ApiToken,
    Bundle,
    CaseNote,
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
    InboxNews,
    InboxQuery,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    MigrationTally,
    NewEvent,
    Organisation,
    OutcomeEvent,
    OutcomeImport,
    PathwayVersion,
    SavedFilter,
    SignalDelivery,
    Timer,
    User,
    UserNotices,
    UserSession,
    name_key,
)
from engine.outcomes import analysis, case_events
from engine.outcomes.activity import NO_USER, activity_by_month
from engine.outcomes.tally import groups_from_facts
from engine.ports import Repositories
from engine.summary_ports import CaseFacts, CaseGroup, HiddenSteps, StepCounts, StepFigures
from engine.workflow.clock import current_time, monotonic_times
from tests.unit.engine import fake_inbox


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


@dataclass
class FakeData:
    bundles: dict[str, Bundle] = field(default_factory=dict)
    versions: list[PathwayVersion] = field(default_factory=list)
    clients: dict[int, Client] = field(default_factory=dict)
    cases: dict[int, CaseRecord] = field(default_factory=dict)
    inbox: dict[str, tuple[InboxTask, str]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    timers: dict[int, list[Timer]] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    signal_deliveries: dict[int, SignalDelivery] = field(default_factory=dict)
    allocations: list[AllocationPolicy] = field(default_factory=list)
    migrations: dict[int, Migration] = field(default_factory=dict)
    migration_cases: list[MigrationCase] = field(default_factory=list)  # in record order
    # accounts
    organisations: dict[str, Organisation] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    tokens: dict[int, ApiToken] = field(default_factory=dict)
    sessions: dict[int, UserSession] = field(default_factory=dict)
    # casework
    consents: list[Consent] = field(default_factory=list)
    notes: list[CaseNote] = field(default_factory=list)
    access_log: list[AccessEntry] = field(default_factory=list)
    drafts: dict[tuple[str, str], Draft] = field(default_factory=dict)
    definition_drafts: dict[tuple[str, str], DefinitionDraft] = field(default_factory=dict)
    saved_filters: dict[int, SavedFilter] = field(default_factory=dict)
    notices: dict[str, UserNotices] = field(default_factory=dict)
    attachments: dict[int, Attachment] = field(default_factory=dict)
    # outcomes
    outcome_imports: list[OutcomeImport] = field(default_factory=list)
    outcome_events: list[OutcomeEvent] = field(default_factory=list)
    comparison_rates: list[ComparisonRate] = field(default_factory=list)
    comparison_subjects: list[ComparisonSubject] = field(default_factory=list)
    next_id: int = 1

    def copy(self) -> FakeData:
        """A copy a transaction may change freely: containers are copied, and the records in
        them are never mutated in place (cases are copied on read and write)."""
        return FakeData(
            bundles=dict(self.bundles), versions=list(self.versions),
            clients=dict(self.clients), cases=dict(self.cases), inbox=dict(self.inbox),
            events=list(self.events), timers={k: list(v) for k, v in self.timers.items()},
            messages=dict(self.messages),
            signal_deliveries=dict(self.signal_deliveries), allocations=list(self.allocations),
            migrations=dict(self.migrations), migration_cases=list(self.migration_cases),
            organisations=dict(self.organisations), users=dict(self.users),
            tokens=dict(self.tokens), sessions=dict(self.sessions),
            consents=list(self.consents), notes=list(self.notes),
            access_log=list(self.access_log),
            drafts=dict(self.drafts),
            definition_drafts=dict(self.definition_drafts),
            saved_filters=dict(self.saved_filters), notices=dict(self.notices),
            attachments=dict(self.attachments),
            outcome_imports=list(self.outcome_imports),
            outcome_events=list(self.outcome_events),
            comparison_rates=list(self.comparison_rates),
            comparison_subjects=list(self.comparison_subjects),
            next_id=self.next_id)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class FakeStore:
    def __init__(self) -> None:
        self.data = FakeData()
        self.commits = 0


class _Versions:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add_bundle(self, bundle: Bundle) -> None:
        self.d.bundles.setdefault(bundle.hash, bundle)

    def bundle(self, bundle_hash: str) -> Bundle | None:
        return self.d.bundles.get(bundle_hash)

    def add(self, version: PathwayVersion) -> PathwayVersion:
        if self.get(version.pathway, version.number) is not None:
            raise ConflictError(f"version {version.number} of pathway {version.pathway!r} "
                                "exists already")
        stored = replace(version, id=self.d.new_id())
        self.d.versions.append(stored)
        return stored

    def get(self, pathway: str, number: int) -> PathwayVersion | None:
        return next((v for v in self.d.versions if (v.pathway, v.number) == (pathway, number)),
                    None)

    def latest(self, pathway: str) -> PathwayVersion | None:
        found = [v for v in self.d.versions if v.pathway == pathway]
        return max(found, key=lambda v: v.number) if found else None

    def list(self, pathway: str | None = None) -> builtins.list[PathwayVersion]:
        return [v for v in self.d.versions if pathway is None or v.pathway == pathway]

    def latest_all(self) -> builtins.list[PathwayVersion]:
        names = sorted({v.pathway for v in self.d.versions})
        return [v for v in (self.latest(n) for n in names) if v is not None]


class _Clients:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, client: Client) -> Client:
        client.id = self.d.new_id()
        self.d.clients[client.id] = client
        return client

    def get(self, client_id: int) -> Client | None:
        return self.d.clients.get(client_id)

    def list(self) -> builtins.list[Client]:
        return list(self.d.clients.values())

    def find(self, scope: ClientScope, text: str, *, limit: int, offset: int = 0
             ) -> builtins.list[Client]:
        found = sorted((c for c in self.d.clients.values() if c.id is not None
                        and (text in name_key(c.name) or text == str(c.id))
                        and self._admits(scope, c.id)),
                       key=lambda c: (name_key(c.name), c.id or 0))
        return [Client(c.id, c.name, {}, c.created_at) for c in found[offset:offset + limit]]

    def _admits(self, scope: ClientScope, client_id: int) -> bool:
        """ClientScope's rule read in Python (the SQL one is checked against the engine's
        own checks in tests/integration/test_client_search.py)."""
        if scope.organisation is None:
            return True
        log = [e for e in self.d.access_log if e.client_id == client_id]
        if any(e.action == "create_client" and e.organisation == scope.organisation
               for e in log):
            return True
        consents = [c for c in self.d.consents if c.client_id == client_id]
        if consent_in_effect(counted(consents, log), "programme", scope.today):
            return True
        cases = [c for c in self.d.cases.values() if c.client_id == client_id]
        glass = glass_cases(cases, log)
        return any(case.id not in glass and (
            (case.pathway, case.version) in scope.involving
            or (case.status == "active" and any(
                self._may_do(scope, task) for task, status in self.d.inbox.values()
                if task.case_id == case.id and status == "open"))) for case in cases)

    @staticmethod
    def _may_do(scope: ClientScope, task: InboxTask) -> bool:
        return ((task.organisation is None or task.organisation == scope.organisation)
                and (not scope.pathway_roles or task.role in scope.pathway_roles)
                and (task.pathway, task.version) not in scope.unloadable
                and (task.role is None
                     or (task.pathway, task.version, task.role) not in scope.closed_roles))

    def field_values(self, field: str) -> dict[int, Any]:
        return {client.id or 0: value for client in self.d.clients.values()
                if (value := dig(client.fields, field)) is not None}

    def clients_by_text(self, field: str) -> dict[str, builtins.list[int]]:
        found: dict[str, builtins.list[int]] = {}
        for client in self.d.clients.values():
            if isinstance(value := dig(client.fields, field), str):
                found.setdefault(value, []).append(client.id or 0)
        return found

    def update_fields(self, client_id: int, fields: Mapping[str, Any]) -> None:
        client = self.d.clients[client_id]
        self.d.clients[client_id] = Client(client.id, client.name, {**client.fields, **fields},
                                           client.created_at)


class _Cases:
    """Saves check the revision as committed by then, as SQL's UPDATE ... WHERE revision
    does: a transaction that loaded a case another one saved since loses with a conflict."""

    def __init__(self, d: FakeData, committed: Callable[[], FakeData]) -> None:
        self.d = d
        self.committed = committed
        self.written: set[int] = set()  # cases this transaction added or saved

    def add(self, case: CaseRecord) -> CaseRecord:
        case.id = self.d.new_id()
        self.d.cases[case.id] = copy.deepcopy(case)
        self.written.add(case.id)
        return case

    def get(self, case_id: int, *, with_state: bool = True) -> CaseRecord | None:
        found = self.d.cases.get(case_id)
        if found is None:
            return None
        return copy.deepcopy(found) if with_state else replace(found, state={})

    def save(self, case: CaseRecord, expected_revision: int) -> None:
        assert case.id is not None
        stored = self.d.cases.get(case.id)
        if stored is None:
            raise NotFoundError(f"no case {case.id}")
        if case.id not in self.written:
            stored = self.committed().cases.get(case.id, stored)
        if stored.revision != expected_revision:
            raise ConflictError(f"case {case.id} was changed by someone else")
        case.revision = expected_revision + 1
        self.d.cases[case.id] = copy.deepcopy(case)
        self.written.add(case.id)

    def stream(self, *, pathway: str | None = None) -> Iterator[CaseRecord]:
        return iter(self.list(pathway=pathway))

    def list(self, *, pathway: str | None = None, status: str | None = None,
             client_id: int | None = None, version: int | None = None) -> builtins.list[CaseRecord]:
        return [replace(c, state={}) for c in self.d.cases.values()
                if (pathway is None or c.pathway == pathway)
                and (status is None or c.status == status)
                and (client_id is None or c.client_id == client_id)
                and (version is None or c.version == version)]

    def of_same_client(self, case_id: int) -> builtins.list[CaseRecord]:
        found = self.d.cases.get(case_id)
        return [] if found is None else self.list(client_id=found.client_id)

    def count_by_version(self, pathway: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        for c in self.d.cases.values():
            if c.pathway == pathway:
                counts[c.version] = counts.get(c.version, 0) + 1
        return counts


class _Inbox:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def replace_open(self, case_id: int, tasks: Sequence[InboxTask], *,
                     previous: Sequence[InboxTask] | None = None) -> None:
        keep = {t.id for t in tasks}
        for task_id, (task, status) in list(self.d.inbox.items()):
            if task.case_id == case_id and status == "open" and task_id not in keep:
                self.d.inbox[task_id] = (task, "closed")
        for task in tasks:
            old = self.d.inbox.get(task.id)
            kept = old[0] if old is not None else task
            self.d.inbox[task.id] = (replace(task, assignee=kept.assignee, created_at=(
                kept.created_at or task.created_at or current_time())), "open")

    def close(self, task_id: str, *, completed_by: str | None, at: datetime) -> None:
        if task_id not in self.d.inbox:
            raise NotFoundError(f"task {task_id} does not exist")
        task, _ = self.d.inbox[task_id]
        self.d.inbox[task_id] = (task, "closed")

    def get(self, task_id: str) -> InboxTask | None:
        found = self.d.inbox.get(task_id)
        return found[0] if found and found[1] == "open" else None

    def list(self, *, case_id: int | None = None, role: str | None = None,
             pathway: str | None = None, version: int | None = None,
             step: str | None = None) -> builtins.list[InboxTask]:
        found = [t for t, status in self.d.inbox.values() if status == "open"
                 and (case_id is None or t.case_id == case_id)
                 and (role is None or t.role == role)
                 and (pathway is None or t.pathway == pathway)
                 and (version is None or t.version == version)
                 and (step is None or t.step == step)]
        far = datetime.max.replace(tzinfo=UTC)  # undated last, as the SQL NULLS LAST
        return sorted(found, key=lambda t: (t.due or far, t.created_at or far, t.id))

    def of_client(self, client_id: int) -> builtins.list[InboxTask]:
        active = {case_id for case_id, c in self.d.cases.items()
                  if c.client_id == client_id and c.status == "active"}
        return [t for t in self.list() if t.case_id in active]

    def open_versions(self, *, pathway: str | None = None, version: int | None = None,
                      step: str | None = None) -> dict[tuple[str, int], int]:
        found: dict[tuple[str, int], int] = {}
        for task in self.list(pathway=pathway, version=version, step=step):
            key = (task.pathway, task.version)
            found[key] = found.get(key, 0) + 1
        return found

    def _hits(self, query: InboxQuery) -> builtins.list[InboxHit]:
        found = fake_inbox.all_scopes(query, self.list(), self.d.cases, self.d.clients)
        if query.created_after is not None:
            after = query.created_after
            found = [h for h in found if h.task.created_at and h.task.created_at > after]
        if query.drafts_of is None:
            return found
        return [h for h in found if (h.task.id, query.drafts_of) in self.d.drafts]

    def search(self, query: InboxQuery, *, limit: int | None = None, offset: int = 0
               ) -> builtins.list[InboxHit]:
        found = fake_inbox.search(query, self._hits(query))
        return found[offset:None if limit is None else offset + limit]

    def count(self, query: InboxQuery, *, cap: int | None = None) -> dict[str, int]:
        found = fake_inbox.count(query, self._hits(query))
        return found if cap is None else {k: min(n, cap + 1) for k, n in found.items()}

    def open_by_step(self, pathway: str, version: int, now: datetime
                     ) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for task in self.list(pathway=pathway, version=version):
            waiting, late = found.get(task.step, (0, 0))
            found[task.step] = (waiting + 1,
                                late + int(task.due is not None and task.due < now))
        return found

    def assign(self, task_id: str, assignee: str | None) -> None:
        found = self.d.inbox.get(task_id)
        if found is None or found[1] != "open":
            raise NotFoundError(f"no open task {task_id}")
        self.d.inbox[task_id] = (replace(found[0], assignee=assignee), "open")


class _Events:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def append(self, case_id: int, events: Sequence[NewEvent], *,
               first_seq: int | None = None) -> None:
        earlier = [e for e in self.d.events if e.case_id == case_id]
        seq = max((e.seq for e in earlier), default=0)
        if first_seq is not None and first_seq != seq + 1:
            raise ConflictError(f"events of case {case_id} would not follow on")
        previous = max(earlier, key=lambda e: e.seq).at if earlier else None
        stamps = monotonic_times(previous, [event.at for event in events])  # as the SQL log
        for event, at in zip(events, stamps, strict=True):
            seq += 1
            self.d.events.append(Event(case_id, seq, event.type, at, event.step,
                                       event.actor, copy.deepcopy(event.data)))

    def list(self, case_id: int) -> builtins.list[Event]:
        return [e for e in self.d.events if e.case_id == case_id]

    def stream_all(self, *, pathway: str | None = None) -> Iterator[Event]:
        return iter(self.list_all(pathway=pathway))

    def list_all(self, *, pathway: str | None = None, types: Sequence[str] | None = None
                 ) -> builtins.list[Event]:
        return sorted((e for e in self.d.events
                       if (pathway is None or self.d.cases[e.case_id].pathway == pathway)
                       and (types is None or e.type in types)),
                      key=lambda e: (e.case_id, e.seq))

    def recorded_outcomes(self, *, kind: str | None = None, client_id: int | None = None
                          ) -> builtins.list[tuple[Event, int]]:
        return [(e, self.d.cases[e.case_id].client_id)
                for e in self.list_all(types=("outcome_recorded",))
                if (kind is None or e.data.get("outcome") == kind)
                and (client_id is None or self.d.cases[e.case_id].client_id == client_id)]


class _Timers:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def replace(self, case_id: int, timers: Sequence[Timer]) -> None:
        self.d.timers[case_id] = list(timers)

    def _due(self, now: datetime) -> builtins.list[tuple[datetime, int]]:
        return sorted((min(t.due_at for t in ts), case_id)
                      for case_id, ts in self.d.timers.items()
                      if ts and min(t.due_at for t in ts) <= now
                      and getattr(self.d.cases.get(case_id), "status", None) == "active")

    def claim_due(self, now: datetime, passed: Collection[int] = (), *,
                  only: int | None = None) -> int | None:
        return next((case_id for _, case_id in self._due(now) if case_id not in passed
                     and only in (None, case_id)), None)

    def due_count(self, now: datetime) -> tuple[int, datetime | None]:
        due = self._due(now)
        return len(due), (due[0][0] if due else None)

    def for_case(self, case_id: int) -> builtins.list[Timer]:
        return sorted(self.d.timers.get(case_id, []), key=lambda t: (t.due_at, t.task_id))


class _Messages:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, message: Message) -> Message:
        stored = replace(message, id=self.d.new_id())
        self.d.messages[stored.id or 0] = stored
        return stored

    def pending(self, client_id: int | None = None) -> builtins.list[Message]:
        return sorted((m for m in self.d.messages.values() if m.delivered_at is None
                       and (client_id is None or m.client_id in (client_id, None))),
                      key=lambda m: (m.created_at, m.id or 0))

    def claim(self, message_id: int) -> bool:
        message = self.d.messages.get(message_id)
        return message is not None and message.delivered_at is None

    def mark_delivered(self, message_id: int, case_id: int | None, at: datetime) -> None:
        if message_id not in self.d.messages:
            raise NotFoundError(f"message {message_id} does not exist")
        if self.d.messages[message_id].delivered_at is not None:
            raise ConflictError(f"message {message_id} was delivered already")
        self.d.messages[message_id] = replace(self.d.messages[message_id],
                                              delivered_case_id=case_id, delivered_at=at)

    def add_deliveries(self, deliveries: Sequence[SignalDelivery]
                       ) -> builtins.list[SignalDelivery]:
        added = [replace(delivery, id=self.d.new_id()) for delivery in deliveries]
        self.d.signal_deliveries.update((delivery.id or 0, delivery) for delivery in added)
        return added

    def deliveries(self) -> builtins.list[tuple[SignalDelivery, Message]]:
        return [(delivery, self.d.messages[delivery.signal_id])
                for _id, delivery in sorted(self.d.signal_deliveries.items())]

    def claim_delivery(self, delivery_id: int) -> bool:
        return delivery_id in self.d.signal_deliveries

    def clear_delivery(self, delivery_id: int) -> None:
        self.d.signal_deliveries.pop(delivery_id, None)


class _Allocations:
    """Like the SQL one: policies kept in order, weights in ascending version order."""

    def __init__(self, d: FakeData) -> None:
        self.d = d

    def set(self, policy: AllocationPolicy) -> AllocationPolicy:
        stored = replace(policy, id=self.d.new_id(), set_at=policy.set_at or current_time(),
                         weights=dict(sorted(policy.weights.items())))
        self.d.allocations.append(stored)
        return replace(stored, weights=dict(stored.weights))

    def current(self, pathway: str) -> AllocationPolicy | None:
        found = self.history(pathway)
        return found[-1] if found else None

    def history(self, pathway: str) -> builtins.list[AllocationPolicy]:
        return [replace(p, weights=dict(p.weights)) for p in self.d.allocations
                if p.pathway == pathway]


class _Migrations:
    """Like the SQL one, down to its ConflictError and NotFoundError cases."""

    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, migration: Migration) -> Migration:
        stored = replace(migration, id=self.d.new_id(), filter=copy.deepcopy(migration.filter))
        self.d.migrations[stored.id or 0] = stored
        return replace(stored, filter=copy.deepcopy(stored.filter))

    def get(self, migration_id: int) -> Migration | None:
        found = self.d.migrations.get(migration_id)
        return None if found is None else replace(found, filter=copy.deepcopy(found.filter))

    def list(self, pathway: str | None = None) -> builtins.list[Migration]:
        return [replace(m, filter=copy.deepcopy(m.filter))
                for _, m in sorted(self.d.migrations.items())
                if pathway is None or m.pathway == pathway]

    def finish(self, migration_id: int, at: datetime) -> None:
        if migration_id not in self.d.migrations:
            raise NotFoundError(f"migration {migration_id} does not exist")
        self.d.migrations[migration_id] = replace(self.d.migrations[migration_id],
                                                  finished_at=at)

    def progress(self, migration_id: int, checked: int, at: datetime) -> None:
        if migration_id not in self.d.migrations:
            raise NotFoundError(f"migration {migration_id} does not exist")
        self.d.migrations[migration_id] = replace(self.d.migrations[migration_id],
                                                  checked=checked, progressed_at=at)

    def add_case(self, result: MigrationCase) -> None:
        if result.migration_id not in self.d.migrations:
            raise NotFoundError(f"migration {result.migration_id} does not exist")
        if self._index(result.migration_id, result.case_id) is not None:
            raise ConflictError(f"migration {result.migration_id} has a result for case "
                                f"{result.case_id} already")
        self.d.migration_cases.append(copy.deepcopy(result))

    def cases(self, migration_id: int) -> builtins.list[MigrationCase]:
        return [copy.deepcopy(r) for r in self.d.migration_cases
                if r.migration_id == migration_id]

    def waiting(self, case_id: int | None = None) -> builtins.list[MigrationCase]:
        return [copy.deepcopy(r) for r in sorted(
            self.d.migration_cases, key=lambda r: (r.migration_id, r.case_id))
                if r.waiting and case_id in (None, r.case_id)]

    def settle(self, result: MigrationCase) -> None:
        index = self._index(result.migration_id, result.case_id)
        if index is None or not self.d.migration_cases[index].waiting:
            raise ConflictError(f"case {result.case_id} no longer waits in migration "
                                f"{result.migration_id}")
        self.d.migration_cases[index] = copy.deepcopy(result)

    def tallies(self, pathway: str) -> dict[int, MigrationTally]:
        ids = {m.id for m in self.d.migrations.values() if m.pathway == pathway}
        found: dict[int, MigrationTally] = {}
        for r in self.d.migration_cases:
            if r.migration_id in ids:
                was = found.get(r.migration_id, MigrationTally())
                found[r.migration_id] = MigrationTally(
                    was.moved + r.ok, was.stayed + (not r.ok),
                    was.reverted or r.reverted_by is not None)
        return found

    def mark_reverted(self, migration_id: int, case_id: int, by: int) -> None:
        index = self._index(migration_id, case_id)
        if index is None:
            raise NotFoundError(f"migration {migration_id} has no result for case {case_id}")
        result = self.d.migration_cases[index]
        if result.reverted_by not in (None, by):
            raise ConflictError(f"case {case_id} of migration {migration_id} was put back by "
                                f"migration {result.reverted_by} already")
        self.d.migration_cases[index] = replace(result, reverted_by=by)

    def _index(self, migration_id: int, case_id: int) -> int | None:
        return next((i for i, r in enumerate(self.d.migration_cases)
                     if (r.migration_id, r.case_id) == (migration_id, case_id)), None)


# -- accounts ------------------------------------------------------------------------------


class _Organisations:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def put(self, organisation: Organisation) -> None:
        self.d.organisations[organisation.id] = organisation

    def get(self, organisation_id: str) -> Organisation | None:
        return self.d.organisations.get(organisation_id)

    def list(self) -> builtins.list[Organisation]:
        return [o for _, o in sorted(self.d.organisations.items())]


class _Users:
    """Like the SQL one: usernames unique (ConflictError), listed by username."""

    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, user: User) -> User:
        if self.by_username(user.username) is not None:
            raise ConflictError(f"user {user.username!r} exists already",
                                details={"fields": {"username": ["is taken"]}})
        if user.organisation not in self.d.organisations:
            raise NotFoundError(f"no organisation {user.organisation}")
        stored = replace(user, id=self.d.new_id(), created_at=user.created_at or current_time())
        self.d.users[stored.id or 0] = stored
        return stored

    def get(self, user_id: int) -> User | None:
        return self.d.users.get(user_id)

    def by_username(self, username: str) -> User | None:
        return next((u for u in self.d.users.values() if u.username == username), None)

    def list(self, organisation: str | None = None) -> builtins.list[User]:
        return sorted((u for u in self.d.users.values()
                       if organisation is None or u.organisation == organisation),
                      key=lambda u: u.username)

    def update(self, user: User) -> None:
        if user.id not in self.d.users:
            raise NotFoundError(f"no user {user.id}")
        stored = self.d.users[user.id]
        self.d.users[user.id] = replace(user, username=stored.username,
                                        created_at=stored.created_at)


class _Tokens:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, token: ApiToken) -> ApiToken:
        if self.by_hash(token.token_hash) is not None:
            raise ConflictError("token hash exists already")
        stored = replace(token, id=self.d.new_id(),
                         created_at=token.created_at or current_time())
        self.d.tokens[stored.id or 0] = stored
        return stored

    def by_hash(self, token_hash: str) -> ApiToken | None:
        return next((t for t in self.d.tokens.values() if t.token_hash == token_hash), None)

    def with_user(self, token_hash: str) -> tuple[ApiToken, User | None] | None:
        token = self.by_hash(token_hash)
        if token is None:
            return None
        return token, next((u for u in self.d.users.values()
                            if u.username == token.username), None)

    def touch(self, token_id: int, at: datetime) -> None:
        self.d.tokens[token_id] = replace(self.d.tokens[token_id], last_used_at=at)

    def list(self, username: str) -> builtins.list[ApiToken]:
        return [t for _, t in sorted(self.d.tokens.items()) if t.username == username]

    def revoke(self, token_id: int, at: datetime) -> None:
        if token_id not in self.d.tokens:
            raise NotFoundError(f"no API token {token_id}")
        token = self.d.tokens[token_id]
        if token.revoked_at is None:
            self.d.tokens[token_id] = replace(token, revoked_at=at)


class _Sessions:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, session: UserSession) -> UserSession:
        if self.by_hash(session.key_hash) is not None:
            raise ConflictError("session key hash exists already")
        stored = replace(session, id=self.d.new_id())
        self.d.sessions[stored.id or 0] = stored
        return stored

    def by_hash(self, key_hash: str) -> UserSession | None:
        return next((s for s in self.d.sessions.values() if s.key_hash == key_hash), None)

    def with_user(self, key_hash: str) -> tuple[UserSession, User | None] | None:
        session = self.by_hash(key_hash)
        if session is None:
            return None
        return session, next((u for u in self.d.users.values()
                              if u.username == session.username), None)

    def touch(self, session_id: int, at: datetime) -> None:
        self.d.sessions[session_id] = replace(self.d.sessions[session_id], last_seen_at=at)

    def end(self, session_id: int, at: datetime, reason: str) -> None:
        session = self.d.sessions[session_id]
        if session.ended_at is None:
            self.d.sessions[session_id] = replace(session, ended_at=at, ended_reason=reason)

    def end_all(self, username: str, at: datetime, reason: str) -> int:
        live = [s for s in self.d.sessions.values()
                if s.username == username and s.ended_at is None]
        for session in live:
            self.end(session.id or 0, at, reason)
        return len(live)

    def list(self, username: str | None = None) -> builtins.list[UserSession]:
        return [s for _, s in sorted(self.d.sessions.items())
                if username is None or s.username == username]

    def prune(self, created_before: datetime) -> None:
        self.d.sessions = {k: s for k, s in self.d.sessions.items()
                           if s.created_at >= created_before}


# -- casework ------------------------------------------------------------------------------


class _Consents:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, consent: Consent) -> Consent:
        stored = replace(consent, id=self.d.new_id())
        self.d.consents.append(stored)
        return stored

    def for_client(self, client_id: int) -> builtins.list[Consent]:
        return [c for c in self.d.consents if c.client_id == client_id]


class _Notes:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, note: CaseNote) -> CaseNote:
        stored = replace(note, id=self.d.new_id())
        self.d.notes.append(stored)
        return stored

    def for_client(self, client_id: int) -> builtins.list[CaseNote]:
        return [n for n in self.d.notes if n.client_id == client_id]

    def stream(self, *, since: date | None = None, pathway: str | None = None
               ) -> Iterator[tuple[CaseNote, tuple[str, int] | None]]:
        for note in self.d.notes:
            case = self.d.cases.get(note.case_id) if note.case_id is not None else None
            if (since is None or note.contact_on >= since) and (
                    pathway is None or (case is not None and case.pathway == pathway)):
                yield note, None if case is None else (case.pathway, case.version)

    def counts_by_case(self, *, pathway: str | None = None) -> Iterator[tuple[int, int]]:
        counts: dict[int, int] = {}
        for note in self.d.notes:
            if note.case_id is not None and (
                    pathway is None or self.d.cases[note.case_id].pathway == pathway):
                counts[note.case_id] = counts.get(note.case_id, 0) + 1
        return iter(sorted(counts.items()))


class _AccessLog:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, entry: AccessEntry) -> AccessEntry:
        stored = replace(entry, id=self.d.new_id(), detail=copy.deepcopy(entry.detail))
        self.d.access_log.append(stored)
        return stored

    def list(self, *, client_id: int | None = None, username: str | None = None,
             since: datetime | None = None, break_glass: bool = False,
             actions: Sequence[str] | None = None) -> builtins.list[AccessEntry]:
        return [e for e in self.d.access_log
                if (client_id is None or e.client_id == client_id)
                and (actions is None or e.action in actions)
                and (username is None or e.username == username)
                and (since is None or e.at >= since)
                and (not break_glass or e.reason is not None)]


class _DefinitionDrafts:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def save(self, draft: DefinitionDraft) -> None:
        self.d.definition_drafts[(draft.username, draft.pathway)] = draft

    def get(self, username: str, pathway: str) -> DefinitionDraft | None:
        return self.d.definition_drafts.get((username, pathway))

    def delete(self, username: str, pathway: str) -> None:
        self.d.definition_drafts.pop((username, pathway), None)


class _Notices:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def news(self, query: InboxQuery, *, cap: int) -> InboxNews:
        seen = self.get(query.username).inbox_seen_at
        hits = _Inbox(self.d)._hits(replace(query, created_after=seen))
        every = _Inbox(self.d)._hits(query)
        counts = {"mine": sum(h.task.assignee == query.username for h in hits),
                  "role": len(hits),
                  "overdue": sum(h.task.due is not None and h.task.due < query.now
                                 for h in every)}
        return InboxNews(**{k: min(n, cap) for k, n in counts.items()}, seen=seen,
                         over=frozenset(k for k, n in counts.items() if n > cap))

    def get(self, username: str) -> UserNotices:
        return self.d.notices.get(username, UserNotices(username))

    def mark_seen(self, username: str, at: datetime) -> None:
        self.d.notices[username] = replace(self.get(username), inbox_seen_at=at)

    def set_digest(self, username: str, wanted: bool) -> None:
        self.d.notices[username] = replace(self.get(username), digest=wanted)

    def digest_users(self) -> list[str]:
        return sorted(n for n, found in self.d.notices.items() if found.digest)

    def take_digest(self, username: str, day: date) -> bool:
        found = self.get(username)
        if not found.digest or (found.digest_sent_on is not None
                                and found.digest_sent_on >= day):
            return False
        self.d.notices[username] = replace(found, digest_sent_on=day)
        return True

    def release_digest(self, username: str, day: date) -> None:
        found = self.get(username)
        if found.digest_sent_on == day:
            self.d.notices[username] = replace(found, digest_sent_on=None)


class _SavedFilters:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def save(self, saved: SavedFilter) -> SavedFilter:
        same = [f for f in self.d.saved_filters.values()
                if (f.username, f.name) == (saved.username, saved.name)]
        kept = replace(saved, id=same[0].id if same else self.d.new_id())
        assert kept.id is not None
        self.d.saved_filters[kept.id] = kept
        return kept

    def list(self, username: str) -> list[SavedFilter]:
        return sorted((f for f in self.d.saved_filters.values() if f.username == username),
                      key=lambda f: (f.name, f.id or 0))

    def delete(self, username: str, filter_id: int) -> bool:
        found = self.d.saved_filters.get(filter_id)
        if found is None or found.username != username:
            return False
        del self.d.saved_filters[filter_id]
        return True


class _Attachments:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, attachment: Attachment) -> Attachment:
        kept = replace(attachment, id=self.d.new_id())
        assert kept.id is not None
        self.d.attachments[kept.id] = kept
        return kept

    def get(self, attachment_id: int) -> Attachment | None:
        return self.d.attachments.get(attachment_id)

    def for_client(self, client_id: int) -> list[Attachment]:
        return sorted((a for a in self.d.attachments.values() if a.client_id == client_id),
                      key=lambda a: (a.uploaded_at, a.id or 0))

    def mark_removed(self, attachment_id: int, by: str, at: datetime) -> None:
        self.d.attachments[attachment_id] = replace(
            self.d.attachments[attachment_id], removed_at=at, removed_by=by)


class _Drafts:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def save(self, draft: Draft) -> None:
        self.d.drafts[(draft.task_id, draft.username)] = replace(
            draft, data=copy.deepcopy(draft.data))

    def get(self, task_id: str, username: str) -> Draft | None:
        return self.d.drafts.get((task_id, username))

    def for_case(self, case_id: int) -> builtins.list[Draft]:
        return sorted((d for d in self.d.drafts.values() if d.case_id == case_id),
                      key=lambda d: (d.saved_at, d.task_id, d.username))

    def delete(self, task_id: str) -> None:
        for key in [k for k in self.d.drafts if k[0] == task_id]:
            del self.d.drafts[key]


# -- outcomes ------------------------------------------------------------------------------


class _Outcomes:
    """Like the SQL one: sha256 of imports and (client, kind, dates) of events unique."""

    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add_import(self, record: OutcomeImport) -> OutcomeImport | None:
        if self.import_by_sha256(record.sha256) is not None:
            return None
        stored = replace(record, id=self.d.new_id())
        self.d.outcome_imports.append(stored)
        return stored

    def import_by_sha256(self, sha256: str) -> OutcomeImport | None:
        return next((i for i in self.d.outcome_imports if i.sha256 == sha256), None)

    def set_import_count(self, import_id: int, imported: int) -> None:
        self.d.outcome_imports = [replace(i, imported=imported) if i.id == import_id else i
                                  for i in self.d.outcome_imports]

    def imports(self) -> builtins.list[OutcomeImport]:
        return list(self.d.outcome_imports)

    def set_import_extracted_on(self, import_id: int, day: date) -> None:
        self.d.outcome_imports = [replace(i, extracted_on=day) if i.id == import_id else i
                                  for i in self.d.outcome_imports]

    def set_group_extracted_on(self, group: str, day: date) -> None:
        self.d.comparison_subjects = [replace(s, extracted_on=day) if s.group == group else s
                                      for s in self.d.comparison_subjects]

    def add_event(self, event: OutcomeEvent) -> OutcomeEvent | None:
        key = (event.client_id, event.kind, event.occurred_on, event.recorded_on)
        if any((e.client_id, e.kind, e.occurred_on, e.recorded_on) == key
               for e in self.d.outcome_events):
            return None
        if event.client_id not in self.d.clients:
            raise NotFoundError(f"no client {event.client_id}")
        stored = replace(event, id=self.d.new_id(), detail=copy.deepcopy(event.detail),
                         created_at=event.created_at or current_time())
        self.d.outcome_events.append(stored)
        return stored

    def events(self, *, client_id: int | None = None, kind: str | None = None
               ) -> builtins.list[OutcomeEvent]:
        return sorted((e for e in self.d.outcome_events
                       if (client_id is None or e.client_id == client_id)
                       and (kind is None or e.kind == kind)),
                      key=lambda e: (e.client_id, e.occurred_on, e.recorded_on, e.kind,
                                     e.id or 0))

    def occurrences(self, kind: str) -> builtins.list[tuple[int, date, date]]:
        return [(e.client_id, e.occurred_on, e.recorded_on) for e in self.events(kind=kind)]

    def kinds(self) -> builtins.set[str]:
        return {e.kind for e in self.d.outcome_events}

    def set_rate(self, rate: ComparisonRate) -> ComparisonRate:
        stored = replace(rate, id=self.d.new_id(), set_at=rate.set_at or current_time())
        self.d.comparison_rates.append(stored)
        return stored

    def rates(self, *, cohort: str | None = None, kind: str | None = None
              ) -> builtins.list[ComparisonRate]:
        return [r for r in self.d.comparison_rates
                if (cohort is None or r.cohort == cohort) and (kind is None or r.kind == kind)]

    def add_subjects(self, subjects: Sequence[ComparisonSubject]) -> None:
        held = {(s.group, s.subject) for s in self.d.comparison_subjects}
        for subject in subjects:  # all or nothing, as the SQL one
            if (subject.group, subject.subject) in held:
                raise ConflictError(f"subject {subject.subject} exists in {subject.group}")
            held.add((subject.group, subject.subject))
        self.d.comparison_subjects.extend(
            replace(subject, imported_at=subject.imported_at or current_time())
            for subject in subjects)

    def subjects(self, group: str) -> builtins.list[ComparisonSubject]:
        return sorted((s for s in self.d.comparison_subjects if s.group == group),
                      key=lambda s: s.subject)

    def groups(self) -> builtins.list[str]:
        return sorted({s.group for s in self.d.comparison_subjects})


class _Summaries:
    """The dashboard's summaries computed from the fake's events by engine.outcomes.analysis's own
    functions over events: what the SQL summaries must agree with (the contract suite)."""

    def __init__(self, d: FakeData) -> None:
        self.d = d

    def _cases(self, pathway: str) -> builtins.list[CaseRecord]:
        return sorted((c for c in self.d.cases.values() if c.pathway == pathway),
                      key=lambda c: c.id or 0)

    def _events(self, pathway: str) -> builtins.list[Event]:
        return _Events(self.d).list_all(pathway=pathway)

    def _shown(self, pathway: str, hidden: HiddenSteps) -> builtins.list[Event]:
        version = {c.id: c.version for c in self._cases(pathway)}
        return [e for e in self._events(pathway)
                if not privacy.hides(hidden, version[e.case_id], e)]

    def cases(self, pathway: str, fields: Collection[str]) -> builtins.list[CaseRecord]:
        found = []
        for case in self._cases(pathway):
            data: dict[str, Any] = {}
            for path in fields:
                value = dig(case.data, path)
                if value is not None:
                    *parents, last = path.split(".")
                    into = data
                    for part in parents:
                        into = into.setdefault(part, {})
                    into[last] = value
            found.append(CaseRecord(id=case.id, pathway=case.pathway, version=case.version,
                                    client_id=case.client_id, status=case.status, state={},
                                    created_at=case.created_at, data=data))
        return found

    def answer_values(self, pathway: str, fields: Collection[str]
                      ) -> dict[str, builtins.list[Any]]:
        found: dict[str, builtins.list[Any]] = {}
        for case in self._cases(pathway):
            for name in fields:
                value = case.data.get(name)
                if "." not in name and value is not None and not any(
                        seen == value and type(seen) is type(value)
                        for seen in found.get(name, [])):
                    found.setdefault(name, []).append(value)
        return found

    def case_facts(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                   step: str) -> builtins.list[CaseFacts]:
        everything = case_events.by_case(e for e in self._events(pathway)
                                         if e.type in analysis.SUMMARISED)
        shown = case_events.by_case(self._shown(pathway, hidden))
        outcomes = analysis.outcomes_from_events(self._cases(pathway), self._shown(
            pathway, hidden), outcome) if outcome is not None else {}
        found = []
        for case_id in sorted(everything):
            events = everything[case_id]
            started = next((e.at for e in events if e.type == "case_started"), None)
            done = [e.at for e in events if e.type == "task_completed"]
            found.append(CaseFacts(
                case_id, started, max(done, default=None),
                case_events.split_arm(shown.get(case_id, [])), outcomes.get(case_id),
                case_events.happened(shown.get(case_id, []), step)))
        return found

    def case_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                    step: str, answer: str | None, days: int) -> builtins.list[CaseGroup]:
        facts = self.case_facts(pathway, hidden, outcome=outcome, step=step)
        return groups_from_facts(self._cases(pathway), facts,
                                 {fact.case_id: fact.outcome for fact in facts},
                                 answer=answer, days=days)

    def client_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str,
                      start_field: str, step: str, answer: str | None, days: int
                      ) -> builtins.list[tuple[int, str | None, CaseGroup]]:
        facts = {fact.case_id: fact
                 for fact in self.case_facts(pathway, hidden, outcome=None, step=step)}
        client_of = {case.id: case.client_id for case in self.d.cases.values()}
        with_events = {e.client_id for e in self.d.outcome_events if e.kind == outcome} | {
            client_of[e.case_id] for e in self.d.events
            if e.type == "outcome_recorded" and e.data.get("outcome") == outcome}
        found: builtins.list[tuple[int, str | None, CaseGroup]] = []
        for case in self._cases(pathway):
            client = self.d.clients.get(case.client_id)
            start = dig(client.fields, start_field) if client is not None else None
            for group in groups_from_facts([case], [facts[case.id or 0]]
                                           if case.id in facts else [], None,
                                           answer=answer, days=days):
                found.append((case.client_id if case.client_id in with_events else 0,
                              start if isinstance(start, str) else None, group))
        return found

    def step_figures(self, pathway: str, hidden: HiddenSteps) -> StepFigures:
        cases = self._cases(pathway)
        shown = case_events.by_case(self._shown(pathway, hidden))
        steps = analysis._steps_seen(shown)
        counts: dict[tuple[str, int, str], StepCounts] = {}
        comparison = analysis.version_comparison(cases, self._shown(pathway, hidden),
                                                 steps=steps)
        for cohort in (c for c in (comparison, comparison.randomised) if c is not None):
            for version in cohort.versions:
                for stats in version.steps:
                    if stats.reached:
                        counts[(cohort.cohort, version.version, stats.step)] = StepCounts(
                            stats.reached, stats.completion.count, stats.completions,
                            stats.median_hours, stats.mean_hours,
                            stats.median_hours_from_start)
        return StepFigures(tuple(steps), counts)

    def outcome_names(self, pathway: str, hidden: HiddenSteps) -> builtins.list[str]:
        return sorted({str(e.data["outcome"]) for e in self._shown(pathway, hidden)
                       if e.type == "outcome_recorded" and isinstance(e.data.get("outcome"),
                                                                      str)
                       and e.data["outcome"]})

    def task_counts(self, pathway: str) -> builtins.list[tuple[str | None, str, int]]:
        activity = activity_by_month(self._events(pathway), {})
        return [((None if row.name == NO_USER else row.name), row.month, row.tasks)
                for row in activity.caseworkers if row.tasks]


class FakeUnitOfWork(Repositories):
    """A transaction on a copy of the store. A read-only one fails loudly on leaving if its
    repositories changed anything, as the SQL one fails on the write itself."""

    def __init__(self, store: FakeStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only

    def __enter__(self) -> FakeUnitOfWork:
        self._bind(self.store.data.copy())
        return self

    def _bind(self, work: FakeData) -> None:
        """Give the unit of work every repository of engine.ports.Repositories, on work."""
        self.work = work
        self.versions = _Versions(work)
        self.clients = _Clients(work)
        self.cases = _Cases(work, lambda: self.store.data)
        self.inbox = _Inbox(work)
        self.events = _Events(work)
        self.timers = _Timers(work)
        self.messages = _Messages(work)
        self.allocations = _Allocations(work)
        self.migrations = _Migrations(work)
        self.organisations = _Organisations(work)
        self.users = _Users(work)
        self.tokens = _Tokens(work)
        self.sessions = _Sessions(work)
        self.consents = _Consents(work)
        self.access_log = _AccessLog(work)
        self.drafts = _Drafts(work)
        self.notes = _Notes(work)
        self.definition_drafts = _DefinitionDrafts(work)
        self.saved_filters = _SavedFilters(work)
        self.notices = _Notices(work)
        self.outcomes = _Outcomes(work)
        self.summaries = _Summaries(work)
        self.attachments = _Attachments(work)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        changed = self.read_only and self.work != self.store.data
        self.work = FakeData()
        if changed and exc_type is None:
            raise ReadOnlyViolation("a read-only unit of work wrote to the store")

    def commit(self) -> None:
        if self.read_only:
            if self.work != self.store.data:
                raise ReadOnlyViolation("a read-only unit of work wrote to the store")
            return
        self.store.data = self.work.copy()
        self.store.commits += 1

    def rollback(self) -> None:
        self._bind(self.store.data.copy())

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        saved = self.work.copy()
        try:
            yield
        except BaseException:
            self._bind(saved)
            raise

    def data_revision(self) -> int:
        return self.store.commits


class ReadOnlyViolation(RuntimeError):
    """A write inside a read-only unit of work (the SQL adapters raise their driver's error)."""


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store, read_only=read_only)
