"""Backups that restore: a consistent copy of the whole database in one file, and back.

SQLite: the sqlite3 online backup API copies the database in one step, inside one read
transaction, so the copy is the database as one commit left it while writers go on (under
WAL they are not held up). PostgreSQL: `pg_dump --format=custom` of the database's schema
in the snapshot of a REPEATABLE READ transaction of our own (`--snapshot`), so the row counts
reported are those of the very snapshot dumped; `pg_restore` in one transaction brings it
back. A backup is written to a temporary file beside FILE and renamed over it when complete:
FILE is never half-written. A restore refuses a target that holds data (unless forced), a
backup of another dialect, one that is corrupt, and one of a schema revision this code does
not know (made by newer code); one of an older revision is brought to the newest after.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from adapters.sql.database import make_engine, normalize_url
from adapters.sql.schema import alembic_config, head_revision, upgrade
from engine.errors import ConflictError, InvalidArgumentError, NotFoundError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
KINDS = {"sqlite": "a SQLite database file", "postgresql": "a pg_dump archive (PostgreSQL)"}
# Tables a newly migrated database already has rows in: they do not make it "hold data"
_SCHEMA_ROWS = frozenset({"alembic_version", "data_revision"})
_PG_TIMEOUT = 3600  # seconds a pg_dump or pg_restore may take before it is stopped


class BackupError(InvalidArgumentError):
    """A backup or restore that cannot be done as asked (the file, the target, a tool)."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote, or what a restore brought back."""

    file: str
    dialect: str
    size: int
    tables: dict[str, int]
    revision: str | None
    duration: float
    migrated_to: str | None = None  # a restore of an older revision: brought to this one
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "dialect": self.dialect, "size": self.size,
                "tables": self.tables, "rows": sum(self.tables.values()),
                "revision": self.revision, "duration": round(self.duration, 3),
                "migrated_to": self.migrated_to, "notes": self.notes}


def dialect_of(url: str, *, connect: bool = True) -> str:
    """The database's dialect, after connecting to it (unless `connect` is false): a
    database that cannot be used is a SQLAlchemy error, like any command's."""
    engine = make_engine(url)  # an unknown kind of database fails here
    try:
        if connect:
            with engine.connect() as connection:
                _table_names(connection)  # a file that is no database fails here
    finally:
        engine.dispose()
    backend = normalize_url(url).get_backend_name()
    if backend not in KINDS:
        raise BackupError(f"cannot back up a {backend} database (only SQLite and PostgreSQL)")
    return backend


def file_kind(path: Path) -> str | None:
    """"sqlite" or "postgresql" by the file's first bytes; None for anything else."""
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    return None


def backup(url: str, file: Path) -> BackupReport:
    """Write a consistent backup of the database at url to file (atomically)."""
    if normalize_url(url).get_backend_name() == "sqlite" and not _sqlite_path(url).is_file():
        raise NotFoundError(f"no SQLite database at {_sqlite_path(url)}",
                            details={"file": str(_sqlite_path(url))})
    dialect = dialect_of(url)
    started = time.monotonic()
    if file.is_dir():
        raise BackupError(f"{file} is a folder: give the backup's file name",
                          details={"file": str(file)})
    file.parent.mkdir(parents=True, exist_ok=True)
    with _partial(file) as partial:
        if dialect == "sqlite":
            tables, revision = _sqlite_backup(_sqlite_path(url), partial)
        else:
            tables, revision = _pg_backup(url, partial)
    return BackupReport(str(file), dialect, file.stat().st_size, tables, revision,
                        time.monotonic() - started)


def restore(url: str, file: Path, *, force: bool = False) -> BackupReport:
    """Bring the backup in file back into the database at url (which must hold no data,
    unless force), then the schema to the newest revision if the backup's is older."""
    sqlite = normalize_url(url).get_backend_name() == "sqlite"
    dialect = dialect_of(url, connect=not sqlite or _sqlite_path(url).is_file())
    started = time.monotonic()
    kind = _checked_kind(file, dialect)
    if kind == "sqlite":
        revision = _check_revision(_sqlite_file_revision(file), file)
        _sqlite_restore(file, _sqlite_path(url), force=force)
    else:
        schema, found = _pg_archive_revision(file)
        revision = _check_revision(found, file)
        _pg_restore(url, file, schema, force=force)
    migrated = None
    if revision != head_revision():
        upgrade(url)
        migrated = head_revision()
    return BackupReport(str(file), dialect, file.stat().st_size, count_rows(url), revision,
                        time.monotonic() - started, migrated_to=migrated)


