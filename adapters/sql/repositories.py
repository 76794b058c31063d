"""The storage ports of engine.ports over SQLAlchemy Core: one class per port.

Each repository works on the Connection of its unit of work and never commits. Timestamps
the engine leaves out (a None created_at or updated_at, closed_at of inbox rows replace_open
closes) come from engine.clock.current_time: the time of the command inside running_at(),
the system time outside it.

Records the engine owns as mutable objects (Client, CaseRecord) get their id, timestamps and
revision set in place and are returned; frozen ones come back as updated copies.

Note: classes with a `list` method spell the builtin `builtins.list` in annotations, which
would otherwise name the method.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql import summaries, tables
from engine.clock import current_time, monotonic_times
from engine.errors import ConflictError, NotFoundError
from engine.model import (
    AccessEntry,
    AllocationPolicy,
    ApiToken,
    Bundle,
    CaseRecord,
    Client,
    ComparisonEvent,
    ComparisonRate,
    ComparisonSubject,
    Consent,
    Draft,
    Event,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    NewEvent,
    Organisation,
    OutcomeEvent,
    OutcomeImport,
    PathwayVersion,
    Timer,
    User,
    UserSession,
)

_DIALECT_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}

OPEN = "open"
CLOSED = "closed"


def _insert_if_absent(connection: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a duplicate is skipped without aborting the transaction.

    PostgreSQL aborts the whole transaction on a unique violation, so "try and catch" would
    not do; both backends spell the clause the same way.
    """
    return _DIALECT_INSERTS[connection.dialect.name](table).on_conflict_do_nothing()


def _check_case_ids(case_id: int, items: Iterable[InboxTask | Timer]) -> None:
    """Refuse rows for another case: replacing one case's rows must not touch another's."""
    for item in items:
        if item.case_id != case_id:
            raise ValueError(f"row for case {item.case_id} given while replacing case {case_id}")


class SqlVersionRepository:
    """Published pathway versions, and the file bundles they share by content hash."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_bundle(self, bundle: Bundle) -> None:
        self._connection.execute(
            _insert_if_absent(self._connection, tables.bundles).values(
                hash=bundle.hash, files=bundle.files
            )
        )

    def bundle(self, bundle_hash: str) -> Bundle | None:
        files = self._connection.scalar(
            select(tables.bundles.c.files).where(tables.bundles.c.hash == bundle_hash)
        )
        return None if files is None else Bundle(hash=bundle_hash, files=files)

    def add(self, version: PathwayVersion) -> PathwayVersion:
        """Insert version; ConflictError when its number was taken meanwhile (a racing publish)."""
        published_at = version.published_at or current_time()
        statement = (
            _insert_if_absent(self._connection, tables.versions)
            .values(
                pathway=version.pathway,
                number=version.number,
                bundle_hash=version.bundle_hash,
                main_file=version.main_file,
                note=version.note,
                author=version.author,
                published_at=published_at,
                start_messages=list(version.start_messages),
                processes=list(version.processes),
            )
            .returning(tables.versions.c.id)
        )
        new_id = self._connection.execute(statement).scalar_one_or_none()
        if new_id is None:
            raise ConflictError(
                f"version {version.number} of pathway {version.pathway!r} exists already",
                details={"pathway": version.pathway, "version": version.number},
            )
        return replace(version, id=new_id, published_at=published_at)

    def get(self, pathway: str, number: int) -> PathwayVersion | None:
        row = self._connection.execute(
            select(tables.versions).where(
                tables.versions.c.pathway == pathway, tables.versions.c.number == number
            )
        ).one_or_none()
        return None if row is None else _version(row)

    def latest(self, pathway: str) -> PathwayVersion | None:
        row = self._connection.execute(
            select(tables.versions)
            .where(tables.versions.c.pathway == pathway)
            .order_by(tables.versions.c.number.desc())
            .limit(1)
        ).one_or_none()
        return None if row is None else _version(row)

    def list(self, pathway: str | None = None) -> builtins.list[PathwayVersion]:
        """Versions ordered by pathway, then number."""
        statement = select(tables.versions).order_by(
            tables.versions.c.pathway, tables.versions.c.number
        )
        if pathway is not None:
            statement = statement.where(tables.versions.c.pathway == pathway)
        return [_version(row) for row in self._connection.execute(statement)]

    def latest_all(self) -> builtins.list[PathwayVersion]:
        """The latest version of every pathway, ordered by pathway, in one query."""
        v = tables.versions
        newest = (
            select(v.c.pathway, func.max(v.c.number).label("number"))
            .group_by(v.c.pathway)
            .subquery()
        )
        statement = (
            select(v)
            .join(newest, and_(v.c.pathway == newest.c.pathway, v.c.number == newest.c.number))
            .order_by(v.c.pathway)
        )
        return [_version(row) for row in self._connection.execute(statement)]


def _version(row: Row[Any]) -> PathwayVersion:
    return PathwayVersion(
        id=row.id,
        pathway=row.pathway,
        number=row.number,
        bundle_hash=row.bundle_hash,
        main_file=row.main_file,
        note=row.note,
        author=row.author,
        published_at=row.published_at,
        start_messages=tuple(row.start_messages),
        processes=tuple(row.processes),
    )


class SqlClientRepository:
    """The people (or households) cases are run for."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, client: Client) -> Client:
        client.created_at = client.created_at or current_time()
        client.id = self._connection.execute(
            insert(tables.clients)
            .values(name=client.name, fields=client.fields, created_at=client.created_at)
            .returning(tables.clients.c.id)
        ).scalar_one()
        return client

    def get(self, client_id: int) -> Client | None:
        row = self._connection.execute(
            select(tables.clients).where(tables.clients.c.id == client_id)
        ).one_or_none()
        return None if row is None else _client(row)

    def list(self) -> builtins.list[Client]:
        statement = select(tables.clients).order_by(tables.clients.c.id)
        return [_client(row) for row in self._connection.execute(statement)]

    def update_fields(self, client_id: int, fields: Mapping[str, Any]) -> None:
        """Merge fields into the profile; read and written in the caller's transaction."""
        clients = tables.clients
        current = self._connection.execute(
            select(clients.c.fields).where(clients.c.id == client_id).with_for_update()
        ).scalar_one_or_none()
        if current is None:
            raise NotFoundError(f"no client {client_id}", details={"client": client_id})
        self._connection.execute(update(clients).where(clients.c.id == client_id)
                                 .values(fields={**current, **fields}))


