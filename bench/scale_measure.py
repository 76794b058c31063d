"""What users hit, measured over a database bench.scale_build made: web pages and API calls
through the Flask app in-process (p50/p95, SQL statements per request), CLI commands in
subprocesses (time and peak memory), the process's memory and the tables' sizes.

Only public routes and commands are used, so the figures stay comparable as they change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event as sql_event
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from adapters.bootstrap import Application, bootstrap
from bench.dashboard import URLS as DASHBOARD_URLS
from bench.scale_templates import PASSWORD
from bench.web_client import served, sign_in

PATHWAYS = str(Path(sys.executable).with_name("pathways"))


@dataclass
class Row:
    """One line of the table: a figure per size."""

    what: str
    goal: str  # as printed, e.g. "< 0.1 s"
    limit: float | None = None  # the figure the goal allows (p95 or the value), if any
    unit: str = "s"
    p50: float | None = None
    p95: float | None = None
    value: float | None = None  # a single figure (size, memory, statements)
    statements: int | None = None
    samples: int = 0
    note: str = ""

    @property
    def figure(self) -> float | None:
        return self.p95 if self.p95 is not None else self.value

    def holds(self) -> bool | None:
        if self.limit is None or self.figure is None:
            return None
        return self.figure < self.limit

    def plain(self) -> dict[str, Any]:
        return {**asdict(self), "holds": self.holds()}


@dataclass
class Measured:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row


@contextmanager
def counting(app: Application) -> Iterator[list[int]]:
    """The SQL statements run inside the block (found[0]); not SQLite's read-only switch of
    a pooled connection (it depends on which connection a thread got, not on the work)."""
    found = [0]

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("PRAGMA query_only"):
            found[0] += 1

    sql_event.listen(app.database, "before_cursor_execute", note)
    try:
        yield found
    finally:
        sql_event.remove(app.database, "before_cursor_execute", note)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(row: Row, run: Callable[[int], int | None], repeat: int, budget: float,
          prepare: Callable[[int], object] | None = None) -> Row:
    """run(i) `repeat` times, or fewer (at least 2) when they take longer than `budget`
    seconds in all; its p50/p95 and the statements its last call reported. prepare(i), if
    given, runs before each, untimed."""
    samples: list[float] = []
    began = time.perf_counter()
    for number in range(repeat):
        if prepare is not None:
            prepare(number)
        started = time.perf_counter()
        statements = run(number)
        samples.append(time.perf_counter() - started)
        if statements is not None:
            row.statements = statements
        if number >= 1 and time.perf_counter() - began > budget:
            break
    row.p50, row.p95, row.samples = (percentile(samples, .5), percentile(samples, .95),
                                     len(samples))
    print(f"    {row.what:34} p50 {row.p50:.3f}s p95 {row.p95:.3f}s over {row.samples}"
          f"{'' if row.statements is None else f', {row.statements} statements'}", flush=True)
    return row


def signed_in(app: Application, username: str) -> FlaskClient:
    """A demo user, on the app as `pathways serve` runs it."""
    return sign_in(served(app).test_client(), username, PASSWORD)


def _getter(app: Application, client: FlaskClient, urls: Callable[[int], str],
            headers: dict[str, str] | None = None) -> Callable[[int], int]:
    def run(number: int) -> int:
        url = urls(number)
        with counting(app) as statements:
            response = client.get(url, headers=headers)
            response.get_data()  # a streamed body is read to its end
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
        return statements[0]
    return run


def _first_inbox(app: Application, found: Measured, repeat: int, budget: float) -> None:
    """A worker's first inbox page: each time a new app as `pathways serve` makes one in
    each worker (its own database engine, so nothing compiled yet, and warmed up), signed
    in (untimed), then the inbox."""
    made: list[tuple[Application, FlaskClient]] = []

    def prepare(_: int) -> None:
        application = bootstrap(app.settings)
        made.append((application, signed_in(application, "caseworker")))

    def run(number: int) -> int:
        application, client = made[-1]
        return _getter(application, client, lambda _: "/inbox")(number)

    try:
        timed(found.add(Row("inbox page (role), a worker's first", "< 0.1 s", 0.1)), run,
              min(repeat, 5), budget, prepare=prepare)
    finally:
        for application, _ in made:
            application.close()


def web_rows(app: Application, found: Measured, repeat: int, budget: float) -> None:
    """The caseworker's pages and API, a client's record, a task page, the dashboard."""
    worker = signed_in(app, "caseworker")
    step = _busiest_step(app)
    _, token = app.accounts.issue_token("caseworker", f"bench {time.time()}")
    bearer = {"Authorization": f"Bearer {token}"}
    clients, tasks = _samples(app, worker, bearer)
    pages: list[tuple[str, str, float | None, Callable[[int], str], dict[str, str] | None]] = [
        ("inbox page (role)", "< 0.1 s", 0.1, lambda _: "/inbox", None),
        ("inbox page (mine)", "< 0.1 s", 0.1, lambda _: "/inbox?scope=mine", None),
        ("inbox page (pathway+step)", "< 0.1 s", 0.1,
         lambda _: f"/inbox?pathway={step[0]}&step={step[1]}", None),
        ("API /tasks?scope=mine", "< 0.1 s", 0.1, lambda _: "/api/v1/tasks?scope=mine",
         bearer),
        ("client search 'smith'", "< 0.1 s", 0.1, lambda _: "/clients?q=smith", None),
        ("client record", "< 0.1 s", 0.1, lambda i: f"/clients/{clients[i % len(clients)]}",
         None),
        ("task page (its case)", "-", None, lambda i: f"/tasks/{tasks[i % len(tasks)]}",
         None),
    ]
    for what, goal, limit, urls, headers in pages:
        timed(found.add(Row(what, goal, limit)), _getter(app, worker, urls, headers),
              repeat, budget)
    _first_inbox(app, found, repeat, budget)
    commissioner = signed_in(app, "commissioner")
    for label in ("page", "page (paid)"):  # the first request after a change to the data
        timed(found.add(Row(f"dashboard {label}, cold", "< 1 s", 1.0)),
              _getter(app, commissioner, lambda _, url=DASHBOARD_URLS[label]: url),
              min(repeat, 5), budget,
              prepare=lambda i: app.engine.add_client(f"Bench change {time.time()} {i}"))
    for label, url in DASHBOARD_URLS.items():
        warm = _getter(app, commissioner, lambda _, url=url: url)
        warm(-1)  # untimed: the cold rows changed the data after this URL was last computed
        timed(found.add(Row(f"dashboard {label}, warm", "< 1 s", 1.0)), warm, repeat, budget)


def _busiest_step(app: Application) -> tuple[str, str]:
    with app.database.connect() as connection:
        row = connection.execute(text(
            "SELECT pathway, step FROM inbox_tasks WHERE status = 'open' "
            "GROUP BY pathway, step ORDER BY count(*) DESC LIMIT 1")).one()
    return str(row.pathway), str(row.step)


def _samples(app: Application, worker: FlaskClient, bearer: dict[str, str]
             ) -> tuple[list[int], list[str]]:
    """Clients whose record the caseworker opens without a reason and tasks they may open,
    spread over their inbox (as the API lists it)."""
    listed = worker.get("/api/v1/tasks", headers=bearer).get_json()["tasks"]
    chosen = listed[::max(1, len(listed) // 40)][:40]
    clients = [int(t["client_id"]) for t in chosen
               if worker.get(f"/clients/{t['client_id']}").status_code == 200][:20]
    tasks = [str(t["id"]) for t in chosen if worker.get(f"/tasks/{t['id']}").status_code == 200]
    if not clients or not tasks:
        raise SystemExit("the caseworker may open none of the sampled clients or tasks")
    return clients, tasks[:20]


def cli_rows(url: str, found: Measured, repeat: int, budget: float, case_id: int) -> None:
    """CLI start (`--help`, and `definitions list` reading the database), `cases show`, and the
    exports (time and the child's peak memory)."""
    env = {**os.environ, "PATHWAYS_DATABASE_URL": url}

    def command(*args: str) -> Callable[[int], None]:
        def run(_: int) -> None:
            subprocess.run([PATHWAYS, *args], env=env, check=True,  # noqa: S603 - ours
                           stdout=subprocess.DEVNULL)
        return run

    timed(found.add(Row("CLI start (pathways --help)", "< 0.3 s", 0.3)),
          command("--help"), repeat, budget)
    # a command that reads the database, start to exit: the schema check, one unit of work
    # (its figure does not grow with the data: it lists the pathways, not the cases)
    timed(found.add(Row("CLI start, reading (pathways definitions list)", "< 0.3 s", 0.3)),
          command("--json", "definitions", "list"), repeat, budget)
    timed(found.add(Row("CLI cases show", "-")), command("cases", "show", str(case_id)),
          max(3, repeat // 4), budget)
    with tempfile.TemporaryDirectory(prefix="pathways-scale-") as folder:
        for what, args in (("export cases (CSV)", ("export", "cases")),
                           ("export xes", ("export", "xes"))):
            output = str(Path(folder) / "out")
            row = found.add(Row(what, "streamed", samples=1))
            peak = found.add(Row(f"{what}: peak RSS", "flat", unit="MB"))
            started = time.perf_counter()
            peak.value = _peak_mb([PATHWAYS, *args, "-o", output], env)
            row.value = time.perf_counter() - started  # one run: its time and its memory
            peak.note = f"output {Path(output).stat().st_size / 1e6:.1f} MB"


_PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
         "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN)"
         ".ru_maxrss)")


def _peak_mb(args: list[str], env: dict[str, str]) -> float:
    """The peak RSS of a command: a wrapper process runs it as its only child."""
    done = subprocess.run([sys.executable, "-c", _PEAK, *args],  # noqa: S603 - ours
                          env=env, check=True, capture_output=True, text=True)
    return int(done.stdout.split()[-1]) / 1024  # Linux counts in KiB


def process_rows(found: Measured) -> None:
    """This process's memory after serving every request (the in-process server's)."""
    status = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    for what, key in (("server RSS (now)", "VmRSS"), ("server RSS (peak)", "VmHWM")):
        row = found.add(Row(what, "flat", unit="MB"))
        row.value = int(status[key].split()[0]) / 1024


def size_rows(app: Application, found: Measured) -> None:
    """The tables the pages read, with their indexes, and the whole database."""
    pg = app.database.dialect.name == "postgresql"
    with app.database.connect() as connection:
        for table in ("events", "cases", "inbox_tasks", "clients", "summary_events"):
            if pg:
                total, indexes = connection.execute(text(
                    f"SELECT pg_total_relation_size('{table}'), pg_indexes_size('{table}')"
                )).one()
            else:
                total, indexes = _sqlite_sizes(connection, table)
            rows = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            row = found.add(Row(f"table {table} (with indexes)", "-", unit="MB"))
            row.value = total / 1e6
            row.note = f"{rows:,} rows, indexes {indexes / 1e6:.1f} MB"
        whole = (connection.execute(text("SELECT pg_database_size(current_database())"))
                 .scalar_one() if pg else _sqlite_file(connection))
    found.add(Row("database size", "-", unit="MB", value=whole / 1e6))


def _sqlite_sizes(connection: Any, table: str) -> tuple[int, int]:
    try:
        rows = connection.execute(text(
            "SELECT name, sum(pgsize) AS size FROM dbstat GROUP BY name")).all()
    except OperationalError:  # SQLite built without dbstat
        return 0, 0
    indexes = connection.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
        {"t": table}).scalars().all()
    sizes = {name: int(size) for name, size in rows}
    index_size = sum(sizes.get(name, 0) for name in indexes)
    return sizes.get(table, 0) + index_size, index_size


def _sqlite_file(connection: Any) -> int:
    path = connection.execute(text("PRAGMA database_list")).all()[0][2]
    return sum(os.path.getsize(path + suffix) for suffix in ("", "-wal")
               if os.path.exists(path + suffix))