# -- shared ----------------------------------------------------------------------------------


@contextmanager
def _partial(file: Path) -> Iterator[Path]:
    """A temporary file beside file, renamed over it (and synced) when the block succeeds,
    removed when it fails."""
    partial = file.with_name(f".{file.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)
    with suppress(OSError):  # the rename made durable, where the platform allows it
        folder = os.open(file.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _checked_kind(file: Path, dialect: str) -> str:
    if not file.exists():
        raise BackupError(f"no backup file {file}", details={"file": str(file)})
    if not file.is_file():
        raise BackupError(f"{file} is not a file", details={"file": str(file)})
    kind = file_kind(file)
    if kind is None:
        raise BackupError(f"{file} is not a Pathways backup: neither {KINDS['sqlite']} nor "
                          f"{KINDS['postgresql']}", details={"file": str(file)})
    if kind != dialect:
        raise BackupError(f"{file} is {KINDS[kind]}, but the database is {dialect}: restore "
                          f"it into a {kind} database", details={"file": str(file),
                                                                 "kind": kind,
                                                                 "dialect": dialect})
    return kind


def _check_revision(revision: str | None, file: Path) -> str:
    """The backup's schema revision, if this code knows it; else why it cannot be restored."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    details = {"file": str(file), "revision": revision, "code_revision": head_revision()}
    if revision is None:
        raise BackupError(f"{file} holds no schema revision (no alembic_version row): not a "
                          "Pathways backup, or one of an empty database", details=details)
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"{file} was made at schema revision {revision}, which this code does not know "
            f"(its newest is {head_revision()}): it was made by a newer Pathways. Restore it "
            "with that version (or newer), then upgrade", details=details)
    return revision


def count_rows(url: str) -> dict[str, int]:
    """Rows of every table of the database at url (its schema, on PostgreSQL)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _count(connection, _table_names(connection))
    finally:
        engine.dispose()


def _table_names(connection: Connection) -> list[str]:
    if connection.dialect.name == "sqlite":
        query = ("SELECT name FROM sqlite_master WHERE type = 'table' "
                 "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    else:
        query = ("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                 "ORDER BY tablename")
    return [row[0] for row in connection.exec_driver_sql(query)]


def _count(connection: Connection, names: list[str], schema: str | None = None
           ) -> dict[str, int]:
    quote = connection.dialect.identifier_preparer.quote
    prefix = f"{quote(schema)}." if schema else ""
    return {name: int(connection.exec_driver_sql(
        f"SELECT count(*) FROM {prefix}{quote(name)}").scalar_one()) for name in names}


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = normalize_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"the SQLite database must be a file (got {database!r})")
    return Path(database)


def _sqlite_backup(source: Path, partial: Path) -> tuple[dict[str, int], str | None]:
    if not source.is_file():
        raise NotFoundError(f"no SQLite database at {source}", details={"file": str(source)})
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        # pages=-1: the whole database in one step, one read transaction, one snapshot
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        return _sqlite_counts(dst), _sqlite_revision(dst)
    finally:
        dst.close()
        src.close()


def _sqlite_counts(connection: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            for name in names}


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    return str(row[0]) if row else None


def _sqlite_file_revision(file: Path) -> str | None:
    """The revision of a SQLite backup file, after checking that it is intact."""
    connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        check = connection.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise BackupError(f"{file} is damaged: {'; '.join(r[0] for r in check[:5])}",
                              details={"file": str(file)})
        return _sqlite_revision(connection)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{file} is damaged: {err}", details={"file": str(file)}) from err
    finally:
        connection.close()


def _sqlite_restore(file: Path, target: Path, *, force: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    dst = sqlite3.connect(target, timeout=30)
    src = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        held = {name: rows for name, rows in _sqlite_counts(dst).items()
                if rows and name not in _SCHEMA_ROWS}
        if held and not force:
            raise _not_empty(str(target), held)
        src.backup(dst, pages=-1)  # replaces the target's pages in one transaction
    finally:
        src.close()
        dst.close()


def _not_empty(target: str, held: dict[str, int]) -> ConflictError:
    return ConflictError(
        f"the database {target} holds data ({sum(held.values())} row(s) in {len(held)} "
        "table(s)): restore into an empty database, or give --force to replace everything "
        "in it", details={"tables": held})


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed: PostgreSQL backups need the PostgreSQL "
                          f"client tools (e.g. apt-get install postgresql-client-15)")
    return found


def _pg_env(url: URL) -> dict[str, str]:
    """libpq's variables for url: the password never on a command line."""
    values = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
              "PGPASSWORD": url.password, "PGDATABASE": url.database}
    return {**os.environ, **{k: str(v) for k, v in values.items() if v is not None}}


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=_PG_TIMEOUT, check=False)  # argv: ours, no shell
    except subprocess.TimeoutExpired as err:
        raise BackupError(f"{what} took over {_PG_TIMEOUT} s and was stopped") from err
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {message[-2000:]}",
                          details={"tool": Path(argv[0]).name})
    return done.stdout


