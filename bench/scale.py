"""Benchmark: what users hit at national scale (issue 17, items 1 and 2).

For each size: real cases through the engine on every shipped pathway and version, at every
step their random paths reach (bench.scale_templates), multiplied with set-based SQL to the
number of clients and about 50 events each (bench.scale_build); VACUUM ANALYZE; then the web
app in-process (Flask's test client) signed in as the demo caseworker and commissioner, and
the CLI in subprocesses, measured (bench.scale_measure). Prints one table per database: each
figure's goal, its value per size (p95 over up to --repeat requests, with SQL statements per
request as "q"), the growth from the smallest size to the largest, and whether the goal holds
at the largest.

Run: `make bench-scale` or
`python -m bench.scale --clients 1000,10000,100000 --postgres URL --sqlite off --keep scale`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from adapters.bootstrap import Application, bootstrap
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from bench.dashboard import _settle, kept_database
from bench.run import DEFAULT_POSTGRES, postgres_database, sqlite_database
from bench.scale_build import build
from bench.scale_measure import Measured, Row, cli_rows, process_rows, size_rows, web_rows
from bench.scale_templates import ROOT


@dataclass
class Run:
    """One database at one size: how it was built and what was measured."""

    backend: str
    clients: int
    built: dict[str, Any] = field(default_factory=dict)
    measured: Measured = field(default_factory=Measured)


def application(url: str) -> Application:
    return bootstrap(Settings(database_url=url, definitions_dir=ROOT / "definitions",
                              secure_cookies=False, secret_key="bench"),  # noqa: S106
                     hasher=WerkzeugPasswordHasher("pbkdf2:sha256:1000"))


def build_and_measure(backend: str, url: str, clients: int, args: argparse.Namespace
                      ) -> Run:
    run = Run(backend, clients)
    app = application(url)
    try:
        if not _finished(app):
            done = build(app, clients, clients * args.events_per_client, trials=args.trials,
                         progress=lambda line: print(line, flush=True))
            run.built = {"seconds": round(done.seconds, 1), "clients": done.clients,
                         "cases": done.cases, "events": done.events,
                         "open_tasks": done.open_tasks, "how": "built",
                         "steps_not_reached": {
                             pathway: sorted(steps - done.templates.steps.get(pathway, set()))
                             for pathway, steps in done.templates.user_tasks.items()}}
        else:
            run.built = {"how": "kept from an earlier run", **_counts(app)}
        started = time.perf_counter()
        _settle(app)
        run.built["settle_seconds"] = round(time.perf_counter() - started, 1)
        print(f"== {backend}, {clients:,} clients: {run.built} ==", flush=True)
        measure(app, url, run.measured, args.repeat, args.budget)
    finally:
        app.close()
    return run


def measure(app: Application, url: str, found: Measured, repeat: int, budget: float) -> None:
    """Every row of the table, for one database."""
    web_rows(app, found, repeat, budget)
    process_rows(found)
    with app.database.connect() as connection:
        case_id = connection.execute(text(
            "SELECT max(case_id) FROM inbox_tasks WHERE status = 'open'")).scalar_one()
    cli_rows(url, found, repeat, budget, int(case_id))
    size_rows(app, found)


def _finished(app: Application) -> bool:
    """Whether the database holds a whole build (its last step imports the reconvictions);
    SystemExit for one a run left half-built."""
    if not any(user.username == "admin" for user in app.accounts.users()):
        return False
    with app.database.connect() as connection:
        if connection.execute(text("SELECT count(*) FROM outcome_imports "
                                   "WHERE filename LIKE 'bench-%'")).scalar_one():
            return True
    raise SystemExit(f"{app.settings.database_url}: an earlier build stopped half-way; "
                     "drop the database and run again")


def _counts(app: Application) -> dict[str, int]:
    with app.database.connect() as connection:
        return {name: int(connection.execute(text(f"SELECT count(*) FROM {name}"))
                          .scalar_one()) for name in ("clients", "cases", "events")}


def _cell(row: Row) -> str:
    if row.p95 is not None:
        statements = f" {row.statements}q" if row.statements is not None else ""
        return f"{row.p95:.3f}s{statements}"
    return "-" if row.value is None else f"{row.value:.1f}{row.unit}"


def _growth(small: Row, big: Row) -> tuple[str, str]:
    """The growth from the smallest size to the largest (time or value, and statements),
    and whether the goal holds at the largest: its limit, a "flat" figure growing under
    1.5 times, and statements per request the same at every size."""
    ratio = big.figure / small.figure if small.figure and big.figure is not None else None
    growth = "-" if ratio is None else f"x{ratio:.1f}"
    verdict = big.holds()
    if big.goal == "flat" and ratio is not None and small is not big:
        verdict = ratio < 1.5
    if small.statements and big.statements is not None:
        growth += f" {big.statements / small.statements:.1f}q"
        if big.statements > small.statements:
            verdict = False
    return growth, {True: "yes", False: "NO", None: ""}[verdict]


def table(runs: list[Run]) -> str:
    """The figures of one database's runs side by side."""
    first, last = runs[0].measured.rows, runs[-1].measured.rows
    if len(runs) == 1:
        first = last
    head = (f"{'what':34} {'goal':>9} " + " ".join(f"{r.clients:>14,}" for r in runs)
            + f" {'growth':>13} {'holds':>5}")
    lines = [head, "-" * len(head)]
    for index, row in enumerate(last):
        cells = " ".join(f"{_cell(r.measured.rows[index]):>14}" for r in runs)
        growth, holds = _growth(first[index], row)
        lines.append(f"{row.what:34} {row.goal:>9} {cells} {growth:>13} {holds:>5}")
    return "\n".join(lines)


