"""The national-scale bench's data: real template cases (bench.scale_templates) multiplied with
set-based SQL to any number of clients, on SQLite and PostgreSQL.

Each new client is a copy of one template client with its consents, and holds `units` copies
of template clients' cases (one template client's cases stay together: a referral's case
with the case that referred it). A copy's rows are the template's rows with new ids: clients
and cases numbered on from the largest, SpiffWorkflow task ids given the copy's number in
their last 12 hex digits (the templates' end in MARK), the client's id and name in the case
data and the case_started event, the referring case's id in the referred case's start, and
every time moved back by up to two years. Copied: clients, consents, cases, inbox_tasks
(every other copy's open tasks assigned as the template's, the rest unassigned), events,
timers and the dashboard's per-case summaries; the summaries' totals are then counted again
from them; reconvictions are imported for a third of the clients. Messages already
delivered are not copied (a copy's message_sent event names its template's message).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, text

from adapters.bootstrap import Application
from adapters.sql import answer_summaries
from bench.scale_templates import FIRST_NAMES, MARK, SURNAMES, Templates, build_templates

BATCH_CLIENTS = 20_000  # new clients per transaction
SPREAD_DAYS = 730  # copies' times are moved back by up to this many days


@dataclass(frozen=True)
class Built:
    clients: int
    cases: int
    events: int
    open_tasks: int
    seconds: float
    templates: Templates


class Dialect:
    """The few SQL expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def series(self, count: str) -> str:
        if self.pg:
            return f"SELECT generate_series(1, {count}) AS k"
        return (f"WITH RECURSIVE s(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM s "
                f"WHERE k < {count}) SELECT k FROM s")

    def hex12(self, number: str) -> str:
        return f"lpad(to_hex({number}), 12, '0')" if self.pg else f"printf('%012x', {number})"

    def marked(self, column: str, number: str, kind: str = "") -> str:
        """The column's text with MARK replaced by the copy's number (as JSON `kind`)."""
        source = f"CAST({column} AS TEXT)" if self.pg else column
        replaced = f"replace({source}, '{MARK}', {self.hex12(number)})"
        return f"CAST({replaced} AS {kind})" if self.pg and kind else replaced

    def earlier(self, column: str, days: str) -> str:
        if self.pg:
            return f"{column} - make_interval(days => {days})"
        return f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '-' || {days} || ' days')"

    def set_int(self, column: str, key: str, value: str) -> str:
        """The JSON object with `key` set to a number, where it holds one."""
        if self.pg:
            return (f"CASE WHEN {column} ? '{key}' THEN jsonb_set({column}, '{{{key}}}', "
                    f"to_jsonb({value})) ELSE {column} END")
        return (f"CASE WHEN json_type({column}, '$.{key}') = 'integer' THEN "
                f"json_set({column}, '$.{key}', {value}) ELSE {column} END")

    def set_client(self, column: str, client: str, name: str) -> str:
        """Case data's client object with the copy's id and name."""
        if self.pg:
            return (f"CASE WHEN jsonb_typeof({column} -> 'client') = 'object' THEN "
                    f"jsonb_set(jsonb_set({column}, '{{client,id}}', to_jsonb({client})), "
                    f"'{{client,name}}', to_jsonb({name})) ELSE {column} END")
        return (f"CASE WHEN json_type({column}, '$.client') = 'object' THEN "
                f"json_set({column}, '$.client.id', {client}, '$.client.name', {name}) "
                f"ELSE {column} END")

    def month(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM')" if self.pg else f"substr({column}, 1, 7)"

    def date_text(self, days: str) -> str:
        if self.pg:
            return f"to_char(DATE '2026-06-01' - {days}, 'YYYY-MM-DD')"
        return f"date('2026-06-01', '-' || {days} || ' days')"


def build(app: Application, clients: int, events: int, *, trials: int = 24,
          progress: Callable[[str], None] = print) -> Built:
    """Templates through the engine, then `clients` clients in all with about `events`
    events, copied in SQL."""
    started = time.perf_counter()
    templates = build_templates(app, trials=trials)
    progress(f"    {len(templates.clients)} template clients in "
             f"{time.perf_counter() - started:.0f} s")
    sql = Dialect(app.database.dialect.name)
    with app.database.begin() as connection:
        per_unit = _helpers(connection, sql, templates)
        copies = max(0, clients - _count(connection, "clients"))
        units = max(1, round(events / max(clients, 1) / per_unit))
        _copies(connection, sql, copies, units, len(templates.clients))
    done = 0
    while done < copies:
        last = min(copies, done + BATCH_CLIENTS)
        with app.database.begin() as connection:
            _copy_batch(connection, sql, done * units + 1, last * units, units)
        done = last
        progress(f"    {done:,} of {copies:,} clients copied "
                 f"({time.perf_counter() - started:.0f} s)")
    with app.database.begin() as connection:
        _totals(connection, sql)
        _finish(connection, sql)
    _reconvictions(app)
    with app.database.connect() as connection:
        found = {name: _count(connection, name) for name in ("clients", "cases", "events")}
        open_tasks = _count(connection, "inbox_tasks", "status = 'open'")
    return Built(found["clients"], found["cases"], found["events"], open_tasks,
                 time.perf_counter() - started, templates)


def _count(connection: Connection, table: str, where: str = "1 = 1") -> int:
    return int(connection.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"))
               .scalar_one())


def _helpers(connection: Connection, sql: Dialect, templates: Templates) -> float:
    """The bench's working tables: names, template clients (units) and their cases; returns
    the events a unit holds on average."""
    for name in ("bench_case_map", "bench_copies", "bench_unit_cases", "bench_units",
                 "bench_first", "bench_surname"):
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    connection.execute(text("CREATE TABLE bench_first (i INTEGER PRIMARY KEY, name TEXT)"))
    connection.execute(text("CREATE TABLE bench_surname (i INTEGER PRIMARY KEY, name TEXT)"))
    connection.execute(text("INSERT INTO bench_first VALUES (:i, :name)"),
                       [{"i": i, "name": n} for i, n in enumerate(FIRST_NAMES)])
    connection.execute(text("INSERT INTO bench_surname VALUES (:i, :name)"),
                       [{"i": i, "name": n} for i, n in enumerate(SURNAMES)])
    connection.execute(text("CREATE TABLE bench_units (unit INTEGER PRIMARY KEY, "
                            "client_id INTEGER NOT NULL)"))
    connection.execute(text("INSERT INTO bench_units VALUES (:unit, :client)"),
                       [{"unit": u, "client": c} for u, c in enumerate(templates.clients)])
    connection.execute(text(
        "CREATE TABLE bench_unit_cases AS SELECT u.unit, c.id AS case_id FROM bench_units u "
        "JOIN cases c ON c.client_id = u.client_id"))
    units_events = connection.execute(text(
        "SELECT count(*) FROM events e JOIN bench_unit_cases uc ON uc.case_id = e.case_id"
    )).scalar_one()
    return max(1.0, units_events / max(1, len(templates.clients)))


def _copies(connection: Connection, sql: Dialect, clients: int, units: int,
            templates: int) -> None:
    """One row per copy of a unit (`units` per new client), and one per copied case."""
    client_base = connection.execute(text("SELECT max(id) FROM clients")).scalar_one()
    case_base = connection.execute(text("SELECT max(id) FROM cases")).scalar_one()
    connection.execute(text(
        "CREATE TABLE bench_copies (copy INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, "
        "unit INTEGER NOT NULL, shift INTEGER NOT NULL, assign INTEGER NOT NULL)"))
    connection.execute(text(
        f"INSERT INTO bench_copies SELECT k, {client_base} + 1 + (k - 1) / {units}, "
        f"(k * 7) % {templates}, (k * 37) % {SPREAD_DAYS}, k % 2 "
        f"FROM ({sql.series(str(clients * units))}) AS s"))
    connection.execute(text(
        "CREATE TABLE bench_case_map AS SELECT c.copy, c.client_id, c.shift, c.assign, "
        "uc.case_id AS template_case, "
        f"{case_base} + row_number() OVER (ORDER BY c.copy, uc.case_id) AS case_id "
        "FROM bench_copies c JOIN bench_unit_cases uc ON uc.unit = c.unit"))
    connection.execute(text("CREATE INDEX ix_bench_case_map ON bench_case_map (copy)"))
    connection.execute(text(
        "CREATE INDEX ix_bench_case_map_t ON bench_case_map (template_case, copy)"))


_NAME = "f.name || ' ' || s.name"
_NAMES = (f"JOIN bench_first f ON f.i = {{client}} % {len(FIRST_NAMES)} "
          f"JOIN bench_surname s ON s.i = ({{client}} * 7) % {len(SURNAMES)}")


def _copy_batch(connection: Connection, sql: Dialect, first: int, last: int,
                units: int) -> None:
    """The copies numbered first..last: their clients, consents, cases and every row of
    them."""
    shifted = {column: sql.earlier(f"t.{column}", "c.shift") for column in ("created_at",)}
    window = {"a": first, "b": last}
    connection.execute(text(
        # search_name: the name lowered, as the client search reads it (migration 0020)
        "INSERT INTO clients (id, name, search_name, fields, created_at) "
        f"SELECT c.client_id, {_NAME}, lower({_NAME}), t.fields, {shifted['created_at']} "
        "FROM bench_copies c JOIN bench_units u ON u.unit = c.unit "
        f"JOIN clients t ON t.id = u.client_id {_NAMES.format(client='c.client_id')} "
        f"WHERE c.copy BETWEEN :a AND :b AND (c.copy - 1) % {units} = 0"), window)
    connection.execute(text(
        "INSERT INTO consents (client_id, given, scope, purpose, recorded_by, recorded_at, "
        "effective_on) SELECT c.client_id, t.given, t.scope, t.purpose, t.recorded_by, "
        f"{sql.earlier('t.recorded_at', 'c.shift')}, t.effective_on "
        "FROM bench_copies c JOIN bench_units u ON u.unit = c.unit "
        "JOIN consents t ON t.client_id = u.client_id "
        f"WHERE c.copy BETWEEN :a AND :b AND (c.copy - 1) % {units} = 0"), window)
    for table, columns in _case_rows(sql).items():
        names = ", ".join(columns)
        values = ", ".join(expression or f"t.{column}"
                           for column, expression in columns.items())
        connection.execute(text(
            f"INSERT INTO {table} ({names}) SELECT {values} FROM bench_case_map m "
            f"JOIN {table} t ON t.{'id' if table == 'cases' else 'case_id'} = m.template_case "
            f"{_NAMES.format(client='m.client_id') if table == 'cases' else ''} "
            "WHERE m.copy BETWEEN :a AND :b"), window)
    _copy_events(connection, sql, window)


def _case_rows(sql: Dialect) -> dict[str, dict[str, str | None]]:
    """Each table copied per case, its columns and what a copy's value is (None: the
    template's)."""
    def earlier(column: str) -> str:
        return sql.earlier(f"t.{column}", "m.shift")

    case = "m.case_id"
    return {
        "cases": {
            "id": case, "pathway": None, "version": None, "client_id": "m.client_id",
            "status": None, "state": sql.marked("t.state", "m.copy", "JSON"),
            "data": sql.set_client("t.data", "m.client_id", _NAME), "error": None,
            "revision": None, "event_seq": None,
            "waiting_for": sql.marked("t.waiting_for", "m.copy", "JSON"),
            "created_at": earlier("created_at"), "updated_at": earlier("updated_at"),
            "exit_reason": None},
        "inbox_tasks": {
            "id": sql.marked("t.id", "m.copy"), "case_id": case, "pathway": None,
            "version": None, "step": None, "title": None, "role": None, "form": None,
            "due": earlier("due"), "status": None, "created_at": earlier("created_at"),
            "closed_at": earlier("closed_at"), "completed_by": None,
            "assignee": "CASE WHEN m.assign = 1 THEN t.assignee END", "organisation": None},
        "timers": {"case_id": case, "task_id": sql.marked("t.task_id", "m.copy"),
                   "step": None, "due_at": earlier("due_at")},
        "summary_events": {
            "case_id": case, "seq": None, "pathway": None, "type": None, "step": None,
            "at": earlier("at"), "task": sql.marked("t.task", "m.copy"), "outcome": None,
            "value": None, "counted": None, "truthy": None, "arm": None, "split": None,
            "hours": None, "hours_from_start": None},
        "summary_event_names": {"case_id": case, "seq": None,
                                "name": sql.marked("t.name", "m.copy"), "pathway": None,
                                "type": None},
        "summary_cases": {"case_id": case, "pathway": None,
                          "started_at": earlier("started_at"),
                          "last_completed_at": earlier("last_completed_at"),
                          "version": None, "arm": None},
        "summary_case_steps": {
            "case_id": case, "step": None, "pathway": None, "version": None, "arm": None,
            "first_at": earlier("first_at"), "first_seq": None, "ready": None,
            "done_seq": None, "from_start": None, "completions": None, "hours_sum": None},
        "summary_step_values": {
            "case_id": case, "seq": None, "kind": None, "pathway": None, "version": None,
            "arm": None, "step": None, "bucket": None, "hours": None},
    }


def _copy_events(connection: Connection, sql: Dialect, window: dict[str, int]) -> None:
    """Events, with the copy's task ids, client and (for a referred case) referring case."""
    from_case = ("CAST(x.d ->> 'from_case' AS INTEGER)" if sql.pg
                 else "json_extract(x.d, '$.from_case')")
    referrer = ("(SELECT r.case_id FROM bench_case_map r WHERE r.copy = x.copy "
                f"AND r.template_case = {from_case})")
    data = sql.set_int(f"({sql.set_int('x.d', 'client', 'x.client_id')})", "from_case",
                       referrer)
    connection.execute(text(
        "INSERT INTO events (case_id, seq, type, at, actor, step, data) "
        f"SELECT x.case_id, x.seq, x.type, x.at, x.actor, x.step, {data} FROM ("
        "SELECT m.copy, m.case_id, m.client_id, t.seq, t.type, "
        f"{sql.earlier('t.at', 'm.shift')} AS at, t.actor, t.step, "
        f"{sql.marked('t.data', 'm.copy', 'JSONB')} AS d "
        "FROM bench_case_map m JOIN events t ON t.case_id = m.template_case "
        "WHERE m.copy BETWEEN :a AND :b) AS x"), window)


def _totals(connection: Connection, sql: Dialect) -> None:
    """The dashboard's totals counted again from the per-case summaries (and the activity
    from the events), as the summaries' writers would have added them up."""
    for table in ("summary_step_groups", "summary_step_buckets", "summary_activity",
                  "summary_answers"):
        connection.execute(text(f"DELETE FROM {table}"))
    answer_summaries.rebuild(connection)  # the copies' answers (their data has their name)
    key = "pathway, version, arm, step"
    connection.execute(text(
        f"INSERT INTO summary_step_groups ({key}, reached, done, completions, hours_sum) "
        f"SELECT {key}, count(*), count(done_seq), sum(completions), sum(hours_sum) "
        f"FROM summary_case_steps GROUP BY {key}"))
    first = ("(SELECT cs.{column} FROM summary_case_steps cs WHERE cs.pathway = g.pathway "
             "AND cs.version = g.version AND cs.arm = g.arm AND cs.step = g.step "
             "ORDER BY cs.first_at, cs.case_id, cs.first_seq LIMIT 1)")
    connection.execute(text(
        "UPDATE summary_step_groups AS g SET "
        + ", ".join(f"{target} = {first.format(column=column)}" for target, column in
                    (("first_at", "first_at"), ("first_case", "case_id"),
                     ("first_seq", "first_seq")))))
    connection.execute(text(
        f"INSERT INTO summary_step_buckets ({key}, kind, bucket, n) "
        f"SELECT {key}, kind, bucket, count(*) FROM summary_step_values "
        f"GROUP BY {key}, kind, bucket"))
    connection.execute(text(
        "INSERT INTO summary_activity (pathway, actor, month, tasks) "
        f"SELECT c.pathway, coalesce(e.actor, ''), {sql.month('e.at')}, count(*) "
        "FROM events e JOIN cases c ON c.id = e.case_id WHERE e.type = 'task_completed' "
        f"GROUP BY c.pathway, coalesce(e.actor, ''), {sql.month('e.at')}"))


def _finish(connection: Connection, sql: Dialect) -> None:
    """Sequences past the ids given, a new data revision (the dashboard's caches are
    stale), and the working tables gone."""
    if sql.pg:
        for table in ("clients", "cases"):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
    connection.execute(text("UPDATE data_revision SET revision = revision + 1"))
    for name in ("bench_case_map", "bench_copies", "bench_unit_cases", "bench_units",
                 "bench_first", "bench_surname"):
        connection.execute(text(f"DROP TABLE {name}"))


def _reconvictions(app: Application) -> None:
    """Reconvictions for every third client, through the outcomes import."""
    with app.database.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, fields FROM clients WHERE id % 3 = 0 ORDER BY id")).all()
    lines = ["client,offence_date,conviction_date"]
    today = datetime.now(UTC).date()
    for client_id, fields in rows:
        found = json.loads(fields) if isinstance(fields, str) else fields
        released = found.get("release_date") if isinstance(found, dict) else None
        if not released:
            continue
        offence = date.fromisoformat(released).toordinal() + 10 + client_id % 290
        conviction = min(offence + 20 + client_id % 130, today.toordinal())
        if offence > conviction:
            continue
        lines.append(f"{client_id},{_iso(offence)},{_iso(conviction)}")
    body = ("\n".join(lines) + "\n").encode()
    report = app.outcomes.import_csv(
        f"bench-{hashlib.sha256(body).hexdigest()[:8]}.csv", body, "reconviction",
        extracted_on=today)
    if report.errors:
        raise SystemExit(f"the reconviction file was refused: {report.errors[:3]}")


def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()
