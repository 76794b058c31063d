"""Benchmark: the commissioner's dashboard over many cases (issue 12, item 9).

Builds a programme's data through the engine's own storage: the shipped pathways published by
the engine, two gate reception cases run for real (start_case, complete_task), then many more
clients and cases written through the unit of work's repositories (clients.add, cases.add,
events.append: one bulk insert of a case's events), each case's events a copy of a real case's
shape with its own times, caseworker, answers and a randomised split for half of them; a
reconviction file imported through engine.outcomes.import_csv. Then times, through the web
app, the dashboard page, each chart, each CSV and cohorts.csv: cold (the first request after
a change to the data) and warm (the same request again), with p50/p95 and statements per
request.

Run: `make bench` (small, SQLite and PostgreSQL) or
`python -m bench.dashboard --clients 100000 --events 5000000 --postgres URL`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy import event as sql_event
from sqlalchemy.engine import make_url

from adapters.bootstrap import Application, bootstrap
from adapters.definition_files import publish_order, read_bundle
from adapters.passwords import WerkzeugPasswordHasher
from adapters.settings import Settings
from bench.run import DEFAULT_POSTGRES, postgres_database, sqlite_database
from bench.web_client import served, sign_in
from engine.model import CaseRecord, Client, Event, NewEvent

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench horse battery staple"  # noqa: S105 - a throwaway database
ORGANISATIONS = ("st_giles_trust", "ormiston", "sova")
URLS = {
    "page": "/dashboard?pathway=gate_reception&outcome=met_at_gate",
    # the page as it opens: its outcome is the one paid on, measured per client
    "page (paid)": "/dashboard?pathway=gate_reception",
    "versions.svg": "/dashboard/versions.svg?pathway=gate_reception&outcome=met_at_gate",
    "activity.svg": "/dashboard/activity.svg?pathway=gate_reception&outcome=met_at_gate",
    "versions.csv": "/dashboard/versions.csv?pathway=gate_reception&outcome=met_at_gate",
    # the outcome paid on, measured per client from the imported reconvictions
    "reconv.csv": "/dashboard/versions.csv?pathway=gate_reception&outcome=reconviction",
    "forest.svg": "/dashboard/forest.svg?pathway=gate_reception&outcome=reconviction",
    "activity.csv": "/dashboard/activity.csv?pathway=gate_reception&outcome=met_at_gate",
    "cohorts.csv": "/dashboard/cohorts.csv",
}
BATCH = 500  # cases per transaction while building


@dataclass(frozen=True)
class Template:
    """A real case's events and answers, to copy the shape of."""

    version: int
    events: list[Event]
    data: dict[str, Any]


def _publish_and_run(app: Application) -> list[Template]:
    """The shipped pathways, people to do the work, and one real case per version."""
    engine, accounts = app.engine, app.accounts
    for path, note in publish_order(ROOT / "definitions"):
        files, main = read_bundle(path, known_pathways={"family_support",
                                                        "mental_health_referral"})
        engine.publish(files, main, note=note, unless_published=True)
    for organisation in (*ORGANISATIONS, "moj"):
        accounts.add_organisation(organisation, organisation.replace("_", " ").title())
    accounts.add_user("cam", "Cam", "moj", "commissioner", PASSWORD)
    for number in range(12):
        accounts.add_user(f"cw{number}", f"Caseworker {number}",
                          ORGANISATIONS[number % len(ORGANISATIONS)], "caseworker", PASSWORD)
    templates = []
    for version in (1, 2):
        client = engine.add_client(f"Template {version}", {"release_date": "2011-01-10"})
        case = engine.start_case("gate_reception", client.id or 0, version=version)
        case_id = case.case.id or 0
        engine.complete_task(case.tasks[0].task.id, {
            "needs_accommodation": True, "needs_benefits": False,
            "needs_substance_misuse": False, "needs_family": True,
            "needs_employment": False, "risk_level": "low"}, actor="cw0")
        gate = engine.list_tasks(case_id=case_id)[0].task
        engine.complete_task(gate.id, {"met_at_gate": True}, actor="cw0")
        record = next(c for c in engine.list_cases(pathway="gate_reception")
                      if c.id == case_id)
        templates.append(Template(version, engine.events(case_id), dict(record.data)))
    return templates


