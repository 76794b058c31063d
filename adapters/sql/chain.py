"""Storage side of the tamper-evident record (engine.integrity): events hashed as they are
written, the log streamed for `pathways verify`, and the daily chain heads published.

Hashes are taken over values as the database gives them back: the data is put through the
same JSON encoding the engine writes with, so a datetime in it is hashed as the text it is
stored as, and engine.integrity's canonical form does the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Row, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.sql import tables
from adapters.sql.database import READ_ONLY, _json_dumps
from adapters.sql.repositories.common import insert_if_absent
from engine.errors import NotFoundError
from engine.integrity import GENESIS, ChainReport, HeadHasher, StoredEvent, check_chains, event_hash
from engine.workflow import current_time

log = logging.getLogger(__name__)

BATCH = 2000
"""Rows fetched at a time while streaming the log."""


def stored_form(value: Any) -> Any:
    """value as a JSON column gives it back (the engine's encoder, then decoded)."""
    return orjson.loads(_json_dumps(value))


def chained(rows: list[dict[str, Any]], previous: str | None) -> list[dict[str, Any]]:
    """rows (new `events` rows of one case, in sequence order) each with its "hash", the
    first chained to previous (GENESIS when None: the case's first event)."""
    last = previous or GENESIS
    for row in rows:
        last = event_hash(row["case_id"], row["seq"], row["type"], row["at"], row["step"],
                          row["actor"], stored_form(row["data"]), last)
        row["hash"] = last
    return rows


# -- verify --------------------------------------------------------------------------------

_c, _e = tables.cases.c, tables.events.c
_LOG = (select(_c.id, _c.event_seq, _e.id.label("event_id"), _e.seq, _e.type, _e.at, _e.step,
               _e.actor, _e.data, _e.hash)
        .select_from(tables.cases.outerjoin(tables.events, _e.case_id == _c.id))
        .order_by(_c.id, _e.seq))


def _log_rows(connection: Connection, case_id: int | None
              ) -> Iterator[tuple[int, int, StoredEvent | None]]:
    statement = _LOG if case_id is None else _LOG.where(_c.id == case_id)
    result = connection.execution_options(yield_per=BATCH).execute(statement)
    for row in result:
        event = None if row.event_id is None else StoredEvent(
            row.event_id, row.id, row.seq, row.type, row.at, row.step, row.actor, row.data,
            row.hash)
        yield row.id, row.event_seq, event


def verify(database: Engine, *, case_id: int | None = None) -> dict[str, Any]:
    """Recompute every case's chain (or case_id's), in one read-only snapshot, and without
    case_id the latest published head too; the report as `pathways verify --json` prints
    it."""
    with _read_only(database) as connection:
        if case_id is not None and connection.scalar(
                select(_c.id).where(_c.id == case_id)) is None:
            raise NotFoundError(f"case {case_id} does not exist", details={"case": case_id})
        head = None if case_id is not None else latest_head(connection)
        report = check_chains(
            _log_rows(connection, case_id),
            cut_off=None if head is None else head.last_event_id,
            previous_head=GENESIS if head is None else head.previous)
        head_check = None if head is None else _head_check(connection, head, report)
    return _report_json(report, head_check)


def _head_check(connection: Connection, head: Row[Any], report: ChainReport) -> dict[str, Any]:
    h = tables.chain_heads.c
    before = connection.scalar(select(h.head).where(h.day < head.day)
                               .order_by(h.day.desc()).limit(1)) or GENESIS
    assert report.head is not None
    recomputed = report.head.hexdigest()
    problems = []
    if recomputed != head.head:
        problems.append(
            f"the events up to event {head.last_event_id} no longer give the head published "
            f"on {head.day.isoformat()}: it covered {head.cases} case(s) and {head.events} "
            f"event(s), they now give {report.head.cases} and {report.head.events}")
    if before != head.previous:
        problems.append(f"the head published on {head.day.isoformat()} does not follow the "
                        "head before it: a published head was changed or removed")
    return {**_head_json(head), "ok": not problems, "problems": problems}


def _report_json(report: ChainReport, head: dict[str, Any] | None) -> dict[str, Any]:
    return {"ok": report.ok and (head is None or head["ok"]),
            "cases_checked": report.cases_checked, "events_checked": report.events_checked,
            "problems": [problem.to_dict() for problem in report.problems],
            "problems_total": report.problems_total, "head": head}


# -- chain heads ---------------------------------------------------------------------------


def latest_head(connection: Connection) -> Row[Any] | None:
    h = tables.chain_heads.c
    return connection.execute(select(tables.chain_heads).order_by(h.day.desc()).limit(1)).first()


def _head_json(head: Row[Any]) -> dict[str, Any]:
    return {"day": head.day.isoformat(), "head": head.head, "previous": head.previous,
            "last_event_id": head.last_event_id, "cases": head.cases, "events": head.events,
            "created_at": head.created_at.isoformat()}


_LAST = (select(_e.case_id, func.max(_e.seq).label("seq"), func.count().label("events"))
         .where(_e.id <= bindparam("b_cut")).group_by(_e.case_id).subquery())
_LAST_EVENTS = (select(_LAST.c.case_id, _LAST.c.seq, _LAST.c.events, _e.hash)
                .join(tables.events, (_e.case_id == _LAST.c.case_id) & (_e.seq == _LAST.c.seq))
                .order_by(_LAST.c.case_id))


def _settled_cut_off(database: Engine) -> int:
    """The highest event id once every transaction writing events has ended: on PostgreSQL
    a SHARE lock on `events` waits for them (and holds new ones back for this one query),
    on SQLite the write lock does. Every event with an id up to it is in, for good."""
    with database.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL lock_timeout = '60s'")
            connection.exec_driver_sql("LOCK TABLE events IN SHARE MODE")
        return int(connection.scalar(select(func.max(_e.id))) or 0)


def publish_head(database: Engine, now: datetime | None = None) -> dict[str, Any]:
    """Publish the chain head of now's (UTC) day, unless it was published already: over
    every case's last event hash, in case order, up to the last event written by now, and
    the head before it. The head as `pathways chain-head --json` prints it."""
    now = now or current_time()
    day = now.date()
    with _read_only(database) as connection:
        latest = latest_head(connection)
    if latest is not None and latest.day >= day:
        return {**_head_json(latest), "published": False}
    cut_off = _settled_cut_off(database)
    previous = GENESIS if latest is None else latest.head
    hasher = HeadHasher(previous, cut_off)
    with _read_only(database) as connection:
        result = connection.execution_options(yield_per=BATCH).execute(
            _LAST_EVENTS, {"b_cut": cut_off})
        for row in result:
            hasher.add(row.case_id, row.seq, row.hash, row.events)
    return _insert_head(database, day, hasher, previous, cut_off, now)


def _insert_head(database: Engine, day: date, hasher: HeadHasher, previous: str,
                 cut_off: int, now: datetime) -> dict[str, Any]:
    heads = tables.chain_heads
    with database.connect() as connection, connection.begin():
        new_id = connection.scalar(insert_if_absent(connection, heads).values(
            day=day, head=hasher.hexdigest(), previous=previous, last_event_id=cut_off,
            cases=hasher.cases, events=hasher.events, created_at=now).returning(heads.c.id))
        stored = connection.execute(select(heads).where(heads.c.day == day)).one()
    return {**_head_json(stored), "published": new_id is not None}


def publish_daily(database: Engine, done: date | None, now: datetime | None = None
                  ) -> date | None:
    """For a loop (the worker): publish today's head unless `done` says it was; the day
    published (or found published), or done again when publishing failed (logged; the next
    call tries again)."""
    now = now or current_time()
    if done == now.date():
        return done
    try:
        head = publish_head(database, now)
    except SQLAlchemyError as err:
        log.warning("publishing the chain head failed, trying again next round: %s", err)
        return done
    if head["published"]:
        log.info("chain head of %s published: %s", head["day"], head["head"])
    return now.date()


@contextmanager
def _read_only(database: Engine) -> Iterator[Connection]:
    """A read-only transaction on a connection of its own (PostgreSQL: REPEATABLE READ, one
    snapshot for every statement), rolled back at the end."""
    with database.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin() as transaction:
            yield connection
            transaction.rollback()
