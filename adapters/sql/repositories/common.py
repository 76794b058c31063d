"""What every repository module shares: dialect-specific inserts, row mapping and the base
class holding the unit of work's connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Executable,
    Insert,
    Result,
    Row,
    Table,
    case,
    func,
    insert,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")
_Built = TypeVar("_Built")
STREAM_BATCH = 1000  # rows a streamed read holds at a time (Repository._stream)

DIALECT_INSERTS: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def insert_if_absent(connection: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a duplicate is skipped without aborting the transaction.

    PostgreSQL aborts the whole transaction on a unique violation, so "try and catch" would
    not do; both backends spell the clause the same way.
    """
    return DIALECT_INSERTS[connection.dialect.name](table).on_conflict_do_nothing()


def insert_id(connection: Connection, table: Table, columns: Mapping[str, Any]) -> int:
    """Insert one row and return the id the database gave it."""
    return int(connection.execute(
        insert(table).values(**columns).returning(table.c.id)).scalar_one())


def insert_id_if_absent(connection: Connection, table: Table, columns: Mapping[str, Any]
                        ) -> int | None:
    """Insert one row unless it clashes with a unique one (see insert_if_absent): its new id,
    or None when it was skipped."""
    new_id = connection.execute(insert_if_absent(connection, table).values(**columns)
                                .returning(table.c.id)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def matching(*wanted: tuple[ColumnElement[Any], Any]) -> list[ColumnElement[bool]]:
    """Equality filters for the (column, value) pairs whose value is given; None filters
    nothing."""
    return [column == value for column, value in wanted if value is not None]


# Row mapping: the model's dataclasses name their fields as the tables name their columns,
# so a record is read and written field by field; `converted` gives the few fields whose
# stored form differs (a tuple kept as a JSON list, a renamed column).


@cache
def field_names(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(cls))


def record_from(cls: type[_Record], row: Row[Any], **converted: Any) -> _Record:
    """The record of type cls held in row: each field from the column of its name."""
    mapping = row._mapping
    read = {name: mapping[name] for name in field_names(cls) if name not in converted}
    return cls(**read, **converted)


def records_from(cls: type[_Record], result: Result[Any]) -> list[_Record]:
    """Every record of type cls in result: record_from for many rows, each field found by
    its column's place once, not by name in every row (30,000 outcome events took 0.3 s)."""
    keys = list(result.keys())
    names = field_names(cls)
    places = [keys.index(name) for name in names]
    return [cls(**dict(zip(names, [row[place] for place in places], strict=True)))
            for row in result.all()]


def columns_of(record: DataclassInstance, *, leave_out: Iterable[str] = ("id",),
               **converted: Any) -> dict[str, Any]:
    """The column values of record, one per field, for an INSERT or UPDATE: every field but
    those left out (by default the id the database gives)."""
    skipped = {*leave_out, *converted}
    kept = {name: getattr(record, name) for name in field_names(type(record))
            if name not in skipped}
    return {**kept, **converted}


class SqlRepository:
    """A repository on the Connection of its unit of work; it never commits."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _one(self, build: Callable[[Row[Any]], _Built], statement: Executable,
             parameters: Mapping[str, Any] | None = None) -> _Built | None:
        """The record of the one row statement finds, or None when it finds none."""
        row = self._connection.execute(statement, parameters).one_or_none()
        return None if row is None else build(row)

    def _all(self, build: Callable[[Row[Any]], _Built], statement: Executable
             ) -> list[_Built]:
        """The records of every row statement finds, in its order (fetched at once: a row at
        a time costs a driver call each, seconds over 100,000 rows)."""
        return [build(row) for row in self._connection.execute(statement).all()]

    def _stream(self, build: Callable[[Row[Any]], _Built], statement: Executable
                ) -> Iterator[_Built]:
        return stream_rows(self._connection, build, statement)


def stream_rows(connection: Connection, build: Callable[[Row[Any]], _Built],
                statement: Executable) -> Iterator[_Built]:
    """The records of every row statement finds, in its order, fetched STREAM_BATCH rows at
    a time as they are consumed (a server-side cursor on PostgreSQL): memory holds one
    batch, however many rows there are."""
    result = connection.execution_options(yield_per=STREAM_BATCH).execute(statement)
    try:
        for partition in result.partitions():
            yield from map(build, partition)
    finally:
        result.close()


def text_at(column: ColumnElement[Any], path: str, dialect: str) -> ColumnElement[Any]:
    """The text at the dotted path in column where the document holds text there (None
    where absent or another kind of value): no JSON for the driver to parse."""
    if '"' in path:
        raise ValueError(f"a JSON path with a double quote: {path!r}")
    keys = path.split(".")
    if dialect != "sqlite":
        return case((func.jsonb_typeof(func.jsonb_extract_path(column, *keys)) == "string",
                     func.jsonb_extract_path_text(column, *keys)), else_=None)
    where = "$" + "".join(f'."{key}"' for key in keys)
    return case((func.json_type(column, where) == "text", func.json_extract(column, where)),
                else_=None)


def json_at(column: ColumnElement[Any], path: str, dialect: str) -> ColumnElement[Any]:
    """The JSON value at the dotted path in column, as the whole document holds it (None where
    absent). SQLite's json_extract gives true and false as 1 and 0, so json_type tells them
    apart; a path with a double quote cannot be written in SQLite's JSON paths and is not
    a field name, so it is refused."""
    if '"' in path:
        raise ValueError(f"a JSON path with a double quote: {path!r}")
    keys = path.split(".")
    if dialect != "sqlite":
        return column[tuple(keys)] if len(keys) > 1 else column[path]
    where = "$" + "".join(f'."{key}"' for key in keys)
    kind = func.json_type(column, where)
    return type_coerce(case((kind == "true", "true"), (kind == "false", "false"),
                            else_=func.json_quote(func.json_extract(column, where))), JSON)


# Cases known, in the connection's current transaction, to wait in no migration: the step's
# one read before its events (adapters.sql.append_read) asks, so the engine's question at the
# end of the step (SqlMigrationRepository.waiting) costs no round trip. Any write to
# migration_cases on the connection forgets them (forget_waits, from the unit of work's
# statement hook), and so does the end of the transaction.
_NO_WAITS = "pathways_no_waits"


def note_no_waits(connection: Connection, case_id: int) -> None:
    """Case case_id waits in no migration, as read in this transaction."""
    transaction = connection.get_transaction()
    found = connection.info.get(_NO_WAITS)
    if found is None or found[0] is not transaction:
        found = connection.info[_NO_WAITS] = (transaction, set[int]())
    found[1].add(case_id)


def known_no_waits(connection: Connection, case_id: int) -> bool:
    """Whether note_no_waits said so in this transaction, with no migration_cases written
    since."""
    found = connection.info.get(_NO_WAITS)
    return (found is not None and found[0] is connection.get_transaction()
            and case_id in found[1])


def forget_waits(connection: Connection) -> None:
    connection.info.pop(_NO_WAITS, None)