def _events_for(template: Template, start: datetime, per_case: int, rng: random.Random,
                actor: str, met: bool) -> list[NewEvent]:
    """The template's events moved to `start`, the gate meeting's answer `met`, then
    check-ins (a task made ready and completed) until the case has `per_case` events."""
    base = template.events[0].at
    found = []
    for event in template.events:
        data = dict(event.data)
        if event.type == "outcome_recorded" and data.get("outcome") == "met_at_gate":
            data["value"] = met
        if event.type == "task_completed" and "met_at_gate" in data:
            data["met_at_gate"] = met
        found.append(NewEvent(event.type, start + (event.at - base), event.step,
                              actor if event.actor else None, data))
    steps = [e.step for e in template.events if e.type == "task_completed" and e.step]
    moment = found[-1].at
    number = 0
    while len(found) + 2 <= per_case:
        moment += timedelta(days=rng.randint(1, 9))
        task = f"bench-{number}"
        step = steps[number % len(steps)]
        found.append(NewEvent("task_ready", moment, step, None, {"task": task}))
        found.append(NewEvent("task_completed", moment + timedelta(hours=rng.randint(1, 72)),
                              step, actor, {"task": task}))
        number += 1
    return found


def build(app: Application, clients: int, events: int, seed: int = 12) -> int:
    """Clients, cases and events through the repositories, in batches; returns the events
    written."""
    rng = random.Random(seed)
    templates = _publish_and_run(app)
    per_case = max(len(templates[0].events), events // max(clients, 1))
    written = 0
    released = date(2010, 9, 1)
    reconvicted: list[str] = []
    uow_factory = app.engine._uow  # the engine's own unit of work: its repositories
    for first in range(0, clients, BATCH):
        with uow_factory() as uow:
            for number in range(first, min(first + BATCH, clients)):
                release = released + timedelta(days=rng.randint(0, 3 * 365))
                client = uow.clients.add(Client(None, f"Client {number}",
                                                {"release_date": release.isoformat()}))
                template = templates[number % 2]
                met = rng.random() < (0.55 if template.version == 1 else 0.65)
                data = {**template.data, "met_at_gate": met,
                        "needs_accommodation": rng.random() < 0.4,
                        "needs_family": rng.random() < 0.3}
                start = datetime(release.year, release.month, release.day, 9, tzinfo=UTC)
                new = _events_for(template, start, per_case, rng,
                                  f"cw{rng.randrange(12)}", met)
                if number % 2 == 0:  # half allocated by a randomised split
                    new.insert(1, NewEvent("version_allocated", start, None, None,
                                           {"policy": "split",
                                            "version": template.version}))
                case = uow.cases.add(CaseRecord(
                    None, "gate_reception", template.version, client.id or 0,
                    "completed" if rng.random() < 0.7 else "running", {}, data=data,
                    event_seq=len(new), created_at=start, updated_at=new[-1].at))
                uow.events.append(case.id or 0, new, first_seq=1)
                written += len(new)
                if rng.random() < 0.3:
                    offence = release + timedelta(days=rng.randint(10, 300))
                    reconvicted.append(f"{client.id},{offence},"
                                       f"{offence + timedelta(days=rng.randint(20, 150))}")
            uow.commit()
    report = app.outcomes.import_csv(
        "bench-reconvictions.csv",
        ("client,offence_date,conviction_date\n" + "\n".join(reconvicted) + "\n").encode(),
        "reconviction", extracted_on=date(2015, 6, 1))
    if report.errors:
        raise SystemExit(f"the reconviction file was refused: {report.errors[:3]}")
    return written


@contextmanager
def counting(app: Application) -> Iterator[list[int]]:
    """The number of SQL statements run inside the block (found[0])."""
    found = [0]

    def note(*_args: Any) -> None:
        found[0] += 1

    sql_event.listen(app.database, "before_cursor_execute", note)
    try:
        yield found
    finally:
        sql_event.remove(app.database, "before_cursor_execute", note)


def _signed_in(app: Application) -> FlaskClient:
    """The bench commissioner, on the app as `pathways serve` runs it."""
    return sign_in(served(app).test_client(), "cam", PASSWORD)


def _timed(app: Application, client: FlaskClient, url: str) -> tuple[float, int]:
    with counting(app) as statements:
        started = time.perf_counter()
        response = client.get(url)
        took = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:500]}")
    return took, statements[0]


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(app: Application, repeat: int, cold_repeat: int) -> None:
    """Each URL cold (after a change to the data) and warm, p50/p95 and statements."""
    client = _signed_in(app)
    print(f"    {'request':14} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} "
          f"{'warm p95':>9} {'stmts cold':>10} {'stmts warm':>10}")
    for label, url in URLS.items():
        cold, warm, cold_statements, warm_statements = [], [], 0, 0
        for round_ in range(cold_repeat):
            app.engine.add_client(f"Change {label} {round_}")  # a change: a new revision
            took, cold_statements = _timed(app, client, url)
            cold.append(took)
        for _ in range(repeat):
            took, warm_statements = _timed(app, client, url)
            warm.append(took)
        print(f"    {label:14} {_percentile(cold, .5):8.3f}s {_percentile(cold, .95):8.3f}s "
              f"{_percentile(warm, .5):8.3f}s {_percentile(warm, .95):8.3f}s "
              f"{cold_statements:10d} {warm_statements:10d}", flush=True)