def _client(row: Row[Any]) -> Client:
    return Client(id=row.id, name=row.name, fields=row.fields, created_at=row.created_at)


class SqlCaseRepository:
    """Cases with their serialized workflow state, guarded by an optimistic revision."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, case: CaseRecord) -> CaseRecord:
        case.created_at = case.created_at or current_time()
        case.updated_at = case.updated_at or case.created_at
        case.id = self._connection.execute(
            insert(tables.cases)
            .values(
                pathway=case.pathway,
                client_id=case.client_id,
                revision=case.revision,
                created_at=case.created_at,
                updated_at=case.updated_at,
                **_case_changes(case),
            )
            .returning(tables.cases.c.id)
        ).scalar_one()
        return case

    def get(self, case_id: int, *, with_state: bool = True) -> CaseRecord | None:
        statement = _CASE_BY_ID if with_state else _CASE_HEAD_BY_ID
        row = self._connection.execute(statement, {"b_id": case_id}).one_or_none()
        return None if row is None else _case(row)

    def save(self, case: CaseRecord, expected_revision: int) -> None:
        """Write case as revision expected_revision + 1, or raise ConflictError.

        updated_at is written as the caller set it (stamped with the current time if None).
        The revision test is in the UPDATE itself, so on PostgreSQL a second writer waits for
        the first one's row lock and then matches nothing: no lost update on either backend.
        """
        if case.id is None:
            raise ValueError("a case must be added before it is saved")
        updated_at = case.updated_at or current_time()
        result = self._connection.execute(_SAVE_CASE, {
            **_case_changes(case), "revision": expected_revision + 1, "updated_at": updated_at,
            "b_id": case.id, "b_expected": expected_revision})
        if result.rowcount == 0:
            if self._connection.scalar(
                select(tables.cases.c.id).where(tables.cases.c.id == case.id)
            ) is None:
                raise NotFoundError(f"case {case.id} does not exist", details={"case": case.id})
            raise ConflictError(
                f"case {case.id} was changed by someone else since it was loaded; "
                "reload and retry",
                details={"case": case.id},
            )
        case.revision = expected_revision + 1
        case.updated_at = updated_at

    def list(
        self,
        *,
        pathway: str | None = None,
        status: str | None = None,
        client_id: int | None = None,
        version: int | None = None,
    ) -> builtins.list[CaseRecord]:
        """Matching cases, oldest first."""
        c = tables.cases.c
        wanted = ((c.pathway, pathway), (c.status, status), (c.client_id, client_id),
                  (c.version, version))
        filters = [column == value for column, value in wanted if value is not None]
        statement = _CASE_HEAD.where(*filters).order_by(c.id)
        return [_case(row) for row in self._connection.execute(statement)]

    def count_by_version(self, pathway: str) -> dict[int, int]:
        c = tables.cases.c
        rows = self._connection.execute(
            select(c.version, func.count()).where(c.pathway == pathway).group_by(c.version)
        )
        return {version: count for version, count in rows}


def _case_changes(case: CaseRecord) -> dict[str, Any]:
    """The columns a save may change (a case never moves to another pathway or client)."""
    return {
        "version": case.version,
        "status": case.status,
        "state": case.state,
        "data": case.data,
        "error": case.error,
        "event_seq": case.event_seq,
        "waiting_for": case.waiting_for,
        "exit_reason": case.exit_reason,
    }


# The hot path (every step loads and saves a case) uses statements built once.
_CASE_BY_ID = select(tables.cases).where(tables.cases.c.id == bindparam("b_id"))
_CASE_HEAD = select(*(column for column in tables.cases.c if column.name != "state"))
_CASE_HEAD_BY_ID = _CASE_HEAD.where(tables.cases.c.id == bindparam("b_id"))
_SAVE_CASE = (
    update(tables.cases)
    .where(tables.cases.c.id == bindparam("b_id"),
           tables.cases.c.revision == bindparam("b_expected"))
    .values({name: bindparam(name) for name in (
        "version", "status", "state", "data", "error", "event_seq", "waiting_for", "revision",
        "updated_at", "exit_reason")})
)


def _case(row: Row[Any]) -> CaseRecord:
    return CaseRecord(
        id=row.id,
        pathway=row.pathway,
        version=row.version,
        client_id=row.client_id,
        status=row.status,
        state=row._mapping.get("state", {}),
        revision=row.revision,
        event_seq=row.event_seq,
        waiting_for=list(row.waiting_for or []),
        data=row.data,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        exit_reason=row.exit_reason,
    )


class SqlInboxRepository:
    """Human tasks cases wait on. Closed rows stay, as a record of who did what when."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace_open(self, case_id: int, tasks: Sequence[InboxTask], *,
                     previous: Sequence[InboxTask] | None = None) -> None:
        """Insert new tasks, update changed ones (reopening if needed), close the rest.

        One read finds every row involved (none when the caller says what was open);
        writes happen only for rows that differ.
        """
        _check_case_ids(case_id, tasks)
        if previous is not None:
            self._apply_changes(case_id, tasks, previous)
            return
        inbox = tables.inbox_tasks
        wanted = {task.id: task for task in tasks}
        involved = and_(inbox.c.case_id == case_id, inbox.c.status == OPEN)
        if wanted:
            involved = or_(involved, inbox.c.id.in_(wanted))
        stored = {row.id: row for row in self._connection.execute(select(inbox).where(involved))}
        now = current_time()

        stale = [task_id for task_id in stored if task_id not in wanted]
        if stale:
            self._connection.execute(
                update(inbox).where(inbox.c.id.in_(stale)).values(status=CLOSED, closed_at=now)
            )
        new = [task for task in wanted.values() if task.id not in stored]
        if new:
            self._connection.execute(
                insert(inbox),
                [
                    {**_task_fields(task), "id": task.id, "status": OPEN,
                     "created_at": task.created_at or now}
                    for task in new
                ],
            )
        for task in wanted.values():
            row = stored.get(task.id)
            if row is not None and (row.status != OPEN or _differs(row, _task_fields(task))):
                self._connection.execute(
                    update(inbox)
                    .where(inbox.c.id == task.id)
                    .values(**_task_fields(task), status=OPEN, closed_at=None, completed_by=None)
                )

    def _apply_changes(self, case_id: int, tasks: Sequence[InboxTask],
                       previous: Sequence[InboxTask]) -> None:
        _check_case_ids(case_id, previous)
        now = current_time()
        known = {task.id: task for task in previous}
        wanted = {task.id for task in tasks}
        gone = [task_id for task_id in known if task_id not in wanted]
        if gone:
            self._connection.execute(_CLOSE_TASKS, {"b_ids": gone, "closed_at": now})
        new = [task for task in tasks if task.id not in known]
        if new:  # a task closed before may come back: its row is reopened, not duplicated
            self._connection.execute(self._insert_or_reopen(), [
                {**_task_fields(task), "id": task.id, "status": OPEN,
                 "created_at": task.created_at or now, "closed_at": None, "completed_by": None}
                for task in new])
        for task in tasks:
            before = known.get(task.id)
            if before is not None and _task_fields(before) != _task_fields(task):
                self._connection.execute(
                    update(tables.inbox_tasks).where(tables.inbox_tasks.c.id == task.id)
                    .values(**_task_fields(task)))

    def _insert_or_reopen(self) -> Insert:
        """INSERT that reopens an existing (closed) row instead, keeping its created_at and
        assignee as replace_open does when it reads the rows first."""
        inbox = tables.inbox_tasks
        statement = _DIALECT_INSERTS[self._connection.dialect.name](inbox)
        return statement.on_conflict_do_update(index_elements=[inbox.c.id], set_={
            **{name: statement.excluded[name] for name in _TASK_COLUMNS},
            "status": OPEN, "closed_at": None, "completed_by": None})

    def close(self, task_id: str, *, completed_by: str | None, at: datetime) -> None:
        """Close the task as completed by completed_by at at, even if replace_open closed it."""
        result = self._connection.execute(
            update(tables.inbox_tasks)
            .where(tables.inbox_tasks.c.id == task_id)
            .values(status=CLOSED, closed_at=at, completed_by=completed_by)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"task {task_id} does not exist", details={"task": task_id})

    def get(self, task_id: str) -> InboxTask | None:
        row = self._connection.execute(_OPEN_TASK_BY_ID, {"b_id": task_id}).one_or_none()
        return None if row is None else _task(row)

    def list(
        self, *, case_id: int | None = None, role: str | None = None, pathway: str | None = None,
        version: int | None = None, step: str | None = None,
    ) -> builtins.list[InboxTask]:
        """Open tasks, soonest due first (undated last), then oldest first."""
        c = tables.inbox_tasks.c
        wanted = ((c.case_id, case_id), (c.role, role), (c.pathway, pathway),
                  (c.version, version), (c.step, step))
        filters = [column == value for column, value in wanted if value is not None]
        statement = (
            select(tables.inbox_tasks)
            .where(c.status == OPEN, *filters)
            .order_by(c.due.asc().nulls_last(), c.created_at, c.id)
        )
        return [_task(row) for row in self._connection.execute(statement)]

    def assign(self, task_id: str, assignee: str | None) -> None:
        inbox = tables.inbox_tasks
        result = self._connection.execute(
            update(inbox).where(inbox.c.id == task_id, inbox.c.status == OPEN)
            .values(assignee=assignee))
        if result.rowcount == 0:
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})


