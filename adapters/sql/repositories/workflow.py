"""Storage of the workflow runtime: published versions, cases, their inbox rows, event log,
timers and messages."""

from __future__ import annotations

import builtins
import functools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Row,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from adapters.sql import answer_summaries, append_read, summaries, tables
from adapters.sql.chain import chained
from adapters.sql.repositories.common import (
    DIALECT_INSERTS,
    SqlRepository,
    columns_of,
    field_names,
    insert_id,
    insert_id_if_absent,
    insert_if_absent,
    matching,
    record_from,
    stream_rows,
)
from adapters.sql.repositories.inbox_queries import InboxQueries
from engine.errors import ConflictError, NotFoundError
from engine.model import (
    Bundle,
    CaseRecord,
    Event,
    InboxTask,
    NewEvent,
    PathwayVersion,
    Timer,
)
from engine.workflow import current_time, monotonic_times

OPEN = "open"
CLOSED = "closed"


def _check_case_ids(case_id: int, items: Iterable[InboxTask | Timer]) -> None:
    """Refuse rows for another case: replacing one case's rows must not touch another's."""
    for item in items:
        if item.case_id != case_id:
            raise ValueError(f"row for case {item.case_id} given while replacing case {case_id}")


class SqlVersionRepository(SqlRepository):
    """Published pathway versions, and the file bundles they share by content hash."""

    def add_bundle(self, bundle: Bundle) -> None:
        self._connection.execute(
            insert_if_absent(self._connection, tables.bundles).values(
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
        new_id = insert_id_if_absent(self._connection, tables.versions, columns_of(
            version, published_at=published_at, start_messages=list(version.start_messages),
            processes=list(version.processes)))
        if new_id is None:
            raise ConflictError(
                f"version {version.number} of pathway {version.pathway!r} exists already",
                details={"pathway": version.pathway, "version": version.number},
            )
        return replace(version, id=new_id, published_at=published_at)

    def get(self, pathway: str, number: int) -> PathwayVersion | None:
        v = tables.versions
        return self._one(_version, select(v).where(v.c.pathway == pathway, v.c.number == number))

    def latest(self, pathway: str) -> PathwayVersion | None:
        v = tables.versions
        return self._one(_version, select(v).where(v.c.pathway == pathway)
                         .order_by(v.c.number.desc()).limit(1))

    def list(self, pathway: str | None = None) -> builtins.list[PathwayVersion]:
        """Versions ordered by pathway, then number."""
        v = tables.versions
        return self._all(_version, select(v).where(*matching((v.c.pathway, pathway)))
                         .order_by(v.c.pathway, v.c.number))

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
        return self._all(_version, statement)


def _version(row: Row[Any]) -> PathwayVersion:
    return record_from(PathwayVersion, row, start_messages=tuple(row.start_messages),
                       processes=tuple(row.processes))


class SqlCaseRepository(SqlRepository):
    """Cases with their serialized workflow state, guarded by an optimistic revision."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        # each case's version as read or written in this transaction: a save that keeps it
        # (the revision check proves no one changed the case since) leaves the dashboard's
        # summaries where they are, without reading them
        self._versions: dict[int, int] = {}
        # each case's answers as read or written in this transaction, which a save changes
        # the counts of values in summary_answers from (adapters.sql.answer_summaries)
        self._answers: dict[int, answer_summaries.Answers] = {}
        # what the writes since the last commit add to those counts, (pathway, name, value
        # key, value) -> cases: written at the commit (write_counts), see answer_summaries
        self._counts: Counter[tuple[str, str, str, str]] = Counter()

    def add(self, case: CaseRecord) -> CaseRecord:
        case.created_at = case.created_at or current_time()
        case.updated_at = case.updated_at or case.created_at
        case.id = insert_id(self._connection, tables.cases, columns_of(case))
        self._count_answers(case, {})
        return case

    def get(self, case_id: int, *, with_state: bool = True) -> CaseRecord | None:
        statement = _CASE_BY_ID if with_state else _CASE_HEAD_BY_ID
        found = self._one(_case, statement, {"b_id": case_id})
        if found is not None:
            self._versions[case_id] = found.version
            self._answers[case_id] = answer_summaries.answers_of(found.data)
        return found

    def save(self, case: CaseRecord, expected_revision: int) -> None:
        """Write case as revision expected_revision + 1, or raise ConflictError.

        updated_at is written as the caller set it (stamped with the current time if None).
        The revision test is in the UPDATE itself, so on PostgreSQL a second writer waits for
        the first one's row lock and then matches nothing: no lost update on either backend.
        """
        if case.id is None:
            raise ValueError("a case must be added before it is saved")
        answers = self._answers.get(case.id)
        if answers is None:  # not read in this transaction: its answers as stored
            answers = answer_summaries.answers_of(self._connection.scalar(
                select(tables.cases.c.data).where(tables.cases.c.id == case.id)))
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
        if self._versions.get(case.id) != case.version:
            summaries.follow_version(self._connection, case.id, case.version)
            self._versions[case.id] = case.version
        self._count_answers(case, answers)

    def _count_answers(self, case: CaseRecord, was: answer_summaries.Answers) -> None:
        """The counts of the pathway's answer values moved from the case's answers `was` to
        those of its data now, to be written at the commit (write_counts)."""
        now = answer_summaries.answers_of(case.data)
        if now != was:
            for key, added in answer_summaries.changes(was, now).items():
                self._counts[(case.pathway, *key)] += added
        self._answers[case.id or 0] = now

    def write_counts(self) -> None:
        """Upsert what this transaction's writes add to the answer counts (one statement,
        none when nothing changed): the unit of work's commit does, just before it commits."""
        counts, self._counts = self._counts, Counter()
        answer_summaries.record(self._connection, counts)

    def marked(self) -> tuple[Any, ...]:
        """What this repository keeps about the transaction, to go back to (restore) when a
        savepoint is rolled back."""
        return Counter(self._counts), dict(self._answers), dict(self._versions)

    def restore(self, marked: tuple[Any, ...] | None = None) -> None:
        """Back to `marked` (None: a rolled back transaction, nothing kept)."""
        counts, answers, versions = marked or (Counter(), {}, {})
        self._counts, self._answers, self._versions = Counter(counts), answers, versions

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
        filters = matching((c.pathway, pathway), (c.status, status), (c.client_id, client_id),
                           (c.version, version))
        statement = _CASE_HEAD.where(*filters).order_by(c.id)
        return self._all(_case, statement)

    def of_same_client(self, case_id: int) -> builtins.list[CaseRecord]:
        rows = self._connection.execute(_CASES_OF_SAME_CLIENT, {"b_id": case_id}).all()
        found = [_case(row) for row in rows]
        for record in found:  # as get does: the versions and answers save compares against
            self._versions[record.id or 0] = record.version
            self._answers[record.id or 0] = answer_summaries.answers_of(record.data)
        return found

    def stream(self, *, pathway: str | None = None) -> Iterator[CaseRecord]:
        c = tables.cases.c
        statement = _CASE_HEAD.where(*matching((c.pathway, pathway))).order_by(c.id)
        return self._stream(_case, statement)

    def count_by_version(self, pathway: str) -> dict[int, int]:
        c = tables.cases.c
        rows = self._connection.execute(
            select(c.version, func.count()).where(c.pathway == pathway).group_by(c.version)
        )
        return {version: count for version, count in rows}


# The columns a save may change (a case never moves to another pathway or client); a save
# also writes the revision and updated_at.
_CASE_CHANGES = ("version", "status", "state", "data", "error", "event_seq", "waiting_for",
                 "exit_reason")


def _case_changes(case: CaseRecord) -> dict[str, Any]:
    return {name: getattr(case, name) for name in _CASE_CHANGES}


# The hot path (every step loads and saves a case) uses statements built once.
# a case's columns in CaseRecord's order of fields, its state left out (read last, and only
# when a case is loaded to run)
_CASE_COLUMNS = tuple(name for name in field_names(CaseRecord) if name != "state")
_CASE_HEAD = select(*(tables.cases.c[name] for name in _CASE_COLUMNS))
_CASE_BY_ID = select(*(tables.cases.c[name] for name in (*_CASE_COLUMNS, "state"))).where(
    tables.cases.c.id == bindparam("b_id"))
_CASE_HEAD_BY_ID = _CASE_HEAD.where(tables.cases.c.id == bindparam("b_id"))
_SAME_CASE = tables.cases.alias("same_case")
_CASES_OF_SAME_CLIENT = _CASE_HEAD.where(
    tables.cases.c.client_id == select(_SAME_CASE.c.client_id)
    .where(_SAME_CASE.c.id == bindparam("b_id")).scalar_subquery()).order_by(tables.cases.c.id)
_SAVE_CASE = (
    update(tables.cases)
    .where(tables.cases.c.id == bindparam("b_id"),
           tables.cases.c.revision == bindparam("b_expected"))
    .values({name: bindparam(name) for name in (*_CASE_CHANGES, "revision", "updated_at")})
)


def _case(row: Row[Any]) -> CaseRecord:
    """The case a row of _CASE_COLUMNS holds (by position: a dashboard reads 100,000 cases,
    and looking each column up by name was a second of it)."""
    values = dict(zip(_CASE_COLUMNS, row, strict=False))
    values["state"] = row[-1] if len(row) > len(_CASE_COLUMNS) else {}
    values["waiting_for"] = list(values["waiting_for"] or [])
    return CaseRecord(**values)


class SqlInboxRepository(InboxQueries):
    """Human tasks cases wait on. Closed rows stay, as a record of who did what when."""

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
        wanted = {task.id: task for task in tasks}
        stored = self._involved_rows(case_id, wanted)
        now = current_time()
        stale = [task_id for task_id in stored if task_id not in wanted]
        if stale:
            self._connection.execute(_CLOSE_TASKS, {"b_ids": stale, "closed_at": now})
        new = [task for task in wanted.values() if task.id not in stored]
        if new:
            self._connection.execute(insert(tables.inbox_tasks),
                                     [_open_row(task, now) for task in new])
        for task in wanted.values():
            row = stored.get(task.id)
            if row is not None and (row.status != OPEN or _differs(row, _task_fields(task))):
                self._connection.execute(_REOPEN_TASK, {**_task_fields(task), "b_id": task.id})

    def _involved_rows(self, case_id: int, wanted: Mapping[str, InboxTask]
                       ) -> dict[str, Row[Any]]:
        """The case's open rows and the rows of the wanted tasks, open or not, by id."""
        inbox = tables.inbox_tasks
        involved = and_(inbox.c.case_id == case_id, inbox.c.status == OPEN)
        if wanted:
            involved = or_(involved, inbox.c.id.in_(wanted))
        return {row.id: row for row in self._connection.execute(select(inbox).where(involved))}

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
            self._connection.execute(_insert_or_reopen(self._connection.dialect.name),
                                     [_open_row(task, now) for task in new])
        for task in tasks:
            before = known.get(task.id)
            if before is not None and _task_fields(before) != _task_fields(task):
                self._connection.execute(
                    update(tables.inbox_tasks).where(tables.inbox_tasks.c.id == task.id)
                    .values(**_task_fields(task)))

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
        return self._one(_task, _OPEN_TASK_BY_ID, {"b_id": task_id})

    def list(
        self, *, case_id: int | None = None, role: str | None = None, pathway: str | None = None,
        version: int | None = None, step: str | None = None,
    ) -> builtins.list[InboxTask]:
        """Open tasks, soonest due first (undated last), then oldest first."""
        c = tables.inbox_tasks.c
        filters = matching((c.case_id, case_id), (c.role, role), (c.pathway, pathway),
                           (c.version, version), (c.step, step))
        statement = (
            select(tables.inbox_tasks)
            .where(c.status == OPEN, *filters)
            .order_by(c.due.asc().nulls_last(), c.created_at, c.id)
        )
        return self._all(_task, statement)

    def of_client(self, client_id: int) -> builtins.list[InboxTask]:
        rows = self._connection.execute(_OPEN_TASKS_OF_CLIENT, {"b_client": client_id}).all()
        return [_task(row) for row in rows]

    def open_by_step(self, pathway: str, version: int, now: datetime
                     ) -> dict[str, tuple[int, int]]:
        c = tables.inbox_tasks.c
        overdue = func.sum(case((and_(c.due.is_not(None), c.due < now), 1), else_=0))
        rows = self._connection.execute(
            select(c.step, func.count(), overdue)
            .where(c.status == OPEN, c.pathway == pathway, c.version == version)
            .group_by(c.step)).all()
        return {step: (int(waiting), int(late or 0)) for step, waiting, late in rows}

    def assign(self, task_id: str, assignee: str | None) -> None:
        inbox = tables.inbox_tasks
        result = self._connection.execute(
            update(inbox).where(inbox.c.id == task_id, inbox.c.status == OPEN)
            .values(assignee=assignee))
        if result.rowcount == 0:
            raise NotFoundError(f"no open task {task_id}", details={"task": task_id})


_OPEN_TASK_BY_ID = select(tables.inbox_tasks).where(
    tables.inbox_tasks.c.id == bindparam("b_id"), tables.inbox_tasks.c.status == OPEN)
_OPEN_TASKS_OF_CLIENT = (
    select(tables.inbox_tasks)
    .join(tables.cases, tables.cases.c.id == tables.inbox_tasks.c.case_id)
    .where(tables.inbox_tasks.c.status == OPEN, tables.cases.c.status == "active",
           tables.cases.c.client_id == bindparam("b_client"))
    .order_by(tables.inbox_tasks.c.due.asc().nulls_last(), tables.inbox_tasks.c.created_at,
              tables.inbox_tasks.c.id)
)
_CLOSE_TASKS = (
    update(tables.inbox_tasks)
    .where(tables.inbox_tasks.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(status=CLOSED, closed_at=bindparam("closed_at"))
)
_TASK_COLUMNS = ("case_id", "pathway", "version", "step", "title", "role", "form", "due",
                 "organisation")
_REOPEN_TASK = (
    update(tables.inbox_tasks)
    .where(tables.inbox_tasks.c.id == bindparam("b_id"))
    .values({**{name: bindparam(name) for name in _TASK_COLUMNS},
             "status": OPEN, "closed_at": None, "completed_by": None})
)


@functools.cache
def _insert_or_reopen(dialect: str) -> Insert:
    """INSERT that reopens an existing (closed) row instead, keeping its created_at and
    assignee as replace_open does when it reads the rows first. Built once per dialect:
    building `excluded`'s columns cost a step more than running the statement."""
    inbox = tables.inbox_tasks
    statement = DIALECT_INSERTS[dialect](inbox)
    return statement.on_conflict_do_update(index_elements=[inbox.c.id], set_={
        **{name: statement.excluded[name] for name in _TASK_COLUMNS},
        "status": OPEN, "closed_at": None, "completed_by": None})


def _task_fields(task: InboxTask) -> dict[str, Any]:
    """The columns of an inbox row that come from the task (not its open/closed life)."""
    return {name: getattr(task, name) for name in _TASK_COLUMNS}


def _open_row(task: InboxTask, now: datetime) -> dict[str, Any]:
    """A new inbox row for task, open (a closed one of the same id reopened)."""
    return {**_task_fields(task), "id": task.id, "status": OPEN,
            "created_at": task.created_at or now, "closed_at": None, "completed_by": None,
            "assignee": task.assignee}


def _differs(row: Row[Any], fields: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in fields.items())


def _task(row: Row[Any]) -> InboxTask:
    return record_from(InboxTask, row)


@functools.cache
def _insert_events(dialect: str) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING seq into events, built once per dialect
    (every step appends: building it each time was Python work the step repeated)."""
    e = tables.events
    return DIALECT_INSERTS[dialect](e).on_conflict_do_nothing().returning(e.c.seq)


class SqlEventLog:
    """The append-only history of every case, numbered per case, each event's hash chained
    to the one before it (engine.integrity)."""

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
        or step back, never put a case's history out of order. The same read gives the hash
        the first new event chains to: the unique (case, seq) makes the event before it the
        one every racing writer saw. Without first_seq the case row's event_seq is left as
        it is (the engine always numbers under the lock), so `pathways verify` reports such
        events as unrecorded.
        """
        if not events:
            return
        e = tables.events
        drafts = [{"case_id": case_id, "type": event.type, "actor": event.actor,
                   "step": event.step, "data": event.data} for event in events]
        read = None
        if first_seq is not None:  # the step's path: one read for the event and summaries
            read = append_read.read(self._connection, case_id, first_seq - 1, drafts)
            found = read.event
        else:
            found = self._connection.execute(
                select(e.c.seq, e.c.at, e.c.hash).where(e.c.case_id == case_id)
                .order_by(e.c.seq.desc()).limit(1)).first()
            first_seq = found.seq + 1 if found is not None else 1
        previous, previous_hash = (found.at, found.hash) if found is not None else (None, None)
        stamps = monotonic_times(previous, [event.at for event in events])
        rows = chained([{**draft, "seq": first_seq + offset, "at": at}
                        for offset, (draft, at) in enumerate(zip(drafts, stamps, strict=True))],
                       previous_hash)
        self._insert_all_or_conflict(case_id, rows)
        summaries.record(self._connection, case_id, rows, read=read)

    def _insert_all_or_conflict(self, case_id: int, rows: builtins.list[dict[str, Any]]) -> None:
        """Insert every row or none, raising ConflictError when a number is taken.

        Skipping duplicates (instead of failing on them) keeps a PostgreSQL transaction
        usable after the conflict; the rows that did go in are taken out again.
        """
        e = tables.events
        inserted = self._connection.execute(
            _insert_events(self._connection.dialect.name), rows).scalars().all()
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
        return [_event(row) for row in rows]

    def stream_all(self, *, pathway: str | None = None) -> Iterator[Event]:
        return stream_rows(self._connection, _event, _events_of(pathway).order_by(
            tables.events.c.case_id, tables.events.c.seq))

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
        return [_event(row) for row in rows]

    def recorded_outcomes(self, *, kind: str | None = None, client_id: int | None = None
                          ) -> builtins.list[tuple[Event, int]]:
        e, c, s = tables.events, tables.cases, tables.summary_events
        statement = (select(e.c.case_id, e.c.seq, e.c.type, e.c.at, e.c.step, e.c.actor,
                            e.c.data, c.c.client_id)
                     .join(c, c.c.id == e.c.case_id).where(e.c.type == "outcome_recorded"))
        if kind is not None:  # the summaries name each event's outcome (found by their
            # index of names, revision 0014): no JSON to read, nor every event
            statement = statement.join(s, and_(s.c.case_id == e.c.case_id,
                                               s.c.seq == e.c.seq)).where(s.c.outcome == kind)
        if client_id is not None:
            statement = statement.where(c.c.client_id == client_id)
        rows = self._connection.execute(statement.order_by(e.c.case_id, e.c.seq))
        return [(Event(case_id=row.case_id, seq=row.seq, type=row.type, at=row.at,
                       step=row.step, actor=row.actor, data=row.data), row.client_id)
                for row in rows]


def _events_of(pathway: str | None) -> Select[Any]:
    """The events (of `pathway`'s cases), unordered."""
    e = tables.events
    statement = select(e.c.case_id, e.c.seq, e.c.type, e.c.at, e.c.step, e.c.actor, e.c.data)
    if pathway is not None:
        statement = statement.join(tables.cases, tables.cases.c.id == e.c.case_id).where(
            tables.cases.c.pathway == pathway)
    return statement


def _event(row: Any) -> Event:
    return Event(case_id=row.case_id, seq=row.seq, type=row.type, at=row.at, step=row.step,
                 actor=row.actor, data=row.data)