def _pg_backup(url: str, partial: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = _pg_tool("pg_dump")
    engine = make_engine(url)
    try:
        with (engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
              conn.begin()):
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            if schema is None:
                raise BackupError("the database has no schema to back up (its "
                                  "search_path names none that exists)")
            tables = _count(conn, _table_names(conn))
            revision = (conn.execute(text("SELECT version_num FROM alembic_version"))
                        .scalar() if "alembic_version" in tables else None)
            # pg_dump reads in our snapshot: this transaction stays open until it ends
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}",
                  f"--schema={schema}", "--no-owner", "--no-privileges",
                  f"--file={partial}"], _pg_env(normalize_url(url)), "pg_dump")
    finally:
        engine.dispose()
    return tables, revision


_COPY = re.compile(r'^COPY ("?)(?P<schema>.+?)\1\.alembic_version \(version_num\) FROM stdin;$')


def _pg_archive_revision(file: Path) -> tuple[str, str | None]:
    """The schema a pg_dump archive holds and its alembic revision (from the archive's
    alembic_version data, read without restoring anything)."""
    pg_restore = _pg_tool("pg_restore")
    try:
        script = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-",
                       str(file)], dict(os.environ), "reading the backup")
    except BackupError as err:
        raise BackupError(f"{file} is damaged: {err.message}",
                          details={"file": str(file)}) from err
    lines = script.splitlines()
    for number, line in enumerate(lines):
        if match := _COPY.match(line):
            value = lines[number + 1] if number + 1 < len(lines) else "\\."
            return match["schema"], None if value == "\\." else value.strip()
    raise BackupError(f"{file} holds no alembic_version table: not a Pathways backup",
                      details={"file": str(file)})


def _pg_restore(url: str, file: Path, schema: str, *, force: bool) -> None:
    pg_restore = _pg_tool("pg_restore")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            path = conn.execute(text("SELECT current_setting('search_path')")).scalar_one()
            first = next((p.strip().strip('"') for p in str(path).split(",")
                          if p.strip() != '"$user"'), "public")
            if first != schema:
                raise BackupError(
                    f"the backup holds schema {schema!r}, but the target database uses "
                    f"{first!r} (its search_path): restore into a database whose search_path "
                    f"starts with {schema!r}", details={"schema": schema, "target": first})
            names = [row[0] for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema})]
            held = {name: rows for name, rows in _count(conn, names, schema).items()
                    if rows and name not in _SCHEMA_ROWS}
        if held and not force:
            raise _not_empty(normalize_url(url).render_as_string(hide_password=True), held)
        with engine.begin() as conn:  # a dump of one schema leaves out the extensions it
            # uses: the client search's trigram index (migration 0020) needs pg_trgm's
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    finally:
        engine.dispose()
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--exit-on-error", "--single-transaction",
          f"--dbname={normalize_url(url).database}", str(file)],
         _pg_env(normalize_url(url)), "pg_restore")
