"""What appending a command's events reads before it writes, in one statement (issue 17).

An append numbered by the engine (first_seq) needs the case's last event (its time, so
stamps never go back, and its hash, which the first new event chains to); then the
dashboard's summaries need the case's row with its summary row (adapters.sql.summaries),
when a completed task was last made ready, and the case's rows of the steps its new task
events change (adapters.sql.step_summaries). Each was a round trip of its own on every
step; here they are one SELECT: the case joined to its summary row, to the event before
first_seq and to those steps' rows (one result row per stored step), with the task's last
task_ready as a scalar subquery when exactly one task needs looking back for (a step's case;
more are looked up one by one, as before). It also asks whether the case waits in a
migration, which the engine asks at the end of every step: a case that does not is noted
for the transaction (repositories.common.note_no_waits), so that question costs no
round trip; any write to migration_cases forgets the note.

Nothing it reads changes between this read and the writes that follow it in the transaction
but by them: the case's events and summaries are written under its revision lock.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, exists, select

from adapters.sql import step_summaries, summaries, tables
from adapters.sql.repositories.common import note_no_waits
from adapters.sql.step_summaries import CaseStep

_STEP_COLUMNS = ("step", "first_at", "first_seq", "ready", "done_seq", "from_start",
                 "completions", "hours_sum")


@dataclass(frozen=True)
class AppendRead:
    """The event before the new ones (None: there is none) and what summaries.record reads:
    `case_row` (None: no such case), `readies` (the tasks looked back for, found or not) and
    `case_steps` (the stored rows of the steps the new events change, None: not read)."""

    event: Any
    case_row: Any
    readies: dict[tuple[Any, Any], datetime | None] = field(default_factory=dict)
    case_steps: dict[str, CaseStep] | None = None


@dataclass(frozen=True)
class _Event:
    seq: int
    at: datetime
    hash: str | None


@functools.cache
def _statement(with_ready: bool, with_steps: bool) -> Select[Any]:
    c, sc, e, cs = (tables.cases, tables.summary_cases, tables.events,
                    tables.summary_case_steps)
    ready = ((summaries.LAST_READY.scalar_subquery().label("ready_at"),)
             if with_ready else ())
    steps = (tuple(cs.c[name].label(f"cs_{name}") for name in _STEP_COLUMNS)
             if with_steps else ())
    joined = c.outerjoin(sc, sc.c.case_id == c.c.id).outerjoin(
        e, and_(e.c.case_id == c.c.id, e.c.seq == bindparam("b_seq")))
    if with_steps:
        joined = joined.outerjoin(cs, and_(
            cs.c.case_id == c.c.id, cs.c.step.in_(bindparam("b_steps", expanding=True))))
    mc = tables.migration_cases
    waits = exists().where(mc.c.case_id == c.c.id, mc.c.waiting.is_(True)).label("waits")
    return (select(*summaries.CASE_ROW[True].selected_columns, e.c.seq.label("event_seq"),
                   e.c.at.label("event_at"), e.c.hash.label("event_hash"), waits, *ready,
                   *steps)
            .select_from(joined).where(c.c.id == bindparam("b_case")))


def read(connection: Connection, case_id: int, before_seq: int,
         rows: Sequence[Mapping[str, Any]]) -> AppendRead:
    """The one read for appending `rows` (type, step and data of each new event) to case
    `case_id` after its event `before_seq`."""
    lookups = summaries.ready_lookups(rows)
    steps = step_summaries.steps_of(rows)
    with_ready = len(lookups) == 1
    parameters: dict[str, Any] = {"b_case": case_id, "b_seq": before_seq}
    if with_ready:
        parameters.update(b_step=lookups[0][0], b_task=lookups[0][1])
    if steps:
        parameters["b_steps"] = steps
    found = connection.execute(_statement(with_ready, bool(steps)), parameters).all()
    if not found:
        return AppendRead(None, None)
    first = found[0]
    if not first.waits:
        note_no_waits(connection, case_id)
    event = (_Event(first.event_seq, first.event_at, first.event_hash)
             if first.event_seq is not None else None)
    readies = {lookups[0]: first.ready_at} if with_ready else {}
    case_steps = ({row.cs_step: CaseStep(*(getattr(row, f"cs_{name}")
                                           for name in _STEP_COLUMNS[1:]))
                   for row in found if row.cs_step is not None} if steps else None)
    return AppendRead(event, first, readies, case_steps)