def run(label: str, url: str, args: argparse.Namespace) -> None:
    app = bootstrap(Settings(database_url=url, definitions_dir=ROOT / "definitions",
                             secure_cookies=False, secret_key="bench"),  # noqa: S106
                    hasher=WerkzeugPasswordHasher("pbkdf2:sha256:1000"))
    try:
        started = time.perf_counter()
        if not any(user.username == "cam" for user in app.accounts.users()):
            written = build(app, args.clients, args.events)
            _settle(app)
            how = f"built in {time.perf_counter() - started:.0f} s"
        else:  # a kept database, built by an earlier run
            written = _events_stored(app)
            _settle(app)  # a migration may have rebuilt an index since
            how = "kept from an earlier run"
        print(f"\n== dashboard, {label}: {args.clients:,} clients, {written:,} events "
              f"({how}) ==", flush=True)
        measure(app, args.repeat, args.cold_repeat)
    finally:
        app.close()


def _settle(app: Application) -> None:
    """What the database does after any bulk load, before it is measured: fresh statistics
    (else nested-loop plans) and, on PostgreSQL, the visibility map autovacuum would set
    (else an index-only scan reads the table too)."""
    if app.database.dialect.name == "postgresql":
        with app.database.connect().execution_options(
                isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with app.database.begin() as connection:
            connection.execute(text("ANALYZE"))


def _events_stored(app: Application) -> int:
    with app.database.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


@contextmanager
def kept_database(base_url: str, name: str) -> Iterator[str]:
    """A database on the server kept between runs (made if missing): build 100,000 clients
    once, then measure again after each change."""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    yield make_url(base_url).set(database=name).render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=20, help="warm requests per URL")
    parser.add_argument("--cold-repeat", type=int, default=3,
                        help="cold requests per URL (each after a change)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="server URL; 'off' to skip PostgreSQL")
    parser.add_argument("--sqlite", choices=("on", "off"), default="on")
    parser.add_argument("--keep", metavar="NAME",
                        help="build the PostgreSQL data once into database NAME, kept; later "
                             "runs with the same NAME measure it again without building")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}")
    if args.sqlite == "on":
        with sqlite_database() as url:
            run("SQLite (file, WAL)", url, args)
    if args.postgres != "off":
        database = (kept_database(args.postgres, args.keep) if args.keep
                    else postgres_database(args.postgres))
        with database as url:
            run("PostgreSQL", url, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
