"""Benchmark: the client list and client search at 1k, 10k and 100k clients (issue 17,
item 3).

Builds a programme with set-based SQL (INSERT ... SELECT over a counter: one statement per
table, whatever the size) after the shipped pathways are published through the engine: per
client a name (first name and surname from lists, about 1 in 60 a Smith), the organisation
that created it (its create_client log entry, of one of three), two log entries of views,
one or two cases on the shipped pathways' latest versions (two in five active, each with an
open task in a lane of its pathway and its start_case log entry) and for one client in five
a programme consent. Then times, through the web app as a caseworker of each organisation
(and of a fourth that created no client and runs no pathway, so sees only the consented),
the /clients page (first page), a search for "smith" and the API's /api/v1/clients?q=smith:
p50/p95 and SQL statements per request. The same search the way it ran before issue 17 (every
client read, each checked in Python, engine.casework before 0020) is timed beside it where
the size allows (--old-up-to).

Run: `python -m bench.clients` (1k, 10k, 100k on SQLite and PostgreSQL) or
`python -m bench.clients --sizes 100000 --sqlite off --postgres URL`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Connection, text

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import publish_order, read_bundle
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from bench.dashboard import counting
from bench.run import DEFAULT_POSTGRES, postgres_database, sqlite_database
from bench.web_client import sign_in
from engine import access
from engine.casework.casework_access import CaseworkContext, counted
from engine.model import User
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench horse battery staple"  # noqa: S105 - a throwaway database
ORGANISATIONS = ("st_giles_trust", "mind", "sova")
NEWCOMER = "newcomers"  # created no client, runs no pathway: sees only the consented ones
FIRST = ("Ada", "Ben", "Cara", "Dev", "Ella", "Femi", "Gus", "Hana", "Ian", "Jo", "Kim",
         "Lou", "Mo", "Nia", "Oli", "Pat", "Raj", "Sam", "Tia", "Zoë")
SURNAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
            "Green", "Hall", "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards",
            "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore", "Clark", "King",
            "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Scott", "Watson",
            "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell",
            "Bailey", "Carter", "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly",
            "Begum")
URLS = {"list": "/clients", "search": "/clients?q=smith", "api search": "/api/v1/clients?q=smith"}
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _publish(app: Application) -> list[tuple[str, int, str]]:
    """The shipped pathways; per latest version, one of its lane roles."""
    for path, note in publish_order(ROOT / "definitions"):
        files, main = read_bundle(path, known_pathways={"family_support",
                                                        "mental_health_referral"})
        app.engine.publish(files, main, note=note, unless_published=True)
    lanes = []
    for version in app.engine.definitions():
        definition = app.engine.definition(version.pathway, version.number)
        roles = sorted(definition.role_organisations) or ["worker"]
        lanes.append((version.pathway, version.number, roles[0]))
    latest = {pathway: number for pathway, number, _ in lanes}
    return [lane for lane in lanes if latest[lane[0]] == lane[1]]


def _json(value: str, dialect: str) -> str:
    return f"CAST('{value}' AS JSONB)" if dialect == "postgresql" else f"'{value}'"


def _fill(connection: Connection, size: int, lanes: list[tuple[str, int, str]]) -> None:
    """Every table the client list reads, one INSERT ... SELECT each."""
    dialect = connection.dialect.name
    at = AT if dialect == "postgresql" else AT.replace(tzinfo=None).isoformat(" ")
    connection.execute(text("CREATE TEMP TABLE bench_n (i INTEGER PRIMARY KEY)"))
    connection.execute(text("INSERT INTO bench_n (i) WITH RECURSIVE n(i) AS (SELECT 1 "
                            "UNION ALL SELECT i + 1 FROM n WHERE i < :size) SELECT i FROM n"),
                       {"size": size})
    for table, rows in (("bench_first", FIRST), ("bench_surname", SURNAMES),
                        ("bench_org", ORGANISATIONS)):
        connection.execute(text(f"CREATE TEMP TABLE {table} (k INTEGER, name VARCHAR)"))
        connection.execute(text(f"INSERT INTO {table} VALUES (:k, :name)"),
                           [{"k": k, "name": name} for k, name in enumerate(rows)])
    connection.execute(text("CREATE TEMP TABLE bench_lane (k INTEGER, pathway VARCHAR, "
                            "version INTEGER, role VARCHAR)"))
    connection.execute(text("INSERT INTO bench_lane VALUES (:k, :p, :v, :r)"),
                       [{"k": k, "p": p, "v": v, "r": r} for k, (p, v, r) in enumerate(lanes)])
    empty = _json("{}", dialect)
    params = {"at": at, "first": len(FIRST), "surnames": len(SURNAMES),
              "orgs": len(ORGANISATIONS), "lanes": len(lanes)}
    # names are ASCII but for Zoë: lower() agrees with Python's str.lower on them
    connection.execute(text(
        "INSERT INTO clients (id, name, fields, created_at, search_name) "
        "SELECT i, f.name || ' ' || s.name, " + empty + ", :at, lower(f.name || ' ' || s.name) "
        "FROM bench_n JOIN bench_first AS f ON f.k = i % :first "
        "JOIN bench_surname AS s ON s.k = (i * 7 + i / 13) % :surnames"), params)
    connection.execute(text(
        "INSERT INTO access_log (at, username, organisation, client_id, action, reason, detail) "
        "SELECT :at, 'bench', o.name, i, a.action, NULL, " + empty + " FROM bench_n "
        "JOIN bench_org AS o ON o.k = i % :orgs CROSS JOIN (SELECT 'create_client' AS action "
        "UNION ALL SELECT 'view_client' UNION ALL SELECT 'view_client') AS a"), params)
    connection.execute(text(
        "INSERT INTO cases (id, pathway, version, client_id, status, state, data, revision, "
        "event_seq, waiting_for, created_at, updated_at) "
        "SELECT i * 2 - k.second, l.pathway, l.version, i, CASE WHEN (i + k.second) % 5 < 2 "
        "THEN 'active' ELSE 'completed' END, '{}', " + empty + ", 0, 0, '[]', :at, :at "
        "FROM bench_n CROSS JOIN (SELECT 0 AS second UNION ALL SELECT 1) AS k "
        "JOIN bench_lane AS l ON l.k = (i * 3 + k.second) % :lanes "
        "WHERE k.second = 0 OR i % 3 = 0"), params)
    connection.execute(text(
        "INSERT INTO access_log (at, username, organisation, client_id, action, reason, detail) "
        "SELECT :at, 'bench', 'st_giles_trust', client_id, 'start_case', NULL, "
        + ("jsonb_build_object('case', id, 'break_glass', false)" if dialect == "postgresql"
           else "json_object('case', id, 'break_glass', json('false'))") + " FROM cases"),
        params)
    connection.execute(text(
        "INSERT INTO inbox_tasks (id, case_id, pathway, version, step, title, role, form, "
        "due, status, created_at) SELECT 'bench-' || c.id, c.id, c.pathway, c.version, "
        "'step', 'A step', l.role, NULL, NULL, 'open', :at FROM cases AS c "
        "JOIN bench_lane AS l ON l.pathway = c.pathway AND l.version = c.version "
        "WHERE c.status = 'active'"), params)
    connection.execute(text(
        "INSERT INTO consents (client_id, given, scope, purpose, recorded_by, recorded_at, "
        "effective_on) SELECT i, " + ("TRUE" if dialect == "postgresql" else "1")
        + ", 'programme', 'sharing', 'bench', :at, :on FROM bench_n WHERE i % 5 = 1"),
        {**params, "on": AT.date() if dialect == "postgresql" else AT.date().isoformat()})
    if dialect == "postgresql":
        for table in ("clients", "cases", "access_log", "consents"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))


def build(app: Application, size: int) -> None:
    lanes = _publish(app)
    for organisation in (*ORGANISATIONS, NEWCOMER):
        app.accounts.add_organisation(organisation, organisation.replace("_", " ").title())
        app.accounts.add_user(f"cw_{organisation}", "Bench", organisation, "caseworker",
                              PASSWORD)
    with app.database.begin() as connection:
        _fill(connection, size, lanes)
    _settle(app)


def _settle(app: Application) -> None:
    """Fresh statistics after the bulk load, as autovacuum would give (see bench.dashboard)."""
    if app.database.dialect.name == "postgresql":
        with app.database.connect().execution_options(
                isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with app.database.begin() as connection:
            connection.execute(text("ANALYZE"))


def _signed_in(app: Application, username: str) -> FlaskClient:
    return sign_in(create_app(app, test_config={"TESTING": True}).test_client(), username,
                   PASSWORD)


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _old_search(cw: CaseworkContext, user: User, query: str, limit: int = 200) -> int:
    """The search as engine.casework ran it before issue 17 (every client read, each
    checked in Python, stopping at `limit` found): how many it found."""
    wanted, today, found = query.strip().lower(), cw.clock.now().date(), 0
    with cw.uow(read_only=True) as uow:
        for client in uow.clients.list():
            if client.id is None or (wanted and wanted not in client.name.lower()
                                     and wanted != str(client.id)):
                continue
            cases = uow.cases.list(client_id=client.id)
            log = uow.access_log.list(client_id=client.id)
            if access.record_access(
                    user, involved=cw.involved(uow, user, cases, log),
                    consents=counted(uow.consents.for_client(client.id), log),
                    today=today).allowed:
                found += 1
            if found >= limit:
                break
    return found


def _time(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return _percentile(samples, .5), _percentile(samples, .95)


def _request(app: Application, client: FlaskClient, url: str, headers: dict[str, str],
             statements: list[int]) -> None:
    with counting(app) as found:
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
    statements.append(found[0])


def measure(app: Application, size: int, repeat: int, old_repeat: int) -> None:
    for organisation in (*ORGANISATIONS, NEWCOMER):
        username = f"cw_{organisation}"
        client = _signed_in(app, username)
        token = app.accounts.issue_token(username, "bench")[1]
        for label, url in URLS.items():
            headers = {"Authorization": f"Bearer {token}"} if "api" in label else {}
            statements: list[int] = []
            get = partial(_request, app, client, url, headers, statements)
            get()  # warm the caches a running server holds (definitions, session)
            p50, p95 = _time(get, repeat)
            print(f"    {size:>7,} {organisation:15} {label:11} {p50 * 1000:8.1f} ms "
                  f"{p95 * 1000:8.1f} ms {statements[-1]:6d}", flush=True)
        if old_repeat:
            old = partial(_old_search, app.casework, app.accounts.get_user(username), "smith")
            p50, p95 = _time(old, old_repeat)
            print(f"    {size:>7,} {organisation:15} {'old search':11} {p50 * 1000:8.1f} ms "
                  f"{p95 * 1000:8.1f} ms {'':>6}", flush=True)


def run(label: str, database: Callable[[], AbstractContextManager[str]], sizes: list[int],
        args: argparse.Namespace) -> None:
    print(f"\n== clients, {label} ==\n    {'clients':>7} {'organisation':15} "
          f"{'request':11} {'p50':>11} {'p95':>11} {'stmts':>6}", flush=True)
    for size in sizes:
        with database() as database_url:
            app = bootstrap(Settings(database_url=database_url, secure_cookies=False,
                                     secret_key="bench"),  # noqa: S106
                            hasher=WerkzeugPasswordHasher("pbkdf2:sha256:1000"))
            try:
                started = time.perf_counter()
                build(app, size)
                print(f"    ({size:,} clients built in {time.perf_counter() - started:.1f} s)",
                      flush=True)
                measure(app, size, args.repeat,
                        args.old_repeat if size <= args.old_up_to else 0)
            finally:
                app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="numbers of clients, comma-separated")
    parser.add_argument("--repeat", type=int, default=20, help="requests per figure")
    parser.add_argument("--old-up-to", type=int, default=100_000,
                        help="time the old search up to this many clients")
    parser.add_argument("--old-repeat", type=int, default=3,
                        help="searches the old way per figure (slow: seconds each at 10k)")
    parser.add_argument("--sqlite", default="on", help="'off' to skip SQLite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'off' to skip")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"Python {sys.version.split()[0]}; figures of one run, side by side; p50/p95 of "
          f"{args.repeat} requests after one to warm up; goal < 100 ms p95 at 100k")
    if args.postgres != "off":
        run("PostgreSQL", lambda: postgres_database(args.postgres), sizes, args)
    if args.sqlite != "off":
        run("SQLite (file, WAL)", sqlite_database, sizes, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
