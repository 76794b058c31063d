"""The dashboard's summaries: kept as events are written, read with GROUP BY (issue 12, item 9).

`record` runs inside SqlEventLog.append, in the transaction of the events it summarises, so
a summary is never older or newer than its events. It keeps one row per event the figures
read (`summary_events`: case started, version allocated, task ready and completed, outcome
recorded) with what they need worked out once: a completed task's hours from its task_ready
(or from the case's start) and from the case's start, an outcome's value, a split's arm. The strings
of each such event's data go to `summary_event_names`, so engine.access.privacy's rule, which can
change as pathways are published, is applied when the figures are read (HiddenSteps).
Per case, its first start and last task completed (`summary_cases`); per pathway, caseworker
and month, the tasks completed (`summary_activity`).

`SqlDashboardSummaries` reads them in a few statements whatever the number of cases; the
medians are exact on both backends (the middle one or two values found with a window
function, averaged as statistics.median does).
"""

from __future__ import annotations

import builtins
import functools
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sql import answer_summaries, step_figures, step_summaries, tables
from adapters.sql.case_groups import (
    FACT_TYPES,
    fact_events,
    nested,
    read_case_groups,
    read_client_groups,
    shown_outcome_events,
)
from adapters.sql.repositories.common import json_at
from adapters.sql.summary_writes import Writes
from engine.access import names_in
from engine.model import CaseRecord
from engine.outcomes import SUMMARISED
from engine.summary_ports import CaseFacts, CaseGroup, HiddenSteps, StepFigures

TASKS = ("task_ready", "task_completed")
LONGEST_NAME = 200  # longer strings name no step or pathway: not kept
_UPSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}


# -- written with the events -------------------------------------------------------------------

# Statements of every summarised write, built once (building one costs more than running it).
_ACTIVITY: dict[str, Any] = {}


def _case_row(steps: bool) -> Select[Any]:
    c, sc = tables.cases, tables.summary_cases
    kept = (sc.c.version.label("summarised_version"), sc.c.arm) if steps else ()
    return (select(c.c.pathway, c.c.created_at, c.c.version, sc.c.case_id.label("summarised"),
                   sc.c.started_at, sc.c.last_completed_at, *kept)
            .select_from(c.outerjoin(sc, sc.c.case_id == c.c.id))
            .where(c.c.id == bindparam("b_case")))


CASE_ROW = {steps: _case_row(steps) for steps in (True, False)}
_INSERT_EVENTS = tables.summary_events.insert()
_INSERT_NAMES = tables.summary_event_names.insert()
_NAMES_AT_0011 = ("case_id", "seq", "name")  # the event's pathway and type came with 0033
_UPDATE_CASE = {steps: update(tables.summary_cases).where(
    tables.summary_cases.c.case_id == bindparam("b_case")).values(
    {name: bindparam(name) for name in ("started_at", "last_completed_at",
                                        *(("version", "arm") if steps else ()))})
    for steps in (True, False)}
_SUMMARISED_VERSION = select(
    tables.summary_cases.c.pathway, tables.summary_cases.c.version, tables.summary_cases.c.arm
).where(tables.summary_cases.c.case_id == bindparam("b_case"))
# When one task of the case was last made ready: read back from the case's newest event, so
# a step of a long case reads the few events since its task was readied, not every task_ready
# the case ever had (the benchmark's loop: 600 rows read at its 600th step).
LAST_READY = select(tables.summary_events.c.at).where(
    tables.summary_events.c.case_id == bindparam("b_case"),
    tables.summary_events.c.type == "task_ready",
    tables.summary_events.c.step.is_not_distinct_from(bindparam("b_step")),
    tables.summary_events.c.task.is_not_distinct_from(bindparam("b_task")),
).order_by(tables.summary_events.c.seq.desc()).limit(1)


