"""The tamper-evident record (issue 17 item 7), on real SQLite files and PostgreSQL: events
written by the engine chain, `pathways verify` finds them whole, and names the first event
of a case that was edited, deleted or moved by SQL run straight on the database; a log cut
short is caught by the case's recorded last event and by the published chain head; the
migration's backfill makes chains that verify."""

from __future__ import annotations

import importlib.util
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import delete, func, insert, select, update

from adapters.cli import cli as pathways_cli
from adapters.definition_files import read_bundle
from adapters.sql import chain, make_engine, migrations, upgrade
from adapters.sql.schema import downgrade
from adapters.sql.tables import cases, chain_heads, events
from engine import Engine
from engine.model import NewEvent
from engine.ports import UnitOfWorkFactory
from tests.unit.engine.fakes import FakeClock

_TWO_STEPS = """\
pathway: two_steps
title: Two steps
roles:
  worker: {title: Worker}
steps:
  - task: first
    role: worker
    title: First
    form:
      note: {type: text}
  - task: second
    role: worker
    title: Second
    form:
      score: {type: number}
  - end: done
    reason: done
"""


def _cases(uow_factory: UnitOfWorkFactory, tmp_path: Path, count: int = 3) -> list[int]:
    """count cases of a two-task pathway, the first two run to the end."""
    (tmp_path / "two_steps.yaml").write_text(_TWO_STEPS)
    engine = Engine(uow=uow_factory, clock=FakeClock())
    engine.publish(*read_bundle(tmp_path / "two_steps.yaml"))
    client = engine.add_client("Ann")
    ids = []
    for number in range(count):
        view = engine.start_case("two_steps", client.id or 0)
        if number < 2:
            done = engine.complete_task(view.tasks[0].task.id, {"note": "é ünïcode \u2028"})
            engine.complete_task(done.tasks[0].task.id, {"score": 2.5 + number})
        ids.append(view.case.id or 0)
    return ids


def _event_ids(db_engine: SqlEngine, case_id: int) -> dict[int, int]:
    """seq -> event id of the case's events."""
    with db_engine.connect() as connection:
        return dict(connection.execute(select(events.c.seq, events.c.id)
                                       .where(events.c.case_id == case_id)).all())


def _migration_0022() -> ModuleType:
    """Revision 0022's module (its file name is no Python name)."""
    path = Path(migrations.__file__).parent / "versions" / "0022_event_chain.py"
    spec = importlib.util.spec_from_file_location("revision_0022_event_chain", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(db_engine: SqlEngine, *statements: Any) -> None:
    with db_engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def _only_problem(report: dict[str, Any]) -> dict[str, Any]:
    assert not report["ok"]
    [problem] = report["problems"]
    return dict(problem)


def test_events_written_by_the_engine_verify(uow_factory: UnitOfWorkFactory,
                                             db_engine: SqlEngine, tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    with db_engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(events))
        unhashed = connection.scalar(select(func.count()).where(events.c.hash.is_(None)))
    report = chain.verify(db_engine)
    assert report == {"ok": True, "cases_checked": 3, "events_checked": stored,
                      "problems": [], "problems_total": 0, "head": None}
    assert unhashed == 0 and stored > 3 * 2
    one = chain.verify(db_engine, case_id=ids[0])
    assert one["ok"] and one["cases_checked"] == 1 and one["events_checked"] < stored


def test_data_read_back_differently_hashes_the_same(uow_factory: UnitOfWorkFactory,
                                                    db_engine: SqlEngine,
                                                    tmp_path: Path) -> None:
    """Floats, key order (JSONB keeps its own), a datetime (stored as text), non-ASCII text:
    the hash is of the data as it reads back, on both databases."""
    [case_id] = _cases(uow_factory, tmp_path, count=1)
    at = datetime(2027, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)
    odd = {"z": 1, "a": {"y": [1.5, 2.0, 0.1, 1e-7, 1e20, -0.0], "b": None},
           "when": at, "text": "Zoë \u2028 \U0001f600", "big": 12345678901234567}
    with uow_factory() as uow:
        record = uow.cases.get(case_id)
        assert record is not None
        uow.events.append(case_id, [NewEvent(type="note", at=at, actor="amy", data=odd),
                                    NewEvent(type="note", at=at, data={})],
                          first_seq=record.event_seq + 1)
        record.event_seq += 2
        uow.cases.save(record, record.revision)
        uow.commit()
    assert chain.verify(db_engine)["ok"]


def test_an_edited_event_is_named(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                  tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    edited = _event_ids(db_engine, ids[1])[3]
    _run(db_engine, update(events).where(events.c.id == edited)
         .values(data={"note": "changed afterwards"}))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["case"], problem["sequence"], problem["event"], problem["problem"]) == (
        ids[1], 3, edited, "altered")


@pytest.mark.parametrize("change", [{"actor": "mallory"}, {"type": "note"},
                                    {"step": "elsewhere"}, {"hash": "0" * 64}, {"hash": None}])
def test_any_hashed_field_edited_is_named(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                          tmp_path: Path, change: dict[str, Any]) -> None:
    ids = _cases(uow_factory, tmp_path, count=1)
    edited = _event_ids(db_engine, ids[0])[2]
    _run(db_engine, update(events).where(events.c.id == edited).values(**change))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["sequence"], problem["event"], problem["problem"]) == (2, edited, "altered")


