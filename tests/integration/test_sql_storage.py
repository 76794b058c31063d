"""The SQL storage adapter against real databases: every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, make_url, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import StatementError

from adapters.sql import (
    SqlAlchemyUnitOfWorkFactory,
    current_revision,
    make_engine,
    upgrade,
)
from adapters.sql.schema import alembic_config, downgrade, head_revision
from adapters.sql.tables import UtcDateTime, cases, inbox_tasks, metadata, migration_cases
from engine.errors import ConflictError, NotFoundError
from engine.model import (
    AccessEntry,
    AllocationPolicy,
    ApiToken,
    Bundle,
    CaseRecord,
    Client,
    ComparisonEvent,
    ComparisonRate,
    ComparisonSubject,
    Consent,
    Draft,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    NewEvent,
    Organisation,
    OutcomeEvent,
    OutcomeImport,
    PathwayVersion,
    Timer,
    User,
)
from engine.ports import UnitOfWork, UnitOfWorkFactory
from engine.workflow.clock import running_at
from tests.databases import migrated_engine

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _add_client(uow: UnitOfWork, name: str = "Ada") -> int:
    client_id = uow.clients.add(Client(id=None, name=name)).id
    assert client_id is not None
    return client_id


def _add_case_in(uow: UnitOfWork) -> int:
    case = uow.cases.add(CaseRecord(id=None, pathway="housing", version=1,
                                    client_id=_add_client(uow), status="active", state={}))
    assert case.id is not None
    return case.id


def _add_case(uow_factory: UnitOfWorkFactory, **changes: Any) -> int:
    """A committed active case of a new client."""
    with uow_factory() as uow:
        record = CaseRecord(id=None, pathway="housing", version=1, client_id=_add_client(uow),
                            status="active", state={"tasks": []})
        case_id = uow.cases.add(replace(record, **changes)).id
        uow.commit()
    assert case_id is not None
    return case_id


def _get_case(uow: UnitOfWork, case_id: int) -> CaseRecord:
    case = uow.cases.get(case_id)
    assert case is not None
    return case


def _task(task_id: str, case_id: int, **changes: Any) -> InboxTask:
    task = InboxTask(id=task_id, case_id=case_id, pathway="housing", version=1, step=task_id,
                     title=task_id.title(), role="caseworker", form=None, due=None)
    return replace(task, **changes)


# --- schema and engine -------------------------------------------------------------------


def test_migration_creates_exactly_the_tables(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(database_url) is None

    upgrade(database_url)
    upgrade(database_url)  # nothing left to do the second time

    assert current_revision(database_url) == head
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_object": _on_backend(connection.dialect.name)})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def _on_backend(dialect: str) -> Any:
    """Alembic's include_object leaving out what tables.py creates on another backend only
    (Index.ddl_if: the trigram index of client names is PostgreSQL's)."""
    def include(found: Any, *_args: Any) -> bool:
        only = getattr(found, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)
    return include


def _index(found: Any) -> dict[str, Any]:
    """An inspected index with its options as text (a partial index's WHERE is a clause
    object, which compares by identity)."""
    return {**found, "dialect_options": {key: str(value) for key, value
                                         in found.get("dialect_options", {}).items()}}


def _schema_of(url: str) -> dict[str, Any]:
    """Every table's columns, indexes, keys and constraints, and the revision, as inspected."""
    engine = make_engine(url)
    try:
        seen = inspect(engine)
        tables = {name: {"columns": [(c["name"], str(c["type"]), c["nullable"],
                                      str(c.get("default"))) for c in seen.get_columns(name)],
                         "indexes": sorted(str(sorted(_index(i).items()))
                                           for i in seen.get_indexes(name)),
                         "primary": seen.get_pk_constraint(name)["constrained_columns"],
                         "foreign": sorted(str(sorted(f.items()))
                                           for f in seen.get_foreign_keys(name)),
                         "unique": sorted(str(sorted(u.items()))
                                          for u in seen.get_unique_constraints(name)),
                         "checks": sorted(str(sorted(c.items()))
                                          for c in seen.get_check_constraints(name))}
                  for name in seen.get_table_names()}
        with engine.connect() as connection:
            rows = {name: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {name}").scalar()
                    for name in tables}
        return {"tables": tables, "rows": rows, "revision": current_revision(url)}
    finally:
        engine.dispose()


def test_the_tests_copied_schema_is_the_one_the_migrations_make(
        migrated_database_url: str, database_url: str, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    """The fixtures copy a database migrated once per test process (or replay its statements
    on PostgreSQL) instead of migrating for every test: the copy must be that schema exactly,
    or every storage test would be testing another database than users get."""
    if database_url.startswith("sqlite"):
        fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        schema = None
    else:
        postgres = request.getfixturevalue("postgres_database")
        schema = postgres.create_schema()
        fresh = postgres.schema_url(schema)
    try:
        upgrade(fresh)
        copied, migrated = _schema_of(migrated_database_url), _schema_of(fresh)
    finally:
        if schema is not None:
            postgres.drop_schema(schema)
    assert fresh != migrated_database_url
    assert copied["revision"] == head_revision()
    assert len(copied["tables"]) > 20
    assert copied == migrated


def test_migration_downgrades_to_an_empty_database(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_postgresql_sessions_run_in_utc_whatever_the_zone_asked(postgres_url: str) -> None:
    """Instants come back in UTC without a conversion per value, and a month or date taken
    in SQL is the UTC one as on SQLite, even where the server or the URL names another zone
    (here Auckland, where 23:30 UTC on 31 January is already February)."""
    options = dict(make_url(postgres_url).query)["options"]
    url = make_url(postgres_url).update_query_dict(
        {"options": f"{options} -ctimezone=Pacific/Auckland"}).render_as_string(
            hide_password=False)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            zone, instant, month = connection.execute(text(
                "SELECT current_setting('TimeZone'), TIMESTAMPTZ '2026-01-31 23:30:00+00', "
                "to_char(TIMESTAMPTZ '2026-01-31 23:30:00+00', 'YYYY-MM')")).one()
    finally:
        engine.dispose()
    assert zone == "UTC"
    assert instant.tzinfo is UTC and instant == datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert month == "2026-01"
    assert UtcDateTime().process_result_value(instant, postgresql.dialect()) is instant


def test_make_engine_sends_plain_postgresql_urls_to_psycopg() -> None:
    engine = make_engine("postgresql://someone@db.invalid/pathways")
    try:
        assert engine.url.drivername == "postgresql+psycopg"
    finally:
        engine.dispose()


def test_sqlite_connections_get_the_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}", "full")
    try:
        with engine.connect() as connection:
            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL (test_durability.py: both settings)
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 10000
    finally:
        engine.dispose()


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """A second unit of work waits for the first to commit, then sees its write."""
    with migrated_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}") as engine:
        uow_factory = SqlAlchemyUnitOfWorkFactory(engine)
        case_id = _add_case(uow_factory)
        first_entered = threading.Event()

        def first() -> None:
            with uow_factory() as uow:
                first_entered.set()
                case = _get_case(uow, case_id)
                time.sleep(0.2)  # the second writer is now waiting for the lock
                uow.cases.save(case, expected_revision=case.revision)
                uow.commit()

        def second() -> int:
            assert first_entered.wait(timeout=10)
            with uow_factory() as uow:
                case = _get_case(uow, case_id)
                uow.cases.save(case, expected_revision=case.revision)
                uow.commit()
                return case.revision

        with ThreadPoolExecutor(2) as pool:
            first_done = pool.submit(first)
            second_done = pool.submit(second)
            first_done.result()
            assert second_done.result() == 2


# --- round trips -------------------------------------------------------------------------


def test_versions_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    bundle = Bundle(hash="a" * 64, files={"main.bpmn": "<definitions/>", "forms/a.json": "{}"})
    with uow_factory() as uow:
        uow.versions.add_bundle(bundle)
        uow.versions.add_bundle(bundle)
        first = uow.versions.add(PathwayVersion(
            pathway="housing", number=1, bundle_hash=bundle.hash, main_file="main.bpmn",
            note="first", author="ana", published_at=T0, start_messages=("referral",),
            processes=("housing", "assessment")))
        with running_at(T0 + DAY):
            second = uow.versions.add(replace(first, id=None, number=2, published_at=None))
        other = uow.versions.add(replace(first, id=None, pathway="benefits", number=1))
        uow.commit()
    with uow_factory() as uow:
        uow.versions.add_bundle(Bundle(hash=bundle.hash, files={}))  # present: left as it is
        uow.commit()

    assert first.id is not None
    assert second.published_at == T0 + DAY
    with uow_factory() as uow:
        assert uow.versions.bundle(bundle.hash) == bundle
        assert uow.versions.bundle("b" * 64) is None
        assert uow.versions.get("housing", 1) == first
        assert uow.versions.get("housing", 3) is None
        assert uow.versions.latest("housing") == second
        assert uow.versions.latest("nothing") is None
        assert uow.versions.list() == [other, first, second]
        assert uow.versions.list("housing") == [first, second]
        assert uow.versions.latest_all() == [other, second]


def test_clients_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with running_at(T0), uow_factory() as uow:
        ada = uow.clients.add(Client(id=None, name="Ada", fields={"postcode": "N1 9GU"}))
        bo = uow.clients.add(Client(id=None, name="Bo", created_at=T0 - DAY))
        uow.commit()
    assert ada.created_at == T0
    with uow_factory() as uow:
        assert ada.id is not None
        assert uow.clients.get(ada.id) == ada
        assert uow.clients.get(ada.id + 1000) is None
        assert uow.clients.list() == [ada, bo]


def test_cases_round_trip(uow_factory: UnitOfWorkFactory, db_engine: Engine) -> None:
    with running_at(T0), uow_factory() as uow:
        ada, bo = _add_client(uow, "Ada"), _add_client(uow, "Bo")
        active = uow.cases.add(CaseRecord(
            id=None, pathway="housing", version=1, client_id=ada, status="active",
            state={"spec": None, "tasks": {"x": {"state": 16}}}, data={"score": 3}))
        failed = uow.cases.add(CaseRecord(
            id=None, pathway="housing", version=2, client_id=bo, status="error",
            state={}, error={"code": "script_error", "message": "division by zero"}))
        benefits = uow.cases.add(CaseRecord(
            id=None, pathway="benefits", version=1, client_id=ada, status="active", state={}))
        uow.commit()

    assert active.created_at == active.updated_at == T0
    with uow_factory() as uow:
        assert active.id is not None
        assert uow.cases.get(active.id) == active
        assert uow.cases.get(active.id + 1000) is None
        assert uow.cases.get(active.id, with_state=False) == replace(active, state={})
        listed = replace(active, state={})  # listings leave the (large) state out
        assert uow.cases.list() == [listed, failed, benefits]
        assert uow.cases.list(pathway="housing") == [listed, failed]
        assert uow.cases.list(pathway="housing", status="active") == [listed]
        assert uow.cases.list(client_id=ada) == [listed, benefits]
        assert uow.cases.list(version=1) == [listed, benefits]
        assert uow.cases.list(pathway="housing", version=2) == [failed]
        assert uow.cases.list(pathway="benefits", version=2) == []
        assert uow.cases.count_by_version("housing") == {1: 1, 2: 1}
        assert uow.cases.count_by_version("nothing") == {}
    with db_engine.connect() as connection:  # no error is SQL NULL, not JSON null
        without_error = connection.scalars(select(cases.c.id).where(cases.c.error.is_(None)))
        assert set(without_error) == {active.id, benefits.id}


def test_save_writes_the_next_revision(uow_factory: UnitOfWorkFactory) -> None:
    case_id = _add_case(uow_factory, created_at=T0)
    with uow_factory() as uow:
        case = _get_case(uow, case_id)
        case.status = "completed"
        case.version = 2
        case.state = {"tasks": {"done": True}}
        case.data = {"outcome": "housed"}
        case.error = {"code": "none"}
        case.updated_at = T0 + HOUR
        uow.cases.save(case, expected_revision=0)
        uow.commit()
    assert case.revision == 1
    with uow_factory() as uow:
        assert _get_case(uow, case_id) == case

    with running_at(T0 + DAY), uow_factory() as uow:  # no updated_at given: stamped now
        case.updated_at = None
        uow.cases.save(case, expected_revision=1)
        uow.commit()
    assert (case.revision, case.updated_at) == (2, T0 + DAY)
    with uow_factory() as uow:
        assert _get_case(uow, case_id) == case


def test_events_are_numbered_per_case_across_appends(uow_factory: UnitOfWorkFactory) -> None:
    first_case, second_case = _add_case(uow_factory), _add_case(uow_factory)
    started = NewEvent(type="case_started", at=T0, actor="ana", data={"client": 1})
    ready = NewEvent(type="task_ready", at=T0, step="review")
    with uow_factory() as uow:
        uow.events.append(first_case, [started, ready])
        uow.events.append(second_case, [started])
        uow.commit()
    with uow_factory() as uow:
        uow.events.append(first_case, [])
        uow.events.append(first_case, [NewEvent(type="task_completed", at=T0 + HOUR,
                                                step="review", actor="bo")])
        uow.commit()

    with uow_factory() as uow:
        log = uow.events.list(first_case)
        assert [(e.seq, e.type, e.step, e.actor) for e in log] == [
            (1, "case_started", None, "ana"),
            (2, "task_ready", "review", None),
            (3, "task_completed", "review", "bo"),
        ]
        assert (log[0].case_id, log[0].at, log[0].data) == (first_case, T0, {"client": 1})
        assert [e.seq for e in uow.events.list(second_case)] == [1]


def test_inbox_replace_open_inserts_updates_and_closes(
    uow_factory: UnitOfWorkFactory, db_engine: Engine
) -> None:
    case_id = _add_case(uow_factory)
    review = _task("review", case_id, due=T0 + 2 * DAY, form="review.json")
    call = _task("call", case_id)
    visit = _task("visit", case_id, role="outreach", due=T0 + DAY)
    with running_at(T0), uow_factory() as uow:
        uow.inbox.replace_open(case_id, [review, call, visit])
        uow.commit()
    renamed = replace(review, title="Review documents", due=None)
    with running_at(T0 + HOUR), uow_factory() as uow:
        uow.inbox.replace_open(case_id, [renamed, visit])
        uow.commit()

    with uow_factory() as uow:
        assert uow.inbox.get("call") is None
        assert uow.inbox.get("review") == replace(renamed, created_at=T0)
        assert uow.inbox.list() == [replace(visit, created_at=T0), replace(renamed, created_at=T0)]
        assert [t.id for t in uow.inbox.list(role="caseworker")] == ["review"]
    with db_engine.connect() as connection:
        closed = connection.execute(
            select(inbox_tasks.c.status, inbox_tasks.c.closed_at, inbox_tasks.c.completed_by)
            .where(inbox_tasks.c.id == "call")
        ).one()
        assert tuple(closed) == ("closed", T0 + HOUR, None)

    with running_at(T0 + 2 * HOUR), uow_factory() as uow:  # a closed task can come back
        uow.inbox.replace_open(case_id, [call])
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.list(case_id=case_id) == [replace(call, created_at=T0)]


def test_inbox_close_records_who_completed_the_task(
    uow_factory: UnitOfWorkFactory, db_engine: Engine
) -> None:
    case_id = _add_case(uow_factory)
    with uow_factory() as uow:
        uow.inbox.replace_open(case_id, [_task("review", case_id)])
        uow.inbox.close("review", completed_by="ana", at=T0 + HOUR)
        with pytest.raises(NotFoundError):
            uow.inbox.close("missing", completed_by=None, at=T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.get("review") is None
        assert uow.inbox.list() == []
    with db_engine.connect() as connection:
        row = connection.execute(
            select(inbox_tasks.c.closed_at, inbox_tasks.c.completed_by)
            .where(inbox_tasks.c.id == "review")
        ).one()
        assert tuple(row) == (T0 + HOUR, "ana")


def test_inbox_lists_soonest_due_first_then_oldest(uow_factory: UnitOfWorkFactory) -> None:
    housing, benefits = _add_case(uow_factory), _add_case(uow_factory, pathway="benefits")
    later = _task("later", housing, due=T0 + 2 * DAY, created_at=T0)
    sooner = _task("sooner", housing, due=T0 + DAY, created_at=T0 + HOUR)
    undated_new = _task("undated-new", benefits, pathway="benefits", created_at=T0 + HOUR)
    undated_old = _task("undated-old", benefits, pathway="benefits", created_at=T0)
    with uow_factory() as uow:
        uow.inbox.replace_open(housing, [later, sooner])
        uow.inbox.replace_open(benefits, [undated_new, undated_old])
        with pytest.raises(ValueError, match="row for case"):
            uow.inbox.replace_open(housing, [undated_old])
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.list() == [sooner, later, undated_old, undated_new]
        assert uow.inbox.list(pathway="benefits") == [undated_old, undated_new]
        assert uow.inbox.list(case_id=housing, role="caseworker") == [sooner, later]
        assert uow.inbox.list(role="nobody") == []


def _claimed_in_order(uow: UnitOfWork, now: datetime) -> list[int]:
    """Every case claim_due gives at `now`, one after another in one transaction."""
    found: list[int] = []
    while (case_id := uow.timers.claim_due(now, found)) is not None:
        found.append(case_id)
    return found


def test_timers_replace_and_claim_due(uow_factory: UnitOfWorkFactory) -> None:
    a, b, c, d = (_add_case(uow_factory) for _ in range(4))
    with uow_factory() as uow:
        uow.timers.replace(a, [Timer(a, "a-late", "remind", T0 + 3 * HOUR),
                               Timer(a, "a-early", "chase", T0 + HOUR)])
        uow.timers.replace(b, [Timer(b, "b", "remind", T0 + 2 * HOUR)])
        uow.timers.replace(c, [Timer(c, "c", "remind", T0 + HOUR / 2)])
        uow.timers.replace(d, [Timer(d, "d", "remind", T0 + DAY)])
        uow.commit()
    with uow_factory() as uow:
        assert _claimed_in_order(uow, T0 + 4 * HOUR) == [c, a, b]
        assert _claimed_in_order(uow, T0 + HOUR) == [c, a]  # due at now counts
        assert _claimed_in_order(uow, T0) == []
        assert [t.task_id for t in uow.timers.for_case(a)] == ["a-early", "a-late"]

        uow.timers.replace(a, [Timer(a, "a-next", "remind", T0 + 5 * HOUR)])
        uow.timers.replace(c, [])
        assert uow.timers.for_case(a) == [Timer(a, "a-next", "remind", T0 + 5 * HOUR)]
        assert uow.timers.for_case(c) == []
        assert _claimed_in_order(uow, T0 + 4 * HOUR) == [b]
        with pytest.raises(ValueError, match="row for case"):
            uow.timers.replace(a, [Timer(b, "b", "remind", T0)])


def test_messages_are_pending_oldest_first_until_delivered(uow_factory: UnitOfWorkFactory) -> None:
    sender = _add_case(uow_factory)
    with uow_factory() as uow:
        ada, bo = _add_client(uow, "Ada"), _add_client(uow, "Bo")
        referral = uow.messages.add(Message(id=None, name="referral", client_id=ada,
                                            payload={"from": "housing"}, sender_case_id=sender,
                                            created_at=T0 + HOUR))
        for_bo = uow.messages.add(Message(id=None, name="referral", client_id=bo, payload=None,
                                          sender_case_id=None, created_at=T0))
        update = uow.messages.add(Message(id=None, name="update", client_id=ada,
                                          payload=[1, "two"], sender_case_id=sender,
                                          created_at=T0 + 2 * HOUR))
        uow.commit()
    assert referral.id is not None
    with uow_factory() as uow:
        assert uow.messages.pending() == [for_bo, referral, update]
        assert uow.messages.pending(ada) == [referral, update]
        uow.messages.mark_delivered(referral.id, sender, T0 + 3 * HOUR)
        with pytest.raises(ConflictError, match="delivered already"):
            uow.messages.mark_delivered(referral.id, sender, T0 + 3 * HOUR)
        with pytest.raises(NotFoundError):
            uow.messages.mark_delivered(referral.id + 1000, sender, T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.messages.pending(ada) == [update]
        assert uow.messages.pending(bo) == [for_bo]


def test_allocation_policies_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert uow.allocations.current("housing") is None
        assert uow.allocations.history("housing") == []
        with running_at(T0):
            latest = uow.allocations.set(AllocationPolicy(pathway="housing", kind="latest"))
        split = uow.allocations.set(AllocationPolicy(
            pathway="housing", kind="split", weights={10: 1, 2: 30, 9: 69}, seed="s33d",
            set_at=T0 + HOUR, set_by="ana"))
        fixed = uow.allocations.set(AllocationPolicy(pathway="benefits", kind="fixed",
                                                     version=2, set_at=T0))
        uow.commit()

    assert latest.id is not None and latest.set_at == T0
    assert split.id is not None and split.id > latest.id
    with uow_factory() as uow:
        current = uow.allocations.current("housing")
        assert current is not None and current == split
        assert current.weights == {2: 30, 9: 69, 10: 1}
        assert list(current.weights) == [2, 9, 10]  # in version order, whatever JSONB did
        assert uow.allocations.history("housing") == [latest, split]
        assert uow.allocations.current("benefits") == fixed
        assert uow.allocations.current("nothing") is None

        again = uow.allocations.set(replace(latest, id=None, set_at=T0 + DAY))
        assert again == replace(latest, id=again.id, set_at=T0 + DAY)
        assert uow.allocations.current("housing") == again
        assert uow.allocations.history("housing") == [latest, split, again]


def test_migrations_round_trip(uow_factory: UnitOfWorkFactory, db_engine: Engine) -> None:
    first_case, second_case = _add_case(uow_factory), _add_case(uow_factory)
    # a workflow state is put back as it was, key order included (no JSONB re-encoding)
    state = {"b": 1, "a": {"z": [3, 2], "y": None}, "tasks": {"t2": 1, "t1": 2}}
    with uow_factory() as uow:
        moved = uow.migrations.add(Migration(
            id=None, pathway="housing", from_version=1, to_version=2, created_at=T0,
            actor="ana", filter={"status": "active", "step": "review"}))
        other = uow.migrations.add(Migration(id=None, pathway="benefits", from_version=2,
                                             to_version=3, created_at=T0 + HOUR))
        assert moved.id is not None and other.id is not None
        # recorded second case first: cases() follows record order, not case ids
        uow.migrations.add_case(MigrationCase(
            migration_id=moved.id, case_id=second_case, ok=True, from_step="review",
            to_step="assess", before_state=state, before_revision=4, after_revision=5))
        uow.migrations.add_case(MigrationCase(
            migration_id=moved.id, case_id=first_case, ok=False, reason="step gone"))
        with pytest.raises(ConflictError, match="has a result for case"):
            uow.migrations.add_case(MigrationCase(migration_id=moved.id, case_id=first_case,
                                                  ok=True))
        uow.migrations.add_case(MigrationCase(migration_id=other.id, case_id=first_case,
                                              ok=True))  # the transaction is still usable
        uow.commit()

    assert moved.filter == {"status": "active", "step": "review"}
    with uow_factory() as uow:
        assert uow.migrations.get(moved.id) == moved
        assert uow.migrations.get(moved.id + 1000) is None
        results = uow.migrations.cases(moved.id)
        assert [(r.case_id, r.ok) for r in results] == [(second_case, True), (first_case, False)]
        assert results[0].ok is True and results[1].ok is False
        assert results == [
            MigrationCase(migration_id=moved.id, case_id=second_case, ok=True,
                          from_step="review", to_step="assess", before_state=state,
                          before_revision=4, after_revision=5),
            MigrationCase(migration_id=moved.id, case_id=first_case, ok=False,
                          reason="step gone"),
        ]
        before = results[0].before_state
        assert before is not None
        assert list(before) == ["b", "a", "tasks"]
        assert list(before["a"]) == ["z", "y"] and list(before["tasks"]) == ["t2", "t1"]
        assert [r.case_id for r in uow.migrations.cases(other.id)] == [first_case]
        assert uow.migrations.cases(other.id + 1000) == []

        uow.migrations.finish(moved.id, T0 + HOUR)
        with pytest.raises(NotFoundError):
            uow.migrations.finish(moved.id + 1000, T0)
        revert = uow.migrations.add(Migration(
            id=None, pathway="housing", from_version=2, to_version=1, created_at=T0 + DAY,
            reverts=moved.id))
        assert revert.id is not None
        uow.migrations.mark_reverted(moved.id, second_case, revert.id)
        uow.migrations.mark_reverted(moved.id, second_case, revert.id)  # again: no change
        with pytest.raises(ConflictError, match=f"put back by migration {revert.id}"):
            uow.migrations.mark_reverted(moved.id, second_case, other.id)
        with pytest.raises(NotFoundError):
            uow.migrations.mark_reverted(revert.id, second_case, revert.id)
        uow.commit()

    with uow_factory() as uow:
        finished = replace(moved, finished_at=T0 + HOUR)
        assert uow.migrations.get(moved.id) == finished
        assert uow.migrations.list() == [finished, other, revert]
        assert uow.migrations.list("housing") == [finished, revert]
        assert uow.migrations.list("nothing") == []
        assert [r.reverted_by for r in uow.migrations.cases(moved.id)] == [revert.id, None]
    with db_engine.connect() as connection:  # no state is SQL NULL, not JSON null
        without_state = connection.scalars(
            select(migration_cases.c.case_id).where(migration_cases.c.before_state.is_(None),
                                                    migration_cases.c.migration_id == moved.id))
        assert list(without_state) == [first_case]


def test_datetimes_come_back_aware_utc_and_equal(uow_factory: UnitOfWorkFactory) -> None:
    local = datetime(2025, 3, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5.5)))
    case_id = _add_case(uow_factory, created_at=local)
    with uow_factory() as uow:
        uow.events.append(case_id, [NewEvent(type="decision", at=local)])
        uow.timers.replace(case_id, [Timer(case_id, "t", "wait", local)])
        uow.inbox.replace_open(case_id, [_task("review", case_id, due=local, created_at=local)])
        uow.commit()
    with uow_factory() as uow:
        task = uow.inbox.get("review")
        assert task is not None
        values = [
            _get_case(uow, case_id).created_at,
            uow.events.list(case_id)[0].at,
            uow.timers.for_case(case_id)[0].due_at,
            task.due,
            task.created_at,
        ]
    for value in values:
        assert value == local
        assert value is not None and value.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow, pytest.raises(StatementError, match="naive datetime"):
        uow.clients.add(Client(id=None, name="Ada", created_at=datetime(2025, 3, 1)))


# --- transactions ------------------------------------------------------------------------


def test_nothing_is_kept_unless_committed(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError, match="boom"), uow_factory() as uow:
        case_id = _add_case_in(uow)
        uow.events.append(case_id, [NewEvent(type="case_started", at=T0)])
        raise RuntimeError("boom")
    with uow_factory() as uow:
        _add_client(uow, "rolled back")
        uow.rollback()
        _add_client(uow, "committed")
        uow.commit()
        _add_client(uow, "never committed")

    with uow_factory() as uow:
        assert [c.name for c in uow.clients.list()] == ["committed"]
        assert uow.cases.list() == []
        assert uow.events.list(case_id) == []


def test_allocations_and_migrations_are_not_kept_unless_committed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    case_id = _add_case(uow_factory)
    with uow_factory() as uow:
        uow.allocations.set(AllocationPolicy(pathway="housing", kind="fixed", version=1))
        migration = uow.migrations.add(Migration(id=None, pathway="housing", from_version=1,
                                                 to_version=2, created_at=T0))
        assert migration.id is not None
        uow.migrations.add_case(MigrationCase(migration_id=migration.id, case_id=case_id,
                                              ok=True))
    with uow_factory() as uow:
        kept = uow.migrations.add(replace(migration, id=None))
        assert kept.id is not None
        uow.migrations.add_case(MigrationCase(migration_id=kept.id, case_id=case_id, ok=True))
        uow.commit()
        uow.allocations.set(AllocationPolicy(pathway="housing", kind="latest"))
        uow.migrations.finish(kept.id, T0 + HOUR)
        uow.migrations.mark_reverted(kept.id, case_id, kept.id)
        uow.rollback()

    with uow_factory() as uow:
        assert uow.allocations.current("housing") is None
        assert uow.allocations.history("housing") == []
        # (SQLite may hand the rolled-back migration's id out again: compare whole lists)
        assert uow.migrations.list() == [kept]
        assert uow.migrations.cases(kept.id) == [
            MigrationCase(migration_id=kept.id, case_id=case_id, ok=True)]


def test_saving_a_stale_case_conflicts(uow_factory: UnitOfWorkFactory) -> None:
    case_id = _add_case(uow_factory)
    with uow_factory() as uow:
        first = _get_case(uow, case_id)
    with uow_factory() as uow:
        second = _get_case(uow, case_id)
    with uow_factory() as uow:
        first.data = {"by": "first"}
        uow.cases.save(first, expected_revision=first.revision)
        uow.commit()
    with uow_factory() as uow, pytest.raises(ConflictError) as conflict:
        second.data = {"by": "second"}
        uow.cases.save(second, expected_revision=second.revision)

    assert conflict.value.message == (
        f"case {case_id} was changed by someone else since it was loaded; reload and retry"
    )
    assert conflict.value.details == {"case": case_id}
    assert second.revision == 0
    with uow_factory() as uow:
        stored = _get_case(uow, case_id)
        assert (stored.revision, stored.data) == (1, {"by": "first"})


def test_racing_saves_of_one_load_exactly_one_wins(uow_factory: UnitOfWorkFactory) -> None:
    case_id = _add_case(uow_factory)
    both_loaded = threading.Barrier(2, timeout=10)

    def load_then_save(name: str) -> bool:
        with uow_factory() as uow:
            case = _get_case(uow, case_id)
        both_loaded.wait()
        case.data = {"winner": name}
        try:
            with uow_factory() as uow:
                uow.cases.save(case, expected_revision=case.revision)
                uow.commit()
        except ConflictError:
            return False
        return True

    with ThreadPoolExecutor(2) as pool:
        won = list(pool.map(load_then_save, ["a", "b"]))

    assert sorted(won) == [False, True]
    with uow_factory() as uow:
        stored = _get_case(uow, case_id)
        assert (stored.revision, stored.data) == (1, {"winner": "ab"[won.index(True)]})


def test_concurrent_load_modify_save_loses_no_update(uow_factory: UnitOfWorkFactory) -> None:
    """Threads increment one counter, retrying on conflict: every increment lands once."""
    threads, increments = 4, 10
    case_id = _add_case(uow_factory, data={"count": 0})

    def increment(_: int) -> None:
        for _ in range(increments):
            while True:
                try:
                    with uow_factory() as uow:
                        case = _get_case(uow, case_id)
                        uow.events.append(case_id, [NewEvent(type="decision", at=T0)])
                        case.data = {"count": case.data["count"] + 1}
                        uow.cases.save(case, expected_revision=case.revision)
                        uow.commit()
                    break
                except ConflictError:
                    continue

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(increment, range(threads)))

    total = threads * increments
    with uow_factory() as uow:
        stored = _get_case(uow, case_id)
        assert (stored.revision, stored.data) == (total, {"count": total})
        assert [e.seq for e in uow.events.list(case_id)] == list(range(1, total + 1))