_OPEN_TASK_BY_ID = select(tables.inbox_tasks).where(
    tables.inbox_tasks.c.id == bindparam("b_id"), tables.inbox_tasks.c.status == OPEN)
_CLOSE_TASKS = (
    update(tables.inbox_tasks)
    .where(tables.inbox_tasks.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(status=CLOSED, closed_at=bindparam("closed_at"))
)
_TASK_COLUMNS = ("case_id", "pathway", "version", "step", "title", "role", "form", "due")


def _task_fields(task: InboxTask) -> dict[str, Any]:
    """The columns of an inbox row that come from the task (not its open/closed life)."""
    return {
        "case_id": task.case_id,
        "pathway": task.pathway,
        "version": task.version,
        "step": task.step,
        "title": task.title,
        "role": task.role,
        "form": task.form,
        "due": task.due,
    }


def _differs(row: Row[Any], fields: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in fields.items())


def _task(row: Row[Any]) -> InboxTask:
    return InboxTask(
        id=row.id,
        case_id=row.case_id,
        pathway=row.pathway,
        version=row.version,
        step=row.step,
        title=row.title,
        role=row.role,
        form=row.form,
        due=row.due,
        created_at=row.created_at,
        assignee=row.assignee,
    )


# The time of one event, built once: it is read on every command (monotonic stamps).
_EVENT_AT = select(tables.events.c.at).where(tables.events.c.case_id == bindparam("b_case"),
                                            tables.events.c.seq == bindparam("b_seq"))


class SqlEventLog:
    """The append-only history of every case, numbered per case."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, case_id: int, events: Sequence[NewEvent], *,
               first_seq: int | None = None) -> None:
        """Number events after the case's last one and insert them in one statement.

        Two transactions appending to one case concurrently pick the same numbers; the
        second then inserts nothing and gets ConflictError, as a racing save would. With
        first_seq the caller numbers under the case's revision lock.

        Times never go back as seq goes up: each event is stamped no earlier than the one
        before it (read in this same transaction), so clocks that differ between processes,
        or step back, never put a case's history out of order.
        """
        if not events:
            return
        e = tables.events
        if first_seq is not None:
            previous = self._connection.execute(
                _EVENT_AT, {"b_case": case_id, "b_seq": first_seq - 1}).scalar_one_or_none()
            stamps = monotonic_times(previous, [event.at for event in events])
            rows = [{"case_id": case_id, "seq": first_seq + offset, "type": event.type,
                     "at": at, "actor": event.actor, "step": event.step,
                     "data": event.data}
                    for offset, (event, at) in enumerate(zip(events, stamps, strict=True))]
            self._insert_all_or_conflict(case_id, rows)
            summaries.record(self._connection, case_id, rows)
            return
        found = self._connection.execute(
            select(e.c.seq, e.c.at).where(e.c.case_id == case_id)
            .order_by(e.c.seq.desc()).limit(1)
        ).first()
        last, previous = (found.seq, found.at) if found is not None else (0, None)
        stamps = monotonic_times(previous, [event.at for event in events])
        rows = [
            {"case_id": case_id, "seq": last + number, "type": event.type, "at": at,
             "actor": event.actor, "step": event.step, "data": event.data}
            for number, (event, at) in enumerate(zip(events, stamps, strict=True), start=1)
        ]
        inserted = self._connection.execute(
            _insert_if_absent(self._connection, e).returning(e.c.seq), rows
        ).all()
        if len(inserted) < len(rows):
            raise ConflictError(
                f"case {case_id} was changed by someone else since it was loaded; "
                "reload and retry",
                details={"case": case_id},
            )
        summaries.record(self._connection, case_id, rows)

    def _insert_all_or_conflict(self, case_id: int, rows: builtins.list[dict[str, Any]]) -> None:
        """Insert every row or none, raising ConflictError when a number is taken.

        Skipping duplicates (instead of failing on them) keeps a PostgreSQL transaction
        usable after the conflict; the rows that did go in are taken out again.
        """
        e = tables.events
        inserted = self._connection.execute(
            _insert_if_absent(self._connection, e).returning(e.c.seq), rows).scalars().all()
        if len(inserted) == len(rows):
            return
        if inserted:
            self._connection.execute(delete(e).where(e.c.case_id == case_id,
                                                     e.c.seq.in_(inserted)))
        raise ConflictError(
            f"case {case_id} was changed by someone else since it was loaded; "
            "reload and retry", details={"case": case_id})

    def list(self, case_id: int) -> builtins.list[Event]:
        e = tables.events
        rows = self._connection.execute(
            select(e).where(e.c.case_id == case_id).order_by(e.c.seq)
        )
        return [
            Event(case_id=row.case_id, seq=row.seq, type=row.type, at=row.at,
                  step=row.step, actor=row.actor, data=row.data)
            for row in rows
        ]

    def list_all(self, *, pathway: str | None = None, types: Sequence[str] | None = None
                 ) -> builtins.list[Event]:
        e = tables.events
        statement = select(e.c.case_id, e.c.seq, e.c.type, e.c.at, e.c.step, e.c.actor,
                           e.c.data)
        if pathway is not None:
            statement = statement.join(tables.cases, tables.cases.c.id == e.c.case_id).where(
                tables.cases.c.pathway == pathway)
        if types is not None:
            statement = statement.where(e.c.type.in_(list(types)))
        rows = self._connection.execute(statement.order_by(e.c.case_id, e.c.seq))
        return [Event(case_id=row.case_id, seq=row.seq, type=row.type, at=row.at,
                      step=row.step, actor=row.actor, data=row.data) for row in rows]


class SqlTimerRepository:
    """Pending timers: what the timer worker fires when they fall due."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace(self, case_id: int, timers: Sequence[Timer]) -> None:
        _check_case_ids(case_id, timers)
        t = tables.timers
        self._connection.execute(delete(t).where(t.c.case_id == case_id))
        if timers:
            self._connection.execute(
                insert(t),
                [{"case_id": case_id, "task_id": timer.task_id, "step": timer.step,
                  "due_at": timer.due_at} for timer in timers],
            )

    def due_cases(self, now: datetime, limit: int) -> builtins.list[int]:
        """Cases with a due timer, earliest first, each claimed through its earliest timer.

        Only a case's head timer (earliest due_at, then task_id) qualifies, so each case
        appears once and is represented by one row. On PostgreSQL that row is locked with
        SKIP LOCKED: concurrent workers claim disjoint cases. SQLite renders no locking clause;
        its writers are serialized by BEGIN IMMEDIATE instead.
        """
        t = tables.timers
        head = t.alias("head")
        head_task = (
            select(head.c.task_id)
            .where(head.c.case_id == t.c.case_id)
            .order_by(head.c.due_at, head.c.task_id)
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(t.c.case_id)
            .where(t.c.due_at <= now, t.c.task_id == head_task)
            .order_by(t.c.due_at, t.c.case_id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=t)
        )
        return builtins.list(self._connection.scalars(statement))

    def for_case(self, case_id: int) -> builtins.list[Timer]:
        t = tables.timers
        rows = self._connection.execute(
            select(t).where(t.c.case_id == case_id).order_by(t.c.due_at, t.c.task_id)
        )
        return [
            Timer(case_id=row.case_id, task_id=row.task_id, step=row.step, due_at=row.due_at)
            for row in rows
        ]


class SqlMessageRepository:
    """Messages between cases of one client, kept after delivery as a record."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, message: Message) -> Message:
        new_id = self._connection.execute(
            insert(tables.messages)
            .values(
                name=message.name,
                client_id=message.client_id,
                payload=message.payload,
                sender_case_id=message.sender_case_id,
                created_at=message.created_at,
                delivered_case_id=message.delivered_case_id,
                delivered_at=message.delivered_at,
                kind=message.kind,
            )
            .returning(tables.messages.c.id)
        ).scalar_one()
        return replace(message, id=new_id)

    def pending(self, client_id: int | None = None) -> builtins.list[Message]:
        m = tables.messages.c
        condition: ColumnElement[bool] = m.delivered_at.is_(None)
        if client_id is not None:  # with the programme-wide signals, which are for everyone
            condition = and_(or_(m.client_id == client_id, m.client_id.is_(None)), condition)
        statement = select(tables.messages).where(condition).order_by(m.created_at, m.id)
        return [
            Message(id=row.id, name=row.name, client_id=row.client_id, payload=row.payload,
                    sender_case_id=row.sender_case_id, created_at=row.created_at,
                    delivered_case_id=row.delivered_case_id, delivered_at=row.delivered_at,
                    kind="signal" if row.kind == "signal" else "message")
            for row in self._connection.execute(statement)
        ]

    def mark_delivered(self, message_id: int, case_id: int | None, at: datetime) -> None:
        """Record delivery (case_id None: a signal was routed); ConflictError if another
        case or router took it meanwhile."""
        m = tables.messages.c
        result = self._connection.execute(
            update(tables.messages)
            .where(m.id == message_id, m.delivered_at.is_(None))
            .values(delivered_case_id=case_id, delivered_at=at)
        )
        if result.rowcount == 0:
            if self._connection.scalar(select(m.id).where(m.id == message_id)) is None:
                raise NotFoundError(
                    f"message {message_id} does not exist", details={"message": message_id}
                )
            raise ConflictError(
                f"message {message_id} was delivered already", details={"message": message_id}
            )


class SqlAllocationRepository:
    """Which version new cases of a pathway get; every policy ever set is kept, in order."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def set(self, policy: AllocationPolicy) -> AllocationPolicy:
        """Insert policy as the pathway's newest one (set_at stamped now if None)."""
        set_at = policy.set_at or current_time()
        weights = _sorted_weights(policy.weights)
        new_id = self._connection.execute(
            insert(tables.allocation_policies)
            .values(
                pathway=policy.pathway,
                kind=policy.kind,
                version=policy.version,
                weights={str(version): weight for version, weight in weights.items()},
                seed=policy.seed,
                set_at=set_at,
                set_by=policy.set_by,
            )
            .returning(tables.allocation_policies.c.id)
        ).scalar_one()
        return replace(policy, id=new_id, set_at=set_at, weights=weights)

    def current(self, pathway: str) -> AllocationPolicy | None:
        a = tables.allocation_policies
        row = self._connection.execute(
            select(a).where(a.c.pathway == pathway).order_by(a.c.id.desc()).limit(1)
        ).one_or_none()
        return None if row is None else _allocation(row)

    def history(self, pathway: str) -> builtins.list[AllocationPolicy]:
        a = tables.allocation_policies
        rows = self._connection.execute(select(a).where(a.c.pathway == pathway).order_by(a.c.id))
        return [_allocation(row) for row in rows]


def _sorted_weights(weights: Mapping[Any, int]) -> dict[int, int]:
    """Weights keyed by version number, in ascending version order.

    JSONB does not keep the order keys were written in, so neither backend promises it: a
    fixed order keeps anything iterating the weights the same wherever they were read.
    """
    return {int(version): weights[version] for version in sorted(weights, key=int)}


def _allocation(row: Row[Any]) -> AllocationPolicy:
    return AllocationPolicy(
        id=row.id,
        pathway=row.pathway,
        kind=row.kind,
        version=row.version,
        weights=_sorted_weights(row.weights),
        seed=row.seed,
        set_at=row.set_at,
        set_by=row.set_by,
    )


class SqlMigrationRepository:
    """Runs moving cases between versions, with what each did to every case it touched."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, migration: Migration) -> Migration:
        new_id = self._connection.execute(
            insert(tables.migrations)
            .values(
                pathway=migration.pathway,
                from_version=migration.from_version,
                to_version=migration.to_version,
                created_at=migration.created_at,
                actor=migration.actor,
                filter=migration.filter,
                reverts=migration.reverts,
                finished_at=migration.finished_at,
            )
            .returning(tables.migrations.c.id)
        ).scalar_one()
        return replace(migration, id=new_id)

    def get(self, migration_id: int) -> Migration | None:
        m = tables.migrations
        row = self._connection.execute(select(m).where(m.c.id == migration_id)).one_or_none()
        return None if row is None else _migration(row)

    def list(self, pathway: str | None = None) -> builtins.list[Migration]:
        m = tables.migrations
        statement = select(m).order_by(m.c.id)
        if pathway is not None:
            statement = statement.where(m.c.pathway == pathway)
        return [_migration(row) for row in self._connection.execute(statement)]

    def finish(self, migration_id: int, at: datetime) -> None:
        m = tables.migrations
        result = self._connection.execute(
            update(m).where(m.c.id == migration_id).values(finished_at=at)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"migration {migration_id} does not exist",
                                details={"migration": migration_id})

    def add_case(self, result: MigrationCase) -> None:
        """Record result after the migration's earlier ones.

        ConflictError when the migration has a result for the case already; the
        transaction stays usable (the insert is skipped, not failed).
        """
        mc = tables.migration_cases
        position = (
            select(func.coalesce(func.max(mc.c.position), 0) + 1)
            .where(mc.c.migration_id == result.migration_id)
            .scalar_subquery()
        )
        inserted = self._connection.execute(
            _insert_if_absent(self._connection, mc)
            .values(
                migration_id=result.migration_id,
                case_id=result.case_id,
                position=position,
                ok=result.ok,
                reason=result.reason,
                from_step=result.from_step,
                to_step=result.to_step,
                before_state=result.before_state,
                before_revision=result.before_revision,
                after_revision=result.after_revision,
                reverted_by=result.reverted_by,
            )
            .returning(mc.c.position)
        ).scalar_one_or_none()
        if inserted is None:
            raise ConflictError(
                f"migration {result.migration_id} has a result for case {result.case_id} "
                "already",
                details={"migration": result.migration_id, "case": result.case_id},
            )

    def cases(self, migration_id: int) -> builtins.list[MigrationCase]:
        mc = tables.migration_cases
        rows = self._connection.execute(
            select(mc).where(mc.c.migration_id == migration_id).order_by(mc.c.position)
        )
        return [
            MigrationCase(
                migration_id=row.migration_id,
                case_id=row.case_id,
                ok=bool(row.ok),
                reason=row.reason,
                from_step=row.from_step,
                to_step=row.to_step,
                before_state=row.before_state,
                before_revision=row.before_revision,
                after_revision=row.after_revision,
                reverted_by=row.reverted_by,
            )
            for row in rows
        ]

    def mark_reverted(self, migration_id: int, case_id: int, by: int) -> None:
        """Set reverted_by; ConflictError if another migration put the case back already."""
        mc = tables.migration_cases.c
        result = self._connection.execute(
            update(tables.migration_cases)
            .where(mc.migration_id == migration_id, mc.case_id == case_id,
                   or_(mc.reverted_by.is_(None), mc.reverted_by == by))
            .values(reverted_by=by)
        )
        if result.rowcount == 0:
            reverted_by = self._connection.execute(
                select(mc.reverted_by)
                .where(mc.migration_id == migration_id, mc.case_id == case_id)
            ).one_or_none()
            details = {"migration": migration_id, "case": case_id}
            if reverted_by is None:
                raise NotFoundError(
                    f"migration {migration_id} has no result for case {case_id}",
                    details=details,
                )
            raise ConflictError(
                f"case {case_id} of migration {migration_id} was put back by migration "
                f"{reverted_by[0]} already",
                details={**details, "reverted_by": reverted_by[0]},
            )


def _migration(row: Row[Any]) -> Migration:
    return Migration(
        id=row.id,
        pathway=row.pathway,
        from_version=row.from_version,
        to_version=row.to_version,
        created_at=row.created_at,
        actor=row.actor,
        filter=row.filter,
        reverts=row.reverts,
        finished_at=row.finished_at,
    )


# -- accounts ------------------------------------------------------------------------------


class SqlOrganisationRepository:
    """The providers and bodies users belong to."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def put(self, organisation: Organisation) -> None:
        o = tables.organisations
        statement = _DIALECT_INSERTS[self._connection.dialect.name](o).values(
            id=organisation.id, name=organisation.name)
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[o.c.id], set_={"name": statement.excluded.name}))

    def get(self, organisation_id: str) -> Organisation | None:
        o = tables.organisations
        row = self._connection.execute(select(o).where(o.c.id == organisation_id)).one_or_none()
        return None if row is None else Organisation(id=row.id, name=row.name)

    def list(self) -> builtins.list[Organisation]:
        o = tables.organisations
        return [Organisation(id=row.id, name=row.name)
                for row in self._connection.execute(select(o).order_by(o.c.id))]


