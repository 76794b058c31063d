"""Engines for the two supported databases, configured for many short write transactions."""

from __future__ import annotations

import os
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from engine.errors import InvalidArgumentError

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers never block the writer, nor it them
    "PRAGMA foreign_keys=ON",  # off by default in SQLite
    "PRAGMA busy_timeout=10000",  # wait up to 10 s for another writer instead of failing
)

DURABILITY_VARIABLE = "PATHWAYS_DURABILITY"
# How a commit is flushed, by durability: "full" (the default) returns only once the commit
# is on disk, so it survives a power cut; "relaxed" may lose the last commits before a power
# cut or an operating-system crash (never on a process crash, and never corrupting).
_SQLITE_SYNCHRONOUS = {"full": "FULL", "relaxed": "NORMAL"}
_POSTGRES_SYNCHRONOUS_COMMIT = {"full": "on", "relaxed": "off"}
DURABILITIES = tuple(_SQLITE_SYNCHRONOUS)


def check_durability(value: str, *, field: str = DURABILITY_VARIABLE) -> str:
    """The durability `value` names (case and spaces ignored), or a clear error naming the
    choices."""
    chosen = value.strip().lower()
    if chosen not in DURABILITIES:
        raise InvalidArgumentError(
            f"{field}={value!r}: unknown durability (choose one of: {', '.join(DURABILITIES)})",
            details={"field": field, "value": value, "choices": list(DURABILITIES)})
    return chosen


def durability_from_env() -> str:
    """PATHWAYS_DURABILITY, or "full" when it is not set."""
    return check_durability(os.environ.get(DURABILITY_VARIABLE, "").strip() or "full")


def normalize_url(url: str) -> URL:
    """Parse url, sending plain PostgreSQL URLs (`postgresql://`, `postgres://`) to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def make_engine(url: str, durability: str | None = None) -> Engine:
    """An Engine for url (`sqlite:///path` or `postgresql://...`), whose commits are as
    durable as `durability` says (None: PATHWAYS_DURABILITY, by default "full").

    JSON columns go through orjson: a case's state is written on every step, and the
    standard library's encoder was a visible share of a step's cost. Connections are not
    reset when returned to the pool: every unit of work ends its own transaction already,
    and the extra ROLLBACK was one more round trip per command.
    """
    parsed = normalize_url(url)
    durable = check_durability(durability) if durability is not None else durability_from_env()
    engine = create_engine(parsed, json_serializer=_json_dumps, json_deserializer=orjson.loads,
                           pool_reset_on_return=None)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine, _SQLITE_SYNCHRONOUS[durable])
    else:
        _configure_read_only(engine)
        _configure_session(engine, _POSTGRES_SYNCHRONOUS_COMMIT[durable])
    return engine


def _configure_session(engine: Engine, synchronous_commit: str) -> None:
    """PostgreSQL sessions run in UTC, whatever the server's zone: instants come back in UTC
    as they are kept (no conversion per value, over 100,000 rows a dashboard reads), and a
    date or month taken from an instant in SQL is the UTC one, as on SQLite. Commits wait
    for the disk as the durability says, whatever the server's default."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'; "
                           f"SET synchronous_commit TO {synchronous_commit}")
        dbapi_connection.commit()


READ_ONLY = "pathways_read_only"
"""The execution option a read-only unit of work sets on its Connection (see unit_of_work)."""


def is_read_only(connection: Connection) -> bool:
    return bool(connection.get_execution_options().get(READ_ONLY, False))


READ_ONLY_WORK_MEM = "64MB"
"""What a read-only transaction's sort or hash may hold in memory before it spills to disk.
The dashboard's groups sort 100,000 cases' rows (4 MB and more): at the server's default of
4 MB that sort went to disk and the read took 0.49 s, at this 0.38 s. Writes keep the
server's setting."""


def _configure_read_only(engine: Engine) -> None:
    """On PostgreSQL a read-only unit of work's transactions are READ ONLY (a write fails)
    and REPEATABLE READ: every statement sees the snapshot the first one saw, so figures read
    in several statements agree with each other while others commit (a read-only transaction
    never fails to serialise). Their sorts have READ_ONLY_WORK_MEM, for this transaction
    only (SET LOCAL)."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if is_read_only(connection):
            connection.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                f"SET LOCAL work_mem = '{READ_ONLY_WORK_MEM}'")


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    """Set the pragmas and make every writing transaction take the write lock when it begins.

    With the default deferred BEGIN, a transaction that read first fails with "database is
    locked" when it later tries to write while another writer got there first (SQLite cannot
    wait there without risking deadlock). BEGIN IMMEDIATE makes writers queue up front, where
    busy_timeout applies. This is SQLAlchemy's documented recipe for taking over BEGIN.
    A read-only unit of work begins a plain (deferred) transaction instead, which under WAL
    reads a snapshot without waiting for writers, with PRAGMA query_only on so that a write
    attempted in it fails instead of taking the lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # stop sqlite3 from emitting its own BEGIN
        # the inbox sorts client names as Python does (adapters.sql.repositories.inbox_queries)
        dbapi_connection.create_function("pathways_casefold", 1, _casefold, deterministic=True)
        cursor = dbapi_connection.cursor()
        try:
            for pragma in (*_SQLITE_PRAGMAS, f"PRAGMA synchronous={synchronous}"):
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = is_read_only(connection)
        _set_query_only(connection, read_only)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _set_query_only(connection: Connection, on: bool) -> None:
    """Switch SQLite's query_only on the pooled connection, only when it must change."""
    info = connection.connection.info  # lives as long as the DBAPI connection
    if info.get("query_only", False) != on:
        connection.exec_driver_sql(f"PRAGMA query_only={'ON' if on else 'OFF'}")
        info["query_only"] = on