# --- PostgreSQL only: row locks -----------------------------------------------------------


@pytest.fixture
def postgres_uow_factory(postgres_url: str) -> Iterator[UnitOfWorkFactory]:
    with migrated_engine(postgres_url) as engine:
        yield SqlAlchemyUnitOfWorkFactory(engine)


def test_postgres_open_transactions_saving_one_case_one_conflicts(
    postgres_uow_factory: UnitOfWorkFactory,
) -> None:
    """Both transactions load before either saves; the second save waits, then conflicts."""
    case_id = _add_case(postgres_uow_factory)
    both_loaded = threading.Barrier(2, timeout=10)

    def load_modify_save(name: str) -> bool:
        with postgres_uow_factory() as uow:
            case = _get_case(uow, case_id)
            both_loaded.wait()
            case.data = {"winner": name}
            try:
                uow.cases.save(case, expected_revision=case.revision)
            except ConflictError:
                return False
            uow.commit()
            return True

    with ThreadPoolExecutor(2) as pool:
        won = list(pool.map(load_modify_save, ["a", "b"]))

    assert sorted(won) == [False, True]
    with postgres_uow_factory() as uow:
        assert _get_case(uow, case_id).revision == 1


def test_postgres_claim_due_skips_cases_another_worker_holds(
    postgres_uow_factory: UnitOfWorkFactory,
) -> None:
    a, b = _add_case(postgres_uow_factory), _add_case(postgres_uow_factory)
    with postgres_uow_factory() as uow:
        uow.timers.replace(a, [Timer(a, "a1", "remind", T0), Timer(a, "a2", "chase", T0)])
        uow.timers.replace(b, [Timer(b, "b1", "remind", T0 + HOUR)])
        uow.commit()

    with postgres_uow_factory() as first_worker:
        assert first_worker.timers.claim_due(T0 + DAY) == a
        with postgres_uow_factory() as second_worker:
            assert second_worker.timers.claim_due(T0 + DAY) == b
            assert second_worker.timers.claim_due(T0 + DAY, passed=[b]) is None
    with postgres_uow_factory() as uow:
        assert _claimed_in_order(uow, T0 + DAY) == [a, b]