class SqlUserRepository:
    """People who sign in, with their password hashes."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, user: User) -> User:
        """Insert; ConflictError when the username is taken (the transaction stays usable)."""
        created_at = user.created_at or current_time()
        new_id = self._connection.execute(
            _insert_if_absent(self._connection, tables.users)
            .values(username=user.username, created_at=created_at, **_user_fields(user))
            .returning(tables.users.c.id)
        ).scalar_one_or_none()
        if new_id is None:
            raise ConflictError(f"user {user.username!r} exists already",
                                details={"fields": {"username": ["is taken"]},
                                         "username": user.username})
        return replace(user, id=new_id, created_at=created_at)

    def get(self, user_id: int) -> User | None:
        u = tables.users
        row = self._connection.execute(select(u).where(u.c.id == user_id)).one_or_none()
        return None if row is None else _user(row)

    def by_username(self, username: str) -> User | None:
        u = tables.users
        row = self._connection.execute(select(u).where(u.c.username == username)).one_or_none()
        return None if row is None else _user(row)

    def list(self, organisation: str | None = None) -> builtins.list[User]:
        u = tables.users
        statement = select(u).order_by(u.c.username)
        if organisation is not None:
            statement = statement.where(u.c.organisation == organisation)
        return [_user(row) for row in self._connection.execute(statement)]

    def update(self, user: User) -> None:
        u = tables.users
        result = self._connection.execute(
            update(u).where(u.c.id == user.id).values(**_user_fields(user)))
        if result.rowcount == 0:
            raise NotFoundError(f"no user {user.id}", details={"user": user.id})


def _user_fields(user: User) -> dict[str, Any]:
    return {"name": user.name, "organisation": user.organisation, "role": user.role,
            "password_hash": user.password_hash, "pathway_roles": list(user.pathway_roles),
            "active": user.active}


def _user(row: Row[Any]) -> User:
    return User(id=row.id, username=row.username, name=row.name,
                organisation=row.organisation, role=row.role,
                password_hash=row.password_hash, pathway_roles=tuple(row.pathway_roles),
                active=bool(row.active), created_at=row.created_at)


class SqlTokenRepository:
    """API tokens, stored only as their sha256 hex."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, token: ApiToken) -> ApiToken:
        created_at = token.created_at or current_time()
        new_id = self._connection.execute(
            _insert_if_absent(self._connection, tables.api_tokens)
            .values(username=token.username, name=token.name, token_hash=token.token_hash,
                    created_at=created_at, last_used_at=token.last_used_at,
                    revoked_at=token.revoked_at)
            .returning(tables.api_tokens.c.id)
        ).scalar_one_or_none()
        if new_id is None:
            raise ConflictError("token hash exists already")
        return replace(token, id=new_id, created_at=created_at)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        t = tables.api_tokens
        row = self._connection.execute(
            select(t).where(t.c.token_hash == token_hash)).one_or_none()
        return None if row is None else _token(row)

    def touch(self, token_id: int, at: datetime) -> None:
        t = tables.api_tokens
        self._connection.execute(update(t).where(t.c.id == token_id).values(last_used_at=at))

    def list(self, username: str) -> builtins.list[ApiToken]:
        t = tables.api_tokens
        statement = select(t).where(t.c.username == username).order_by(t.c.id)
        return [_token(row) for row in self._connection.execute(statement)]

    def revoke(self, token_id: int, at: datetime) -> None:
        t = tables.api_tokens
        self._connection.execute(
            update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=at))
        found = self._connection.execute(select(t.c.id).where(t.c.id == token_id)).one_or_none()
        if found is None:
            raise NotFoundError(f"no API token {token_id}", details={"token": token_id})


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(id=row.id, username=row.username, name=row.name,
                    token_hash=row.token_hash, created_at=row.created_at,
                    last_used_at=row.last_used_at, revoked_at=row.revoked_at)


