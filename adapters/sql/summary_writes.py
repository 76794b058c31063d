"""A step's summary writes in one statement on PostgreSQL (issue 19).

Appending a step's events writes the dashboard's summaries into up to eight tables
(adapters.sql.summaries and step_summaries: the events' rows, the strings in them, the
case's row, its steps, the medians' values, the groups, the buckets, the activity), each an
INSERT or an upsert of a few rows. On PostgreSQL each was a round trip of its own, a third of
a step's statements. `Writes` collects them and `flush` sends them as one statement: each
write a data-modifying CTE (WITH w AS (INSERT ... SELECT ... FROM json_to_recordset(...)
ON CONFLICT ...)), its rows one JSON parameter. The rows, the conflict clauses and so the
rows stored are those the separate statements wrote; the rows of an upsert go in their key
order, as the separate statements sent them (two transactions lock shared rows in the same
order). The writes are to different tables, so none reads another's rows; each record()
flushes before it returns, so what follows in the transaction reads them all.

SQLite has no data-modifying CTE and no round trip (it runs in the process): there each
write is executed when it is added, as before.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, String, bindparam, cast, column, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert

Rows = Sequence[dict[str, Any]]


class Writes:
    """The summary writes of one record(): executed at once, or (`batched`, by default on
    PostgreSQL) kept for one statement at flush()."""

    def __init__(self, connection: Connection, *, batched: bool | None = None) -> None:
        self.connection = connection
        self.batched = (connection.dialect.name == "postgresql" if batched is None
                        else batched)
        self._pending: dict[str, tuple[Insert, Rows]] = {}

    def add(self, name: str, statement: Insert, rows: Rows) -> None:
        """Write `rows` with `statement` (an INSERT, maybe ON CONFLICT, built once: `name`
        stands for it)."""
        if not rows:
            return
        if not self.batched:
            self.connection.execute(statement, list(rows))
            return
        if name in self._pending:  # one CTE per statement: send what came before first
            self.flush()
        self._pending[name] = (statement, rows)

    def flush(self) -> None:
        """Send the writes kept, in one statement."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        if len(pending) == 1:
            ((statement, rows),) = pending.values()
            self.connection.execute(statement, list(rows))
            return
        shape = tuple((name, statement, tuple(rows[0])) for name, (statement, rows)
                      in pending.items())
        self.connection.execute(_combined(shape), {
            f"p_{name}": orjson.dumps(rows, default=_json, option=orjson.OPT_PASSTHROUGH_DATETIME
                                      ).decode() for name, (_, rows) in pending.items()})


def _json(value: Any) -> Any:
    """A timestamp as adapters.sql.table_types.UtcDateTime binds it: aware, in UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware one")
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot write {type(value).__name__} into a summary")


@functools.cache
def _combined(shape: tuple[tuple[str, Insert, tuple[str, ...]], ...]) -> Any:
    """One statement of the writes (name, statement, columns given): built once per shape,
    as each statement was (building one costs more than running it)."""
    ctes = [_from_json(name, statement, columns).cte(f"w_{name}")
            for name, statement, columns in shape]
    return select(literal(1)).add_cte(*ctes)


def _from_json(name: str, statement: Insert, columns: tuple[str, ...]) -> Insert:
    """`statement` with its rows read from the JSON parameter p_<name>, in the order of the
    table's primary key."""
    table = statement.table
    rows = func.json_to_recordset(
        cast(bindparam(f"p_{name}", type_=String), postgresql.JSON)
    ).table_valued(*(column(name, table.c[name].type) for name in columns)
                   ).render_derived(name=f"r_{name}", with_types=True)
    order = [rows.c[key.name] for key in table.primary_key if key.name in columns]
    return statement.from_select(list(columns),
                                 select(*(rows.c[name] for name in columns)).order_by(*order))
