"""Storage of the work that falls due: timers the worker fires and messages it delivers.

Several workers may share one PostgreSQL database: each claims what it works on inside the
transaction that does the work (`claim_due`, `claim`), with FOR NO KEY UPDATE SKIP LOCKED, so
they take disjoint cases and messages without waiting for each other, and a worker that dies
mid-way (even killed -9) has its transaction rolled back, which frees its claim for the others.
SQLite renders no locking clause: its writers are serialized by BEGIN IMMEDIATE, and one
worker runs on a SQLite database (adapters.sql.worker_lock).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update

from adapters.sql import tables
from adapters.sql.repositories.common import (
    SqlRepository,
    columns_of,
    field_names,
    insert_id,
    record_from,
)
from adapters.sql.repositories.workflow import _check_case_ids
from engine.errors import ConflictError, NotFoundError
from engine.model import Message, SignalDelivery, Timer

_MESSAGE_FIELDS = tuple(name for name in field_names(Message) if name != "kind")


class SqlTimerRepository(SqlRepository):
    """Pending timers: what the timer worker fires when they fall due."""

    def replace(self, case_id: int, timers: Sequence[Timer]) -> None:
        _check_case_ids(case_id, timers)
        t = tables.timers
        self._connection.execute(delete(t).where(t.c.case_id == case_id))
        if timers:
            self._connection.execute(
                insert(t),
                [columns_of(timer, leave_out=()) for timer in timers],
            )

    def claim_due(self, now: datetime, passed: Collection[int] = (), *,
                  only: int | None = None) -> int | None:
        """The active case with the longest-due timer (`only`: if it is that one), claimed
        until the transaction ends.

        The case's row and its due timer's are locked FOR NO KEY UPDATE (what saving the
        case and replacing its timers take anyway) with SKIP LOCKED: a case another
        transaction holds is passed over, never waited for, so the claim cannot deadlock with
        a command, and a timer row another worker deleted (fired and committed) since this
        statement's snapshot is skipped rather than claimed again.
        """
        t, c = tables.timers, tables.cases
        statement = (
            select(c.c.id)
            .join(t, t.c.case_id == c.c.id)
            .where(t.c.due_at <= now, c.c.status == "active")
            .order_by(t.c.due_at, t.c.case_id)
            .limit(1)
            .with_for_update(skip_locked=True, key_share=True, of=(c, t))
        )
        if passed:
            statement = statement.where(c.c.id.not_in(builtins.list(passed)))
        if only is not None:
            statement = statement.where(c.c.id == only)
        found: int | None = self._connection.scalar(statement)
        return found

    def due_count(self, now: datetime) -> tuple[int, datetime | None]:
        t, c = tables.timers, tables.cases
        due = (select(t.c.case_id, func.min(t.c.due_at).label("due_at"))
               .join(c, c.c.id == t.c.case_id)
               .where(t.c.due_at <= now, c.c.status == "active")
               .group_by(t.c.case_id).subquery())
        row = self._connection.execute(
            select(func.count(), func.min(due.c.due_at))).one()
        return int(row[0]), row[1]

    def for_case(self, case_id: int) -> builtins.list[Timer]:
        t = tables.timers
        rows = self._connection.execute(
            select(t).where(t.c.case_id == case_id).order_by(t.c.due_at, t.c.task_id)
        )
        return [record_from(Timer, row) for row in rows]


class SqlMessageRepository(SqlRepository):
    """Messages between cases of one client, kept after delivery as a record."""

    def add(self, message: Message) -> Message:
        new_id = insert_id(self._connection, tables.messages, columns_of(message))
        return replace(message, id=new_id)

    def pending(self, client_id: int | None = None) -> builtins.list[Message]:
        m = tables.messages.c
        condition: ColumnElement[bool] = m.delivered_at.is_(None)
        if client_id is not None:  # with the programme-wide signals, which are for everyone
            condition = and_(or_(m.client_id == client_id, m.client_id.is_(None)), condition)
        statement = select(tables.messages).where(condition).order_by(m.created_at, m.id)
        return [
            record_from(Message, row, kind="signal" if row.kind == "signal" else "message")
            for row in self._connection.execute(statement)
        ]

    def claim(self, message_id: int) -> bool:
        m = tables.messages.c
        return self._connection.scalar(
            select(m.id).where(m.id == message_id, m.delivered_at.is_(None))
            .with_for_update(skip_locked=True, key_share=True)) is not None

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

    # -- a routed signal's deliveries still to make -------------------------------------

    def add_deliveries(self, deliveries: Sequence[SignalDelivery]
                       ) -> builtins.list[SignalDelivery]:
        d = tables.signal_deliveries
        if not deliveries:
            return []
        signal_ids = {delivery.signal_id for delivery in deliveries}
        self._connection.execute(insert(d), [columns_of(delivery) for delivery in deliveries])
        rows = self._connection.execute(  # a signal is routed once: its rows are these
            select(d).where(d.c.signal_id.in_(signal_ids)).order_by(d.c.id))
        return [record_from(SignalDelivery, row) for row in rows]

    def deliveries(self) -> builtins.list[tuple[SignalDelivery, Message]]:
        d, m = tables.signal_deliveries, tables.messages
        statement = (select(d, *(c.label(f"message_{c.name}") for c in m.c))
                     .join(m, m.c.id == d.c.signal_id).order_by(d.c.id))
        found = []
        for row in self._connection.execute(statement):
            values = row._mapping
            signal = Message(**{name: values[f"message_{name}"] for name in _MESSAGE_FIELDS},
                             kind="signal")
            found.append((record_from(SignalDelivery, row), signal))
        return found

    def claim_delivery(self, delivery_id: int) -> bool:
        d = tables.signal_deliveries.c
        return self._connection.scalar(
            select(d.id).where(d.id == delivery_id)
            .with_for_update(skip_locked=True)) is not None

    def clear_delivery(self, delivery_id: int) -> None:
        d = tables.signal_deliveries
        self._connection.execute(delete(d).where(d.c.id == delivery_id))