def test_an_edited_time_is_named(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                 tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path, count=1)
    edited = _event_ids(db_engine, ids[0])[1]
    with db_engine.connect() as connection:
        at = connection.scalar(select(events.c.at).where(events.c.id == edited))
    _run(db_engine, update(events).where(events.c.id == edited)
         .values(at=at - timedelta(microseconds=1)))
    assert _only_problem(chain.verify(db_engine))["event"] == edited


def test_a_deleted_event_is_missing(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                    tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    seqs = _event_ids(db_engine, ids[0])
    _run(db_engine, delete(events).where(events.c.id == seqs[2]))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["case"], problem["sequence"], problem["event"], problem["problem"]) == (
        ids[0], 2, None, "missing")
    assert f"(event {seqs[3]})" in problem["detail"]


def test_swapped_events_are_reordered(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                      tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    seqs = _event_ids(db_engine, ids[0])
    e = events.c
    _run(db_engine,  # through a free number: (case_id, seq) is unique
         update(events).where(e.id == seqs[2]).values(seq=-1),
         update(events).where(e.id == seqs[4]).values(seq=2),
         update(events).where(e.id == seqs[2]).values(seq=4))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["case"], problem["sequence"], problem["event"], problem["problem"]) == (
        ids[0], 2, seqs[4], "reordered")
    assert f"where event {seqs[2]} (now at sequence 4) was recorded" in problem["detail"]


def test_a_log_cut_short_is_missing(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                    tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    seqs = _event_ids(db_engine, ids[1])
    last = max(seqs)
    _run(db_engine, delete(events).where(events.c.id == seqs[last]))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["case"], problem["sequence"], problem["event"], problem["problem"]) == (
        ids[1], last, None, "missing")


def test_a_cut_hidden_from_the_case_row_is_caught_by_the_head(
        uow_factory: UnitOfWorkFactory, db_engine: SqlEngine, tmp_path: Path) -> None:
    """Removing a case's last event and setting the case row back to match leaves a chain
    that holds: the head published before it no longer does."""
    ids = _cases(uow_factory, tmp_path)
    head = chain.publish_head(db_engine)
    assert head["published"] and head["cases"] == 3
    report = chain.verify(db_engine)
    assert report["ok"] and report["head"]["ok"] and report["head"]["head"] == head["head"]
    seqs = _event_ids(db_engine, ids[1])
    last = max(seqs)
    _run(db_engine, delete(events).where(events.c.id == seqs[last]),
         update(cases).where(cases.c.id == ids[1]).values(event_seq=last - 1))
    report = chain.verify(db_engine)
    assert report["problems"] == [] and not report["ok"] and not report["head"]["ok"]
    assert "no longer give the head published" in report["head"]["problems"][0]


def test_events_after_the_head_leave_it_whole(uow_factory: UnitOfWorkFactory,
                                              db_engine: SqlEngine, tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)
    chain.publish_head(db_engine)
    engine = Engine(uow=uow_factory, clock=FakeClock())
    [task] = engine.get_case(ids[2]).tasks
    engine.complete_task(task.task.id, {"note": "later"})
    engine.start_case("two_steps", engine.get_case(ids[2]).case.client_id)
    report = chain.verify(db_engine)
    assert report["ok"] and report["head"]["ok"], report


def test_heads_publish_once_a_day_each_after_the_last(uow_factory: UnitOfWorkFactory,
                                                      db_engine: SqlEngine,
                                                      tmp_path: Path) -> None:
    _cases(uow_factory, tmp_path)
    day = datetime(2030, 5, 1, 0, 1, tzinfo=UTC)
    assert chain.publish_daily(db_engine, None, day) == day.date()
    assert chain.publish_daily(db_engine, day.date(), day + timedelta(hours=2)) == day.date()
    again = chain.publish_head(db_engine, day + timedelta(hours=3))
    assert not again["published"]
    later = day + timedelta(days=1)
    assert chain.publish_daily(db_engine, day.date(), later) == later.date()
    with db_engine.connect() as connection:
        heads = connection.execute(select(chain_heads).order_by(chain_heads.c.day)).all()
    assert [h.day for h in heads] == [day.date(), later.date()]
    assert heads[1].previous == heads[0].head and heads[0].head == again["head"]
    assert chain.verify(db_engine)["head"]["ok"]
    # a head rewritten (or one removed) breaks the chain of heads
    _run(db_engine, update(chain_heads).where(chain_heads.c.id == heads[0].id)
         .values(head="f" * 64))
    report = chain.verify(db_engine)
    assert not report["ok"] and "does not follow the head before it" in \
        report["head"]["problems"][0]


