"""`pathways backup` and `pathways restore`, on SQLite and PostgreSQL: a backup taken while
cases are started and tasks completed restores into a new database as one consistent
snapshot in which every case loads; one taken at rest restores equal to its source, table by
table; bad files and targets get clear errors, and nothing half-written is left."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from adapters.bootstrap import bootstrap
from adapters.settings import Settings
from adapters.sql import make_engine
from adapters.sql.backup import count_rows
from adapters.sql.schema import downgrade, head_revision, upgrade
from engine import ConflictError
from tests.bundles import bundle
from tests.conftest import PostgresTestDatabase

PROGRAM = [sys.executable, "-m", "adapters.cli"]
OLDER_REVISION = "0017_task_organisation"


def pathways(*args: str) -> tuple[int, Any]:
    done = subprocess.run([*PROGRAM, "--json", *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def ok(*args: str) -> dict[str, Any]:
    code, printed = pathways(*args)
    assert code == 0, printed
    assert isinstance(printed, dict)
    return printed


def error(*args: str, code: str) -> dict[str, Any]:
    status, printed = pathways(*args)
    assert status != 0 and printed["error"]["code"] == code, printed
    assert set(printed["error"]) == {"code", "message", "details"}
    found: dict[str, Any] = printed["error"]
    return found


@pytest.fixture
def new_database(request: pytest.FixtureRequest, tmp_path: Path,
                 migrated_database_url: str) -> Iterator[str]:
    """An empty database of the source's dialect: a new SQLite file, or a new PostgreSQL
    database (created here, dropped after) whose search_path names the source's schema."""
    if migrated_database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / f'restored-{secrets.token_hex(3)}.sqlite3'}"
        return
    postgres: PostgresTestDatabase = request.getfixturevalue("postgres_database")
    name = f"pathways_restore_{secrets.token_hex(6)}"
    with postgres.admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(migrated_database_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- what a restored database must be ------------------------------------------------------


def _verify_chains(url: str) -> int:
    """`pathways verify` finds every case's chain of event hashes whole (and the latest
    chain head, if one was published, true to them), and every case loads through the
    engine, with its events. Returns the number of cases."""
    verified = ok("--db", url, "verify")
    assert verified["ok"] and verified["problems"] == [], verified
    application = bootstrap(Settings(database_url=url), migrate=False)
    try:
        engine = application.engine
        cases = engine.list_cases()
        for case in cases:
            assert case.id is not None
            view = engine.get_case(case.id)
            assert view.case.id == case.id and view.case.status == case.status
            events = engine.events(case.id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), case.id
        assert verified["cases_checked"] == len(cases)
        return len(cases)
    finally:
        application.close()


def table_checksums(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows (sorted), to compare two databases."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote
            sums = {}
            for name in count_rows(url):
                rows = sorted(repr(tuple(row)) for row in
                              connection.exec_driver_sql(f"SELECT * FROM {quote(name)}"))
                sums[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
            return sums
    finally:
        engine.dispose()


def events_by_case(url: str) -> dict[int, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found: dict[int, list[tuple[Any, ...]]] = {}
            for row in connection.execute(text(
                    "SELECT case_id, seq, type, step, actor, at FROM events "
                    "ORDER BY case_id, seq")):
                found.setdefault(row[0], []).append(tuple(row))
            return found
    finally:
        engine.dispose()


def case_event_seqs(url: str) -> dict[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(
                text("SELECT id, event_seq FROM cases"))}
    finally:
        engine.dispose()


# -- load ----------------------------------------------------------------------------------


class Load:
    """Cases started and their first task completed, one after another, until stopped."""

    def __init__(self, url: str) -> None:
        self.application = bootstrap(Settings(database_url=url), migrate=False)
        self.stop = threading.Event()
        self.done = 0
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        engine = self.application.engine
        try:
            while not self.stop.is_set():
                client = engine.add_client(f"client {self.done}")
                case = engine.start_case("intake", client.id or 0)
                with suppress(ConflictError):
                    engine.complete_task(case.tasks[0].task.id,
                                         {"risk": "low", "needs_housing": False})
                self.done += 1
        except BaseException as err:  # reported by the test
            self.errors.append(err)

    def __enter__(self) -> Load:
        self.application.engine.publish(*bundle("intake"))
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.application.close()


# -- tests ---------------------------------------------------------------------------------


def test_a_backup_under_load_restores_as_one_consistent_snapshot(
        migrated_database_url: str, new_database: str, tmp_path: Path) -> None:
    source, file = migrated_database_url, tmp_path / "backups" / "pathways.backup"
    with Load(source) as load:
        while load.done < 5 and not load.errors:
            time.sleep(0.05)
        ok("--db", source, "chain-head")  # a head in the backup, for verify to check
        report = ok("--db", source, "backup", str(file))
        before = load.done
        while load.done < before + 5 and not load.errors:  # writes go on after it
            time.sleep(0.05)
    assert not load.errors, load.errors
    assert report["file"] == str(file) and report["size"] == file.stat().st_size > 0
    assert report["revision"] == head_revision() and report["duration"] >= 0
    assert not list(file.parent.glob(".*partial")), "no temporary file is left"

    restored = ok("restore", str(file), "--database", new_database)
    assert restored["tables"] == report["tables"], "the rows the backup counted, no more"
    assert restored["migrated_to"] is None
    cases = _verify_chains(new_database)
    assert cases == report["tables"]["cases"] >= 5

    # one snapshot: each case's events are a prefix of the source's, its event_seq the
    # last of them; cases started after it are not there, nor half their writes
    now, then = events_by_case(source), events_by_case(new_database)
    seqs = case_event_seqs(new_database)
    assert set(seqs) == set(then) and len(now) > len(then)
    for case_id, events in then.items():
        assert events == now[case_id][:len(events)], case_id
        assert seqs[case_id] == len(events), case_id
    assert report["tables"]["events"] == sum(map(len, then.values()))


def test_a_backup_restores_equal_to_its_source(
        migrated_database_url: str, new_database: str, tmp_path: Path) -> None:
    source, file = migrated_database_url, tmp_path / "pathways.backup"
    with Load(source) as load:
        while load.done < 3 and not load.errors:
            time.sleep(0.05)
    ok("--db", source, "backup", str(file))
    ok("restore", str(file), "--database", new_database)
    assert table_checksums(new_database) == table_checksums(source)
    assert _verify_chains(new_database) >= 3

    refused = error("restore", str(file), "--database", new_database, code="conflict")
    assert "--force" in refused["message"] and refused["details"]["tables"]["cases"] >= 3
    ok("restore", str(file), "--database", new_database, "--force")
    assert table_checksums(new_database) == table_checksums(source)


def test_a_backup_of_an_older_schema_is_brought_to_the_newest(
        migrated_database_url: str, new_database: str, tmp_path: Path) -> None:
    downgrade(migrated_database_url, OLDER_REVISION)
    file = tmp_path / "old.backup"
    assert ok("--db", migrated_database_url, "backup", str(file))["revision"] == OLDER_REVISION
    restored = ok("restore", str(file), "--database", new_database)
    assert restored["revision"] == OLDER_REVISION
    assert restored["migrated_to"] == head_revision()


def test_bad_backup_files_are_refused_with_what_is_wrong(
        migrated_database_url: str, new_database: str, tmp_path: Path) -> None:
    file = tmp_path / "good.backup"
    ok("--db", migrated_database_url, "backup", str(file))
    missing = error("restore", str(tmp_path / "nothing"), "--database", new_database,
                    code="invalid_argument")
    assert "nothing" in missing["message"]

    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a backup at all\n" * 10)
    assert "not a Pathways backup" in error(
        "restore", str(garbage), "--database", new_database, code="invalid_argument")["message"]

    truncated = tmp_path / "truncated"
    truncated.write_bytes(file.read_bytes()[:len(file.read_bytes()) // 3])
    assert "damaged" in error("restore", str(truncated), "--database", new_database,
                              code="invalid_argument")["message"]

    other = tmp_path / "other.backup"  # a backup of the other kind of database
    if new_database.startswith("sqlite"):
        other.write_bytes(b"PGDMP" + bytes(200))
    else:
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    wrong = error("restore", str(other), "--database", new_database, code="invalid_argument")
    assert "restore it into a" in wrong["message"]
    assert count_rows(new_database) == {} or not new_database.startswith("sqlite")


def test_a_backup_made_by_newer_code_is_refused(tmp_path: Path) -> None:
    source, file = f"sqlite:///{tmp_path / 'source.sqlite3'}", tmp_path / "new.backup"
    upgrade(source)
    ok("--db", source, "backup", str(file))
    with sqlite3.connect(file) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    connection.close()
    refused = error("restore", str(file), "--database", f"sqlite:///{tmp_path / 't.sqlite3'}",
                    code="invalid_argument")
    assert "newer Pathways" in refused["message"]
    assert refused["details"]["revision"] == "0099_from_the_future"


def test_a_failed_backup_leaves_the_file_it_would_replace(tmp_path: Path) -> None:
    file = tmp_path / "kept.backup"
    file.write_bytes(b"yesterday's backup")
    missing = error("--db", f"sqlite:///{tmp_path / 'absent.sqlite3'}", "backup", str(file),
                    code="not_found")
    assert "absent.sqlite3" in missing["message"]
    error("--db", "postgresql://postgres@127.0.0.1:5432/no_such_database_here", "backup",
          str(file), code="database_error")
    assert file.read_bytes() == b"yesterday's backup"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.backup"]
