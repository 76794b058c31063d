"""In-memory fakes of the engine's ports, for unit tests of engine/ without a database.

A FakeStore is the "database"; each FakeUnitOfWork works on a deep copy and writes it back
on commit, so rollback really discards, like a transaction would.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from engine.clock import current_time
from engine.errors import ConflictError, NotFoundError
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
    allocations: list[AllocationPolicy] = field(default_factory=list)
    migrations: dict[int, Migration] = field(default_factory=dict)
    migration_cases: list[MigrationCase] = field(default_factory=list)  # in record order
    next_id: int = 1

    def copy(self) -> FakeData:
        """A copy a transaction may change freely: containers are copied, and the records in
        them are never mutated in place (cases are copied on read and write)."""
        return FakeData(
            bundles=dict(self.bundles), versions=list(self.versions),
            clients=dict(self.clients), cases=dict(self.cases), inbox=dict(self.inbox),
            events=list(self.events), timers={k: list(v) for k, v in self.timers.items()},
            messages=dict(self.messages), allocations=list(self.allocations),
            migrations=dict(self.migrations), migration_cases=list(self.migration_cases),
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
        stored = replace(version, id=self.d.new_id())
        self.d.versions.append(stored)
        return stored

    def get(self, pathway: str, number: int) -> PathwayVersion | None:
        return next((v for v in self.d.versions if (v.pathway, v.number) == (pathway, number)),
                    None)

    def latest(self, pathway: str) -> PathwayVersion | None:
        found = [v for v in self.d.versions if v.pathway == pathway]
        return max(found, key=lambda v: v.number) if found else None

    def list(self, pathway: str | None = None) -> list[PathwayVersion]:
        return [v for v in self.d.versions if pathway is None or v.pathway == pathway]

    def latest_all(self) -> list[PathwayVersion]:
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

    def list(self) -> list[Client]:
        return list(self.d.clients.values())

    def update_fields(self, client_id: int, fields: dict[str, Any]) -> None:
        client = self.d.clients[client_id]
        self.d.clients[client_id] = Client(client.id, client.name, {**client.fields, **fields},
                                           client.created_at)


class _Cases:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, case: CaseRecord) -> CaseRecord:
        case.id = self.d.new_id()
        self.d.cases[case.id] = copy.deepcopy(case)
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
        if stored.revision != expected_revision:
            raise ConflictError(f"case {case.id} was changed by someone else")
        case.revision = expected_revision + 1
        self.d.cases[case.id] = copy.deepcopy(case)

    def list(self, *, pathway: str | None = None, status: str | None = None,
             client_id: int | None = None, version: int | None = None) -> list[CaseRecord]:
        return [replace(c, state={}) for c in self.d.cases.values()
                if (pathway is None or c.pathway == pathway)
                and (status is None or c.status == status)
                and (client_id is None or c.client_id == client_id)
                and (version is None or c.version == version)]

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
            self.d.inbox[task.id] = (task, "open")

    def close(self, task_id: str, *, completed_by: str | None, at: datetime) -> None:
        task, _ = self.d.inbox[task_id]
        self.d.inbox[task_id] = (task, "closed")

    def get(self, task_id: str) -> InboxTask | None:
        found = self.d.inbox.get(task_id)
        return found[0] if found and found[1] == "open" else None

    def list(self, *, case_id: int | None = None, role: str | None = None,
             pathway: str | None = None) -> list[InboxTask]:
        return [t for t, status in self.d.inbox.values() if status == "open"
                and (case_id is None or t.case_id == case_id)
                and (role is None or t.role == role)
                and (pathway is None or t.pathway == pathway)]


class _Events:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def append(self, case_id: int, events: Sequence[NewEvent], *,
               first_seq: int | None = None) -> None:
        seq = max((e.seq for e in self.d.events if e.case_id == case_id), default=0)
        if first_seq is not None and first_seq != seq + 1:
            raise ConflictError(f"events of case {case_id} would not follow on")
        for event in events:
            seq += 1
            self.d.events.append(Event(case_id, seq, event.type, event.at, event.step,
                                       event.actor, copy.deepcopy(event.data)))

    def list(self, case_id: int) -> list[Event]:
        return [e for e in self.d.events if e.case_id == case_id]


class _Timers:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def replace(self, case_id: int, timers: Sequence[Timer]) -> None:
        self.d.timers[case_id] = list(timers)

    def due_cases(self, now: datetime, limit: int) -> list[int]:
        due = sorted((t.due_at, t.case_id) for ts in self.d.timers.values() for t in ts
                     if t.due_at <= now)
        result: list[int] = []
        for _, case_id in due:
            if case_id not in result:
                result.append(case_id)
        return result[:limit]

    def for_case(self, case_id: int) -> list[Timer]:
        return list(self.d.timers.get(case_id, []))


class _Messages:
    def __init__(self, d: FakeData) -> None:
        self.d = d

    def add(self, message: Message) -> Message:
        stored = replace(message, id=self.d.new_id())
        self.d.messages[stored.id or 0] = stored
        return stored

    def pending(self, client_id: int | None = None) -> list[Message]:
        return [m for m in self.d.messages.values() if m.delivered_case_id is None
                and (client_id is None or m.client_id == client_id)]

    def mark_delivered(self, message_id: int, case_id: int, at: datetime) -> None:
        self.d.messages[message_id] = replace(self.d.messages[message_id],
                                              delivered_case_id=case_id, delivered_at=at)


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

    def history(self, pathway: str) -> list[AllocationPolicy]:
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

    def list(self, pathway: str | None = None) -> list[Migration]:
        return [replace(m, filter=copy.deepcopy(m.filter))
                for _, m in sorted(self.d.migrations.items())
                if pathway is None or m.pathway == pathway]

    def finish(self, migration_id: int, at: datetime) -> None:
        if migration_id not in self.d.migrations:
            raise NotFoundError(f"migration {migration_id} does not exist")
        self.d.migrations[migration_id] = replace(self.d.migrations[migration_id],
                                                  finished_at=at)

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


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __enter__(self) -> FakeUnitOfWork:
        self.work = self.store.data.copy()
        self.versions: Any = _Versions(self.work)
        self.clients: Any = _Clients(self.work)
        self.cases: Any = _Cases(self.work)
        self.inbox: Any = _Inbox(self.work)
        self.events: Any = _Events(self.work)
        self.timers: Any = _Timers(self.work)
        self.messages: Any = _Messages(self.work)
        self.allocations: Any = _Allocations(self.work)
        self.migrations: Any = _Migrations(self.work)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.work = FakeData()

    def commit(self) -> None:
        self.store.data = self.work.copy()
        self.store.commits += 1

    def rollback(self) -> None:
        self.work = self.store.data.copy()


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)