def test_the_migration_hashes_stored_events(uow_factory: UnitOfWorkFactory,
                                            db_engine: SqlEngine, database_url: str,
                                            tmp_path: Path) -> None:
    """Back to 0018 (no hashes) and up again: the backfill gives every event the hash the
    engine gave it, so the chains verify, then go on from there."""
    ids = _cases(uow_factory, tmp_path)
    with db_engine.connect() as connection:
        written = dict(connection.execute(select(events.c.id, events.c.hash)).all())
    db_engine.dispose()
    downgrade(database_url, "0018_migration_round_waits")
    upgrade(database_url)
    with db_engine.connect() as connection:
        assert dict(connection.execute(select(events.c.id, events.c.hash)).all()) == written
    assert chain.verify(db_engine)["ok"]
    engine = Engine(uow=uow_factory, clock=FakeClock())
    [task] = engine.get_case(ids[2]).tasks
    engine.complete_task(task.task.id, {"note": "after the migration"})
    assert chain.verify(db_engine)["ok"]


def test_the_migration_hashes_in_pages(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pages smaller than a case: the chain carries on across pages, and across cases."""
    migration = _migration_0022()
    _cases(uow_factory, tmp_path)
    _run(db_engine, update(events).values(hash=None))
    assert not chain.verify(db_engine)["ok"]
    monkeypatch.setattr(migration, "BATCH", 2)
    with db_engine.begin() as connection:
        done = migration.hash_stored_events(connection)
    assert done > 4 and chain.verify(db_engine)["ok"]


def test_the_command_line(uow_factory: UnitOfWorkFactory, db_engine: SqlEngine,
                          migrated_database_url: str, tmp_path: Path) -> None:
    ids = _cases(uow_factory, tmp_path)

    def run(*args: str) -> tuple[int, Any]:
        result = CliRunner().invoke(pathways_cli, ["--db", migrated_database_url, "--json",
                                                   *args])
        return result.exit_code, json.loads(result.stdout)

    code, head = run("chain-head")
    assert code == 0 and head["published"] and head["cases"] == 3
    code, report = run("verify")
    assert code == 0 and report["ok"] and report["head"]["head"] == head["head"]
    edited = _event_ids(db_engine, ids[0])[1]
    _run(db_engine, update(events).where(events.c.id == edited).values(actor="mallory"))
    code, report = run("verify", "--case", str(ids[0]))
    assert code == 1 and report["problems"][0]["event"] == edited and report["head"] is None
    code, report = run("verify", "--case", str(ids[1]))
    assert code == 0 and report["ok"]
    code, error = run("verify", "--case", "999999")
    assert code == 1 and error["error"]["code"] == "not_found"
    assert "case 999999 does not exist" in error["error"]["message"]
    result = CliRunner().invoke(pathways_cli, ["--db", migrated_database_url, "verify"])
    assert result.exit_code == 1
    assert f"case {ids[0]} sequence 1: altered" in result.stdout


def test_a_head_waits_for_events_being_written(uow_factory: UnitOfWorkFactory,
                                              db_engine: SqlEngine, tmp_path: Path) -> None:
    """The head's cut-off is taken once no transaction is writing events: an event written
    but not yet committed when publishing starts is covered (no later head sees an event
    below the cut-off appear)."""
    [case_id] = _cases(uow_factory, tmp_path, count=1)
    published: list[dict[str, Any]] = []
    with uow_factory() as uow:
        record = uow.cases.get(case_id)
        assert record is not None
        uow.events.append(case_id, [NewEvent(type="note", at=datetime.now(UTC))],
                          first_seq=record.event_seq + 1)
        record.event_seq += 1
        uow.cases.save(record, record.revision)
        publisher = threading.Thread(target=lambda: published.append(
            chain.publish_head(db_engine)))
        publisher.start()
        publisher.join(0.5)
        assert publisher.is_alive()  # waiting for this transaction
        uow.commit()
    publisher.join(30)
    with db_engine.connect() as connection:
        newest = connection.scalar(select(func.max(events.c.id)))
    assert published[0]["last_event_id"] == newest
    assert chain.verify(db_engine)["head"]["ok"]


def test_an_event_added_by_sql_is_unrecorded(uow_factory: UnitOfWorkFactory,
                                             db_engine: SqlEngine, tmp_path: Path) -> None:
    """A forged event chained as the engine would chain it, added without the case row."""
    [case_id] = _cases(uow_factory, tmp_path, count=1)
    with db_engine.connect() as connection:
        last = connection.execute(select(events).where(events.c.case_id == case_id)
                                  .order_by(events.c.seq.desc()).limit(1)).one()
    forged = chain.chained([{"case_id": case_id, "seq": last.seq + 1, "type": "task_completed",
                             "at": last.at, "actor": "mallory", "step": "first",
                             "data": {"note": "never happened"}}], last.hash)
    _run(db_engine, insert(events).values(forged))
    problem = _only_problem(chain.verify(db_engine))
    assert (problem["case"], problem["sequence"], problem["problem"]) == (
        case_id, last.seq + 1, "unrecorded")


def test_a_worker_round_that_cannot_publish_tries_again_next_round(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no such folder' / 'db.sqlite'}")
    day = datetime(2030, 5, 1, tzinfo=UTC)
    assert chain.publish_daily(unreachable, None, day) is None
    assert "publishing the chain head failed, trying again next round" in caplog.text