class SqlSessionRepository:
    """Web sessions, stored only by the sha256 hex of their cookie key."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, session: UserSession) -> UserSession:
        new_id = self._connection.execute(
            _insert_if_absent(self._connection, tables.user_sessions)
            .values(username=session.username, key_hash=session.key_hash,
                    created_at=session.created_at, last_seen_at=session.last_seen_at,
                    ended_at=session.ended_at, ended_reason=session.ended_reason)
            .returning(tables.user_sessions.c.id)
        ).scalar_one_or_none()
        if new_id is None:
            raise ConflictError("session key hash exists already")
        return replace(session, id=new_id)

    def by_hash(self, key_hash: str) -> UserSession | None:
        s = tables.user_sessions
        row = self._connection.execute(
            select(s).where(s.c.key_hash == key_hash)).one_or_none()
        return None if row is None else _session(row)

    def touch(self, session_id: int, at: datetime) -> None:
        s = tables.user_sessions
        self._connection.execute(update(s).where(s.c.id == session_id).values(last_seen_at=at))

    def end(self, session_id: int, at: datetime, reason: str) -> None:
        s = tables.user_sessions
        self._connection.execute(update(s).where(s.c.id == session_id, s.c.ended_at.is_(None))
                                 .values(ended_at=at, ended_reason=reason))

    def end_all(self, username: str, at: datetime, reason: str) -> int:
        s = tables.user_sessions
        result = self._connection.execute(
            update(s).where(s.c.username == username, s.c.ended_at.is_(None))
            .values(ended_at=at, ended_reason=reason))
        return int(result.rowcount)

    def list(self, username: str | None = None) -> builtins.list[UserSession]:
        s = tables.user_sessions
        statement = select(s).order_by(s.c.id)
        if username is not None:
            statement = statement.where(s.c.username == username)
        return [_session(row) for row in self._connection.execute(statement)]

    def prune(self, created_before: datetime) -> None:
        s = tables.user_sessions
        self._connection.execute(delete(s).where(s.c.created_at < created_before))


def _session(row: Row[Any]) -> UserSession:
    return UserSession(id=row.id, username=row.username, key_hash=row.key_hash,
                       created_at=row.created_at, last_seen_at=row.last_seen_at,
                       ended_at=row.ended_at, ended_reason=row.ended_reason)


# -- casework ------------------------------------------------------------------------------


class SqlConsentRepository:
    """Consents given and withdrawn; never changed, only added to."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, consent: Consent) -> Consent:
        new_id = self._connection.execute(
            insert(tables.consents)
            .values(client_id=consent.client_id, given=consent.given, scope=consent.scope,
                    purpose=consent.purpose, recorded_by=consent.recorded_by,
                    recorded_at=consent.recorded_at, effective_on=consent.effective_on)
            .returning(tables.consents.c.id)
        ).scalar_one()
        return replace(consent, id=new_id)

    def for_client(self, client_id: int) -> builtins.list[Consent]:
        c = tables.consents
        rows = self._connection.execute(
            select(c).where(c.c.client_id == client_id).order_by(c.c.id))
        return [Consent(id=row.id, client_id=row.client_id, given=bool(row.given),
                        scope=row.scope, purpose=row.purpose, recorded_by=row.recorded_by,
                        recorded_at=row.recorded_at, effective_on=row.effective_on)
                for row in rows]