# -- accounts ------------------------------------------------------------------------------


def _add_user(uow: UnitOfWork, username: str = "amy", organisation: str = "st_giles",
              **changes: Any) -> User:
    user = User(id=None, username=username, name=username.title(), organisation=organisation,
                role="caseworker", password_hash="scrypt:32768:8:1$salt$hash",
                pathway_roles=("gate_worker", "housing_worker"), created_at=T0)
    return uow.users.add(replace(user, **changes))


def test_organisations_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.organisations.put(Organisation("st_giles", "St Giles"))
        uow.organisations.put(Organisation("ormiston", "Ormiston Families"))
        uow.organisations.put(Organisation("st_giles", "St Giles Trust"))  # renames
        uow.commit()
    with uow_factory() as uow:
        assert uow.organisations.get("st_giles") == Organisation("st_giles", "St Giles Trust")
        assert uow.organisations.get("nowhere") is None
        assert uow.organisations.list() == [Organisation("ormiston", "Ormiston Families"),
                                            Organisation("st_giles", "St Giles Trust")]


def test_users_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.organisations.put(Organisation("st_giles", "St Giles Trust"))
        uow.organisations.put(Organisation("ormiston", "Ormiston Families"))
        zoe = _add_user(uow, "zoe", role="team_lead", pathway_roles=())
        amy = _add_user(uow)
        bob = _add_user(uow, "bob", "ormiston", created_at=None)
        with pytest.raises(ConflictError, match="exists already"):
            _add_user(uow, "amy", "ormiston")
        uow.commit()  # the transaction is still usable after the refused duplicate

    assert amy.id is not None and zoe.id is not None and amy.created_at == T0
    assert bob.created_at is not None and bob.created_at.tzinfo is not None
    with uow_factory() as uow:
        assert uow.users.get(amy.id) == amy
        assert uow.users.get(amy.id + 1000) is None
        assert uow.users.by_username("amy") == amy
        assert uow.users.by_username("AMY") is None
        stored_zoe = uow.users.by_username("zoe")
        assert stored_zoe is not None and stored_zoe.pathway_roles == ()
        assert [u.username for u in uow.users.list()] == ["amy", "bob", "zoe"]
        assert [u.username for u in uow.users.list("st_giles")] == ["amy", "zoe"]
        assert uow.users.list("nowhere") == []

        changed = replace(amy, password_hash="new", active=False, role="admin",
                          organisation="ormiston", pathway_roles=("family_worker",))
        uow.users.update(changed)
        with pytest.raises(NotFoundError):
            uow.users.update(replace(amy, id=amy.id + 1000))
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.get(amy.id) == changed