def record(connection: Connection, case_id: int, rows: Sequence[Mapping[str, Any]], *,
           steps: bool = True, read: Any = None) -> None:
    """Summarise the case's new events (`rows` as inserted into `events`, in seq order);
    `steps` False: not into the tables migration 0012 adds, nor the names' columns 0033
    adds (migration 0011 fills its own).
    `read`: the case's row and the tasks' readies as adapters.sql.append_read read them
    with the event before `rows` (None: read here)."""
    chosen = [row for row in rows if row["type"] in SUMMARISED]
    if not chosen:
        return
    case_row = (connection.execute(CASE_ROW[steps], {"b_case": case_id}).first()
                if read is None else read.case_row)
    if case_row is None:
        return
    batch = _Batch(case_id, case_row.pathway, case_row.created_at, case_row.started_at,
                   _readies(connection, case_id, chosen,
                            {} if read is None else read.readies))
    for row in chosen:
        batch.add(row)
    summaries, names = batch.summaries, batch.names
    started, last_completed, months = batch.started, batch.last_completed, batch.months
    writes = Writes(connection)  # on PostgreSQL, sent as one statement at the end
    writes.add("events", _INSERT_EVENTS, summaries)
    writes.add("names", _INSERT_NAMES, names if steps else [
        {key: name[key] for key in _NAMES_AT_0011} for name in names])
    if steps:
        _record_steps(writes, case_id, case_row, summaries, started, last_completed,
                      None if read is None else read.case_steps)
    else:
        _record_case(writes, case_id, case_row, started, last_completed, None,
                     steps=False)
    _record_activity(writes, case_row.pathway, months)
    writes.flush()


def _record_steps(writes: Writes, case_id: int, case_row: Any,
                  summaries: Sequence[Mapping[str, Any]], started: datetime | None,
                  last_completed: datetime | None,
                  stored: Mapping[str, step_summaries.CaseStep] | None) -> None:
    """The case's row with its version and arm, its steps moved if either changed, then its
    new task events taken into its steps (adapters.sql.step_summaries)."""
    arm = case_row.arm if case_row.arm is not None else _split_arm(summaries)
    _record_case(writes, case_id, case_row, started, last_completed, arm)
    if case_row.summarised is not None:
        step_summaries.follow(writes.connection, case_id, case_row.pathway,
                              (case_row.summarised_version or case_row.version,
                               case_row.arm or step_summaries.NO_ARM),
                              (case_row.version, arm or step_summaries.NO_ARM))
    step_summaries.record(writes, case_id, case_row.pathway, case_row.version,
                          arm or step_summaries.NO_ARM, summaries, stored)


def _split_arm(summaries: Sequence[Mapping[str, Any]]) -> int | None:
    """The arm the first split allocation among the new events chose (0: it named no
    version; None: no split allocation)."""
    first = next((row for row in summaries
                  if row["type"] == "version_allocated" and row["split"]), None)
    if first is None:
        return None
    return first["arm"] if first["arm"] is not None else step_summaries.NO_ARM


def follow_version(connection: Connection, case_id: int, version: int) -> None:
    """A saved case's steps follow it to the version it is saved on (a migration, or a
    retry on another version)."""
    sc = tables.summary_cases
    row = connection.execute(_SUMMARISED_VERSION, {"b_case": case_id}).first()
    if row is None or row.version == version:
        return
    arm = row.arm or step_summaries.NO_ARM
    if row.version is not None:
        step_summaries.follow(connection, case_id, row.pathway, (row.version, arm),
                              (version, arm))
    connection.execute(update(sc).where(sc.c.case_id == case_id).values(version=version))


@dataclass
class _Batch:
    """One append's events, summarised in seq order: each completed task's hours come from
    its task_ready (earlier in the batch or stored) or else the case's start."""

    case_id: int
    pathway: str
    created_at: datetime | None
    started: datetime | None
    readies: dict[tuple[Any, Any], datetime]
    summaries: list[dict[str, Any]] = field(default_factory=list)
    names: list[dict[str, Any]] = field(default_factory=list)
    last_completed: datetime | None = None
    months: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row: Mapping[str, Any]) -> None:
        at: datetime = row["at"]
        if row["type"] == "case_started" and self.started is None:
            self.started = at
        summary = _summary(self.case_id, self.pathway, row)
        if row["type"] == "task_ready":
            self.readies[(row["step"], summary["task"])] = at
        elif row["type"] == "task_completed":
            self._completed(row, summary, at)
        self.summaries.append(summary)
        self.names.extend({"case_id": self.case_id, "seq": row["seq"], "name": name,
                           "pathway": self.pathway, "type": row["type"]}
                          for name in sorted(_names(row)))

    def _completed(self, row: Mapping[str, Any], summary: dict[str, Any], at: datetime) -> None:
        start = self.started or self.created_at
        began = self.readies.get((row["step"], summary["task"]), start)
        summary["hours"] = None if began is None else hours_between(began, at)
        summary["hours_from_start"] = None if start is None else hours_between(start, at)
        self.last_completed = at if self.last_completed is None else max(self.last_completed,
                                                                         at)
        moment = at.astimezone(UTC)
        self.months[(row["actor"] or "", f"{moment.year:04d}-{moment.month:02d}")] += 1