class SqlAccessLog:
    """Who viewed or did what to which client record: append-only."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, entry: AccessEntry) -> AccessEntry:
        new_id = self._connection.execute(
            insert(tables.access_log)
            .values(at=entry.at, username=entry.username, organisation=entry.organisation,
                    client_id=entry.client_id, action=entry.action, reason=entry.reason,
                    detail=entry.detail)
            .returning(tables.access_log.c.id)
        ).scalar_one()
        return replace(entry, id=new_id)

    def list(self, *, client_id: int | None = None, username: str | None = None,
             since: datetime | None = None, break_glass: bool = False
             ) -> builtins.list[AccessEntry]:
        a = tables.access_log
        wanted = ((a.c.client_id, client_id), (a.c.username, username))
        filters = [column == value for column, value in wanted if value is not None]
        if since is not None:
            filters.append(a.c.at >= since)
        if break_glass:
            filters.append(a.c.reason.is_not(None))
        rows = self._connection.execute(select(a).where(*filters).order_by(a.c.id))
        return [AccessEntry(id=row.id, at=row.at, username=row.username,
                            organisation=row.organisation, client_id=row.client_id,
                            action=row.action, reason=row.reason, detail=row.detail)
                for row in rows]


class SqlDraftRepository:
    """Part-filled task forms, one per task and user."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def save(self, draft: Draft) -> None:
        d = tables.drafts
        statement = _DIALECT_INSERTS[self._connection.dialect.name](d).values(
            task_id=draft.task_id, case_id=draft.case_id, username=draft.username,
            data=draft.data, saved_at=draft.saved_at)
        self._connection.execute(statement.on_conflict_do_update(
            index_elements=[d.c.task_id, d.c.username],
            set_={"data": statement.excluded.data, "saved_at": statement.excluded.saved_at,
                  "case_id": statement.excluded.case_id}))

    def get(self, task_id: str, username: str) -> Draft | None:
        d = tables.drafts
        row = self._connection.execute(
            select(d).where(d.c.task_id == task_id, d.c.username == username)).one_or_none()
        return None if row is None else _draft(row)

    def for_case(self, case_id: int) -> builtins.list[Draft]:
        d = tables.drafts
        rows = self._connection.execute(
            select(d).where(d.c.case_id == case_id).order_by(d.c.saved_at, d.c.task_id,
                                                            d.c.username))
        return [_draft(row) for row in rows]

    def delete(self, task_id: str) -> None:
        d = tables.drafts
        self._connection.execute(delete(d).where(d.c.task_id == task_id))


