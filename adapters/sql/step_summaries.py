"""The per-step figures kept as task events are written, whatever the number of events
(issue 12, item 9).

Per case and step (`summary_case_steps`): its first task event, whether it was made ready,
its first completion and that completion's hours from the case's start, its completions
with hours and their sum. Per group of cases (`summary_step_groups`: pathway, version,
arm, step; arm 0 when no split chose one): the cases that reached and completed the step,
the completions with hours, their sum and the group's earliest task event. Each value a
median is taken of (`summary_step_values`: a completion's hours, kind "each"; a case's hours
from its start to its first completion of the step, kind "first") with its bucket (a log
scale), and how many values each bucket holds (`summary_step_buckets`). A median is the
middle of the bucket counts, then the distinct values of the one or two buckets that hold
the middle: two small reads however many completions there are, and exactly the value
statistics.median gives.

Everything is kept in the transaction of the events it summarises (adapters.sql.summaries
calls `record`); a case that moves to another version or is given its arm takes its rows
with it (`follow`). engine.access.privacy's rule, which changes as pathways are published, is
applied when the figures are read (adapters.sql.step_figures): a hidden version or step drops its
groups; an event hidden by the names in its data (summary_event_names) is taken back out of
its case, whose steps are worked out again from its summary_events (few cases: the names
are those of sensitive steps and pathways).

In a transaction of several cases (the worker's group commit, each case in a savepoint:
`defer`, from the unit of work's savepoint), what `record` adds to the groups and buckets is
summed over the transaction and written at its commit (`write_pending`), in key order: every
case that reaches a step adds to its group's one row, which an upsert locks until the commit,
so the transaction would otherwise hold it from its first case on while other workers' cases
wait for it. A transaction of one command writes them with its step's other summaries (one
statement on PostgreSQL, adapters.sql.summary_writes).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from adapters.sql import tables
from adapters.sql.summary_writes import Writes

TASKS = ("task_ready", "task_completed")
NO_ARM = 0  # versions are numbered from 1
BUCKETS_PER_E = 40  # a bucket spans ~2.5% of a value: a few distinct values each
_UPSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}

GroupKey = tuple[int, int, str]  # version, arm, step
First = tuple[datetime, int, int]  # at, case id, seq: the earliest task event of a step


def bucket_of(hours: float) -> int:
    """The bucket a value is counted in: log-spaced, ordered as the values are."""
    if hours >= 0:
        return int(math.log1p(hours) * BUCKETS_PER_E)
    return -int(math.log1p(-hours) * BUCKETS_PER_E) - 1


# -- one case's steps, from its task events ----------------------------------------------------


@dataclass
class CaseStep:
    """One case's figures for one step (a summary_case_steps row)."""

    first_at: datetime
    first_seq: int
    ready: bool = False
    done_seq: int | None = None
    from_start: float | None = None
    completions: int = 0
    hours_sum: float = 0.0
    each: list[tuple[int, float]] = field(default_factory=list)  # (seq, hours) kept this time

    def add(self, row: Mapping[str, Any]) -> bool:
        """Take in one task event (in seq order); whether it was the step's first
        completion."""
        if row["type"] == "task_ready":
            self.ready = True
            return False
        if row["hours"] is not None:
            self.completions += 1
            self.hours_sum += row["hours"]
            self.each.append((row["seq"], row["hours"]))
        if self.done_seq is None:
            self.done_seq, self.from_start = row["seq"], row["hours_from_start"]
            return True
        return False


def case_steps(rows: Iterable[Mapping[str, Any]]) -> dict[str, CaseStep]:
    """A case's steps from its task events (summary_events rows, in seq order)."""
    found: dict[str, CaseStep] = {}
    for row in rows:
        step = row["step"]
        if row["type"] not in TASKS or not step:
            continue
        if step not in found:
            found[step] = CaseStep(row["at"], row["seq"])
        found[step].add(row)
    return found


def values_of(case_step: CaseStep) -> list[tuple[str, float]]:
    """The values a case's step adds to the medians, by kind."""
    found = [("each", hours) for _, hours in case_step.each]
    if case_step.done_seq is not None and case_step.from_start is not None:
        found.append(("first", case_step.from_start))
    return found


# -- written with the events -------------------------------------------------------------------