def hours_between(start: datetime, end: datetime) -> float:
    """As engine.outcomes.analysis counts a task's hours."""
    return (end - start).total_seconds() / 3600


def _summary(case_id: int, pathway: str, row: Mapping[str, Any]) -> dict[str, Any]:
    data = row["data"] if isinstance(row["data"], dict) else {}
    summary: dict[str, Any] = {
        "case_id": case_id, "seq": row["seq"], "pathway": pathway, "type": row["type"],
        "step": row["step"], "at": row["at"], "task": None, "outcome": None, "value": None,
        "counted": None, "truthy": None, "arm": None, "split": None, "hours": None,
        "hours_from_start": None}
    if row["type"] in TASKS:
        summary["task"] = _task_id(row)
    elif row["type"] == "outcome_recorded":
        outcome, value = data.get("outcome"), data.get("value")
        summary["outcome"] = outcome if isinstance(outcome, str) else None
        yes = bool(value) if isinstance(value, bool) or value is None else True
        counted = isinstance(value, int) and not isinstance(value, bool)
        summary.update(value=value if counted else int(yes), counted=counted,
                       truthy=bool(value))
    elif row["type"] == "version_allocated":
        version = data.get("version")
        summary.update(split=data.get("policy") == "split",
                       arm=int(version) if isinstance(version, int) else None)
    return summary


def _task_id(row: Mapping[str, Any]) -> str | None:
    """The id of the task a task_ready or task_completed event is about."""
    task = row["data"].get("task") if isinstance(row["data"], dict) else None
    return None if task is None else str(task)


def _names(row: Mapping[str, Any]) -> frozenset[str]:
    """The strings the privacy rule reads in the event's data, but a task's own id."""
    data = row["data"]
    if row["type"] in TASKS and isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != "task"}
    return frozenset(name for name in names_in(data) if len(name) <= LONGEST_NAME)