def _draft(row: Row[Any]) -> Draft:
    return Draft(task_id=row.task_id, case_id=row.case_id, username=row.username,
                 data=row.data, saved_at=row.saved_at)


# -- outcomes ------------------------------------------------------------------------------


class SqlOutcomeRepository:
    """Outcome events, the files they were imported from, and comparison groups."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_import(self, record: OutcomeImport) -> OutcomeImport | None:
        new_id = self._connection.execute(
            _insert_if_absent(self._connection, tables.outcome_imports)
            .values(sha256=record.sha256, filename=record.filename, kind=record.kind,
                    rows=record.rows, imported=record.imported,
                    imported_at=record.imported_at, actor=record.actor,
                    extracted_on=record.extracted_on)
            .returning(tables.outcome_imports.c.id)
        ).scalar_one_or_none()
        return None if new_id is None else replace(record, id=new_id)

    def import_by_sha256(self, sha256: str) -> OutcomeImport | None:
        i = tables.outcome_imports
        row = self._connection.execute(select(i).where(i.c.sha256 == sha256)).one_or_none()
        return None if row is None else _outcome_import(row)

    def imports(self) -> builtins.list[OutcomeImport]:
        i = tables.outcome_imports
        return [_outcome_import(row)
                for row in self._connection.execute(select(i).order_by(i.c.id))]

    def set_import_count(self, import_id: int, imported: int) -> None:
        i = tables.outcome_imports
        self._connection.execute(update(i).where(i.c.id == import_id).values(imported=imported))

    def set_import_extracted_on(self, import_id: int, day: date) -> None:
        i = tables.outcome_imports
        self._connection.execute(update(i).where(i.c.id == import_id).values(extracted_on=day))

    def set_group_extracted_on(self, group: str, day: date) -> None:
        s = tables.comparison_subjects
        self._connection.execute(update(s).where(s.c.group_name == group)
                                 .values(extracted_on=day))

    def add_event(self, event: OutcomeEvent) -> OutcomeEvent | None:
        created_at = event.created_at or current_time()
        new_id = self._connection.execute(
            _insert_if_absent(self._connection, tables.outcome_events)
            .values(client_id=event.client_id, kind=event.kind, occurred_on=event.occurred_on,
                    recorded_on=event.recorded_on, source=event.source, detail=event.detail,
                    import_id=event.import_id, created_at=created_at)
            .returning(tables.outcome_events.c.id)
        ).scalar_one_or_none()
        return None if new_id is None else replace(event, id=new_id, created_at=created_at)

    def events(self, *, client_id: int | None = None, kind: str | None = None
               ) -> builtins.list[OutcomeEvent]:
        e = tables.outcome_events
        wanted = ((e.c.client_id, client_id), (e.c.kind, kind))
        filters = [column == value for column, value in wanted if value is not None]
        rows = self._connection.execute(
            select(e).where(*filters)
            .order_by(e.c.client_id, e.c.occurred_on, e.c.recorded_on, e.c.kind, e.c.id))
        return [OutcomeEvent(id=row.id, client_id=row.client_id, kind=row.kind,
                             occurred_on=row.occurred_on, recorded_on=row.recorded_on,
                             source=row.source, detail=row.detail, import_id=row.import_id,
                             created_at=row.created_at)
                for row in rows]

    def set_rate(self, rate: ComparisonRate) -> ComparisonRate:
        set_at = rate.set_at or current_time()
        new_id = self._connection.execute(
            insert(tables.comparison_rates)
            .values(cohort=rate.cohort, kind=rate.kind, group_size=rate.group_size,
                    per_100=rate.per_100, binary_rate=rate.binary_rate, source=rate.source,
                    set_at=set_at, set_by=rate.set_by)
            .returning(tables.comparison_rates.c.id)
        ).scalar_one()
        return replace(rate, id=new_id, set_at=set_at)

    def rates(self, *, cohort: str | None = None, kind: str | None = None
              ) -> builtins.list[ComparisonRate]:
        r = tables.comparison_rates
        wanted = ((r.c.cohort, cohort), (r.c.kind, kind))
        filters = [column == value for column, value in wanted if value is not None]
        rows = self._connection.execute(select(r).where(*filters).order_by(r.c.id))
        return [ComparisonRate(id=row.id, cohort=row.cohort, kind=row.kind,
                               group_size=row.group_size, per_100=row.per_100,
                               binary_rate=row.binary_rate, source=row.source,
                               set_at=row.set_at, set_by=row.set_by)
                for row in rows]

    def add_subjects(self, subjects: Sequence[ComparisonSubject]) -> None:
        if not subjects:
            return
        now = current_time()
        table = tables.comparison_subjects
        inserted = self._connection.execute(
            _insert_if_absent(self._connection, table)
            .returning(table.c.group_name, table.c.subject), [
            {"group_name": s.group, "subject": s.subject, "kind": s.kind,
             "release_date": s.release_date,
             "events": [{"occurred_on": e.occurred_on.isoformat(),
                         "recorded_on": e.recorded_on.isoformat()} for e in s.events],
             "imported_at": s.imported_at or now, "actor": s.actor,
             "extracted_on": s.extracted_on}
            for s in subjects]).all()
        if len(inserted) < len(subjects):  # all or nothing, the transaction kept usable
            for group, subject in inserted:
                self._connection.execute(delete(table).where(
                    table.c.group_name == group, table.c.subject == subject))
            raise ConflictError("a comparison subject is held in its group already",
                                details={"groups": sorted({s.group for s in subjects})})

    def subjects(self, group: str) -> builtins.list[ComparisonSubject]:
        s = tables.comparison_subjects
        rows = self._connection.execute(
            select(s).where(s.c.group_name == group).order_by(s.c.subject))
        return [ComparisonSubject(
                    group=row.group_name, subject=row.subject, kind=row.kind,
                    release_date=row.release_date,
                    events=tuple(ComparisonEvent(date.fromisoformat(e["occurred_on"]),
                                                 date.fromisoformat(e["recorded_on"]))
                                 for e in row.events),
                    imported_at=row.imported_at, actor=row.actor,
                    extracted_on=row.extracted_on)
                for row in rows]

    def groups(self) -> builtins.list[str]:
        s = tables.comparison_subjects
        return list(self._connection.execute(
            select(s.c.group_name).distinct().order_by(s.c.group_name)).scalars())


def _outcome_import(row: Row[Any]) -> OutcomeImport:
    return OutcomeImport(id=row.id, sha256=row.sha256, filename=row.filename, kind=row.kind,
                         rows=row.rows, imported=row.imported, imported_at=row.imported_at,
                         actor=row.actor, extracted_on=row.extracted_on)