def _saved(path: str) -> dict[str, list[Run]]:
    with open(path, encoding="utf-8") as saved:
        found = json.load(saved)
    return {backend: [Run(backend, one["clients"], one["built"], Measured(
        [Row(**{k: v for k, v in row.items() if k != "holds"}) for row in one["rows"]]))
        for one in runs] for backend, runs in found.items()}


def databases(args: argparse.Namespace, clients: int
              ) -> Iterator[tuple[str, AbstractContextManager[str]]]:
    if args.sqlite == "on":
        yield "SQLite (file, WAL)", sqlite_database()
    if args.postgres != "off":
        yield "PostgreSQL", (kept_database(args.postgres, f"{args.keep}_{clients}")
                             if args.keep else postgres_database(args.postgres))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1000,10000",
                        help="sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--events-per-client", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20, help="requests per row")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds per row: fewer requests (at least 2) past it")
    parser.add_argument("--trials", type=int, default=24,
                        help="random runs per pathway version to find its steps")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="server URL; 'off' to skip PostgreSQL")
    parser.add_argument("--sqlite", choices=("on", "off"), default="on")
    parser.add_argument("--keep", metavar="PREFIX",
                        help="keep each PostgreSQL database as PREFIX_<clients>; a later run "
                             "with the same PREFIX measures it again without building")
    parser.add_argument("--json", metavar="FILE", help="also save the figures as JSON")
    parser.add_argument("--table", metavar="FILE",
                        help="print the table of figures saved with --json, measure nothing")
    args = parser.parse_args(argv)
    if args.table:
        for backend, done in _saved(args.table).items():
            print(f"\n== {backend} ==\n{table(done)}")
        return 0
    sizes = sorted(int(size) for size in args.clients.split(","))
    print(f"Python {sys.version.split()[0]}")
    runs: dict[str, list[Run]] = {}
    for clients in sizes:
        for backend, database in databases(args, clients):
            with database as url:
                runs.setdefault(backend, []).append(
                    build_and_measure(backend, url, clients, args))
    for backend, done in runs.items():
        print(f"\n== {backend}: p95 (q: SQL statements per request), growth "
              f"{done[0].clients:,} -> {done[-1].clients:,} clients ==")
        print(table(done))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({backend: [{"clients": r.clients, "built": r.built,
                                  "rows": [row.plain() for row in r.measured.rows]}
                                 for r in done] for backend, done in runs.items()},
                      out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
