"""Benchmark: the caseworker's inbox over many clients' open tasks (issue 17).

Builds, on a throwaway PostgreSQL database (or SQLite with --sqlite): the shipped pathways
published by the engine, St Giles Trust with a caseworker, one gate reception case started
for real, then N clients, each with an active case and an open task copied from the real
one, written with set-based INSERT ... SELECT (due dates spread a month either side of
today, every seventh task assigned to the caseworker). --denied-share (half by default) of
those tasks sit instead in one step of a lane the caseworker may not do (Housing First's
referral, its coordinator's, open only to the Housing First service), as the real 100,000
clients' busiest step did: the pages filtered by that pathway and step find none of them.
Then times, side by side:

- the inbox as computed before issue 17 (every open row loaded, filtered and sorted in
  Python: tests/integration/inbox_reference.py), all rows, as the page showed them;
- the inbox in SQL (Casework.inbox), the first page of 50, sorted by due date and by client
  (counted up to the cap the web page and the API use, where the checkout has one);
- the web page GET /inbox and the API GET /api/v1/tasks through the Flask test client, in
  the role scope, "mine", filtered by pathway and step, and sorted by client;

with p50/p95 per request and, for the pages, their SQL statements. --keep NAME builds the
data once into a kept PostgreSQL database (later runs measure it again without building):
the way to compare two checkouts side by side on the same 100,000 clients.

Run: `python -m bench.inbox` (1,000 and 10,000 clients on the local PostgreSQL), or
`python -m bench.inbox --clients 1000 10000 100000 --postgres URL`, or once built,
`python -m bench.inbox --clients 100000 --old-up-to 0 --keep pathways_inbox_100k`.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event as sql_event
from sqlalchemy import text

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import publish_order, read_bundle
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from bench.dashboard import kept_database
from bench.run import DEFAULT_POSTGRES, postgres_database, sqlite_database
from engine.casework import Casework
from engine.model import User
from web import create_app

PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway database's user
DEFINITIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "definitions"


def _reference() -> Callable[..., Any]:
    """The inbox before issue 17 (a test module: the bench runs from the repository)."""
    from tests.integration.inbox_reference import reference_inbox
    return reference_inbox


def setup(url: str) -> tuple[Application, User]:
    app = bootstrap(Settings(database_url=url, secret_key="bench"),  # noqa: S106
                    hasher=WerkzeugPasswordHasher("pbkdf2:sha256:1000"))
    for kept in app.accounts.users():
        if kept.username == "sg_caseworker":  # a kept database, built by an earlier run
            return app, kept
    order = publish_order(DEFINITIONS)
    known = {path.stem for path, _ in order}
    for path, note in order:
        files, main = read_bundle(path, known_pathways=known)
        app.engine.publish(dict(files), main, note=note, author="bench", unless_published=True)
    app.accounts.add_organisation("st_giles_trust", "St Giles Trust")
    user = app.accounts.add_user("sg_caseworker", "Caseworker", "st_giles_trust",
                                 "caseworker", PASSWORD)
    client = app.casework.add_client(user, "First Client", {
        "release_date": (date.today() + timedelta(days=30)).isoformat()})
    assert client.id is not None
    app.engine.start_case("gate_reception", client.id, actor="sg_caseworker")
    return app, user


# the step of a lane the bench's caseworker (St Giles Trust) may not do, and its title
OTHER_LANE = ("housing_first", "referral", "housing_first_coordinator",
              "Referral and eligibility")


def grow(app: Application, clients: int, denied_share: float = 0.0) -> None:
    """Up to clients clients, each with an active case and an open task, set-based; of
    the new tasks, denied_share in OTHER_LANE (of its pathway's newest version)."""
    with app.database.begin() as connection:
        have = connection.execute(text("SELECT count(*) FROM clients")).scalar_one()
        base = connection.execute(text("SELECT max(id) FROM clients")).scalar_one()
        case_base = connection.execute(text("SELECT max(id) FROM cases")).scalar_one()
        add = clients - have
        if add <= 0:
            return
        series = ("generate_series(1, :n) AS g" if app.database.dialect.name != "sqlite"
                  else "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s "
                       "WHERE g < :n) SELECT g FROM s)")
        other = connection.execute(text(
            "SELECT max(number) FROM versions WHERE pathway = :p"),
            {"p": OTHER_LANE[0]}).scalar_one()
        params = {"n": add, "base": base, "case_base": case_base, "other_version": other,
                  "permille": round(denied_share * 1000), **dict(zip(
                      ("other_pathway", "other_step", "other_role", "other_title"),
                      OTHER_LANE, strict=True))}
        connection.execute(text(
            f"INSERT INTO clients (id, name, search_name, fields, created_at) SELECT "
            f":base + g, 'Client ' || (:base + g), 'client ' || (:base + g), fields, "
            f"created_at FROM clients, {series} WHERE clients.id = 1"), params)
        case_columns = ("pathway, version, status, state, data, error, revision, event_seq, "
                        "waiting_for, created_at, updated_at, exit_reason")
        connection.execute(text(
            f"INSERT INTO cases (id, client_id, {case_columns}) SELECT :case_base + g, "
            f":base + g, {case_columns} FROM cases, {series} WHERE cases.id = 1"), params)
        due = ("due + ((g % 61) - 30) * interval '1 day'"
               if app.database.dialect.name != "sqlite"
               else "datetime(due, ((g % 61) - 30) || ' days')")
        lane = ", ".join(f"CASE WHEN g % 1000 < :permille THEN :other_{column} "
                         f"ELSE {column} END" for column in ("pathway", "version", "step",
                                                               "title", "role"))
        task_columns = "form, status, created_at, closed_at, completed_by, organisation"
        connection.execute(text(
            f"INSERT INTO inbox_tasks (id, case_id, due, assignee, pathway, version, step, "
            f"title, role, {task_columns}) "
            f"SELECT 'bench-' || (:case_base + g), :case_base + g, {due}, "
            f"CASE WHEN g % 7 = 0 THEN 'sg_caseworker' END, {lane}, {task_columns} "
            f"FROM inbox_tasks, {series} WHERE inbox_tasks.case_id = 1"), params)
        if app.database.dialect.name != "sqlite":
            for table in ("clients", "cases"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', "
                                        f"'id'), (SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE clients; ANALYZE cases; ANALYZE inbox_tasks"))


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of runs calls (after one warm-up call)."""
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1,
                                                   round(0.95 * (len(samples) - 1)))]


def measure(label: str, database: Callable[[], AbstractContextManager[str]],
            sizes: list[int], runs: int, old_up_to: int, denied_share: float = 0.0,
            only: str | None = None) -> None:
    print(f"\n== {label} ==")
    print(f"{'clients':>8}  {'what':<50} {'p50 ms':>9} {'p95 ms':>9}")
    with database() as url:
        app, user = setup(url)
        try:
            flask_app = create_app(app, test_config={"TESTING": True})
            page = flask_app.test_client()
            _sign_in(page)
            token = app.accounts.issue_token(user.username, "bench")[1]
            for size in sizes:
                grow(app, size, denied_share)
                _rows_at(app, user, page, token, size, runs, old_up_to, only)
        finally:
            app.close()


STEP = "pathway=gate_reception&step=needs_assessment"
DENIED_STEP = f"pathway={OTHER_LANE[0]}&step={OTHER_LANE[1]}"  # none the caseworker may do
PAGES = {  # what a caseworker opens: the web page and the API, first page of 50
    "web GET /inbox (role, by due)": "/inbox",
    "web GET /inbox?scope=mine": "/inbox?scope=mine",
    "web GET /inbox, pathway+step": f"/inbox?{STEP}",
    "web GET /inbox, pathway+step, other lane": f"/inbox?{DENIED_STEP}",
    "web GET /inbox?sort=client": "/inbox?sort=client",
    "API GET /api/v1/tasks?scope=mine": "/api/v1/tasks?scope=mine",
    "API GET /api/v1/tasks, pathway+step": f"/api/v1/tasks?{STEP}",
    "API GET /api/v1/tasks, pathway+step, other lane": f"/api/v1/tasks?{DENIED_STEP}",
}


def _rows_at(app: Application, user: User, page: Any, token: str, size: int, runs: int,
             old_up_to: int, only: str | None = None) -> None:
    work: Casework = app.casework
    # the cap the web page and the API count with, where this checkout has one
    capped = ({"count_cap": 500} if "count_cap" in inspect.signature(work.inbox).parameters
              else {})
    rows: dict[str, Callable[[], Any]] = {
        "SQL inbox, page of 50, by due": lambda: work.inbox(user, limit=50, **capped),
        "SQL inbox, page of 50, by client": lambda: work.inbox(
            user, sort="client", limit=50, **capped),
        "SQL inbox, page of 50, mine, newest": lambda: work.inbox(
            user, scope="mine", sort="-created", limit=50, **capped),
    }
    headers = {"Authorization": f"Bearer {token}"}
    for what, path in PAGES.items():
        rows[what] = lambda path=path: _get(page, path, headers if "api" in path else None)
    if size <= old_up_to:
        reference = _reference()
        rows["before: Python inbox, every row, by due"] = lambda r=reference: r(
            work, user, scope="role", pathway=None, version=None, step=None,
            client_id=None, data=None, overdue=None, sort="due")
    for what, call in rows.items():
        if only is not None and only not in what:
            continue
        many = runs if not what.startswith("before") else max(3, runs // 10)
        p50, p95 = timed(call, many)
        print(f"{size:>8}  {what:<50} {p50:9.1f} {p95:9.1f}", flush=True)
    for what, path in PAGES.items():
        if only is not None and only not in what:
            continue
        print(f"{size:>8}  {'statements: ' + what:<62} "
              f"{_statements(app, page, path, headers if 'api' in path else None):>9}")


def _sign_in(client: Any) -> None:
    from tests.web.conftest import sign_in
    sign_in(client, "sg_caseworker", PASSWORD)


def _get(client: Any, path: str, headers: dict[str, str] | None = None) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text[:300]


def _statements(app: Application, client: Any, path: str,
                headers: dict[str, str] | None) -> int:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("PRAGMA query_only"):
            seen.append(statement)

    sql_event.listen(app.database, "before_cursor_execute", note)
    try:
        _get(client, path, headers)
    finally:
        sql_event.remove(app.database, "before_cursor_execute", note)
    return len(seen)


@contextmanager
def _sqlite() -> Iterator[str]:
    with sqlite_database() as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=30, help="timed calls per row")
    parser.add_argument("--old-up-to", type=int, default=10000,
                        help="time the Python inbox up to this many clients")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="server URL; 'off'")
    parser.add_argument("--sqlite", action="store_true", help="also on a SQLite file")
    parser.add_argument("--keep", metavar="NAME",
                        help="build the PostgreSQL data once into database NAME, kept; later "
                             "runs with the same NAME measure it again (grown, never shrunk)")
    parser.add_argument("--denied-share", type=float, default=0.5,
                        help="the share of new open tasks in a step of a lane the caseworker "
                             "may not do (0 to 1; default 0.5)")
    parser.add_argument("--only", metavar="TEXT",
                        help="time only the rows whose name contains TEXT")
    args = parser.parse_args(argv)
    if not 0 <= args.denied_share <= 1:
        parser.error(f"--denied-share {args.denied_share}: give a share from 0 to 1")
    sizes = sorted(args.clients)
    print(f"Python {sys.version.split()[0]}; old and new measured side by side in one run")
    if args.postgres != "off":
        measure("PostgreSQL", lambda: (kept_database(args.postgres, args.keep) if args.keep
                                       else postgres_database(args.postgres)),
                sizes, args.runs, args.old_up_to, args.denied_share, args.only)
    if args.sqlite:
        measure("SQLite (file, WAL)", _sqlite, sizes, args.runs, args.old_up_to,
                args.denied_share, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