@dataclass
class _Deltas:
    """Changes to the group rows and bucket counts, written as increments (two writers of one
    group each add their own)."""

    groups: dict[GroupKey, list[Any]] = field(default_factory=dict)
    buckets: dict[tuple[int, int, str, str, int], int] = field(
        default_factory=lambda: defaultdict(int))

    def group(self, key: GroupKey, reached: int, done: int, completions: int,
              hours: float, first: First | None = None) -> None:
        found = self.groups.setdefault(key, [0, 0, 0, 0.0, None])
        found[0] += reached
        found[1] += done
        found[2] += completions
        found[3] += hours
        if first is not None and (found[4] is None or first < found[4]):
            found[4] = first

    def case_step(self, case_id: int, pathway: str, key: GroupKey, before: CaseStep | None,
                  after: CaseStep) -> list[dict[str, Any]]:
        """What a case's step changed from `before` (None: new) to `after` adds to its
        group; returns the new values' rows (`after.each` holds only the new completions)."""
        was_done = before is not None and before.done_seq is not None
        self.group(key, int(before is None), int(after.done_seq is not None and not was_done),
                   len(after.each), math.fsum(hours for _, hours in after.each),
                   (after.first_at, case_id, after.first_seq) if before is None else None)
        version, arm, step = key
        found = [("each", seq, hours) for seq, hours in after.each]
        if not was_done and after.done_seq is not None and after.from_start is not None:
            found.append(("first", after.done_seq, after.from_start))
        for kind, _, hours in found:
            self.value(key, kind, hours)
        return [_value_row(case_id, seq, kind, pathway, version, arm, step, hours)
                for kind, seq, hours in found]

    def copy(self) -> _Deltas:
        return _Deltas({key: list(found) for key, found in self.groups.items()},
                       defaultdict(int, self.buckets))

    def value(self, key: GroupKey, kind: str, hours: float, sign: int = 1) -> None:
        version, arm, step = key
        self.buckets[(version, arm, step, kind, bucket_of(hours))] += sign

    def write(self, connection: Connection | Writes, pathway: str) -> None:
        """The increments, as two statements (or two of Writes' CTEs)."""
        writes = connection if isinstance(connection, Writes) else Writes(connection,
                                                                          batched=False)
        groups, buckets = _upserts(writes.connection.dialect.name)
        if self.groups:
            writes.add("groups", groups, [
                {"pathway": pathway, "version": version, "arm": arm, "step": step,
                 "reached": reached, "done": done, "completions": completions,
                 "hours_sum": hours, "first_at": first[0] if first else None,
                 "first_case": first[1] if first else None,
                 "first_seq": first[2] if first else None}
                for (version, arm, step), (reached, done, completions, hours, first)
                in sorted(self.groups.items())])
        counts = [{"pathway": pathway, "version": version, "arm": arm, "step": step,
                   "kind": kind, "bucket": bucket, "n": n}
                  for (version, arm, step, kind, bucket), n in sorted(self.buckets.items())
                  if n]
        writes.add("buckets", buckets, counts)


_BUILT: dict[str, tuple[Any, Any]] = {}


def _upserts(dialect: str) -> tuple[Any, Any]:
    """The two increments (groups, buckets) for the dialect, built once: building them is
    most of what a task event's summary costs."""
    if dialect not in _BUILT:
        g, b = tables.summary_step_groups, tables.summary_step_buckets
        upsert = _UPSERTS[dialect]
        statement = upsert(g)
        ex = statement.excluded
        earlier = or_(g.c.first_at.is_(None), ex.first_at < g.c.first_at,
                      and_(ex.first_at == g.c.first_at,
                           or_(ex.first_case < g.c.first_case,
                               and_(ex.first_case == g.c.first_case,
                                    ex.first_seq < g.c.first_seq))))
        groups = statement.on_conflict_do_update(
            index_elements=[g.c.pathway, g.c.version, g.c.arm, g.c.step],
            set_={"reached": g.c.reached + ex.reached, "done": g.c.done + ex.done,
                  "completions": g.c.completions + ex.completions,
                  "hours_sum": g.c.hours_sum + ex.hours_sum,
                  **{name: _case_when(earlier, ex[name], g.c[name])
                     for name in ("first_at", "first_case", "first_seq")}})
        counted = upsert(b)
        buckets = counted.on_conflict_do_update(
            index_elements=[b.c.pathway, b.c.version, b.c.arm, b.c.step, b.c.kind,
                            b.c.bucket],
            set_={"n": b.c.n + counted.excluded.n})
        _BUILT[dialect] = (groups, buckets)
    return _BUILT[dialect]