def ready_lookups(rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
    """The tasks (step, task id) whose last task_ready must be read back from the stored
    events: those the new events complete without readying them earlier among themselves.
    One look back per such task, not every task_ready of the case (that read grew with every
    step of a long case); none for a task the new events ready first (a bulk append's)."""
    found: list[tuple[Any, Any]] = []
    seen: set[tuple[Any, Any]] = set()
    for row in rows:
        if row["type"] not in SUMMARISED:
            continue
        key = (row["step"], _task_id(row))
        if row["type"] == "task_ready":
            seen.add(key)
        if row["type"] != "task_completed" or key in seen:
            continue
        seen.add(key)
        found.append(key)
    return found


def _readies(connection: Connection, case_id: int, rows: Sequence[Mapping[str, Any]],
             known: Mapping[tuple[Any, Any], datetime | None]
             ) -> dict[tuple[Any, Any], datetime]:
    """When the events already stored last made ready each task of ready_lookups (`known`:
    those read already, found or not)."""
    found: dict[tuple[Any, Any], datetime] = {}
    for key in ready_lookups(rows):
        at = known[key] if key in known else connection.execute(
            LAST_READY, {"b_case": case_id, "b_step": key[0], "b_task": key[1]}).scalar()
        if at is not None:
            found[key] = at
    return found


def _record_case(writes: Writes, case_id: int, case_row: Any,
                 started: datetime | None, last_completed: datetime | None,
                 arm: int | None, *, steps: bool = True) -> None:
    """The case's summary_cases row: inserted with its first summarised events, updated
    when they move it (on PostgreSQL, with steps, either as the upsert of its whole row that
    Writes sends with the rest)."""
    sc = tables.summary_cases
    kept = {"version": case_row.version, "arm": arm} if steps else {}
    row = {"case_id": case_id, "pathway": case_row.pathway, "started_at": started,
           "last_completed_at": last_completed, **kept}
    if case_row.summarised is None:
        if writes.batched and steps:
            writes.add("cases", _upsert_case(), [row])
        else:
            writes.connection.execute(sc.insert(), row)
        return
    latest = max((t for t in (case_row.last_completed_at, last_completed) if t is not None),
                 default=None)
    was = (case_row.started_at, case_row.last_completed_at,
           *((case_row.summarised_version, case_row.arm) if steps else ()))
    if (started, latest, *kept.values()) == was:
        return
    if writes.batched and steps:
        writes.add("cases", _upsert_case(), [{**row, "last_completed_at": latest}])
    else:
        writes.connection.execute(_UPDATE_CASE[steps], {
            "b_case": case_id, "started_at": started, "last_completed_at": latest, **kept})


@functools.cache
def _upsert_case() -> Any:
    """A case's summary_cases row inserted, or its figures updated (PostgreSQL)."""
    sc = tables.summary_cases
    statement = postgresql.insert(sc)
    return statement.on_conflict_do_update(
        index_elements=[sc.c.case_id],
        set_={name: statement.excluded[name]
              for name in ("started_at", "last_completed_at", "version", "arm")})


def _record_activity(writes: Writes, pathway: str,
                     months: Mapping[tuple[str, str], int]) -> None:
    if not months:
        return
    dialect = writes.connection.dialect.name
    if dialect not in _ACTIVITY:  # built once: building it costs more than running it
        table = tables.summary_activity
        statement = _UPSERTS[dialect](table)
        _ACTIVITY[dialect] = statement.on_conflict_do_update(
            index_elements=[table.c.pathway, table.c.actor, table.c.month],
            set_={"tasks": table.c.tasks + statement.excluded.tasks})
    writes.add("activity", _ACTIVITY[dialect],
               [{"pathway": pathway, "actor": actor, "month": month, "tasks": tasks}
                for (actor, month), tasks in sorted(months.items())])


def rebuild(connection: Connection, batch: int = 500, *, steps: bool = True) -> None:
    """Summarise every event already stored (migration 0011, with `steps` False), a batch of
    cases at a time."""
    e = tables.events
    ids = list(connection.execute(select(e.c.case_id).distinct().order_by(e.c.case_id))
               .scalars())
    for first in range(0, len(ids), batch):
        chosen = ids[first:first + batch]
        by_case: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in connection.execute(
                select(e.c.case_id, e.c.seq, e.c.type, e.c.at, e.c.actor, e.c.step, e.c.data)
                .where(e.c.case_id.in_(chosen)).order_by(e.c.case_id, e.c.seq)):
            by_case[row.case_id].append(dict(row._mapping))
        for case_id in chosen:
            record(connection, case_id, by_case[case_id], steps=steps)


# -- read for the dashboard --------------------------------------------------------------------


class SqlDashboardSummaries:
    """engine.ports.DashboardSummaries over the summary tables."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def cases(self, pathway: str, fields: Collection[str]) -> builtins.list[CaseRecord]:
        c = tables.cases.c
        paths = sorted(path for path in set(fields) if '"' not in path)
        dialect = self._connection.dialect.name
        answers = [json_at(c.data, path, dialect) for path in paths]
        rows = self._connection.execute(
            select(c.id, c.version, c.client_id, c.status, c.created_at, *answers)
            .where(c.pathway == pathway).order_by(c.id)).all()
        return [CaseRecord(id=row[0], pathway=pathway, version=row[1], client_id=row[2],
                           status=row[3], state={}, created_at=row[4],
                           data=nested(zip(paths, row[5:], strict=True)))
                for row in rows]

    def answer_values(self, pathway: str, fields: Collection[str]
                      ) -> dict[str, builtins.list[Any]]:
        """From the counts kept as cases are written (adapters.sql.answer_summaries), not
        from every case's data: a dotted path is no answer of its own, so it has none."""
        names = {name for name in fields if '"' not in name and "." not in name}
        return answer_summaries.values(self._connection, pathway, names)

    def case_facts(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                   step: str) -> builtins.list[CaseFacts]:
        return self._facts(pathway, hidden, outcome, step, None)

    def _facts(self, pathway: str, hidden: HiddenSteps, outcome: str | None, step: str,
               only: Collection[int] | None) -> builtins.list[CaseFacts]:
        """case_facts, of every case or `only` of these."""
        sc, c, s = tables.summary_cases, tables.cases, tables.summary_events
        chosen = [] if only is None else [s.c.case_id.in_(sorted(only))]
        cases = self._connection.execute(
            select(sc.c.case_id, sc.c.started_at, sc.c.last_completed_at, sc.c.arm,
                   c.c.version).select_from(sc.join(c, c.c.id == sc.c.case_id))
            .where(sc.c.pathway == pathway,
                   *([] if only is None else [sc.c.case_id.in_(sorted(only))]))
            .order_by(sc.c.case_id)).all()
        version = {case_id: held for case_id, _, _, _, held in cases}
        hidden_events = step_figures.hidden_by_name(
            self._connection, pathway, hidden, FACT_TYPES, and_(fact_events(step), *chosen))
        hidden_versions, hidden_steps = hidden.versions, hidden.steps

        def shown(case_id: int, seq: int, named: str | None) -> bool:
            held = version[case_id]
            return (held not in hidden_versions
                    and (named is None or named not in hidden_steps.get(held, ()))
                    and (case_id, seq) not in hidden_events)

        arms = self._arms(pathway, {case_id for case_id, _ in hidden_events},
                          lambda row: shown(row.case_id, row.seq, row.step))
        outcomes: dict[int, Any] = {}
        if outcome is not None:
            for case_id, seq, named, value, counted in self._connection.execute(
                    # in seq order: the last shown one stays
                    select(s.c.case_id, s.c.seq, s.c.step, s.c.value, s.c.counted)
                    .where(s.c.pathway == pathway, s.c.type == "outcome_recorded",
                           s.c.outcome == outcome, *chosen)
                    .order_by(s.c.case_id, s.c.seq)).all():
                if case_id in version and shown(case_id, seq, named):
                    outcomes[case_id] = value if counted else bool(value)
        happened = self._happened(pathway, step, {case_id for case_id, _ in hidden_events},
                                  lambda case_id, seq, named: case_id in version
                                  and shown(case_id, seq, named), only)
        return [CaseFacts(case_id, started_at, last_completed_at,
                          arms.get(case_id, arm or None)
                          if held not in hidden_versions else None,
                          outcomes.get(case_id), case_id in happened)
                for case_id, started_at, last_completed_at, arm, held in cases]

    def _happened(self, pathway: str, step: str, corrected: set[int],
                  shown: Callable[[int, int, str | None], bool],
                  only: Collection[int] | None) -> set[int]:
        """The cases where `step` happened as the figures may show it: a true outcome of that
        name recorded, or a completion of the step. A completion is found from the case's
        row per step (summary_case_steps: its first one), not among every event, except for
        the cases with an event hidden by name (`corrected`), whose every completion there is
        read (the first may be the hidden one)."""
        s, cs = tables.summary_events, tables.summary_case_steps
        chosen = [] if only is None else sorted(only)
        found = {case_id for case_id, seq, named in self._connection.execute(
            select(s.c.case_id, s.c.seq, s.c.step).where(
                s.c.pathway == pathway, s.c.type == "outcome_recorded", s.c.outcome == step,
                s.c.truthy == true(), *([s.c.case_id.in_(chosen)] if only is not None else [])
            )).all() if shown(case_id, seq, named)}
        found.update(case_id for case_id, first in self._connection.execute(
            select(cs.c.case_id, cs.c.done_seq).where(
                cs.c.pathway == pathway, cs.c.step == step, cs.c.done_seq.is_not(None),
                *([cs.c.case_id.in_(chosen)] if only is not None else []))).all()
            if case_id not in corrected and shown(case_id, first, step))
        if corrected:
            found.update(case_id for case_id, seq in self._connection.execute(
                select(s.c.case_id, s.c.seq).where(
                    s.c.case_id.in_(sorted(corrected)), s.c.type == "task_completed",
                    s.c.step == step)).all() if shown(case_id, seq, step))
        return found

    def _arms(self, pathway: str, hidden_cases: set[int], shown: Callable[[Any], bool]
              ) -> dict[int, int | None]:
        """The arm of each case with an event hidden by name, from its shown split
        allocations (every other case's arm is the one kept in summary_cases)."""
        s = tables.summary_events
        if not hidden_cases:
            return {}
        found: dict[int, int | None] = dict.fromkeys(hidden_cases)
        first: set[int] = set()
        for row in self._connection.execute(
                select(s.c.case_id, s.c.seq, s.c.step, s.c.arm)
                .where(s.c.case_id.in_(sorted(hidden_cases)), s.c.type == "version_allocated",
                       s.c.split.is_(True)).order_by(s.c.case_id, s.c.seq)):
            if row.case_id not in first and shown(row):
                first.add(row.case_id)
                found[row.case_id] = row.arm
        return found

    def case_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str | None,
                    step: str, answer: str | None, days: int) -> builtins.list[CaseGroup]:
        corrected = {case_id for case_id, _ in step_figures.hidden_by_name(
            self._connection, pathway, hidden, FACT_TYPES, fact_events(step))}
        return read_case_groups(
            self._connection, pathway, hidden, corrected,
            lambda ids: self._facts(pathway, hidden, outcome, step, ids),
            outcome=outcome, step=step, answer=answer, days=days)

    def client_groups(self, pathway: str, hidden: HiddenSteps, *, outcome: str,
                      start_field: str, step: str, answer: str | None, days: int
                      ) -> builtins.list[tuple[int, str | None, CaseGroup]]:
        corrected = {case_id for case_id, _ in step_figures.hidden_by_name(
            self._connection, pathway, hidden, FACT_TYPES, fact_events(step))}
        return read_client_groups(
            self._connection, pathway, hidden, corrected,
            lambda ids: self._facts(pathway, hidden, None, step, ids), outcome=outcome,
            start_field=start_field, step=step, answer=answer, days=days)

    def step_figures(self, pathway: str, hidden: HiddenSteps) -> StepFigures:
        return step_figures.read_step_figures(self._connection, pathway, hidden)

    def outcome_names(self, pathway: str, hidden: HiddenSteps) -> builtins.list[str]:
        """The outcomes with an event the rule shows: by version and step, and not hidden by
        the names in its data. The names are found by skipping along the outcomes' index (a
        probe per name, not a read of every event); each is then shown when one of its first
        events past those hidden by name is shown, looked for first among the events at no
        step the rule hides on any version (no join to the cases), then among the rest
        (case_groups.shown_outcome_events)."""
        s = tables.summary_events
        hidden_events = step_figures.hidden_by_name(
            self._connection, pathway, hidden, ("outcome_recorded",),
            s.c.type == "outcome_recorded")
        found = []
        for name in self._outcomes(pathway):
            events = shown_outcome_events(pathway, hidden, "named_case",
                                          [s.c.case_id, s.c.seq], [s.c.outcome == name])
            first = self._connection.execute(
                select(events.c.case_id, events.c.seq).limit(len(hidden_events) + 1)).all()
            if any((case_id, seq) not in hidden_events for case_id, seq in first):
                found.append(name)
        return sorted(found)

    def _outcomes(self, pathway: str) -> builtins.list[str]:
        """The names of the pathway's outcome_recorded events (none null or empty), in order:
        each the least name past the one before, a probe of the outcomes' index."""
        s = tables.summary_events
        recorded = [s.c.pathway == pathway, s.c.type == "outcome_recorded"]
        names = select(func.min(s.c.outcome).label("outcome")).where(
            *recorded, s.c.outcome > "").cte("outcome_names", recursive=True)
        names = names.union_all(
            select(select(func.min(s.c.outcome)).where(*recorded, s.c.outcome > names.c.outcome)
                   .scalar_subquery()).where(names.c.outcome.is_not(None)))
        return [name for (name,) in self._connection.execute(
            select(names.c.outcome).where(names.c.outcome.is_not(None)))]

    def task_counts(self, pathway: str) -> builtins.list[tuple[str | None, str, int]]:
        a = tables.summary_activity
        return [(row.actor or None, row.month, row.tasks) for row in self._connection.execute(
            select(a.c.actor, a.c.month, a.c.tasks).where(a.c.pathway == pathway)
            .order_by(a.c.actor, a.c.month))]