def test_tokens_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.organisations.put(Organisation("st_giles", "St Giles Trust"))
        _add_user(uow)
        first = uow.tokens.add(ApiToken(id=None, username="amy", name="script",
                                        token_hash="a" * 64, created_at=T0))
        second = uow.tokens.add(ApiToken(id=None, username="amy", name="laptop",
                                         token_hash="b" * 64))
        uow.commit()
    assert first.id is not None and second.id is not None
    assert second.created_at is not None

    with uow_factory() as uow:
        assert uow.tokens.by_hash("a" * 64) == first
        assert uow.tokens.by_hash("c" * 64) is None
        uow.tokens.touch(first.id, T0 + HOUR)
        uow.tokens.revoke(second.id, T0 + DAY)
        uow.tokens.revoke(second.id, T0 + 2 * DAY)  # the first revocation stands
        with pytest.raises(NotFoundError):
            uow.tokens.revoke(second.id + 1000, T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.tokens.list("amy") == [replace(first, last_used_at=T0 + HOUR),
                                          replace(second, revoked_at=T0 + DAY)]
        assert uow.tokens.list("bob") == []


# --- casework: assignment, consents, access log, drafts ------------------------------------


def test_inbox_assignment_survives_replace_open(uow_factory: UnitOfWorkFactory) -> None:
    case_id = _add_case(uow_factory)
    review, call = _task("review", case_id), _task("call", case_id, step="call")
    with running_at(T0), uow_factory() as uow:
        uow.inbox.replace_open(case_id, [review, call])
        uow.inbox.assign("review", "amy")
        with pytest.raises(NotFoundError):
            uow.inbox.assign("missing", "amy")
        uow.commit()
    with running_at(T0 + HOUR), uow_factory() as uow:  # the engine rewrites the open rows
        uow.inbox.replace_open(case_id, [replace(review, title="Review again"), call])
        uow.inbox.replace_open(case_id, [replace(review, title="Review, third time"), call],
                               previous=[review, call])
        uow.commit()
    with uow_factory() as uow:
        found = uow.inbox.get("review")
        assert found is not None
        assert (found.assignee, found.title) == ("amy", "Review, third time")
        assert uow.inbox.list(step="call") == [replace(call, created_at=T0)]
        assert uow.inbox.list(version=2) == []
        assert [t.id for t in uow.inbox.list(version=1, step="review")] == ["review"]
        uow.inbox.assign("review", None)
        uow.commit()
    with uow_factory() as uow:
        assert uow.inbox.get("review") == replace(review, title="Review, third time",
                                                  created_at=T0)
        uow.inbox.close("review", completed_by="amy", at=T0 + DAY)
        with pytest.raises(NotFoundError):  # only open tasks are assigned
            uow.inbox.assign("review", "amy")


def test_consents_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        client_id = _add_client(uow)
        given = uow.consents.add(Consent(
            id=None, client_id=client_id, given=True, scope="programme", purpose="sharing",
            recorded_by="amy", recorded_at=T0, effective_on=date(2025, 3, 1)))
        withdrawn = uow.consents.add(replace(given, id=None, given=False,
                                             recorded_at=T0 + DAY, effective_on=date(2025, 3, 2)))
        uow.commit()
    assert given.id is not None and withdrawn.id is not None and withdrawn.id > given.id
    with uow_factory() as uow:
        assert uow.consents.for_client(client_id) == [given, withdrawn]
        assert uow.consents.for_client(client_id + 1) == []


def test_access_log_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        client_id = _add_client(uow)
        first = uow.access_log.add(AccessEntry(
            id=None, at=T0, username="amy", organisation="st_giles", client_id=client_id,
            action="view_client", detail={"basis": "organisation", "hidden": []}))
        second = uow.access_log.add(AccessEntry(
            id=None, at=T0 + HOUR, username="mo", organisation="mind", client_id=client_id,
            action="view_client", reason="safeguarding", detail={"break_glass": True}))
        other = uow.access_log.add(AccessEntry(
            id=None, at=T0, username="amy", organisation="st_giles", client_id=None,
            action="search"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.access_log.list(client_id=client_id) == [first, second]
        assert uow.access_log.list(username="amy") == [first, other]
        assert uow.access_log.list(client_id=client_id, username="mo") == [second]
        assert uow.access_log.list() == [first, second, other]


def test_drafts_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    case_id = _add_case(uow_factory)
    draft = Draft(task_id="review", case_id=case_id, username="amy",
                  data={"phone": "0123", "nested": {"a": [1, 2]}}, saved_at=T0)
    with uow_factory() as uow:
        uow.drafts.save(draft)
        uow.drafts.save(replace(draft, username="bob", saved_at=T0 + HOUR))
        uow.drafts.save(replace(draft, data={"phone": "0999"}, saved_at=T0 + DAY))  # replaces
        uow.commit()
    with uow_factory() as uow:
        assert uow.drafts.get("review", "amy") == replace(draft, data={"phone": "0999"},
                                                          saved_at=T0 + DAY)
        assert uow.drafts.get("review", "carol") is None
        assert [(d.username, d.saved_at) for d in uow.drafts.for_case(case_id)] == [
            ("bob", T0 + HOUR), ("amy", T0 + DAY)]
        uow.drafts.delete("review")
        uow.commit()
    with uow_factory() as uow:
        assert uow.drafts.for_case(case_id) == []


# -- outcomes ------------------------------------------------------------------------------


def test_outcome_imports_and_events_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    record = OutcomeImport(id=None, sha256="ab" * 32, filename="q1.csv", kind="reconviction",
                           rows=3, imported=0, imported_at=T0, actor="amy")
    with uow_factory() as uow:
        client_id = _add_client(uow)
        other_id = _add_client(uow, "Bo")
        stored = uow.outcomes.add_import(record)
        assert stored is not None and stored.id is not None
        assert uow.outcomes.add_import(replace(record, filename="again.csv")) is None
        event = OutcomeEvent(id=None, client_id=client_id, kind="reconviction",
                             occurred_on=date(2024, 2, 1), recorded_on=date(2024, 3, 1),
                             source=f"import:{record.sha256}", detail={"line": 2},
                             import_id=stored.id, created_at=T0)
        first = uow.outcomes.add_event(event)
        assert first is not None and first.id is not None
        assert uow.outcomes.add_event(replace(event, detail={"line": 3})) is None  # same key
        later = uow.outcomes.add_event(replace(event, occurred_on=date(2024, 2, 2)))
        other = uow.outcomes.add_event(replace(event, client_id=other_id, kind="housed",
                                               import_id=None, source="case:1",
                                               detail={"value": {"a": [1]}}))
        uow.outcomes.set_import_count(stored.id, 2)
        uow.commit()
    with uow_factory() as uow:
        assert uow.outcomes.import_by_sha256(record.sha256) == replace(stored, imported=2)
        assert uow.outcomes.import_by_sha256("cd" * 32) is None
        assert uow.outcomes.imports() == [replace(stored, imported=2)]
        assert uow.outcomes.events() == [first, later, other]
        assert uow.outcomes.events(client_id=client_id) == [first, later]
        assert uow.outcomes.events(kind="housed") == [other]
        assert uow.outcomes.events(client_id=client_id, kind="housed") == []


def test_outcome_events_are_not_kept_unless_committed(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        client_id = _add_client(uow)
        uow.commit()
    with uow_factory() as uow:
        uow.outcomes.add_event(OutcomeEvent(
            id=None, client_id=client_id, kind="reconviction", occurred_on=date(2024, 2, 1),
            recorded_on=date(2024, 3, 1), source="import:x"))
    with uow_factory() as uow:
        assert uow.outcomes.events() == []


def test_comparison_groups_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    rate = ComparisonRate(id=None, cohort="cohort 1", kind="reconviction", group_size=1000,
                          per_100=155.0, source="MoJ 2014", set_at=T0, set_by="amy")
    subjects = [
        ComparisonSubject(group="pnc", subject="s2", kind="reconviction",
                          release_date=date(2024, 1, 15), imported_at=T0),
        ComparisonSubject(group="pnc", subject="s1", kind="reconviction",
                          release_date=date(2024, 1, 16), imported_at=T0, actor="amy",
                          events=(ComparisonEvent(date(2024, 2, 1), date(2024, 3, 1)),
                                  ComparisonEvent(date(2024, 4, 1), date(2024, 5, 1)))),
    ]
    with uow_factory() as uow:
        first = uow.outcomes.set_rate(rate)
        second = uow.outcomes.set_rate(replace(rate, per_100=None, binary_rate=58.5,
                                               cohort="cohort 2", set_by=None))
        uow.outcomes.add_subjects(subjects)
        uow.outcomes.add_subjects([replace(subjects[0], group="other")])
        uow.commit()
    assert first.id is not None and second.id is not None and second.id > first.id
    with uow_factory() as uow:
        assert uow.outcomes.rates() == [first, second]
        assert uow.outcomes.rates(cohort="cohort 2") == [second]
        assert uow.outcomes.rates(kind="housed") == []
        assert uow.outcomes.subjects("pnc") == [subjects[1], subjects[0]]
        assert uow.outcomes.subjects("none") == []
        assert uow.outcomes.groups() == ["other", "pnc"]


def test_outcome_imports_and_matched_groups_keep_their_extraction_dates(
        uow_factory: UnitOfWorkFactory) -> None:
    """Issue 12, item 1 (revision 0009): when the data was extracted, or None (not said)."""
    dated = OutcomeImport(id=None, sha256="ef" * 32, filename="q2.csv", kind="reconviction",
                          rows=1, imported=1, imported_at=T0, extracted_on=date(2013, 12, 30))
    subject = ComparisonSubject(group="pnc", subject="s1", kind="reconviction",
                                release_date=date(2011, 1, 1), imported_at=T0,
                                extracted_on=date(2012, 12, 1))
    with uow_factory() as uow:
        stored = uow.outcomes.add_import(dated)
        undated = uow.outcomes.add_import(replace(dated, sha256="01" * 32, extracted_on=None))
        uow.outcomes.add_subjects([subject, replace(subject, subject="s2", extracted_on=None)])
        uow.commit()
    assert stored is not None and undated is not None
    with uow_factory() as uow:
        assert [i.extracted_on for i in uow.outcomes.imports()] == [date(2013, 12, 30), None]
        assert uow.outcomes.import_by_sha256(dated.sha256) == stored
        assert [s.extracted_on for s in uow.outcomes.subjects("pnc")] == [
            date(2012, 12, 1), None]


def test_an_undated_import_and_group_take_their_extraction_dates(
        uow_factory: UnitOfWorkFactory) -> None:
    record = OutcomeImport(id=None, sha256="cd" * 32, filename="q.csv", kind="reconviction",
                           rows=1, imported=1, imported_at=T0)
    subject = ComparisonSubject(group="pnc", subject="s1", kind="reconviction",
                                release_date=date(2011, 1, 1), imported_at=T0)
    with uow_factory() as uow:
        stored = uow.outcomes.add_import(record)
        assert stored is not None and stored.id is not None
        uow.outcomes.add_subjects([subject, replace(subject, subject="s2")])
        uow.outcomes.add_subjects([replace(subject, group="other")])
        uow.outcomes.set_import_extracted_on(stored.id, date(2013, 12, 30))
        uow.outcomes.set_group_extracted_on("pnc", date(2012, 12, 1))
        uow.commit()
    with uow_factory() as uow:
        assert uow.outcomes.imports() == [replace(stored, extracted_on=date(2013, 12, 30))]
        assert [s.extracted_on for s in uow.outcomes.subjects("pnc")] == [date(2012, 12, 1)] * 2
        assert [s.extracted_on for s in uow.outcomes.subjects("other")] == [None]