def _case_when(condition: ColumnElement[bool], then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def steps_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The steps the case's new events (in seq order) change, sorted."""
    return sorted({row["step"] for row in rows if row["type"] in TASKS and row["step"]})


def record(writes: Writes, case_id: int, pathway: str, version: int, arm: int,
           rows: Sequence[Mapping[str, Any]],
           stored: Mapping[str, CaseStep] | None = None) -> None:
    """Take the case's new task events (summary_events rows, in seq order) into its steps,
    its groups and the medians' values (`stored`: the case's rows of those steps as read
    already, by adapters.sql.append_read; None: read here)."""
    by_step: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["type"] in TASKS and row["step"]:
            by_step[row["step"]].append(row)
    if not by_step:
        return
    if stored is None:
        stored = {row.step: CaseStep(row.first_at, row.first_seq, row.ready, row.done_seq,
                                     row.from_start, row.completions, row.hours_sum)
                  for row in writes.connection.execute(_CASE_STEPS, {"b_case": case_id,
                                                              "b_steps": sorted(by_step)})}
    deferred = pending(writes.connection)
    deltas = _Deltas() if deferred is None else deferred.setdefault(pathway, _Deltas())
    values: list[dict[str, Any]] = []
    written = []
    for step, taken in by_step.items():
        before = stored.get(step)
        after = (replace(before, each=[]) if before is not None
                 else CaseStep(taken[0]["at"], taken[0]["seq"]))
        for row in taken:
            after.add(row)
        values += deltas.case_step(case_id, pathway, (version, arm, step), before, after)
        written.append(_case_step_row(case_id, pathway, version, arm, step, after))
    # new steps and changed ones in one statement: the conflict keeps a stored step's first
    # event, version and arm, and takes the rest as the events left it
    writes.add("steps", _case_steps_upsert(writes.connection.dialect.name), written)
    writes.add("values", _INSERT_VALUES, values)
    if deferred is None:
        deltas.write(writes, pathway)


_PENDING = "pathways_step_deltas"  # in Connection.info: pathway -> _Deltas not yet written


def defer(connection: Connection) -> None:
    """From now to the transaction's end, sum what `record`s add to the groups and buckets
    and write it at the commit (write_pending): a transaction of several cases (a savepoint
    each) would otherwise hold each group's shared row from its first case to its commit."""
    connection.info.setdefault(_PENDING, {})


def pending(connection: Connection) -> dict[str, _Deltas] | None:
    """What the transaction's `record`s add to the groups and buckets, by pathway, unwritten;
    None when they are written as they come (not `defer`red: one command a transaction, whose
    step writes them in its one statement)."""
    found: dict[str, _Deltas] | None = connection.info.get(_PENDING)
    return found


def write_pending(connection: Connection) -> None:
    """Write what `pending` holds (one statement on PostgreSQL, two a pathway on SQLite;
    none if nothing), pathways in order, each one's rows in key order, and stop deferring:
    just before the commit."""
    writes = Writes(connection)
    for pathway, deltas in sorted((connection.info.pop(_PENDING, None) or {}).items()):
        deltas.write(writes, pathway)
    writes.flush()


def marked(connection: Connection) -> dict[str, _Deltas] | None:
    """A copy of `pending`, to go back to (`restore`) when a savepoint is rolled back."""
    found = pending(connection)
    return None if found is None else {pathway: deltas.copy()
                                       for pathway, deltas in found.items()}


def restore(connection: Connection, kept: dict[str, _Deltas] | None = None) -> None:
    """`pending` back to `kept` (None: not deferring, the transaction ended)."""
    if kept is None:
        connection.info.pop(_PENDING, None)
    else:
        connection.info[_PENDING] = kept


_INSERT_VALUES = tables.summary_step_values.insert()
_CASE_STEPS = select(tables.summary_case_steps).where(
    tables.summary_case_steps.c.case_id == bindparam("b_case"),
    tables.summary_case_steps.c.step.in_(bindparam("b_steps", expanding=True)))


@functools.cache
def _case_steps_upsert(dialect: str) -> Any:
    """Insert a case's steps, or update the stored ones' counts (built once per dialect)."""
    cs = tables.summary_case_steps
    statement = _UPSERTS[dialect](cs)
    return statement.on_conflict_do_update(
        index_elements=[cs.c.case_id, cs.c.step],
        set_={name: statement.excluded[name]
              for name in ("ready", "done_seq", "from_start", "completions", "hours_sum")})


def _case_step_row(case_id: int, pathway: str, version: int, arm: int, step: str,
                   found: CaseStep) -> dict[str, Any]:
    return {"case_id": case_id, "step": step, "pathway": pathway, "version": version,
            "arm": arm, "first_at": found.first_at, "first_seq": found.first_seq,
            "ready": found.ready, "done_seq": found.done_seq, "from_start": found.from_start,
            "completions": found.completions, "hours_sum": found.hours_sum}


def _value_row(case_id: int, seq: int, kind: str, pathway: str, version: int, arm: int,
               step: str, hours: float) -> dict[str, Any]:
    return {"case_id": case_id, "seq": seq, "kind": kind, "pathway": pathway,
            "version": version, "arm": arm, "step": step, "bucket": bucket_of(hours),
            "hours": hours}


def follow(connection: Connection, case_id: int, pathway: str, before: tuple[int, int],
           after: tuple[int, int]) -> None:
    """Move the case's steps from the groups of (version, arm) `before` to `after`: it was
    migrated, retried on another version, or a split gave it its arm."""
    if before == after:
        return
    write_pending(connection)  # the groups as this transaction left them, read below
    cs, v = tables.summary_case_steps, tables.summary_step_values
    rows = connection.execute(select(cs).where(cs.c.case_id == case_id)).all()
    if not rows:
        return
    deltas = _Deltas()
    for row in rows:
        done = int(row.done_seq is not None)
        deltas.group((*before, row.step), -1, -done, -row.completions, -row.hours_sum)
        deltas.group((*after, row.step), 1, done, row.completions, row.hours_sum,
                     (row.first_at, case_id, row.first_seq))
    for row in connection.execute(select(v.c.step, v.c.kind, v.c.bucket, func.count().label("n"))
                                  .where(v.c.case_id == case_id)
                                  .group_by(v.c.step, v.c.kind, v.c.bucket)):
        deltas.buckets[(*before, row.step, row.kind, row.bucket)] -= row.n
        deltas.buckets[(*after, row.step, row.kind, row.bucket)] += row.n
    moved = {"version": after[0], "arm": after[1]}
    connection.execute(update(v).where(v.c.case_id == case_id).values(**moved))
    connection.execute(update(cs).where(cs.c.case_id == case_id).values(**moved))
    deltas.write(connection, pathway)
    g = tables.summary_step_groups
    for row in rows:  # a group whose earliest event was this case's finds its next one
        key = and_(g.c.pathway == pathway, g.c.version == before[0], g.c.arm == before[1],
                   g.c.step == row.step)
        if connection.execute(select(g.c.first_case).where(key)).scalar() != case_id:
            continue
        first = connection.execute(
            select(cs.c.first_at, cs.c.case_id, cs.c.first_seq)
            .where(cs.c.pathway == pathway, cs.c.version == before[0],
                   cs.c.arm == before[1], cs.c.step == row.step)
            .order_by(cs.c.first_at, cs.c.case_id, cs.c.first_seq).limit(1)).first()
        connection.execute(update(g).where(key).values(
            first_at=first.first_at if first else None,
            first_case=first.case_id if first else None,
            first_seq=first.first_seq if first else None))


def rebuild(connection: Connection, batch: int = 5000) -> None:
    """Work out every case's steps from the summary_events already stored (migration 0012,
    into empty tables), a batch of cases at a time, each batch written in bulk."""
    s, c, sc = tables.summary_events, tables.cases, tables.summary_cases
    cases = connection.execute(select(c.c.id, c.c.pathway, c.c.version, sc.c.arm)
                               .select_from(c.join(sc, sc.c.case_id == c.c.id))
                               .order_by(c.c.id)).all()
    for first in range(0, len(cases), batch):
        chosen = cases[first:first + batch]
        by_case: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in connection.execute(
                select(s.c.case_id, s.c.seq, s.c.type, s.c.step, s.c.at, s.c.hours,
                       s.c.hours_from_start)
                .where(s.c.case_id.between(chosen[0].id, chosen[-1].id), s.c.type.in_(TASKS))
                .order_by(s.c.case_id, s.c.seq)):
            by_case[row.case_id].append(dict(row._mapping))
        by_pathway: dict[str, _Deltas] = defaultdict(_Deltas)
        steps, values = [], []
        for one in chosen:
            arm = one.arm or NO_ARM
            for step, found in case_steps(by_case.get(one.id, [])).items():
                steps.append(_case_step_row(one.id, one.pathway, one.version, arm, step, found))
                values += by_pathway[one.pathway].case_step(
                    one.id, one.pathway, (one.version, arm, step), None, found)
        if steps:
            connection.execute(tables.summary_case_steps.insert(), steps)
        if values:
            connection.execute(tables.summary_step_values.insert(), values)
        for pathway, deltas in sorted(by_pathway.items()):
            deltas.write(connection, pathway)
